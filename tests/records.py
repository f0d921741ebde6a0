"""Reading WARC files back in tests: every record whole, payload as stored, with its offset."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


@dataclass
class Record:
    """One record read back: where it is, WARC headers, HTTP head and the payload as stored."""

    file: Path
    offset: int
    type: str
    headers: dict[str, str]
    http_line: str
    http_headers: list[tuple[str, str]]
    payload: bytes

    def http(self, name: str) -> list[str]:
        return [v for k, v in self.http_headers if k.lower() == name.lower()]


def read_records(path: Path) -> list[Record]:
    """Every record of ``path``, digests checked (a damaged record raises)."""
    records = []
    with path.open("rb") as stream:
        iterator = ArchiveIterator(stream, check_digests="raise")
        for record in iterator:
            http = record.http_headers
            payload = record.raw_stream.read()  # as stored: still content-encoded
            records.append(
                Record(
                    path,
                    iterator.get_record_offset(),
                    record.rec_type,
                    dict(record.rec_headers.headers),
                    f"{http.protocol} {http.statusline}" if http else "",
                    list(http.headers) if http else [],
                    payload,
                )
            )
    return records


def response_urls(*paths: Path) -> list[str]:
    """Target URIs of the response records of ``paths``, in file order."""
    return [
        r.headers["WARC-Target-URI"] for path in paths for r in read_records(path) if r.type == "response"
    ]


def warcio_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    """``warcio check -v`` on ``paths``: it verifies every digest."""
    return subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
