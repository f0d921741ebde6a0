"""Revisit records (RecordFactory.revisit) and the payload index (PayloadIndex) behind
WarcArchive.write_exchange, without a crawler: records read back with warcio, the index
raced by real processes, writes made to fail for real."""

from __future__ import annotations

import gzip
import multiprocessing
import sqlite3
import zlib
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from newsarchive.exceptions import WarcWriteError
from newsarchive.warc import (
    REVISIT_PROFILE,
    Capture,
    HttpExchange,
    PayloadIndex,
    RecordFactory,
    RotatingWarcWriter,
    revisitable,
)
from newsarchive.warc.archive import WarcArchive
from newsarchive.warc.reader import read_payload
from tests.records import Record, read_records, warcio_check

DATE = "2026-11-20T08:15:00Z"
LATER = "2026-11-21T09:00:00Z"
BODY = b"<html><body><p>Harbour story, told once and served twice.</p></body></html>" * 20


def make_exchange(**changes: Any) -> HttpExchange:
    base = HttpExchange(
        url="https://news.example.com/world/story.html",
        method="GET",
        request_headers=[("User-Agent", "newsarchive-tests")],
        status=200,
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        body=BODY,
        ip_address="192.0.2.7",
        date=DATE,
    )
    return replace(base, **changes)


def make_archive(root: Path, hostname: str = "crawler-1", *, revisits: bool = True) -> WarcArchive:
    writer = RotatingWarcWriter(
        root / "warc", factory=RecordFactory(), info={"software": "tests"}, hostname=hostname
    )
    payloads = PayloadIndex(root / "state" / "payloads.sqlite") if revisits else None
    return WarcArchive(writer, MemoryStatsCollector(get_crawler()), payloads)


def close(archive: WarcArchive) -> list[Path]:
    if archive.payloads is not None:
        archive.payloads.close()
    return archive.writer.close()


def records_of(files: list[Path]) -> list[Record]:
    return [r for f in files for r in read_records(f) if r.type != "warcinfo"]


def test_revisit_record_fields(tmp_path: Path) -> None:
    """The revisit keeps its own status line and headers, has no payload, carries the original's
    payload digest and the profile and Refers-To headers; its request names it."""
    factory = RecordFactory()
    first = make_exchange(url="https://a.example/story", response_headers=[("Content-Type", "text/html")])
    pair = factory.exchange(first)
    response = pair[1]
    digest = response.rec_headers.get_header("WARC-Payload-Digest")
    original = Capture("https://a.example/story", DATE, response.rec_headers.get_header("WARC-Record-ID"))
    copy = make_exchange(
        url="https://b.example/copy?x=1",
        date=LATER,
        response_headers=[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"), ("X-Site", "b")],
    )
    request, revisit = factory.revisit(copy, payload_digest=digest, original=original)
    writer = RotatingWarcWriter(tmp_path, factory=factory, info={"software": "tests"}, hostname="h")
    writer.write(*pair)
    writer.write(request, revisit)
    (path,) = writer.close()
    assert warcio_check(path).returncode == 0
    _, _, stored, stored_request, stored_revisit = read_records(path)
    assert stored_revisit.type == "revisit"
    assert stored_revisit.headers["WARC-Profile"] == REVISIT_PROFILE
    assert REVISIT_PROFILE == "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest"
    assert stored_revisit.headers["WARC-Refers-To"] == stored.headers["WARC-Record-ID"]
    assert stored_revisit.headers["WARC-Refers-To-Target-URI"] == "https://a.example/story"
    assert stored_revisit.headers["WARC-Refers-To-Date"] == DATE
    assert stored_revisit.headers["WARC-Payload-Digest"] == stored.headers["WARC-Payload-Digest"]
    assert stored_revisit.headers["WARC-Target-URI"] == "https://b.example/copy?x=1"
    assert stored_revisit.headers["WARC-Date"] == LATER
    assert stored_revisit.headers["WARC-IP-Address"] == "192.0.2.7"
    assert stored_revisit.headers["Content-Type"] == "application/http; msgtype=response"
    assert stored_revisit.payload == b""
    assert stored_revisit.http_line == "HTTP/1.1 200 OK"
    assert stored_revisit.http_headers == [
        ("Content-Type", "text/html"),
        ("X-Crawler-Transfer-Encoding", "chunked"),
        ("X-Site", "b"),
        ("Content-Length", str(len(BODY))),
    ]
    assert stored_request.headers["WARC-Concurrent-To"] == stored_revisit.headers["WARC-Record-ID"]
    assert stored_request.headers["WARC-Date"] == LATER
    assert stored_request.http_line == "GET /copy?x=1 HTTP/1.1"
    assert stored_request.http("Host") == ["b.example"]


def test_revisit_of_an_encoded_body_is_still_compressed(tmp_path: Path) -> None:
    """A revisit holds headers only: its gzip member is compressed even when the (absent) body
    was gzip-encoded, unlike the response record, which is stored at level 0."""
    encoded = make_exchange(
        body=gzip.compress(BODY, mtime=0),
        response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
        + [("X-Pad", "a" * 40)] * 10,
    )
    archive = make_archive(tmp_path)
    first = archive.write_exchange(encoded)
    second = archive.write_exchange(replace(encoded, url="https://b.example/copy"))
    (path,) = close(archive)
    data = path.read_bytes()
    for location, compressed in ((first, False), (second, True)):
        member = data[location.offset : location.offset + location.length]
        unzip = zlib.decompressobj(wbits=31)
        plain = unzip.decompress(member)
        assert unzip.eof and not unzip.unused_data
        assert (len(member) < len(plain) * 0.6) is compressed


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, True),
        ({"status": 404}, False),
        ({"status": 206}, False),
        ({"status": 301, "body": b""}, False),
        ({"body": b""}, False),
        ({"truncated": "length"}, False),
        ({"truncated": "disconnect"}, False),
    ],
)
def test_which_exchanges_take_part(changes: dict[str, Any], expected: bool) -> None:
    """Only complete, non-empty 200 payloads are revisited or revisit targets."""
    assert revisitable(make_exchange(**changes)) is expected


def test_second_capture_is_a_revisit_across_archives_sharing_the_index(tmp_path: Path) -> None:
    """A later run (a new writer, the same state/) writes a revisit of the first run's record;
    the revisit's location is returned, and the stats count it and the bytes saved."""
    first_run = make_archive(tmp_path)
    original = first_run.write_exchange(make_exchange())
    files = close(first_run)
    second_run = make_archive(tmp_path)
    location = second_run.write_exchange(make_exchange(url="https://b.example/copy", date=LATER))
    stats = second_run.stats.get_stats()
    files += close(second_run)
    assert len(files) == 2
    records = {r.headers["WARC-Record-ID"]: r for r in records_of(files)}
    revisit = records[location.record_id]
    assert revisit.type == "revisit" and revisit.file.name == location.filename
    assert revisit.headers["WARC-Refers-To"] == original.record_id
    assert records[original.record_id].type == "response"
    assert stats["newsarchive/warc/revisits"] == 1
    assert stats["newsarchive/warc/revisits/bytes_saved"] == len(BODY)
    assert stats["newsarchive/warc/records/revisit"] == 1
    assert "newsarchive/warc/records/response" not in stats
    assert read_payload(tmp_path / "warc", location.filename, location.offset) == BODY


def test_not_revisitable_captures_stay_out_of_the_index(tmp_path: Path) -> None:
    """Truncated, empty and 404 captures are written in full and never indexed; a complete
    body with the same bytes as a truncated one is therefore a full response too."""
    archive = make_archive(tmp_path)
    archive.write_exchange(make_exchange(truncated="disconnect"))
    archive.write_exchange(make_exchange(url="https://a.example/404", status=404))
    archive.write_exchange(make_exchange(url="https://a.example/404-again", status=404))
    archive.write_exchange(make_exchange(url="https://a.example/empty", body=b""))
    archive.write_exchange(make_exchange(url="https://a.example/empty-again", body=b""))
    assert archive.payloads is not None and len(archive.payloads) == 0
    archive.write_exchange(make_exchange(url="https://a.example/complete"))
    assert len(archive.payloads) == 1
    files = close(archive)
    assert Counter(r.type for r in records_of(files)) == {"request": 6, "response": 6}


def test_revisits_off(tmp_path: Path) -> None:
    """Without an index every capture is a full response."""
    archive = make_archive(tmp_path, revisits=False)
    archive.write_exchange(make_exchange())
    archive.write_exchange(make_exchange(url="https://b.example/copy"))
    files = close(archive)
    assert Counter(r.type for r in records_of(files)) == {"request": 2, "response": 2}
    assert not (tmp_path / "state").exists()


class FailingFile:
    """Fault injection: a WARC file that writes half of what it is given, then is full."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, data: bytes) -> int:
        if getattr(self, "failed", False):
            raise OSError(28, "No space left on device")
        self.failed = True
        return self.raw.write(bytes(data)[: len(data) // 2])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def test_a_failed_write_never_becomes_a_revisit_target(tmp_path: Path) -> None:
    """When the full record cannot be written (the file is cut back) nothing is indexed, so
    the next capture of the payload is written in full rather than pointing at nothing."""
    archive = make_archive(tmp_path)
    archive.write_exchange(make_exchange(url="https://a.example/other", body=b"other bytes"))
    raw = archive.writer._file
    archive.writer._file = FailingFile(raw)  # type: ignore[assignment]
    with pytest.raises(WarcWriteError):
        archive.write_exchange(make_exchange())
    archive.writer._file = raw
    assert archive.payloads is not None and len(archive.payloads) == 1
    location = archive.write_exchange(make_exchange(url="https://b.example/copy"))
    files = close(archive)
    assert warcio_check(*files).returncode == 0
    records = {r.headers["WARC-Record-ID"]: r for r in records_of(files)}
    assert records[location.record_id].type == "response"
    assert Counter(r.type for r in records.values()) == {"request": 2, "response": 2}


def test_unwritable_directory_leaves_the_index_empty(tmp_path: Path) -> None:
    """A WARC directory that cannot be created: WarcWriteError, and no index entry."""
    (tmp_path / "warc").write_text("a file where the WARC directory should be")
    archive = make_archive(tmp_path)
    with pytest.raises(WarcWriteError):
        archive.write_exchange(make_exchange())
    assert archive.payloads is not None and len(archive.payloads) == 0
    assert not archive.payloads._db.in_transaction
    close(archive)


def test_a_broken_index_degrades_to_full_records(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An index that fails (here: its connection is gone) costs the deduplication only: each
    capture is written in full, once, and the failure is counted and logged."""
    archive = make_archive(tmp_path)
    assert archive.payloads is not None
    archive.payloads._db.close()
    archive.write_exchange(make_exchange())
    archive.write_exchange(make_exchange(url="https://b.example/copy"))
    stats = archive.stats.get_stats()
    files = archive.writer.close()
    assert Counter(r.type for r in records_of(files)) == {"request": 2, "response": 2}
    assert stats["newsarchive/warc/revisits/index_errors"] == 2
    assert "Payload index" in caplog.text and "https://b.example/copy" in caplog.text


def test_index_failing_after_the_write_does_not_write_twice(tmp_path: Path) -> None:
    """If the index fails once the full record is written (say, at commit), the record is not
    written a second time, and it is not indexed."""
    archive = make_archive(tmp_path)
    assert archive.payloads is not None
    db = archive.payloads._db
    real_write = archive.write

    def write_then_break_index(*records: Any) -> Any:
        locations = real_write(*records)
        db.execute("CREATE TABLE IF NOT EXISTS breaker (x)")
        db.execute("DROP TABLE payloads")  # the insert that follows fails for real
        return locations

    archive.write = write_then_break_index  # type: ignore[method-assign]
    location = archive.write_exchange(make_exchange())
    archive.write = real_write  # type: ignore[method-assign]
    stats = archive.stats.get_stats()
    files = close(archive)
    records = records_of(files)
    assert Counter(r.type for r in records) == {"request": 1, "response": 1}
    assert location.record_id == next(r for r in records if r.type == "response").headers["WARC-Record-ID"]
    assert stats["newsarchive/warc/revisits/index_errors"] == 1
    with sqlite3.connect(tmp_path / "state" / "payloads.sqlite") as check:
        tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
    assert "payloads" in tables  # the drop was rolled back with the insert


PAYLOADS = 400


def race(root: str, worker: int, barrier: Any) -> None:
    """One process of test_racing_processes_store_each_payload_once."""
    archive = make_archive(Path(root), hostname=f"worker-{worker}")
    barrier.wait()
    for i in range(PAYLOADS):
        body = f"payload {i} ".encode() * 40
        archive.write_exchange(make_exchange(url=f"https://w{worker}.example/{i}", body=body, date=None))
    close(archive)


def test_racing_processes_store_each_payload_once(tmp_path: Path) -> None:
    """Two processes writing the same payloads in the same order at the same moment: every
    payload is exactly one full response; the other capture is a revisit of it."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [context.Process(target=race, args=(str(tmp_path), n, barrier)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    files = sorted((tmp_path / "warc").iterdir())
    assert len(files) == 2
    records = records_of(files)
    responses = Counter(r.headers["WARC-Payload-Digest"] for r in records if r.type == "response")
    revisits = [r for r in records if r.type == "revisit"]
    assert len(responses) == PAYLOADS and set(responses.values()) == {1}
    assert len(revisits) == PAYLOADS
    ids = {r.headers["WARC-Record-ID"] for r in records if r.type == "response"}
    assert all(r.headers["WARC-Refers-To"] in ids for r in revisits)
