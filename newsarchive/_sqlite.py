"""SQLite files that several crawler processes may open at once (crawl state, dedup index)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

BUSY_TIMEOUT_S = 60.0
"""How long a process waits for another one's write transaction before giving up."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode, WAL journal, ``synchronous=NORMAL`` (a commit is not
    fsynced: an OS crash may lose the last commits but never corrupts the file)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
    try:
        _enable_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        db.close()
        raise
    return db


def _enable_wal(db: sqlite3.Connection) -> None:
    """``journal_mode = WAL`` does not wait on the busy timeout: while another process is
    creating the same file it fails at once with "database is locked" (4 times in 30 races of
    two processes on a fresh file). Retry it for as long as a busy write would be waited for."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
