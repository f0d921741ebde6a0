"""Files a killed crawl left ``.open``: complete records kept, a torn tail cut and reported,
the file renamed; files a living crawl holds are never touched."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from newsarchive.layout import ArchiveLayout
from newsarchive.storage.openfiles import close_open_file, create_open_file
from newsarchive.storage.recovery import recover_abandoned
from newsarchive.warc.salvage import complete_prefix
from tests.records import read_records, warcio_check
from tests.test_warc_records import make_exchange, writer

BODIES = [b"<html>first</html>", b"<html>" + b"second " * 3000 + b"</html>", b"<html>third</html>"]


def killed_writer_file(directory: Path, *, gzip_level: int = 6) -> tuple[Path, list[int]]:
    """A WARC file as a killed writer leaves it: ``.open``, unlocked; and the end of each
    exchange (request and response records)."""
    w = writer(directory, gzip_level=gzip_level)
    ends = []
    for number, body in enumerate(BODIES):
        exchange = make_exchange(url=f"https://news.example.com/{number}", body=body)
        *_, response = w.write(*w.factory.exchange(exchange))
        ends.append(response.offset + response.length)
    path = w.current_path
    assert path is not None
    w._file.close()  # the lock goes with the process: what SIGKILL does to it
    return path, ends


@pytest.mark.parametrize("gzip_level", [6, 0])
@pytest.mark.parametrize("cut", [1, 7, 30, 200])
def test_torn_last_record_is_cut_off(tmp_path, gzip_level, cut):
    """Cut inside the request record of the last exchange: the two before it are kept."""
    path, ends = killed_writer_file(tmp_path / "warc", gzip_level=gzip_level)
    data = path.read_bytes()
    size = ends[-2] + cut
    path.write_bytes(data[:size])

    (recovered,) = recover_abandoned(ArchiveLayout(tmp_path))

    final = path.with_name(path.name.removesuffix(".open"))
    assert recovered.path == final and final.exists() and not path.exists()
    assert final.read_bytes() == data[: ends[-2]]
    assert (recovered.kept_bytes, recovered.cut_bytes) == (ends[-2], size - ends[-2])
    assert recovered.problem and f"at offset {ends[-2]}" in recovered.describe()
    assert warcio_check(final).returncode == 0
    assert [r.payload for r in read_records(final) if r.type == "response"] == BODIES[:-1]


@pytest.mark.parametrize("gzip_level", [6, 0])
@pytest.mark.parametrize("cut", [40, 4, 1])
def test_torn_last_response_keeps_its_request(tmp_path, gzip_level, cut):
    path, ends = killed_writer_file(tmp_path / "warc", gzip_level=gzip_level)
    data = path.read_bytes()
    path.write_bytes(data[: ends[-1] - cut])
    (recovered,) = recover_abandoned(ArchiveLayout(tmp_path))
    records = read_records(recovered.path)
    assert [r.type for r in records[-2:]] == ["response", "request"]
    assert recovered.kept == 6 and recovered.kept_bytes + recovered.cut_bytes == ends[-1] - cut
    assert warcio_check(recovered.path).returncode == 0


@pytest.mark.parametrize("gzip_level", [6, 0])
def test_complete_file_is_only_renamed(tmp_path, gzip_level):
    path, ends = killed_writer_file(tmp_path / "warc", gzip_level=gzip_level)
    (recovered,) = recover_abandoned(ArchiveLayout(tmp_path))
    assert (recovered.kept, recovered.kept_bytes, recovered.cut_bytes, recovered.problem) == (
        7,
        ends[-1],
        0,
        None,
    )
    assert recovered.path == path.with_name(path.name.removesuffix(".open"))
    assert warcio_check(recovered.path).returncode == 0


def test_garbage_after_the_last_record_is_cut(tmp_path):
    path, ends = killed_writer_file(tmp_path / "warc")
    with path.open("ab") as file:
        file.write(b"\0" * 4096)  # a file system that extended the file before the data landed
    (recovered,) = recover_abandoned(ArchiveLayout(tmp_path))
    assert (recovered.kept_bytes, recovered.cut_bytes) == (ends[-1], 4096)
    assert "gzip" in (recovered.problem or "")


def test_damaged_member_in_the_middle_keeps_what_precedes_it(tmp_path):
    path, ends = killed_writer_file(tmp_path / "warc")
    data = bytearray(path.read_bytes())
    data[ends[0] + 30] ^= 0xFF  # inside the second exchange's request record
    path.write_bytes(bytes(data))
    (recovered,) = recover_abandoned(ArchiveLayout(tmp_path))
    assert recovered.kept_bytes == ends[0] and recovered.cut_bytes == len(data) - ends[0]
    assert warcio_check(recovered.path).returncode == 0


def test_a_record_shorter_than_its_content_length_is_not_complete():
    """A whole gzip member holding a short record is still a torn record."""
    record = b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 10\r\n\r\n12345\r\n\r\n"
    prefix = complete_prefix(io.BytesIO(gzip.compress(record)), gzipped=True)
    assert (prefix.records, prefix.length) == (0, 0)
    assert "cut short" in (prefix.problem or "")


def test_empty_open_file_is_removed(tmp_path):
    (tmp_path / "warc").mkdir()
    (tmp_path / "warc" / "x.warc.gz.open").write_bytes(b"")
    (recovered,) = recover_abandoned(ArchiveLayout(tmp_path))
    assert recovered.removed and not list((tmp_path / "warc").iterdir())


def test_torn_json_line_is_cut(tmp_path):
    lines = [json.dumps({"url": f"https://news.example.com/{n}", "text": "é" * 50}) + "\n" for n in range(3)]
    data = "".join(lines).encode()
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "news-1.jsonl.open").write_bytes(data + b'{"url": "https://news.exa')
    (recovered,) = recover_abandoned(ArchiveLayout(tmp_path))
    assert recovered.path == tmp_path / "json" / "news-1.jsonl"
    assert recovered.path.read_bytes() == data
    assert (recovered.kept, recovered.cut_bytes) == (3, 25)


def test_a_living_writers_file_is_not_touched(tmp_path):
    w = writer(tmp_path / "warc")
    w.write(*w.factory.exchange(make_exchange()))
    path = w.current_path
    assert path is not None
    before = path.read_bytes()
    assert recover_abandoned(ArchiveLayout(tmp_path)) == []
    assert path.read_bytes() == before
    (closed,) = w.close()
    assert warcio_check(closed).returncode == 0


def test_a_closed_file_is_never_renamed_over(tmp_path):
    """A feed named by the second its crawl started: a second crawl of that second gets another
    name, whether the first one's file is still open or already closed."""
    first = create_open_file(tmp_path, "news-1.jsonl")
    assert first is not None and create_open_file(tmp_path, "news-1.jsonl") is None
    first.write(b"{}\n")
    close_open_file(first, tmp_path / "news-1.jsonl.open")
    assert create_open_file(tmp_path, "news-1.jsonl") is None
    assert (tmp_path / "news-1.jsonl").read_bytes() == b"{}\n"
