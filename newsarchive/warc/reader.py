"""Read back the articles newsarchive stored in its WARC files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

ARTICLE_CONTENT_TYPE = "application/json"
"""Content-Type of the conversion records holding one article's JSON line."""


def warc_files(paths: Iterable[Path]) -> list[Path]:
    """The given files, and the ``*.warc.gz`` / ``*.warc`` files of the given directories."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.name.endswith((".warc.gz", ".warc")))
        else:
            files.append(path)
    return files


def iter_article_json(paths: Iterable[Path]) -> Iterator[str]:
    """The article JSON lines stored as ``conversion`` records, in file order."""
    for path in warc_files(paths):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "conversion" and record.content_type == ARTICLE_CONTENT_TYPE:
                    yield record.content_stream().read().decode("utf-8")
