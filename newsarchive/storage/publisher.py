"""Move closed spool files to the store: upload, verify, record, and only then delete.

A file leaves the spool only after the store holds an identical copy, so whatever fails (the
network, the store, the process) the file is still in the spool and is published by the
next run or by ``newsarchive upload``. ``state/uploads.sqlite`` records what reached the store,
which is how files kept with ``ARCHIVE_KEEP_LOCAL`` are not uploaded twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsarchive import _sqlite
from newsarchive.exceptions import StorageError
from newsarchive.layout import UPLOADED_DIRS, ArchiveLayout
from newsarchive.storage.openfiles import OPEN_SUFFIX
from newsarchive.storage.s3 import TRANSFER_ERRORS, LocalFile, ObjectConflictError, Outcome, S3Store

logger = logging.getLogger(__name__)

LEDGER_FILE = "uploads.sqlite"


@dataclass(frozen=True)
class Published:
    """What became of one spool file."""

    path: Path
    url: str
    size: int
    outcome: Outcome | None  # None: not stored, the file stays in the spool
    error: str | None = None
    conflict: bool = False


class UploadLedger:
    """Which spool files are in the store, by path relative to the spool."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = _sqlite.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS uploads (path TEXT PRIMARY KEY, key TEXT NOT NULL, "
            "size INTEGER NOT NULL, crc32 TEXT NOT NULL, outcome TEXT NOT NULL, at TEXT NOT NULL)"
        )

    def holds(self, relative: str, size: int) -> bool:
        with self._lock:
            row = self._db.execute("SELECT size FROM uploads WHERE path = ?", (relative,)).fetchone()
        return row is not None and row[0] == size

    def record(self, relative: str, key: str, local: LocalFile, outcome: Outcome) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?, ?)",
                (relative, key, local.size, local.crc32, outcome.value, datetime.now(UTC).isoformat()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


class SpoolPublisher:
    """Publishes the closed files of a spool (``warc/``, ``json/``) to an :class:`S3Store`."""

    def __init__(self, layout: ArchiveLayout, store: S3Store, *, keep_local: bool = False) -> None:
        self.layout = layout
        self.store = store
        self.keep_local = keep_local
        self.ledger = UploadLedger(layout.state_dir / LEDGER_FILE)

    def pending(self) -> list[Path]:
        """Closed files of the spool the store does not hold yet, oldest name first."""
        files = []
        for name in UPLOADED_DIRS:
            directory = self.layout.root / name
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                if path.name.startswith(".") or path.name.endswith(OPEN_SUFFIX) or not path.is_file():
                    continue
                relative = str(self.layout.relative(path))
                if not self.ledger.holds(relative, path.stat().st_size):
                    files.append(path)
        return files

    def publish(self, path: Path) -> Published:
        """Upload ``path`` (a closed spool file) and remove it from the spool once verified.
        Never raises for a store or network failure: the result says what happened."""
        relative = self.layout.relative(path)
        key = self.layout.remote.key(relative) if self.layout.remote else str(relative)
        url = f"s3://{self.store.location.bucket}/{key}"
        try:
            local = self.store.describe(path)
            outcome = self.store.upload(local, key)
        except ObjectConflictError as exc:
            logger.error("Not uploaded, kept in the spool: %s", exc)
            return Published(path, url, path.stat().st_size, None, str(exc), conflict=True)
        except (*TRANSFER_ERRORS, StorageError) as exc:
            logger.error(
                "Could not upload %s to %s: %s. It stays in the spool; the next run or "
                "`newsarchive upload` sends it.",
                path,
                url,
                exc,
            )
            size = path.stat().st_size if path.exists() else 0
            return Published(path, url, size, None, f"{type(exc).__name__}: {exc}")
        self.ledger.record(str(relative), key, local, outcome)
        logger.info(
            "%s %s as %s (%d bytes, verified)", outcome.value.capitalize(), path.name, url, local.size
        )
        if not self.keep_local:
            path.unlink(missing_ok=True)
        return Published(path, url, local.size, outcome)

    def close(self) -> None:
        self.ledger.close()
