"""What happens to a file once it is closed, in a crawl or in ``newsarchive upload``: a WARC
file gets its CDXJ index, then both are published (uploaded, for an ``s3://`` archive)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from newsarchive.layout import ArchiveLayout
from newsarchive.storage.publisher import Published, SpoolPublisher
from newsarchive.storage.recovery import Recovered
from newsarchive.warc.cdxj import SUFFIX, index_name, is_warc, write_index

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileDone:
    """What became of a closed file: its index, and its uploads (none for a local archive)."""

    path: Path
    indexed: bool
    index_error: str | None
    published: list[Published]


def finish_file(
    layout: ArchiveLayout, path: Path, publisher: SpoolPublisher | None, *, index: bool
) -> FileDone:
    """Index a WARC file that has no index yet (before its upload: a spooled file leaves the
    spool once stored), then publish the WARC file before its index."""
    paths, indexed, error = [path], False, None
    index_path = layout.index_dir / index_name(path)
    if index and is_warc(path) and not index_path.exists():
        try:
            write_index(path, layout.index_dir)
            indexed = True
        except Exception as exc:  # a bad index costs replay, never the WARC file
            error = f"{type(exc).__name__}: {exc}"
            logger.error("Could not index %s: %s (`newsarchive index` retries)", path, error)
    if is_warc(path) and index_path.exists():
        paths.append(index_path)
    published = [publisher.publish(p) for p in paths if p.exists()] if publisher else []
    return FileDone(path, indexed, error, published)


def files_to_finish(
    layout: ArchiveLayout, recovered: list[Recovered], publisher: SpoolPublisher | None
) -> list[Path]:
    """Recovered files and the spool's pending ones, each once; an index whose WARC file is
    among them goes with it rather than on its own."""
    closed = [r.path for r in recovered if not r.removed]
    files = list(dict.fromkeys(closed + (publisher.pending() if publisher else [])))
    warcs = {path.name for path in files if is_warc(path)}
    return [
        path
        for path in files
        if path.parent != layout.index_dir or path.name.removesuffix(SUFFIX) not in warcs
    ]
