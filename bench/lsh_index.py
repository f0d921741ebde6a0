"""SqliteIndex and RedisIndex at N documents: inserts/s, queries/s (p50/p99), bytes per document.

    .venv/bin/python bench/lsh_index.py [--docs 100000] [--no-redis]

The Redis backend runs against a redis-server the bench starts itself on 127.0.0.1 (no
persistence; tests/redis_server.py), with the same documents in the same order, in the same
run, and the ratios Redis / embedded (time per document, query latency) are printed at the end.

Documents: random 128-value signatures (distinct stories), 10 % near-duplicates of an earlier
document (30-70 % of the values replaced: estimated J 0.3-0.7) and 2 % exact copies (same
fingerprint); metadata of realistic length (WARC record id, URL, site, title, timestamp).
Random signatures share no band key by chance, so the query cost here is the floor; the real
background rate (pairs of unrelated real news texts sharing a band key) is measured separately
on the ../shared AEB + Fundus texts and extrapolated to candidates per query.

Every document also carries the shingle sequence of a synthetic text (random shingle hashes,
600-1,000 of them: about 120 passage fingerprints and 60 anchors, as an 800-word article), so
that adds, bytes and memory include the partial-copy step: a near copy is its source's text
with a tenth to a half of its words replaced, an exact copy the same text, and 3 % of the
documents are excerpt pages (an earlier text's passage of 150-300 shingles with a short text of
their own: linked as partial copies) and 1 % roundups (excerpts of three or four earlier texts).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsarchive.dedup import MinHasher, SignatureParams  # noqa: E402
from newsarchive.dedup.index import Document, IndexConfig, SqliteIndex, band_keys  # noqa: E402
from newsarchive.dedup.redis_index import CALL_TTL_S, RedisIndex  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

SHARED = REPO.parent / "shared"


def make_docs(n: int, rng: np.random.Generator) -> list[Document]:
    docs: list[Document] = []
    for i in range(n):
        roll = rng.random()
        if docs and roll < 0.02:
            base = docs[int(rng.integers(len(docs)))]
            fingerprint, signature, shingles = base.fingerprint, base.signature, base.shingles
        elif docs and roll < 0.12:
            base = docs[int(rng.integers(len(docs)))]
            signature = base.signature.copy()
            replace = rng.random(signature.size) < rng.uniform(0.3, 0.7)
            signature[replace] = rng.integers(0, 2**32, int(replace.sum()), dtype=np.uint32)
            fingerprint = rng.bytes(16)
            shingles = _edited(base.shingles, rng)
        else:
            signature = rng.integers(0, 2**32, 128, dtype=np.uint32)
            fingerprint = rng.bytes(16)
            if docs and roll < 0.15:
                shingles = _excerpt(docs, rng)
            elif docs and roll < 0.16:
                shingles = _roundup(docs, rng)
            else:
                shingles = _text(rng, int(rng.integers(600, 1000)))
        site = f"www.news-site-{i % 500}.example.com"
        docs.append(
            Document(
                key=f"<urn:uuid:{uuid.UUID(bytes=rng.bytes(16))}>",
                url=f"https://{site}/2026/11/{i % 28 + 1:02d}/story-about-something-{i}-happening-today.html",
                site=site,
                title=f"Headline number {i} about an event that happened somewhere today",
                fetched_at=f"2026-11-{i % 28 + 1:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                fingerprint=fingerprint,
                signature=signature,
                shingles=shingles,
            )
        )
    return docs


def _text(rng: np.random.Generator, length: int) -> np.ndarray:
    """The shingle hashes of a text no other shares."""
    return rng.integers(0, 2**32, length, dtype=np.uint32)


def _edited(shingles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A tenth to a half of the words replaced: each word changes the 5 shingles covering it."""
    edited = shingles.copy()
    for start in rng.integers(0, edited.size, int(edited.size * rng.uniform(0.1, 0.5) / 5)):
        edited[start : start + 5] = _text(rng, edited[start : start + 5].size)
    return edited


def _passage(docs: list[Document], rng: np.random.Generator, length: int) -> np.ndarray:
    source = docs[int(rng.integers(len(docs)))].shingles
    start = int(rng.integers(0, max(1, source.size - length)))
    return source[start : start + length]


def _excerpt(docs: list[Document], rng: np.random.Generator) -> np.ndarray:
    """An excerpt page: a passage of an earlier text, with a short text of its own around it."""
    return np.concatenate(
        [
            _text(rng, int(rng.integers(20, 60))),
            _passage(docs, rng, int(rng.integers(150, 300))),
            _text(rng, int(rng.integers(20, 60))),
        ]
    )


def _roundup(docs: list[Document], rng: np.random.Generator) -> np.ndarray:
    """A roundup: excerpts of three or four earlier texts, a line of its own before each."""
    parts = []
    for _ in range(int(rng.integers(3, 5))):
        parts += [_text(rng, 15), _passage(docs, rng, int(rng.integers(100, 160)))]
    return np.concatenate(parts)


def background_rate(config: IndexConfig) -> None:
    """Share of pairs of real, unrelated news texts with at least one common band key."""
    corpora = SHARED / "corpora"
    try:
        aeb = json.loads((corpora / "aeb-article-extraction-benchmark/ground-truth.json").read_text())
        texts = [v["articleBody"] for v in aeb.values() if v.get("articleBody")]
        with open(corpora / "fundus-parser-test-data/index.jsonl", encoding="utf-8") as lines:
            texts += [json.loads(line).get("body_text") or "" for line in lines]
    except OSError as error:
        print(f"background rate: skipped ({error})")
        return
    texts = [t for t in texts if len(t) >= 1000]
    signatures = MinHasher(SignatureParams()).signatures(texts)
    keys = np.array([band_keys(s, config.bands, config.rows) for s in signatures])
    shared = (keys[:, None, :] == keys[None, :, :]).any(axis=2)
    n = len(texts)
    pairs = (shared.sum() - n) // 2
    rate = pairs / (n * (n - 1) / 2)
    print(
        f"background: {pairs} of {n * (n - 1) // 2} pairs of real texts share a band key "
        f"(rate {rate:.5f}; includes the few known near-duplicate pairs) -> about "
        f"{rate * 100_000:.0f} candidates per query at 100k, {rate * 1_000_000:.0f} at 1M"
    )


def sizes(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"))
    finally:
        db.close()


@dataclass
class Figures:
    """One backend's run over the same documents."""

    insert_rate: float
    """add(), one call (transaction or script, and the partial-copy step) each: documents/s."""
    batch_rate: float
    """add_many() of 100: documents/s."""
    query_times: list[float]
    """find() latencies, seconds, sorted."""
    linked: int
    """Single adds that joined a cluster."""
    partial: int
    """Partial-copy links the single adds reported."""
    found: int
    round_trips: float | None = None
    """Requests sent to the server per single add (Redis)."""
    server_ms: float | None = None
    """Server time in scripts per single add, milliseconds (Redis)."""

    @property
    def p50(self) -> float:
        return statistics.median(self.query_times)

    @property
    def p99(self) -> float:
        return self.query_times[int(len(self.query_times) * 0.99)]


class RoundTrips:
    """Counts what redis-py sends (one packed command, or one pipeline, is one round trip), and
    reads the server's time in scripts from ``INFO commandstats``."""

    def __init__(self, client: redis.Redis) -> None:
        self.count = 0
        self._client = client
        self._send = redis.connection.AbstractConnection.send_packed_command

    def script_seconds(self) -> float:
        """Server time spent in script calls so far (their own commands included)."""
        return self._client.info("commandstats").get("cmdstat_evalsha", {}).get("usec", 0) / 1e6

    def __enter__(self) -> RoundTrips:
        send = self._send

        def counted(connection, command, check_health=True):
            self.count += 1
            return send(connection, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = counted
        return self

    def __exit__(self, *exc: object) -> None:
        redis.connection.AbstractConnection.send_packed_command = self._send


def measure(
    index,
    docs: list[Document],
    probes: list[Document],
    extra: list[Document],
    trips: RoundTrips | None = None,
) -> Figures:
    """The same sequence for every backend: single adds, finds, then batches of 100."""
    server = trips.script_seconds() if trips else 0.0
    sent = trips.count if trips else 0
    start = time.perf_counter()
    linked = partial = 0
    for doc in docs:
        match = index.add(doc)
        linked += match.duplicate_of is not None
        partial += len(match.partial)
    insert_s = time.perf_counter() - start
    round_trips = (trips.count - sent) / len(docs) if trips else None
    server_ms = (trips.script_seconds() - server) / len(docs) * 1e3 if trips else None
    times = []
    found = 0
    for doc in probes:
        t0 = time.perf_counter()
        found += index.find(doc).duplicate_of is not None
        times.append(time.perf_counter() - t0)
    start = time.perf_counter()
    for i in range(0, len(extra), 100):
        index.add_many(extra[i : i + 100])
    batch_rate = len(extra) / (time.perf_counter() - start)
    return Figures(
        len(docs) / insert_s, batch_rate, sorted(times), linked, partial, found, round_trips, server_ms
    )


def report(name: str, figures: Figures, n_probes: int) -> None:
    trips = (
        f"; {figures.round_trips:.2f} round trips and {figures.server_ms:.2f} ms of server time per add"
        if figures.round_trips is not None
        else ""
    )
    print(
        f"{name}: insert (add, one call each): {figures.insert_rate:,.0f} docs/s "
        f"({figures.partial} partial links reported{trips})"
    )
    print(f"{name}: insert (add_many, 100 per call): {figures.batch_rate:,.0f} docs/s")
    times = figures.query_times
    print(
        f"{name}: query (find): {len(times) / sum(times):,.0f} queries/s, p50 {figures.p50 * 1e3:.3f} ms, "
        f"p99 {figures.p99 * 1e3:.3f} ms ({figures.found} of {n_probes} found a cluster)"
    )


def redis_memory(index: RedisIndex) -> tuple[int, dict[str, int]]:
    """used_memory, and MEMORY USAGE summed by key family (``P:d:*`` -> "d", ``P:keys`` -> "keys")."""
    client = index._redis
    families: dict[str, int] = defaultdict(int)
    names = [key.decode() for key in client.scan_iter(f"{index.prefix}:*", count=1000)]
    for start in range(0, len(names), 1000):
        chunk = names[start : start + 1000]
        with client.pipeline(transaction=False) as pipe:
            for name in chunk:
                pipe.memory_usage(name, samples=0)
            for name, size in zip(chunk, pipe.execute(), strict=True):
                families[name[len(index.prefix) + 1 :].split(":")[0]] += size or 0
    return int(client.info("memory")["used_memory"]), dict(sorted(families.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=5_000)
    parser.add_argument("--no-redis", action="store_true", help="the embedded index only")
    args = parser.parse_args()
    config = IndexConfig()
    rng = np.random.default_rng(1)
    docs = make_docs(args.docs, rng)
    probes = make_docs(args.queries, np.random.default_rng(2))
    # Half the probes are near-duplicates of indexed documents (so they find candidates).
    for i in range(0, len(probes), 2):
        base = docs[int(rng.integers(len(docs)))].signature.copy()
        base[rng.random(base.size) < 0.4] = 0
        probes[i] = Document(**{**probes[i].__dict__, "signature": base})
    extra = make_docs(20_000, np.random.default_rng(3))
    n = args.docs + len(extra)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dedup.sqlite"
        with SqliteIndex(path, SignatureParams(), config) as index:
            embedded = measure(index, docs, probes, extra)
            index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        print(
            f"{n} documents ({embedded.linked} of the first {args.docs} added as copies), bands x rows "
            f"{config.bands} x {config.rows}, {config.storage_bits}-bit signatures, passages (window "
            f"{config.window}, up to {config.max_fingerprints} a document); SQLite {sqlite3.sqlite_version}"
        )
        report("embedded", embedded, len(probes))
        file_bytes = path.stat().st_size
        table = sizes(path)
        print(f"file at {n} documents: {file_bytes / n:.0f} bytes/doc ({file_bytes / 1e6:.1f} MB)")
        for name, size in table.items():
            print(f"  {name:28} {size / n:6.0f} bytes/doc")
        db = sqlite3.connect(path)
        db.execute("VACUUM")
        db.close()
        print(f"after VACUUM: {path.stat().st_size / n:.0f} bytes/doc")
        for name, size in sizes(path).items():
            print(f"  {name:28} {size / n:6.0f} bytes/doc")

        if not args.no_redis:
            with RedisServer(Path(folder) / "redis") as server:
                with RedisIndex(server.url, SignatureParams(), config, prefix="bench") as index:
                    before = int(index._redis.info("memory")["used_memory"])
                    version = index._redis.info("server")["redis_version"]
                    with RoundTrips(index._redis) as trips:
                        shared = measure(index, docs, probes, extra, trips)
                    used, families = redis_memory(index)
                    assert len(index) == n
            print(f"Redis {version} on 127.0.0.1 (redis-py {redis.__version__}), same documents, same order")
            report("redis", shared, len(probes))
            calls = families.pop("call", 0)
            print(
                f"redis memory at {n} documents: {(used - before - calls) / n:.0f} bytes/doc (used_memory, "
                f"less {calls / n:.0f} bytes/doc of add-call tokens still alive for {CALL_TTL_S} s)"
            )
            for name, size in families.items():
                print(f"  {name:28} {size / n:6.0f} bytes/doc")
            print("ratios redis / embedded (time per document or per query; 1.0 = as fast)")
            for label, ours, theirs in (
                ("add, one call each", 1 / shared.insert_rate, 1 / embedded.insert_rate),
                ("add_many, 100 per call", 1 / shared.batch_rate, 1 / embedded.batch_rate),
                ("find p50", shared.p50, embedded.p50),
                ("find p99", shared.p99, embedded.p99),
            ):
                print(f"  {label:24} {ours / theirs:5.2f}   (target <= 3)")
    background_rate(config)


if __name__ == "__main__":
    main()
