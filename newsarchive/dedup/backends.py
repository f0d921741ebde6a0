"""Which near-duplicate index a crawl uses: ``DEDUP_URI`` picks it by scheme (docs/settings.md).

- empty (the default): :class:`~newsarchive.dedup.index.SqliteIndex` in the archive's
  ``state/dedup.sqlite``, shared by the processes of one host that crawl into that archive;
- ``redis://``, ``rediss://``, ``unix://``: :class:`~newsarchive.dedup.redis_index.RedisIndex`
  on that server under ``DEDUP_REDIS_PREFIX``, shared by crawlers anywhere, whatever their
  ``ARCHIVE_URI``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from newsarchive.dedup.index import IndexMismatchError, SqliteIndex
from newsarchive.dedup.redis_index import SCHEMES as REDIS_SCHEMES
from newsarchive.dedup.redis_index import IndexUnavailableError, RedisIndex, mask_url
from newsarchive.exceptions import SettingsError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path
    from typing import Self

    from newsarchive.dedup.index import Cluster, Document, IndexConfig, Match
    from newsarchive.dedup.signature import SignatureParams

SQLITE_FILE = "dedup.sqlite"
"""Name of the embedded index in the archive's ``state/`` directory."""


class DedupIndex(Protocol):
    """What the pipeline and the CLI use of an index; :class:`SqliteIndex` and :class:`RedisIndex`
    give the same answers to the same calls."""

    def add(self, doc: Document) -> Match: ...
    def add_many(self, docs: Sequence[Document]) -> list[Match]: ...
    def find(self, doc: Document) -> Match: ...
    def forget_older_than(self, cutoff_iso: str) -> int: ...
    def clusters(self, min_size: int = 2) -> list[Cluster]: ...
    def lookup(self, keys: Iterable[str]) -> dict[str, str]: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...


def open_index(
    uri: str, params: SignatureParams, config: IndexConfig, *, state_dir: Path, redis_prefix: str
) -> DedupIndex:
    """The index ``uri`` (``DEDUP_URI``) names; every problem is a :class:`SettingsError` that
    names the setting or the file, passwords masked, so the crawl stops before its first request."""
    scheme = urlsplit(uri).scheme if uri else ""
    if not uri:
        path = state_dir / SQLITE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return SqliteIndex(path, params, config)
        except ValueError as exc:
            raise SettingsError(f"{path}: {exc}") from exc
    if scheme in REDIS_SCHEMES:
        try:
            return RedisIndex(uri, params, config, prefix=redis_prefix)
        except IndexUnavailableError as exc:
            raise SettingsError(f"DEDUP_URI: {exc}") from None
        except ValueError as exc:  # each names its setting, or the (masked) URL
            raise SettingsError(str(exc)) from None
    raise _unsupported(uri)


def open_existing(uri: str, *, state_dir: Path, redis_prefix: str) -> DedupIndex:
    """The index ``uri`` (``DEDUP_URI``) names, opened with the settings it was built with, for
    reading it back (``newsarchive clusters``). None there: :class:`FileNotFoundError` (SQLite)
    or :class:`~newsarchive.dedup.redis_index.IndexNotFoundError` (Redis); an unreachable server:
    :class:`~newsarchive.dedup.redis_index.IndexUnavailableError`."""
    scheme = urlsplit(uri).scheme if uri else ""
    if not uri:
        return SqliteIndex.open_existing(state_dir / SQLITE_FILE)
    if scheme in REDIS_SCHEMES:
        try:
            return RedisIndex.open_existing(uri, redis_prefix)
        except IndexMismatchError:
            raise
        except ValueError as exc:  # a URL redis-py cannot read; the message masks the password
            raise SettingsError(f"DEDUP_URI: {mask_url(uri)}: {exc}") from None
    raise _unsupported(uri)


def _unsupported(uri: str) -> SettingsError:
    return SettingsError(
        f"DEDUP_URI={mask_url(uri)!r}: unsupported scheme {urlsplit(uri).scheme!r}; leave it empty for the "
        f"archive's state/{SQLITE_FILE}, or give a Redis URL ({', '.join(s + '://' for s in REDIS_SCHEMES)})"
    )
