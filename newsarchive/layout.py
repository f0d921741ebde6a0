"""Where things live inside an archive (``ARCHIVE_URI``): ``warc/``, ``indexes/``, ``json/``,
``state/``.

A local archive is written in place. An ``s3://bucket/prefix`` archive is written to a local
*spool* directory with the same layout, and each file is uploaded once it is closed
(:mod:`newsarchive.storage`): everything above the storage layer sees one kind of archive.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname

from newsarchive.exceptions import SettingsError

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

UPLOADED_DIRS = ("warc", "indexes", "json")
"""The spool directories whose closed files go to the store, in this order (a WARC file before
its index; ``state/`` stays local)."""


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/prefix``: a bucket and a key prefix without leading or trailing '/'."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise SettingsError(f"ARCHIVE_URI={uri!r}: expected s3://bucket/prefix")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise SettingsError(
                f"ARCHIVE_URI={uri!r}: no credentials, query or fragment in the URI "
                "(credentials come from AWS_* settings or boto3's chain)"
            )
        prefix = parts.path.strip("/")
        if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
            raise SettingsError(f"ARCHIVE_URI={uri!r}: empty, '.' or '..' segment in the prefix")
        return cls(parts.netloc, prefix)

    def key(self, relative: PurePosixPath) -> str:
        """The object key of a spool file, given its path relative to the spool."""
        return f"{self.prefix}/{relative}" if self.prefix else str(relative)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


@dataclass(frozen=True)
class ArchiveLayout:
    """The directories of one archive: ``root`` is the archive itself, or the spool of a
    remote one (``remote``)."""

    root: Path
    remote: S3Location | None = None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArchiveLayout:
        return cls.from_uri(settings["ARCHIVE_URI"], spool=settings.get("ARCHIVE_SPOOL") or "")

    @classmethod
    def from_uri(cls, uri: str, *, spool: str = "") -> ArchiveLayout:
        """A local path, a ``file://`` URI or ``s3://bucket/prefix`` (spooled in ``spool``, by
        default a directory of the user's cache named after the URI)."""
        parts = urlsplit(uri)
        if parts.scheme in ("", "file") or len(parts.scheme) == 1:  # "C:" is a drive
            path = url2pathname(parts.path) if parts.scheme == "file" else uri
            return cls(Path(path).expanduser().resolve())
        if parts.scheme == "s3":
            remote = S3Location.parse(uri)
            root = Path(spool).expanduser() if spool else default_spool(remote)
            return cls(root.resolve(), remote)
        raise SettingsError(
            f"ARCHIVE_URI={uri!r}: unsupported scheme {parts.scheme!r} (use a local path or s3://)"
        )

    @property
    def uri(self) -> str:
        return str(self.remote) if self.remote else str(self.root)

    @property
    def warc_location(self) -> str:
        """Where the WARC files end up: the directory, or the ``s3://`` prefix."""
        return f"{self.remote}/warc" if self.remote else str(self.warc_dir)

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def index_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def json_dir(self) -> Path:
        return self.root / "json"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def relative(self, path: Path) -> PurePosixPath:
        """``path`` relative to the root, refused unless it lies in an uploaded directory: a
        name read from disk never becomes a key outside the archive's prefix."""
        resolved = Path(path).resolve()
        relative = (
            PurePosixPath(resolved.relative_to(self.root).as_posix())
            if resolved.is_relative_to(self.root)
            else None
        )
        if relative is None or len(relative.parts) != 2 or relative.parts[0] not in UPLOADED_DIRS:
            raise ValueError(f"{path} is not a file of {self.root}/{{{','.join(UPLOADED_DIRS)}}}")
        return relative


def default_spool(remote: S3Location) -> Path:
    """``$XDG_CACHE_HOME/newsarchive/spool/<bucket>-<digest of the URI>``: one spool per
    archive, named from characters a path cannot be escaped with."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(str(remote).encode()).hexdigest()[:12]
    bucket = "".join(c if c.isalnum() or c in "-." else "-" for c in remote.bucket).strip(".") or "bucket"
    return cache / "newsarchive" / "spool" / f"{bucket}-{digest}"
