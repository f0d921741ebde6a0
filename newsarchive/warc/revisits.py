"""Which payloads the archive already holds, so that identical bytes are stored once.

A response whose payload (the body as stored, still content-encoded) was archived before
becomes a ``revisit`` record (profile :data:`REVISIT_PROFILE`) naming that first record; the
rule and the reasons for it are in docs/output.md. The index is one SQLite file,
``ARCHIVE_URI/state/payloads.sqlite``, shared by runs and by crawler processes on one host:
``WARC-Payload-Digest`` -> target URI, ``WARC-Date`` and ``WARC-Record-ID`` of the first full
response record that carried it.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from warcio.recordbuilder import RecordBuilder

from newsarchive._sqlite import connect
from newsarchive.warc.records import Capture, HttpExchange

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

logger = logging.getLogger(__name__)

REVISIT_PROFILE = RecordBuilder.REVISIT_PROFILE
"""``http://netpreserve.org/warc/1.0/revisit/identical-payload-digest``: the WARC/1.0 URI, the one
warcio writes into WARC/1.0 files and pywb's indexer and replay recognise."""
REVISIT_STATUSES = frozenset({200})
"""Statuses whose payloads are deduplicated (as revisits, and as the records they point to)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payloads (
    digest TEXT PRIMARY KEY,
    uri TEXT NOT NULL,
    date TEXT NOT NULL,
    record_id TEXT NOT NULL
) WITHOUT ROWID
"""


def revisitable(exchange: HttpExchange) -> bool:
    """Whether the exchange takes part in deduplication, on either side: a complete, non-empty
    ``200`` payload. The same rule decides which records may become revisits and which may be
    pointed to, so that a revisit always leads to a whole body that replay tools index."""
    return exchange.status in REVISIT_STATUSES and exchange.truncated is None and bool(exchange.body)


class PayloadIndex:
    """Payload digest -> the first full response record that carried it (:class:`Capture`)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = connect(path)
        try:
            self._db.execute(_SCHEMA)
        except BaseException:
            self._db.close()
            raise

    def lookup(self, digest: str) -> Capture | None:
        """The first capture of this payload, if any (no lock taken)."""
        row = self._db.execute(
            "SELECT uri, date, record_id FROM payloads WHERE digest = ?", (digest,)
        ).fetchone()
        return Capture(*row) if row else None

    def first_capture(self, digest: str, write: Callable[[], Capture]) -> Capture | None:
        """The first capture of ``digest`` if there is one; otherwise ``write()`` archives the
        full record, which becomes the first, and None is returned.

        The look-up, ``write()`` and the insert happen in one write transaction: another
        process with the same payload waits (``BEGIN IMMEDIATE``) until this one has written
        and committed, then finds the record, so each payload is stored in full once. The entry
        is committed only after ``write()`` returned: when it raises (the WARC file was cut
        back) or the process dies before the commit, nothing points to a record that is not
        there. Raises what ``write()`` raises, and :class:`sqlite3.Error`.
        """
        found = self.lookup(digest)
        if found is not None:
            return found
        self._db.execute("BEGIN IMMEDIATE")
        try:
            found = self.lookup(digest)
            if found is None:
                capture = write()
                self._db.execute(
                    "INSERT INTO payloads (digest, uri, date, record_id) VALUES (?, ?, ?, ?)",
                    (digest, capture.uri, capture.date, capture.record_id),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return found

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM payloads").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def _rollback(self) -> None:
        if not self._db.in_transaction:
            return
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            logger.exception("Could not roll back a transaction of %s", self.path)
