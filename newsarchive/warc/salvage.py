"""Find the complete records at the start of a WARC file a killed process left ``.open``.

Our writer appends each record whole, as one gzip member (or, uncompressed, back to back), so
a file cut short by ``kill -9`` or a power loss is a run of complete records followed by at
most one torn one. :func:`complete_prefix` finds where the complete run ends, reading in
fixed-size chunks (memory stays flat whatever the size of a record); a record counts as
complete when its gzip member ends with a valid CRC and its block is exactly
``Content-Length`` bytes followed by the CRLF CRLF that closes a record.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20
_MAX_HEADER = 1 << 20
_END = b"\r\n\r\n"


@dataclass(frozen=True)
class CompletePrefix:
    """The complete records at the start of a file, and what follows them."""

    records: int
    length: int  # bytes of the complete records
    problem: str | None  # what is wrong at ``length`` (None: the whole file is complete)


class _RecordCheck:
    """Follows the uncompressed bytes of one record: headers, then exactly Content-Length."""

    def __init__(self) -> None:
        self.head = b""
        self.expected: int | None = None  # total record length, once the headers are read
        self.seen = 0
        self.tail = b""
        self.problem: str | None = None

    def feed(self, data: bytes) -> None:
        self.seen += len(data)
        self.tail = (self.tail + data)[-4:]
        if self.expected is not None or self.problem:
            return
        self.head += data
        end = self.head.find(_END)
        if end < 0:
            if len(self.head) > _MAX_HEADER:
                self.problem = "no end of WARC headers in the first MiB"
            return
        headers = self.head[: end + 4]
        if not headers.startswith(b"WARC/"):
            self.problem = "record does not start with 'WARC/'"
            return
        length = _content_length(headers)
        if length is None:
            self.problem = "record without a valid Content-Length"
            return
        self.expected = len(headers) + length + 4
        self.head = b""

    @property
    def complete(self) -> bool:
        return self.problem is None and self.expected == self.seen and self.tail == _END

    def why_incomplete(self) -> str:
        if self.problem:
            return self.problem
        if self.expected is None:
            return "WARC headers cut short"
        if self.seen < self.expected:
            return f"record cut short: {self.seen} of {self.expected} bytes"
        return f"record longer than its Content-Length ({self.seen} > {self.expected} bytes)"


def _content_length(headers: bytes) -> int | None:
    for line in headers.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return None
            return length if length >= 0 else None
    return None


def complete_prefix(stream: BinaryIO, *, gzipped: bool) -> CompletePrefix:
    """Scan ``stream`` from its start and return its longest run of complete records."""
    return _gzip_prefix(stream) if gzipped else _plain_prefix(stream)


def _gzip_prefix(stream: BinaryIO) -> CompletePrefix:
    records = good = offset = 0  # offset: start of the member being read
    member_read = 0  # compressed bytes of the current member consumed so far
    inflater = zlib.decompressobj(zlib.MAX_WBITS + 16)
    check = _RecordCheck()
    pending = b""
    while True:
        data = pending or stream.read(CHUNK)
        pending = b""
        if not data:
            if member_read == 0:
                return CompletePrefix(records, good, None)
            return CompletePrefix(records, good, f"gzip member cut short ({check.why_incomplete()})")
        try:
            check.feed(inflater.decompress(data))
        except zlib.error as exc:
            return CompletePrefix(records, good, f"not a valid gzip member: {exc}")
        if check.problem:
            return CompletePrefix(records, good, check.problem)
        if not inflater.eof:
            member_read += len(data)
            continue
        pending = inflater.unused_data
        offset += member_read + len(data) - len(pending)
        if not check.complete:
            return CompletePrefix(records, good, check.why_incomplete())
        records, good, member_read = records + 1, offset, 0
        inflater = zlib.decompressobj(zlib.MAX_WBITS + 16)
        check = _RecordCheck()


def _plain_prefix(stream: BinaryIO) -> CompletePrefix:
    records = good = 0
    buffer = b""
    while True:
        end = buffer.find(_END)
        while end < 0:
            data = stream.read(CHUNK)
            if not data:
                problem = f"WARC headers cut short ({len(buffer)} bytes)" if buffer else None
                return CompletePrefix(records, good, problem)
            buffer += data
            end = buffer.find(_END)
            if end < 0 and len(buffer) > _MAX_HEADER:
                return CompletePrefix(records, good, "no end of WARC headers in the first MiB")
        check = _RecordCheck()
        check.feed(buffer[: end + 4])
        if check.problem or check.expected is None:
            return CompletePrefix(records, good, check.why_incomplete())
        remaining = check.expected - check.seen
        body, buffer = buffer[end + 4 : end + 4 + remaining], buffer[end + 4 + remaining :]
        check.feed(body)
        while check.seen < check.expected:
            data = stream.read(min(CHUNK, check.expected - check.seen))
            if not data:
                return CompletePrefix(records, good, check.why_incomplete())
            check.feed(data)
        if not check.complete:
            return CompletePrefix(records, good, "record does not end with CRLF CRLF")
        records, good = records + 1, good + check.expected
