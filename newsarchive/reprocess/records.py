"""Read the records of one WARC (or ARC) file, one at a time, and say what each one is for us:
an HTTP response worth extracting (its payload in memory, capped), or a skip with its reason.

Only the payloads of 2xx ``response`` records whose headers do not rule HTML out are read into
memory; every other record is read through by warcio in 16 KiB blocks. A file that cannot be
read to its end (not a WARC, a torn gzip member, a record cut short by the end of the file, one
gzip stream for all records) ends with a :class:`FileFailed` naming the offset of the record
where reading stopped; the records before it have been handed on.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader

from newsarchive.reprocess.pages import ruled_out_by_headers
from newsarchive.warc.writer import RecordLocation

if TYPE_CHECKING:
    from collections.abc import Iterator

    from warcio.recordloader import ArcWarcRecord

    from newsarchive.reprocess.inputs import WarcInput

logger = logging.getLogger(__name__)

ARC_RECORD_IDS = uuid.UUID("5b6e8a3c-0d0a-4f6e-9a51-6e6577736172")
"""Namespace of the ids given to ARC records, which have none: uuid5 of file name and offset."""


@dataclass(frozen=True)
class HttpResponseRecord:
    """A complete 2xx response record that may hold HTML."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    """The payload as stored: chunked framing removed, still content-encoded."""
    location: RecordLocation
    rec_type: str = "response"


@dataclass(frozen=True)
class SkippedRecord:
    """A record not handed on; ``reason`` is its type, or why a response is not used."""

    rec_type: str
    reason: str
    url: str
    location: RecordLocation


@dataclass(frozen=True)
class FileDone:
    name: str


@dataclass(frozen=True)
class FileFailed:
    """The file could not be read past ``offset`` (None: not even opened or listed)."""

    name: str
    offset: int | None
    reason: str


RecordOutcome = HttpResponseRecord | SkippedRecord
Outcome = HttpResponseRecord | SkippedRecord | FileDone | FileFailed

SKIP_REASONS = {
    "invalid_length": "a record (of any type) whose Content-Length is not a number of bytes",
    "not_http": "a response without HTTP headers (dns:, whois:, an empty block)",
    "truncated": "marked WARC-Truncated by the crawler that wrote it",
    "not_2xx": "HTTP status not 2xx",
    "not_html": "not an HTML page, as a crawl would decide it",
    "too_large": "payload over DOWNLOAD_MAXSIZE (stored or decoded)",
    "short_payload": "payload shorter than its HTTP Content-Length",
    "undecodable": "Content-Encoding that does not decode",
    "bad_url": "a WARC-Target-URI no request could have had (no scheme)",
}
"""Why a record is skipped; records of other types than ``response`` are skipped under their type."""


def read_records(source: WarcInput, max_size: int) -> Iterator[RecordOutcome | FileDone | FileFailed]:
    """Every record of ``source``, in file order, then FileDone or FileFailed. Payloads over
    ``max_size`` bytes are not read (0: no cap)."""
    iterator: ArchiveIterator | None = None
    current: int | None = None  # offset of the record being read, once known
    try:
        with source.open() as stream:
            iterator = ArchiveIterator(stream, arc2warc=source.is_arc)
            end = 0
            for record in iterator:
                current = iterator.offset
                if record.rec_headers.get_header("Content-Length") is None:
                    # warcio yields whatever header lines it got: a block cut mid-header included
                    yield FileFailed(
                        source.name, current, "a record header without Content-Length (cut short?)"
                    )
                    return
                examined = _examine(record, max_size)
                iterator.read_to_end()
                offset, length = iterator.get_record_offset(), iterator.get_record_length()
                if problem := _framing_problem(record, iterator, end):
                    yield FileFailed(source.name, offset, problem)
                    return
                end = offset + length
                location = _location(source, record, offset, length)
                if isinstance(examined, str):
                    yield SkippedRecord(record.rec_type, examined, location_url(record), location)
                else:
                    status, body = examined
                    yield HttpResponseRecord(
                        location_url(record), status, list(record.http_headers.headers), body, location
                    )
                current = None
            if leftover := iterator.fh.tell() - iterator.offset:
                # warcio ends quietly when a gzip member breaks off before a whole record header
                yield FileFailed(
                    source.name,
                    iterator.offset,
                    f"{leftover} bytes after the last complete record hold no whole record "
                    "(a file cut short?)",
                )
                return
    except Exception as exc:  # warcio's ArchiveLoadFailed, zlib, EOF, a dropped connection...
        if current is None and iterator is not None:
            current = iterator.offset  # raised while parsing the next record's headers
        yield FileFailed(source.name, current, _describe(exc))
        return
    yield FileDone(source.name)


def _examine(record: ArcWarcRecord, max_size: int) -> str | tuple[int, bytes]:
    """A skip reason, or (status, payload) of a response worth building a page from."""
    declared = _content_length(record.rec_headers.get_header("Content-Length"))
    if declared is None or declared < 0:  # warcio reads such a record as an empty one
        return "invalid_length"
    if record.rec_type != "response":
        return record.rec_type
    http = record.http_headers
    if http is None:
        return "not_http"
    if record.rec_headers.get_header("WARC-Truncated"):
        return "truncated"
    try:
        status = int(http.get_statuscode())
    except ValueError:
        return "not_http"
    if not 200 <= status < 300:
        return "not_2xx"
    if ruled_out_by_headers(http.headers):
        return "not_html"
    chunked = "chunked" in (http.get_header("Transfer-Encoding") or "").lower()
    stream = ChunkedDataReader(record.raw_stream) if chunked else record.raw_stream
    body = stream.read(max_size + 1 if max_size else None)  # DOWNLOAD_MAXSIZE = 0: no cap
    if max_size and len(body) > max_size:
        return "too_large"
    declared = _content_length(http.get_header("Content-Length"))
    if not chunked and declared is not None and len(body) < declared:
        return "short_payload"
    return status, body


def _framing_problem(record: ArcWarcRecord, iterator: ArchiveIterator, end: int) -> str | None:
    """Why the record's place in the file cannot be trusted, if it cannot (after read_to_end)."""
    offset, length = iterator.get_record_offset(), iterator.get_record_length()
    missing = getattr(record.raw_stream, "limit", 0)
    if missing > 0:
        return (
            f"the data ends {missing} bytes before the end of this record "
            "(a truncated file, or a corrupt gzip member)"
        )
    if length <= 0 or offset < end:
        return (
            "records are not stored one per gzip member (one gzip stream for the whole file?): "
            "no offset can be sought; `warcio recompress` repairs such files"
        )
    decompressor = iterator.reader.decompressor if iterator.reader else None
    if decompressor is not None and not getattr(decompressor, "eof", True):
        return "the record's gzip member breaks off before its end (a truncated file?)"
    return None


def _location(source: WarcInput, record: ArcWarcRecord, offset: int, length: int) -> RecordLocation:
    headers = record.rec_headers
    record_id = headers.get_header("WARC-Record-ID") or ""
    if source.is_arc or not record_id:  # warcio makes up a random id for ARC records
        basename = source.name.rsplit("/", 1)[-1]
        record_id = f"<urn:uuid:{uuid.uuid5(ARC_RECORD_IDS, f'{basename}#{offset}')}>"
    return RecordLocation(source.name, offset, length, record_id, headers.get_header("WARC-Date") or "")


def location_url(record: ArcWarcRecord) -> str:
    """WARC-Target-URI without the ``<…>`` some wget versions wrote around it."""
    uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip()
    if uri.startswith("<") and uri.endswith(">"):
        uri = uri[1:-1]
    return uri


def _content_length(value: str | None) -> int | None:
    """The first number of a Content-Length header ("606" or a repeated "606, 606")."""
    if not value:
        return None
    try:
        return int(value.split(",")[0].strip())
    except ValueError:
        return None


def _describe(exc: BaseException) -> str:
    """One printable line: warcio's messages span indented lines and quote the bytes they met."""
    message = " ".join(str(exc).split())
    message = "".join(c if c.isprintable() else "?" for c in message)
    if len(message) > 300:
        message = message[:300] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
