"""Where things live inside an archive (``ARCHIVE_URI``): ``warc/``, ``json/``, ``state/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from newsarchive.exceptions import SettingsError


@dataclass(frozen=True)
class ArchiveLayout:
    """The directories of one archive root."""

    root: Path

    @classmethod
    def from_uri(cls, uri: str) -> ArchiveLayout:
        """A local path or ``file://`` URI; other schemes are refused with the reason."""
        parts = urlsplit(uri)
        if parts.scheme in ("", "file") or len(parts.scheme) == 1:  # "C:" is a drive
            path = url2pathname(parts.path) if parts.scheme == "file" else uri
            return cls(Path(path).expanduser().resolve())
        raise SettingsError(f"ARCHIVE_URI={uri!r}: unsupported scheme {parts.scheme!r} (use a local path)")

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def json_dir(self) -> Path:
        return self.root / "json"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"
