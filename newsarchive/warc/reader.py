"""Read back what newsarchive stored in its WARC files: the articles, and the payload a JSON
line points to (through a revisit record when the bytes were archived before)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from warcio.archiveiterator import ArchiveIterator

if TYPE_CHECKING:
    from warcio.statusandheaders import StatusAndHeaders

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


def read_payload(warc_dir: Path, filename: str, offset: int) -> bytes:
    """The payload, as stored (still content-encoded), of the record at ``offset`` in
    ``warc_dir/filename`` — what a JSON line's ``warc_filename`` and ``warc_offset`` point to.

    A ``revisit`` record has no payload of its own: the one of the record it refers to is
    returned, found by its ``WARC-Refers-To`` id (or, for revisits other tools wrote without
    it, by ``WARC-Refers-To-Target-URI``, ``WARC-Refers-To-Date`` and the payload digest) in the
    files of ``warc_dir``. That search reads the files one by one: for many look-ups, index
    the archive (``newsarchive index``) and let a replay tool resolve revisits.
    """
    with (warc_dir / filename).open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        if record.rec_type != "revisit":
            return record.raw_stream.read()
        headers = record.rec_headers
        wanted = (
            headers.get_header("WARC-Refers-To"),
            headers.get_header("WARC-Refers-To-Target-URI"),
            headers.get_header("WARC-Refers-To-Date"),
            headers.get_header("WARC-Payload-Digest"),
        )
    for path in warc_files([warc_dir]):
        with path.open("rb") as stream:
            for candidate in ArchiveIterator(stream):
                if candidate.rec_type == "response" and _is_original(candidate.rec_headers, *wanted):
                    return candidate.raw_stream.read()
    raise LookupError(f"{warc_dir}: no record holds the payload of the revisit at {filename}:{offset}")


def _is_original(
    headers: StatusAndHeaders, record_id: str | None, uri: str | None, date: str | None, digest: str | None
) -> bool:
    if record_id:
        return headers.get_header("WARC-Record-ID") == record_id
    return (
        headers.get_header("WARC-Target-URI") == uri
        and headers.get_header("WARC-Date") == date
        and headers.get_header("WARC-Payload-Digest") == digest
    )
