"""Where the WARC files to re-process come from: local files and directories, ``s3://`` objects
and prefixes, each opened as a stream read front to back (never seeked, never read whole).

A file is named in the JSON lines as the user named it: the path as given (a directory joined
with the file's path below it), or the ``s3://bucket/key`` URI. Listing a directory or a prefix
happens when its turn comes, so that a long list of inputs starts at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from newsarchive.layout import S3Location
from newsarchive.storage.s3 import S3Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
"""Files of a directory or objects under a prefix that are read; a file named explicitly is read
whatever its name (``.open`` files a crawler left, ``.bad`` copies)."""


class Stream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class WarcInput:
    """One file or object to read."""

    name: str
    """How the JSON lines name it (``warc_filename``): a path as given, or ``s3://bucket/key``."""
    size: int | None
    """Its size in bytes, for progress lines (None when unknown)."""
    opener: Callable[[], IO[bytes]]

    @property
    def is_arc(self) -> bool:
        """ARC files are read with warcio's ``arc2warc``: their records get WARC headers."""
        return self.name.lower().endswith((".arc", ".arc.gz"))

    def open(self) -> IO[bytes]:
        return self.opener()


@dataclass(frozen=True)
class InputError:
    """An input that names nothing readable: counted as a failed file, the others go on."""

    name: str
    reason: str


def is_s3(spec: str) -> bool:
    return spec.startswith("s3://")


def missing_local_inputs(specs: Iterable[str]) -> list[str]:
    """The local inputs that do not exist: worth refusing before anything starts."""
    return [spec for spec in specs if not is_s3(spec) and not Path(spec).exists()]


class InputResolver:
    """Turns the inputs as given into :class:`WarcInput` objects, one input at a time.

    S3 clients come from :meth:`S3Store.from_settings` (Scrapy's ``AWS_*`` settings, else
    boto3's chain), one per bucket, created on first use.
    """

    def __init__(self, settings: BaseSettings) -> None:
        self.settings = settings
        self._stores: dict[str, S3Store] = {}
        self._seen: set[str] = set()

    def resolve(self, specs: Iterable[str]) -> Iterator[WarcInput | InputError]:
        for spec in specs:
            try:
                found = list(self._s3(spec) if is_s3(spec) else _local(spec))
            except Exception as exc:  # a store that is down, a directory we may not read
                yield InputError(spec, f"{type(exc).__name__}: {exc}")
                continue
            if not found:
                yield InputError(spec, f"no {', '.join(f'*{s}' for s in WARC_SUFFIXES)} file in it")
            for item in found:
                key = item.name if is_s3(item.name) else str(Path(item.name).resolve())
                if key in self._seen:  # the same file through two inputs: its records once
                    logger.info("Skipping %s: already read through another input", item.name)
                    continue
                self._seen.add(key)
                yield item

    def _s3(self, spec: str) -> list[WarcInput]:
        parts = urlsplit(spec)
        if not parts.netloc or parts.query or parts.fragment:
            raise ValueError("expected s3://bucket/key or s3://bucket/prefix/")
        bucket, key = parts.netloc, parts.path.lstrip("/")
        store = self._store(bucket)
        client = store.client
        if key and not key.endswith("/"):
            found = store.head(key)
            if found is not None:
                return [_s3_input(client, bucket, key, found.size)]
        prefix = f"{key.rstrip('/')}/" if key else ""
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)  # type: ignore[attr-defined]
        return [
            _s3_input(client, bucket, item["Key"], item["Size"])
            for page in pages
            for item in page.get("Contents", ())
            if item["Key"].lower().endswith(WARC_SUFFIXES)
        ]

    def _store(self, bucket: str) -> S3Store:
        if bucket not in self._stores:
            self._stores[bucket] = S3Store.from_settings(self.settings, S3Location(bucket, ""))
        return self._stores[bucket]


def _local(spec: str) -> list[WarcInput]:
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {spec}")
    if not path.is_dir():
        return [_file_input(spec, path)]
    files = sorted(p for p in path.rglob("*") if p.name.lower().endswith(WARC_SUFFIXES) and p.is_file())
    return [_file_input(str(p), p) for p in files]  # p starts with the path as given


def _file_input(name: str, path: Path) -> WarcInput:
    return WarcInput(name, path.stat().st_size, lambda: path.open("rb"))


def _s3_input(client: object, bucket: str, key: str, size: int) -> WarcInput:
    def opener() -> IO[bytes]:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]  # type: ignore[attr-defined]
        return CountingReader(body)  # type: ignore[return-value]

    return WarcInput(f"s3://{bucket}/{key}", size, opener)


class CountingReader:
    """A forward-only stream that knows how far it has read: warcio computes record offsets
    from ``tell()``, which an HTTP body may not give reliably."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> CountingReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
