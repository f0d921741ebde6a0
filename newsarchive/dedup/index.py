"""Embedded near-duplicate index: MinHash LSH bands in one SQLite file (issue #3).

:class:`SqliteIndex` answers "is this text a copy of something archived before?" and remembers
the answer across runs and across processes sharing the file.

How :meth:`SqliteIndex.add` decides, in one ``BEGIN IMMEDIATE`` transaction (so two processes
meeting two copies of one story at the same moment cannot both become canonicals):

1. Exact fast path: a stored document with the same :func:`text_fingerprint` puts the new one
   in that document's cluster; no LSH work, and no band rows are written for the new one (its
   twin's rows already find the same texts).
2. Otherwise LSH: the first ``bands * rows`` values of the signature (not all ``num_perm``:
   20 x 2 uses 40 of 128, ``bench/MINHASH.md``) are cut into ``bands`` slices of ``rows``
   values; each slice's 4-byte BLAKE2b hash is a band key. Documents sharing any band key are
   candidates; each is scored with the Jaccard estimated from the *full* stored signatures, and
   the best one at or above ``near_duplicate`` wins: the new document joins that candidate's
   cluster. Its similarity is then estimated against the cluster's canonical (which may be a
   little lower than against the candidate: clusters can chain).
3. No candidate good enough: the document is the canonical of a new cluster.
4. Partial copies (an excerpt, an article embedded in a bigger page): :mod:`newsarchive.dedup.passages`
   (one orchestration for both backends) over :class:`_SqlitePassages`, in the same transaction.

Clusters: every document points to its cluster's canonical (the first document added to it);
``cluster_id`` is the hex of the canonical's text fingerprint, so a re-crawl into a fresh index
(or another backend) gives the same id for the same original text.

Storage (see ``bench/lsh_index.py`` for measured bytes per document): signatures are kept with
``storage_bits`` bits per value (b-bit MinHash; :func:`estimate_jaccard` corrects for the chance
agreement); band keys are 4-byte integers in a ``WITHOUT ROWID`` table; a canonical stores NULL
as its own canonical.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from newsarchive._sqlite import connect
from newsarchive.dedup import partial
from newsarchive.dedup.passages import (
    Found,
    PartialLink,
    PassageFinder,
    encode,
    new_text,
    passages_of,
    seen_of,
    stored_text,
)
from newsarchive.dedup.signature import (
    STORAGE_BITS,
    SignatureParams,
    estimate_jaccard,
    signature_from_bytes,
    signature_to_bytes,
)

SCHEMA_VERSION = 2
BAND_HASH = "blake2b-32"
"""Names the band-key function; stored with the index so that a change is a clear error."""
CACHE_KIB = 65_536
"""SQLite page cache per connection. Each add touches ``bands`` random leaf pages of the band
table; with SQLite's default 2 MB cache those are re-read and spilled on every insert once the
table outgrows it (about 1k inserts/s at 100k documents, measured in ``bench/lsh_index.py``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    site TEXT,
    title TEXT,
    fetched_at TEXT NOT NULL,
    published TEXT,
    fingerprint BLOB NOT NULL,
    signature BLOB NOT NULL,
    first_seen TEXT NOT NULL,  -- of a canonical: earliest (published or fetched_at) of its cluster
    passages BLOB NOT NULL,  -- partial.fingerprints(): sorted little-endian uint32 (none: exact copy)
    anchors BLOB NOT NULL,  -- partial.anchor_mask(): which passages are in the passages table
    canonical INTEGER  -- id of the cluster's canonical document, NULL for the canonical itself
);
CREATE INDEX IF NOT EXISTS docs_fingerprint ON docs (fingerprint);
CREATE INDEX IF NOT EXISTS docs_canonical ON docs (canonical) WHERE canonical IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_fetched_at ON docs (fetched_at);
CREATE TABLE IF NOT EXISTS bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (band, key, doc)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS passages (
    fp INTEGER NOT NULL,  -- signed 32-bit, as band keys: 4 bytes a row, not 6
    cluster INTEGER NOT NULL,  -- the doc's canonical: boilerplate is counted in stories, not pages
    doc INTEGER NOT NULL,
    PRIMARY KEY (fp, cluster, doc)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partial_links (
    copy INTEGER NOT NULL,
    source INTEGER NOT NULL,
    containment REAL NOT NULL,
    share REAL NOT NULL,
    PRIMARY KEY (copy, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS partial_links_source ON partial_links (source);
"""


class DuplicateKeyError(ValueError):
    """A document key is already in the index (or twice in one batch); nothing was added."""


class IndexMismatchError(ValueError):
    """The index file was built with other signature parameters or LSH layout."""


@dataclass(frozen=True)
class IndexConfig:
    """Every ``DEDUP_*`` setting of the index (the signature's are in :class:`SignatureParams`).

    The LSH uses the first ``bands * rows`` values of each signature, which must not exceed
    ``num_perm`` (checked when the index is opened); the similarity is always estimated from
    the whole stored signature.
    """

    bands: int = 20
    """LSH bands (``DEDUP_BANDS``): band keys stored per document."""
    rows: int = 2
    """Signature values per band (``DEDUP_ROWS``). 20 x 2: candidate probability 0.97 at J 0.40."""
    near_duplicate: float = 0.30
    """Estimated Jaccard at or above which a candidate is a near-duplicate (``DEDUP_THRESHOLD``)."""
    storage_bits: int = 8
    """Bits kept per stored signature value, 8, 16 or 32 (``DEDUP_STORAGE_BITS``)."""
    window: int = 12
    """Winnowing window of the partial-copy fingerprints (``DEDUP_WINDOW``), in shingles: any
    passage of ``3 * window`` shingles two texts share is found. 0 turns partial copies off."""
    max_fingerprints: int = 128
    """Fingerprints kept per document, the smallest (``DEDUP_MAX_FINGERPRINTS``): bounds what a
    very long page costs; an 800-word article has about 120."""
    partial: float = 0.5
    """Containment from which a partial copy is linked (``DEDUP_PARTIAL_THRESHOLD``)."""

    def __post_init__(self) -> None:
        for setting, name, value, low in (
            ("DEDUP_BANDS", "bands", self.bands, 1),
            ("DEDUP_ROWS", "rows", self.rows, 1),
            ("DEDUP_WINDOW", "window", self.window, 0),
            ("DEDUP_MAX_FINGERPRINTS", "max_fingerprints", self.max_fingerprints, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                kind = "a positive" if low else "a non-negative"
                raise ValueError(f"{setting} ({name}) must be {kind} integer, got {value!r}")
        for setting, name, value in (
            ("DEDUP_THRESHOLD", "near_duplicate", self.near_duplicate),
            ("DEDUP_PARTIAL_THRESHOLD", "partial", self.partial),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                raise ValueError(f"{setting} ({name}) must be a number in (0, 1], got {value!r}")
        if self.storage_bits not in STORAGE_BITS:
            raise ValueError(
                f"DEDUP_STORAGE_BITS (storage_bits) must be one of {', '.join(map(str, STORAGE_BITS))}, "
                f"got {self.storage_bits!r}"
            )

    @classmethod
    def from_layout(cls, layout: dict[str, Any]) -> IndexConfig:
        """The config an index was built with, from its stored :meth:`layout` (thresholds at
        their defaults: they are not stored): for reading an index back."""
        names = ("bands", "rows", "storage_bits", "window", "max_fingerprints")
        return cls(**{name: layout[name] for name in names if name in layout})

    def layout(self) -> dict[str, Any]:
        """What must match between the stored index and this config (not the threshold)."""
        return {
            "bands": self.bands,
            "rows": self.rows,
            "storage_bits": self.storage_bits,
            "band_hash": BAND_HASH,
            "window": self.window,
            "max_fingerprints": self.max_fingerprints,
        }


@dataclass(frozen=True)
class Document:
    """One archived capture, as the pipeline adds it."""

    key: str
    """Unique id of the capture, e.g. the WARC record id of the response."""
    url: str
    site: str | None
    title: str | None
    fetched_at: str
    """ISO 8601; compared as text by :meth:`SqliteIndex.forget_older_than` (use one format)."""
    fingerprint: bytes
    """:func:`text_fingerprint` of the extracted text."""
    signature: np.ndarray
    """:meth:`MinHasher.signature` of the extracted text (uint32, ``num_perm`` values)."""
    published: str | None = None
    """Publication date (ISO 8601) if known: the earlier published of two texts sharing a passage
    is its source (else the earlier fetched)."""
    shingles: np.ndarray | None = None
    """:meth:`MinHasher.shingle_sequence` of the text, for partial copies; None: not looked for."""


@dataclass(frozen=True)
class Match:
    """Where :meth:`SqliteIndex.add` put a document: the fields of the JSON record."""

    cluster_id: str
    """Hex of the cluster's canonical document's fingerprint: stable across runs and backends."""
    duplicate_of: str | None
    """URL of the cluster's canonical (first added) document; None if this one is the canonical."""
    similarity: float | None
    """Estimated Jaccard to the canonical (1.0 for an exact duplicate); None if canonical."""
    exact: bool
    """Same normalised text (fingerprint) as the canonical."""
    partial: tuple[PartialLink, ...] = ()
    """Partial copies found between this document and others archived before it."""


@dataclass(frozen=True)
class ClusterMember:
    key: str
    url: str
    site: str | None
    title: str | None
    fetched_at: str
    similarity: float | None
    """Estimated Jaccard to the canonical (1.0 if exact); None for the canonical itself."""
    exact: bool


@dataclass(frozen=True)
class PartialCopy:
    """A document reproducing a passage of a cluster's text (see :class:`PartialLink`)."""

    copy: ClusterMember
    source_url: str
    """The member of the cluster whose text it reproduces."""
    containment: float
    share: float


@dataclass(frozen=True)
class Cluster:
    cluster_id: str
    canonical: ClusterMember
    members: tuple[ClusterMember, ...]
    """The copies, oldest first (the canonical not included)."""
    partial_copies: tuple[PartialCopy, ...] = ()
    """Other documents that reproduce part of this cluster's text, largest containment first."""

    @property
    def size(self) -> int:
        return 1 + len(self.members)


def checked_signature(doc: Document, num_perm: int) -> np.ndarray:
    """``doc``'s signature as uint32, after the checks every index makes before storing it."""
    signature = np.asarray(doc.signature)
    if signature.shape != (num_perm,):
        raise ValueError(f"signature of {doc.url} has shape {signature.shape}, expected ({num_perm},)")
    signature = signature.astype(np.uint32, copy=False)
    if np.all(signature == 0xFFFFFFFF):
        raise ValueError(f"{doc.url}: the text is empty after normalisation; do not index it")
    if len(doc.fingerprint) != 16:
        raise ValueError(
            f"{doc.url}: fingerprint must be 16 bytes (text_fingerprint), got {len(doc.fingerprint)}"
        )
    return signature


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    """Signed 32-bit BLAKE2b hash of each band's ``rows`` values (little-endian uint32 bytes)."""
    values = np.ascontiguousarray(np.asarray(signature, dtype="<u4")[: bands * rows]).tobytes()
    step = 4 * rows
    return [
        int.from_bytes(
            hashlib.blake2b(values[i : i + step], digest_size=4, person=b"newsarchive-lsh").digest(),
            "little",
            signed=True,
        )
        for i in range(0, len(values), step)
    ]


class SqliteIndex:
    """Near-duplicate index in one SQLite file (WAL mode), shareable by processes on one host.

    Thread-safe (one connection behind a lock). Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: Path | str, params: SignatureParams, config: IndexConfig | None = None) -> None:
        self.path = Path(path)
        self.params = params
        self.config = config or IndexConfig()
        if self.config.bands * self.config.rows > params.num_perm:
            raise ValueError(
                f"DEDUP_BANDS x DEDUP_ROWS ({self.config.bands} x {self.config.rows} = "
                f"{self.config.bands * self.config.rows}) must not exceed DEDUP_NUM_PERM ({params.num_perm})"
            )
        self._lock = threading.Lock()
        self._db = connect(self.path)
        try:
            self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self._open()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open_existing(cls, path: Path | str) -> SqliteIndex:
        """The index at ``path`` with the settings it was built with (for reading it back)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no dedup index at {path}: has a crawl with DEDUP_ENABLED run there?")
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            meta = {name: json.loads(value) for name, value in db.execute("SELECT * FROM meta")}
        finally:
            db.close()
        return cls(
            path, SignatureParams.from_dict(meta["signature_params"]), IndexConfig.from_layout(meta["lsh"])
        )

    def _open(self) -> None:
        stored_params = self.params.as_dict()
        stored_layout = self.config.layout()
        with self._transaction():
            # One statement at a time: executescript() would COMMIT the open transaction first.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            for name, value in (
                ("schema", SCHEMA_VERSION),
                ("signature_params", stored_params),
                ("lsh", stored_layout),
            ):
                self._db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (name, json.dumps(value)))
            meta = {name: json.loads(value) for name, value in self._db.execute("SELECT * FROM meta")}
        problems: list[str] = []
        if meta["schema"] != SCHEMA_VERSION:
            problems.append(f"schema version: ours {SCHEMA_VERSION}, stored {meta['schema']}")
        for key, (ours, stored) in sorted(self.params.differences(meta["signature_params"]).items()):
            problems.append(f"signature parameter {key}: ours {ours!r}, stored {stored!r}")
        for key in sorted(stored_layout.keys() | meta["lsh"].keys()):
            ours, stored = stored_layout.get(key), meta["lsh"].get(key)
            if ours != stored:
                problems.append(f"index setting {key}: ours {ours!r}, stored {stored!r}")
        if problems:
            raise IndexMismatchError(
                f"the dedup index {self.path} was built with other settings; its signatures cannot be "
                "compared with ours:\n  "
                + "\n  ".join(problems)
                + "\nuse the stored settings or a new index file"
            )

    # -- transactions -------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # -- public API -----------------------------------------------------------------------------

    def add(self, doc: Document) -> Match:
        """Find ``doc``'s cluster (exact fingerprint, else LSH candidates verified by estimated
        Jaccard), insert it, and say where it went; all in one write transaction."""
        return self.add_many([doc])[0]

    def add_many(self, docs: Sequence[Document]) -> list[Match]:
        """:meth:`add` each document in order, in ONE write transaction: a document sees the ones
        before it in the batch. One commit per batch instead of per document: the commit (writing
        the touched band pages to the WAL) is most of the cost of a lone :meth:`add`."""
        checked = [
            (doc, checked_signature(doc, self.params.num_perm), *passages_of(doc, self.config))
            for doc in docs
        ]
        matches = []
        with self._lock, self._transaction():
            keys = [doc.key for doc in docs]
            known = self._db.execute(
                f"SELECT key FROM docs WHERE key IN ({','.join('?' * len(keys))}) LIMIT 1", keys
            ).fetchone()
            if known or len(set(keys)) < len(keys):
                duplicate = known[0] if known else next(k for k in keys if keys.count(k) > 1)
                raise DuplicateKeyError(
                    f"document key {duplicate!r} is already in the index {self.path}; "
                    "nothing of this batch was added"
                )
            finder = PassageFinder(_SqlitePassages(self._db), self.config)
            for doc, signature, fps, anchors in checked:
                match, canonical_id, keys = self._find(doc, signature)
                if match.exact:  # its twin's passages are these: stored once, found through it
                    anchors = anchors[:0]
                seen = seen_of(doc)
                blob, mask = encode(fps[:0] if match.exact else fps, anchors)
                cursor = self._db.execute(
                    "INSERT INTO docs (key, url, site, title, fetched_at, published, first_seen, fingerprint, "
                    "signature, passages, anchors, canonical) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        doc.key,
                        doc.url,
                        doc.site,
                        doc.title,
                        doc.fetched_at,
                        doc.published,
                        seen,
                        doc.fingerprint,
                        signature_to_bytes(signature, self.config.storage_bits),
                        blob,
                        mask,
                        canonical_id,
                    ),
                )
                doc_id = cursor.lastrowid
                if canonical_id is not None:
                    self._db.execute(
                        "UPDATE docs SET first_seen = min(first_seen, ?) WHERE id = ?", (seen, canonical_id)
                    )
                if keys:
                    self._db.executemany(
                        "INSERT OR IGNORE INTO bands VALUES (?, ?, ?)",
                        [(band, key, doc_id) for band, key in enumerate(keys)],
                    )
                cluster = doc_id if canonical_id is None else canonical_id
                story = seen if canonical_id is None else self._first_seen(canonical_id)
                new = new_text(doc_id, cluster, match.cluster_id, doc, story, fps, anchors)
                matches.append(replace(match, partial=finder.add(new)))
        return matches

    def find(self, doc: Document) -> Match:
        """What :meth:`add` would answer for ``doc`` about its cluster, without adding it (a read
        transaction; partial copies are only looked for by :meth:`add`)."""
        signature = checked_signature(doc, self.params.num_perm)
        with self._lock:
            self._db.execute("BEGIN")
            try:
                return self._find(doc, signature)[0]
            finally:
                self._db.execute("COMMIT")

    def _first_seen(self, doc: int) -> str:
        return self._db.execute("SELECT first_seen FROM docs WHERE id = ?", (doc,)).fetchone()[0]

    def _find(self, doc: Document, signature: np.ndarray) -> tuple[Match, int | None, list[int]]:
        """(match, canonical id or None for a new canonical, band keys to store)."""
        row = self._db.execute(
            "SELECT COALESCE(canonical, id) FROM docs WHERE fingerprint = ? LIMIT 1", (doc.fingerprint,)
        ).fetchone()
        if row is not None:
            canonical_id = row[0]
            url, fingerprint, stored = self._db.execute(
                "SELECT url, fingerprint, signature FROM docs WHERE id = ?", (canonical_id,)
            ).fetchone()
            exact = fingerprint == doc.fingerprint
            similarity = 1.0 if exact else estimate_jaccard(signature, self._signature(stored))
            return Match(fingerprint.hex(), url, similarity, exact), canonical_id, []

        keys = band_keys(signature, self.config.bands, self.config.rows)
        lookup = " UNION ".join(["SELECT doc FROM bands WHERE band = ? AND key = ?"] * len(keys))
        candidates = self._db.execute(
            f"SELECT id, COALESCE(canonical, id), signature FROM docs WHERE id IN ({lookup})",
            [value for pair in enumerate(keys) for value in pair],
        ).fetchall()
        best: tuple[float, int, int] | None = None  # (similarity, -id: oldest wins ties, canonical)
        for doc_id, canonical_id, stored in candidates:
            similarity = estimate_jaccard(signature, self._signature(stored))
            if similarity >= self.config.near_duplicate and (
                best is None or (similarity, -doc_id) > best[:2]
            ):
                best = (similarity, -doc_id, canonical_id)
        if best is None:
            return Match(doc.fingerprint.hex(), None, None, False), None, keys
        canonical_id = best[2]
        url, fingerprint, stored = self._db.execute(
            "SELECT url, fingerprint, signature FROM docs WHERE id = ?", (canonical_id,)
        ).fetchone()
        similarity = estimate_jaccard(signature, self._signature(stored))
        return Match(fingerprint.hex(), url, similarity, False), canonical_id, keys

    def _signature(self, data: bytes) -> np.ndarray:
        return signature_from_bytes(data, self.params.num_perm, self.config.storage_bits)

    def forget_older_than(self, cutoff_iso: str) -> int:
        """Delete documents fetched before ``cutoff_iso`` (and their band keys, passages and partial
        links); return how many.

        A canonical whose cluster still has a copy fetched at or after the cutoff is kept, so the
        surviving copies keep their ``cluster_id`` and ``duplicate_of``; it goes with its last copy.
        """
        with self._lock, self._transaction():
            self._db.execute("DROP TABLE IF EXISTS temp.forget")
            self._db.execute(
                "CREATE TEMP TABLE forget AS SELECT id FROM docs WHERE fetched_at < ? AND id NOT IN "
                "(SELECT canonical FROM docs WHERE canonical IS NOT NULL AND fetched_at >= ?)",
                (cutoff_iso, cutoff_iso),
            )
            self._db.execute("DELETE FROM bands WHERE doc IN (SELECT id FROM temp.forget)")
            for doc, cluster, blob, mask in self._db.execute(
                "SELECT id, COALESCE(canonical, id), passages, anchors FROM docs "
                "WHERE id IN (SELECT id FROM temp.forget)"
            ).fetchall():
                fps = _signed(partial.anchors_from_mask(np.frombuffer(blob, "<u4"), mask))
                self._db.executemany(
                    "DELETE FROM passages WHERE fp = ? AND cluster = ? AND doc = ?",
                    [(fp, cluster, doc) for fp in fps],
                )
            self._db.execute(
                "DELETE FROM partial_links WHERE copy IN (SELECT id FROM temp.forget) "
                "OR source IN (SELECT id FROM temp.forget)"
            )
            count = self._db.execute("DELETE FROM docs WHERE id IN (SELECT id FROM temp.forget)").rowcount
            self._db.execute("DROP TABLE temp.forget")
        return count

    def clusters(self, min_size: int = 2) -> list[Cluster]:
        """Every cluster of at least ``min_size`` documents or with partial copies, largest first
        (then the most partial copies, then oldest)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.id, COALESCE(d.canonical, d.id), d.key, d.url, d.site, d.title, d.fetched_at, "
                "d.fingerprint, d.signature FROM docs d WHERE COALESCE(d.canonical, d.id) IN "
                "(SELECT COALESCE(canonical, id) FROM docs GROUP BY 1 HAVING COUNT(*) >= ? "
                "UNION SELECT COALESCE(s.canonical, s.id) FROM partial_links l JOIN docs s ON s.id = l.source) "
                "ORDER BY d.id",
                (min_size,),
            ).fetchall()
            links = self._db.execute(
                "SELECT COALESCE(s.canonical, s.id), s.url, l.containment, l.share, "
                "c.key, c.url, c.site, c.title, c.fetched_at FROM partial_links l "
                "JOIN docs s ON s.id = l.source JOIN docs c ON c.id = l.copy "
                "ORDER BY l.containment DESC, c.fetched_at, c.id"
            ).fetchall()
        partial_copies: dict[int, list[PartialCopy]] = {}
        for cluster, source_url, containment, share, *copy in links:
            member = ClusterMember(*copy, similarity=None, exact=False)
            partial_copies.setdefault(cluster, []).append(PartialCopy(member, source_url, containment, share))
        groups: dict[int, list[tuple]] = {}
        for row in rows:
            groups.setdefault(row[1], []).append(row)
        result = []
        for canonical_id, group in groups.items():
            head = next(row for row in group if row[0] == canonical_id)
            head_signature = self._signature(head[8])
            members = []
            for row in group:
                if row is head:
                    continue
                exact = row[7] == head[7]
                similarity = 1.0 if exact else estimate_jaccard(self._signature(row[8]), head_signature)
                members.append(ClusterMember(*row[2:7], similarity=similarity, exact=exact))
            members.sort(key=lambda m: (m.fetched_at, m.key))
            result.append(
                Cluster(
                    head[7].hex(),
                    ClusterMember(*head[2:7], similarity=None, exact=False),
                    tuple(members),
                    tuple(partial_copies.get(canonical_id, ())),
                )
            )
        result.sort(key=lambda c: (-c.size, -len(c.partial_copies), c.canonical.fetched_at, c.cluster_id))
        return result

    def lookup(self, keys: Iterable[str]) -> dict[str, str]:
        """``{document key: cluster_id}`` for the given keys that are in the index."""
        keys = list(keys)
        with self._lock:
            rows = self._db.execute(
                "SELECT d.key, c.fingerprint FROM docs d JOIN docs c ON c.id = COALESCE(d.canonical, d.id) "
                f"WHERE d.key IN ({', '.join('?' * len(keys))})",
                keys,
            ).fetchall()
        return {key: fingerprint.hex() for key, fingerprint in rows}

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, {self.params!r}, {self.config!r})"


class _SqlitePassages:
    """:class:`~newsarchive.dedup.passages.PassageStore` on SqliteIndex's tables, inside its open
    write transaction: the passage index is the ``passages`` table (anchors only, with each
    document's cluster), links are ``partial_links``."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def lookup(self, queries: Sequence[partial.Text], skip: int) -> list[Found]:
        found = []
        for of in queries:
            wanted = [
                fp
                for fp in _signed(of.anchors)
                if self._db.execute(
                    "SELECT COUNT(*) FROM (SELECT DISTINCT cluster FROM passages WHERE fp = ? AND doc != ? "
                    "LIMIT ?)",
                    (fp, skip, partial.MAX_HOLDERS + 1),
                ).fetchone()[0]
                <= partial.MAX_HOLDERS
            ]
            ids = [
                doc
                for (doc,) in self._db.execute(
                    f"SELECT DISTINCT doc FROM passages WHERE fp IN ({', '.join('?' * len(wanted))}) "
                    "AND doc != ?",
                    [*wanted, skip],
                )
            ]
            twin = self._db.execute(
                "SELECT id, COALESCE(published, fetched_at) AS seen FROM docs WHERE id NOT IN (?, ?) AND "
                "fingerprint = (SELECT fingerprint FROM docs WHERE id = ?) ORDER BY seen, id LIMIT 1",
                (of.doc, skip, of.doc),
            ).fetchone()
            found.append(Found(self._texts(ids), (twin[0], twin[1]) if twin else None))
        return found

    def _texts(self, ids: Sequence[int]) -> list[partial.Text]:
        rows = self._db.execute(
            "SELECT d.id, COALESCE(d.canonical, d.id), c.fingerprint, d.url, d.site, "
            "COALESCE(d.published, d.fetched_at), c.first_seen, "
            "d.passages, d.anchors FROM docs d JOIN docs c ON c.id = COALESCE(d.canonical, d.id) "
            f"WHERE d.id IN ({', '.join('?' * len(ids))})",
            ids,
        ).fetchall()
        return [
            stored_text(doc, cluster, fp.hex(), url, site, seen, story, blob, mask)
            for doc, cluster, fp, url, site, seen, story, blob, mask in rows
        ]

    def post(self, new: partial.Text) -> Found:
        (found,) = self.lookup([new], skip=new.doc)
        self._db.executemany(
            "INSERT OR IGNORE INTO passages VALUES (?, ?, ?)",
            [(fp, new.cluster, new.doc) for fp in _signed(new.anchors)],
        )
        return found

    def links_present(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        return {
            pair
            for pair in pairs
            if self._db.execute("SELECT 1 FROM partial_links WHERE copy = ? AND source = ?", pair).fetchone()
        }

    def write_links(self, drop: Sequence[tuple[int, int]], links: Sequence[partial.Link]) -> None:
        self._db.executemany("DELETE FROM partial_links WHERE copy = ? AND source = ?", drop)
        self._db.executemany(
            "INSERT OR REPLACE INTO partial_links VALUES (?, ?, ?, ?)",
            [(link.copy.doc, link.source.doc, link.containment, link.share) for link in links],
        )


def _signed(fps: np.ndarray) -> list[int]:
    """uint32 fingerprints as signed 32-bit integers: SQLite stores those in 4 bytes, not 6."""
    return fps.astype(np.uint32).view(np.int32).tolist()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): the write lock is taken first,
    so the query that decides a cluster and the insert that records it cannot be interleaved."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
