"""WARC records (RecordFactory) and files (RotatingWarcWriter), read back with warcio."""

from __future__ import annotations

import base64
import errno
import gzip
import hashlib
import re
import zlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsarchive.exceptions import WarcWriteError
from newsarchive.warc import (
    HeaderPolicy,
    HttpExchange,
    RecordFactory,
    RecordLocation,
    RotatingWarcWriter,
)
from newsarchive.warc.writer import safe_name_part
from tests.records import Record, read_records, warcio_check

DATE = "2026-11-20T08:15:00Z"
INFO = {"software": "newsarchive-tests/1.0", "operator": "tests", "description": "round trip"}
AEB_PAGE = "7916ecca969ffdd8f6fc32d171fbe0dd63db40fe4c1d2ade02b1dec5929a162f.html.gz"
NAME = re.compile(r"^(?P<prefix>.+)-(?P<stamp>\d{17})-(?P<serial>\d{5})-(?P<host>[A-Za-z0-9.-]+)\.warc\.gz$")


def make_exchange(**changes: Any) -> HttpExchange:
    base = HttpExchange(
        url="https://news.example.com/world/story.html",
        method="GET",
        request_headers=[("User-Agent", "newsarchive-tests"), ("Accept", "text/html")],
        status=200,
        response_headers=[("Content-Type", "text/html; charset=utf-8")],
        body=b"<html><body><p>Harbour story</p></body></html>",
        date=DATE,
    )
    return replace(base, **changes)


def writer(directory: Path, **options: Any) -> RotatingWarcWriter:
    options.setdefault("factory", RecordFactory())
    options.setdefault("info", INFO)
    options.setdefault("hostname", "crawler-1")
    return RotatingWarcWriter(directory, **options)


def round_trip(
    tmp_path: Path, exchange: HttpExchange, policy: HeaderPolicy | None = None
) -> tuple[Record, Record]:
    """Write one exchange to a fresh file, check it with warcio, return (request, response)."""
    w = writer(tmp_path / "warc", factory=RecordFactory(policy))
    w.write(*w.factory.exchange(exchange))
    (path,) = w.close()
    assert warcio_check(path).returncode == 0
    info, request, response = read_records(path)
    assert (info.type, request.type, response.type) == ("warcinfo", "request", "response")
    return request, response


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


# response bodies and their headers


def test_gzip_body_kept_byte_for_byte(tmp_path: Path, shared: Path) -> None:
    """A gzip-encoded real page is stored as received, with Content-Encoding and its digest."""
    body = (shared / "corpora" / "aeb-article-extraction-benchmark" / "html" / AEB_PAGE).read_bytes()
    exchange = make_exchange(
        response_headers=[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(body))),
        ],
        body=body,
    )
    _, response = round_trip(tmp_path, exchange)
    assert response.payload == body
    assert response.http("Content-Encoding") == ["gzip"]
    assert response.http("Content-Length") == [str(len(body))]
    assert response.http("X-Crawler-Content-Length") == []
    assert response.headers["WARC-Payload-Digest"] == sha1_b32(body)
    assert b"<html" in gzip.decompress(response.payload)[:2000].lower()


def test_chunked_framing_renamed(tmp_path: Path) -> None:
    """Transfer-Encoding: chunked becomes X-Crawler-Transfer-Encoding; the body is de-chunked."""
    exchange = make_exchange(
        response_headers=[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")],
    )
    _, response = round_trip(tmp_path, exchange)
    assert response.http("Transfer-Encoding") == []
    assert response.http("X-Crawler-Transfer-Encoding") == ["chunked"]
    assert response.payload == exchange.body
    assert response.http("Content-Length") == [str(len(exchange.body))]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("46", []), ("12", ["12"]), ("999999", ["999999"]), (None, [])],
    ids=["same", "shorter", "longer", "missing"],
)
def test_content_length_matches_stored_body(tmp_path: Path, sent: str | None, kept: list[str]) -> None:
    """Content-Length equals the stored body; a different sent one is X-Crawler-Content-Length."""
    exchange = make_exchange()
    assert len(exchange.body) == 46
    headers = [("Content-Type", "text/html")] + ([("content-length", sent)] if sent else [])
    _, response = round_trip(tmp_path, replace(exchange, response_headers=headers))
    assert response.http("Content-Length") == [str(len(response.payload))] == ["46"]
    assert response.http("X-Crawler-Content-Length") == kept


def test_repeated_headers_all_kept(tmp_path: Path) -> None:
    """Two Set-Cookie (when cookies are kept) and two Link headers are all stored, in order."""
    exchange = make_exchange(
        response_headers=[
            ("Set-Cookie", "a=1; Path=/"),
            ("Link", '<https://news.example.com/amp>; rel="amphtml"'),
            ("Set-Cookie", "b=2; Path=/"),
            ("Link", '<https://news.example.com/c>; rel="canonical"'),
        ],
        request_headers=[("Cookie", "session=abc")],
    )
    request, response = round_trip(tmp_path, exchange, HeaderPolicy(keep_cookies=True))
    assert response.http("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert response.http("Link") == [
        '<https://news.example.com/amp>; rel="amphtml"',
        '<https://news.example.com/c>; rel="canonical"',
    ]
    assert request.http("Cookie") == ["session=abc"]


def test_cookies_dropped_by_default(tmp_path: Path) -> None:
    """Without keep_cookies, Cookie, Set-Cookie and Set-Cookie2 are dropped; other headers stay."""
    exchange = make_exchange(
        request_headers=[("Cookie", "session=S3cr3t"), ("Accept", "text/html")],
        response_headers=[
            ("Set-Cookie", "session=S3cr3t"),
            ("set-cookie2", "x=1"),
            ("Vary", "Cookie"),
        ],
    )
    request, response = round_trip(tmp_path, exchange)
    assert request.http("Cookie") == [] and request.http("Accept") == ["text/html"]
    assert response.http("Set-Cookie") == [] and response.http("Set-Cookie2") == []
    assert response.http("Vary") == ["Cookie"]


@pytest.mark.parametrize("keep_cookies", [False, True])
def test_credentials_always_dropped(tmp_path: Path, keep_cookies: bool) -> None:
    """Authorization and Proxy-Authorization never reach the archive, whatever the cookie policy."""
    exchange = make_exchange(
        request_headers=[
            ("Authorization", "Basic dXNlcjpwdw=="),
            ("proxy-authorization", "Basic eA=="),
            ("Accept", "*/*"),
        ],
        response_headers=[("Proxy-Authorization", "Basic eA=="), ("Content-Type", "text/html")],
    )
    request, response = round_trip(tmp_path, exchange, HeaderPolicy(keep_cookies=keep_cookies))
    for record in (request, response):
        assert record.http("Authorization") == [] and record.http("Proxy-Authorization") == []
    assert request.http("Accept") == ["*/*"]


# status and request lines, Host, target URI


@pytest.mark.parametrize(
    ("status", "protocol", "status_line", "request_protocol"),
    [
        (200, "HTTP/1.1", "HTTP/1.1 200 OK", "HTTP/1.1"),
        (404, "HTTP/1.1", "HTTP/1.1 404 Not Found", "HTTP/1.1"),
        (301, "HTTP/1.0", "HTTP/1.0 301 Moved Permanently", "HTTP/1.0"),
        (599, "HTTP/1.1", "HTTP/1.1 599 Unknown", "HTTP/1.1"),
        (200, "h2", "HTTP/1.1 200 OK", "HTTP/1.1"),
        (503, "HTTP/2", "HTTP/1.1 503 Service Unavailable", "HTTP/1.1"),
        (200, "HTTP/3", "HTTP/1.1 200 OK", "HTTP/1.1"),
    ],
)
def test_status_line(
    tmp_path: Path, status: int, protocol: str, status_line: str, request_protocol: str
) -> None:
    """The reason phrase is synthesised and any protocol but HTTP/1.0 is written as HTTP/1.1."""
    request, response = round_trip(tmp_path, make_exchange(status=status, protocol=protocol))
    assert response.http_line == status_line
    assert request.http_line.endswith(" " + request_protocol)


@pytest.mark.parametrize(
    ("method", "url", "line"),
    [
        (
            "GET",
            "https://news.example.com/search?q=harbour+bridge&page=2",
            "GET /search?q=harbour+bridge&page=2 HTTP/1.1",
        ),
        ("GET", "https://news.example.com", "GET / HTTP/1.1"),
        ("GET", "https://news.example.com/?", "GET / HTTP/1.1"),
        ("POST", "https://news.example.com/api/v1?x=%2F", "POST /api/v1?x=%2F HTTP/1.1"),
        ("GET", "https://news.example.com/a#section", "GET /a HTTP/1.1"),
    ],
)
def test_request_line(tmp_path: Path, method: str, url: str, line: str) -> None:
    """The request line keeps path and query (never the fragment)."""
    request, _ = round_trip(tmp_path, make_exchange(method=method, url=url))
    assert request.http_line == line


def test_request_body_stored(tmp_path: Path) -> None:
    """A POST body is stored in the request record, with its digest."""
    body = b"q=harbour&page=2"
    request, _ = round_trip(tmp_path, make_exchange(method="POST", request_body=body))
    assert request.payload == body
    assert request.headers["WARC-Payload-Digest"] == sha1_b32(body)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://news.example.com/a", "news.example.com"),
        ("https://news.example.com:443/a", "news.example.com"),
        ("http://news.example.com:80/a", "news.example.com"),
        ("http://news.example.com:8080/a", "news.example.com:8080"),
        ("https://news.example.com:80/a", "news.example.com:80"),
        ("http://127.0.0.1:8741/rss.xml", "127.0.0.1:8741"),
        ("http://[::1]:8741/rss.xml", "[::1]:8741"),
        ("https://[2001:db8::1]/a", "[2001:db8::1]"),
        ("https://user:pw@News.Example.com:8443/a", "news.example.com:8443"),
    ],
)
def test_host_header(tmp_path: Path, url: str, host: str) -> None:
    """Host comes first, from the URL: port only when not the scheme's default, IPv6 bracketed."""
    exchange = make_exchange(url=url, request_headers=[("Host", "wrong.example"), ("Accept", "*/*")])
    request, _ = round_trip(tmp_path, exchange)
    assert request.http_headers[0] == ("Host", host)
    assert request.http("Host") == [host]


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://user:secret@news.example.com/a?b=c", "https://news.example.com/a?b=c"),
        ("https://user@news.example.com:8443/a", "https://news.example.com:8443/a"),
        ("https://u:p@ss@news.example.com/a", "https://news.example.com/a"),
        ("https://news.example.com/path@name", "https://news.example.com/path@name"),
    ],
)
def test_userinfo_stripped_from_target_uri(tmp_path: Path, url: str, target: str) -> None:
    """user:password never reaches WARC-Target-URI of either record; an '@' in the path stays."""
    request, response = round_trip(tmp_path, make_exchange(url=url))
    assert request.headers["WARC-Target-URI"] == response.headers["WARC-Target-URI"] == target


def test_concurrent_to_links_request_to_response(tmp_path: Path) -> None:
    """The request's WARC-Concurrent-To is the response's id; both carry the exchange date."""
    request, response = round_trip(tmp_path, make_exchange())
    assert request.headers["WARC-Concurrent-To"] == response.headers["WARC-Record-ID"]
    assert request.headers["WARC-Record-ID"] != response.headers["WARC-Record-ID"]
    assert request.headers["WARC-Date"] == response.headers["WARC-Date"] == DATE
    assert response.headers["Content-Type"] == "application/http; msgtype=response"
    assert request.headers["Content-Type"] == "application/http; msgtype=request"


def test_ip_and_truncated_written_when_given(tmp_path: Path) -> None:
    """WARC-IP-Address and WARC-Truncated appear on the response when the exchange has them."""
    _, response = round_trip(tmp_path, make_exchange(ip_address="2001:db8::7", truncated="length"))
    assert response.headers["WARC-IP-Address"] == "2001:db8::7"
    assert response.headers["WARC-Truncated"] == "length"


def test_ip_and_truncated_absent_otherwise(tmp_path: Path) -> None:
    """Without an IP or a truncation reason, neither header is written."""
    request, response = round_trip(tmp_path, make_exchange())
    for record in (request, response):
        assert "WARC-IP-Address" not in record.headers and "WARC-Truncated" not in record.headers


def test_payload_digest_is_sha1_base32_of_stored_body(tmp_path: Path) -> None:
    """WARC-Payload-Digest is sha1 (base32) of the body as stored, i.e. still content-encoded."""
    encoded = gzip.compress(b"<html>" + b"harbour " * 500 + b"</html>", mtime=0)
    exchange = make_exchange(response_headers=[("Content-Encoding", "gzip")], body=encoded)
    _, response = round_trip(tmp_path, exchange)
    assert response.headers["WARC-Payload-Digest"] == sha1_b32(encoded)
    assert response.headers["WARC-Payload-Digest"] != sha1_b32(gzip.decompress(encoded))


def test_empty_body(tmp_path: Path) -> None:
    """A 204 with an empty body gets Content-Length: 0 and the digest of nothing."""
    _, response = round_trip(tmp_path, make_exchange(status=204, body=b"", response_headers=[]))
    assert response.payload == b""
    assert response.http("Content-Length") == ["0"]
    assert response.headers["WARC-Payload-Digest"] == sha1_b32(b"")


# the writer


def test_file_name_open_suffix_and_rename(tmp_path: Path) -> None:
    """Files are named prefix-stamp-serial-host.warc.gz, with .open until close() renames them."""
    w = writer(tmp_path, prefix="newsarchive", hostname="crawler-1")
    assert w.current_path is None
    location = w.write(*w.factory.exchange(make_exchange()))[0]
    open_path = w.current_path
    assert open_path is not None and open_path.name == location.filename + ".open"
    assert [p.name for p in tmp_path.iterdir()] == [open_path.name]
    match = NAME.match(location.filename)
    assert (
        match
        and match["prefix"] == "newsarchive"
        and match["serial"] == "00000"
        and match["host"] == "crawler-1"
    )
    datetime.strptime(match["stamp"] + "000", "%Y%m%d%H%M%S%f")  # a real date and time
    (closed,) = w.close()
    assert closed == tmp_path / location.filename
    assert [p.name for p in tmp_path.iterdir()] == [location.filename]
    assert w.current_path is None
    assert warcio_check(closed).returncode == 0


def test_warcinfo_first_with_info_fields(tmp_path: Path) -> None:
    """Every file opens with a warcinfo record naming the final file, with the info fields."""
    w = writer(tmp_path)
    w.write(*w.factory.exchange(make_exchange()))
    (path,) = w.close()
    first = read_records(path)[0]
    assert first.type == "warcinfo"
    assert first.headers["WARC-Filename"] == path.name
    fields = dict(line.split(": ", 1) for line in first.payload.decode().splitlines())
    assert fields == {**INFO, "format": "WARC File Format 1.0"}


def test_rotation(tmp_path: Path) -> None:
    """Past max_size a new file starts: each valid, opening with warcinfo, serials increasing."""
    w = writer(tmp_path, max_size=2000)
    exchanges = [
        make_exchange(url=f"https://news.example.com/{i}.html", body=bytes(range(256)) * 8) for i in range(6)
    ]
    ids = []
    for exchange in exchanges:
        for location in w.write(*w.factory.exchange(exchange)):
            ids.append(location.record_id)
    paths = w.close()
    assert len(paths) >= 3
    assert sorted(tmp_path.iterdir()) == sorted(paths)
    serials = [int(NAME.match(p.name)["serial"]) for p in paths]  # type: ignore[index]
    assert serials == sorted(serials) and len(set(serials)) == len(serials)
    seen = []
    for path in paths:
        assert warcio_check(path).returncode == 0
        records = read_records(path)
        assert records[0].type == "warcinfo"
        assert records[0].headers["WARC-Filename"] == path.name
        assert all(r.type != "warcinfo" for r in records[1:])
        seen += [r.headers["WARC-Record-ID"] for r in records[1:]]
    assert seen == ids


def test_exchange_never_split_across_files(tmp_path: Path) -> None:
    """The records of one write() land in the same file, even when they cross max_size."""
    w = writer(tmp_path, max_size=100)
    locations = [w.write(*w.factory.exchange(make_exchange(url=f"https://a.example/{i}"))) for i in range(3)]
    paths = w.close()
    assert len(paths) == 3
    for request, response in locations:
        assert request.filename == response.filename
        assert response.offset == request.offset + request.length


def read_member(path: Path, location: RecordLocation) -> bytes:
    """The ``length`` bytes at ``offset``, which must be one whole gzip member; its content."""
    with path.open("rb") as stream:
        stream.seek(location.offset)
        chunk = stream.read(location.length)
    assert len(chunk) == location.length
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    content = inflater.decompress(chunk)
    assert inflater.eof and inflater.unused_data == b""
    return content


def test_record_locations_resolve(tmp_path: Path) -> None:
    """Each RecordLocation seeks straight to its record; its length is exactly one gzip member."""
    w = writer(tmp_path, max_size=3000)
    locations = []
    for i in range(5):
        locations += w.write(
            *w.factory.exchange(make_exchange(url=f"https://news.example.com/{i}", body=b"x" * 900))
        )
    w.close()
    assert len({loc.filename for loc in locations}) > 1
    for location in locations:
        path = tmp_path / location.filename
        with path.open("rb") as stream:
            stream.seek(location.offset)
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_headers.get_header("WARC-Record-ID") == location.record_id
            assert record.rec_headers.get_header("WARC-Date") == location.date == DATE
        content = read_member(path, location)
        assert content.startswith(b"WARC/1.0\r\n")
        assert location.record_id.encode() in content
        assert content.endswith(b"\r\n\r\n")
    assert locations[0].as_dict()["record_id"] == locations[0].record_id


@pytest.mark.parametrize(
    ("hostname", "prefix"),
    [
        ("../../etc/passwd", "../up"),
        ("a/b", "x/y"),
        ("my host name", "news archive"),
        ("..", "."),
        ("", ""),
    ],
)
def test_names_are_sanitised(tmp_path: Path, hostname: str, prefix: str) -> None:
    """Host names and prefixes with '../', '/' or spaces cannot leave the directory."""
    directory = tmp_path / "warc"
    w = writer(directory, hostname=hostname, prefix=prefix)
    w.write(*w.factory.exchange(make_exchange()))
    (path,) = w.close()
    assert path.parent == directory
    assert list(tmp_path.iterdir()) == [directory]
    assert NAME.match(path.name), path.name
    assert "/" not in path.name and " " not in path.name and not path.name.startswith(".")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("crawler-1.example.org", "crawler-1.example.org"),
        ("../../etc", "etc"),
        ("a/b c", "a-b-c"),
        ("..", "fallback"),
        ("", "fallback"),
        ("x" * 100, "x" * 64),
        ("höst", "h-st"),
    ],
)
def test_safe_name_part(value: str, expected: str) -> None:
    """safe_name_part keeps [A-Za-z0-9.-], trims dots/dashes, caps at 64, else falls back."""
    assert safe_name_part(value, "fallback") == expected


def test_plain_warc_when_gzip_level_zero(tmp_path: Path) -> None:
    """gzip_level=0 writes an uncompressed .warc whose locations point at plain records."""
    w = writer(tmp_path, gzip_level=0)
    locations = w.write(*w.factory.exchange(make_exchange()))
    (path,) = w.close()
    assert path.name.endswith(".warc") and not path.name.endswith(".gz")
    data = path.read_bytes()
    assert data.startswith(b"WARC/1.0\r\n")
    assert warcio_check(path).returncode == 0
    assert [r.type for r in read_records(path)] == ["warcinfo", "request", "response"]
    for location in locations:
        chunk = data[location.offset : location.offset + location.length]
        assert chunk.startswith(b"WARC/1.0\r\n") and chunk.endswith(b"\r\n\r\n")
        assert location.record_id.encode() in chunk
    assert locations[-1].offset + locations[-1].length == len(data)


@pytest.mark.parametrize("level", [1, 9])
def test_gzip_levels(tmp_path: Path, level: int) -> None:
    """Any gzip level from 1 to 9 writes a valid .warc.gz."""
    w = writer(tmp_path, gzip_level=level)
    w.write(*w.factory.exchange(make_exchange()))
    (path,) = w.close()
    assert path.name.endswith(".warc.gz")
    assert warcio_check(path).returncode == 0


@pytest.mark.parametrize(
    ("option", "value"), [("max_size", 0), ("max_size", -1), ("gzip_level", 10), ("gzip_level", -1)]
)
def test_bad_writer_options(tmp_path: Path, option: str, value: int) -> None:
    """A non-positive max_size or a gzip level outside 0..9 is refused with the option named."""
    with pytest.raises(ValueError, match=option):
        writer(tmp_path, **{option: value})


def test_write_after_close_starts_a_new_file(tmp_path: Path) -> None:
    """After close(), a write opens a new file with the next serial; closed files are reported."""
    closed: list[Path] = []
    w = writer(tmp_path, on_file_closed=closed.append)
    w.write(*w.factory.exchange(make_exchange()))
    first = w.close()
    w.write(*w.factory.exchange(make_exchange()))
    both = w.close()
    assert len(both) == 2 and both[0] == first[0] and closed == both
    assert [NAME.match(p.name)["serial"] for p in both] == ["00000", "00001"]  # type: ignore[index]


# rollback


class HalfThenFail:
    """Fault injection: a file that writes half of what it is given, then runs out of space."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.failed = False

    def write(self, data: bytes) -> int:
        if self.failed:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.failed = True
        return self.raw.write(bytes(data)[: len(data) // 2])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def test_failed_write_is_rolled_back(tmp_path: Path) -> None:
    """A write failing half way raises WarcWriteError, cuts the file back, leaves it readable."""
    w = writer(tmp_path)
    before = w.write(*w.factory.exchange(make_exchange(url="https://news.example.com/1")))
    open_path = w.current_path
    assert open_path is not None
    size = open_path.stat().st_size
    raw = w._file
    w._file = HalfThenFail(raw)  # type: ignore[assignment]
    lost = w.factory.exchange(make_exchange(url="https://news.example.com/2", body=b"y" * 5000))
    with pytest.raises(WarcWriteError) as caught:
        w.write(*lost)
    assert str(open_path) in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)
    assert open_path.stat().st_size == size
    records = read_records(open_path)  # readable as it is, before close
    assert [r.headers["WARC-Record-ID"] for r in records[1:]] == [loc.record_id for loc in before]

    w._file = raw
    after = w.write(*w.factory.exchange(make_exchange(url="https://news.example.com/3")))
    assert after[0].offset == size
    (path,) = w.close()
    assert warcio_check(path).returncode == 0
    ids = [r.headers["WARC-Record-ID"] for r in read_records(path)[1:]]
    assert ids == [loc.record_id for loc in before + after]
    lost_ids = {r.rec_headers.get_header("WARC-Record-ID") for r in lost}
    assert lost_ids.isdisjoint(ids)


def test_failed_first_byte_is_rolled_back(tmp_path: Path) -> None:
    """A write refused outright also raises WarcWriteError and leaves the file as it was."""
    w = writer(tmp_path)
    w.write(*w.factory.exchange(make_exchange()))
    open_path = w.current_path
    assert open_path is not None
    size = open_path.stat().st_size
    faulty = HalfThenFail(w._file)
    faulty.failed = True
    w._file = faulty  # type: ignore[assignment]
    with pytest.raises(WarcWriteError):
        w.write(*w.factory.exchange(make_exchange()))
    assert open_path.stat().st_size == size
    w._file = faulty.raw
    (path,) = w.close()
    assert warcio_check(path).returncode == 0
    assert [r.type for r in read_records(path)] == ["warcinfo", "request", "response"]


def test_unusable_directory_is_a_warc_write_error(tmp_path: Path) -> None:
    """A WARC directory that cannot be created gives WarcWriteError (counted, logged), not a crash."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the WARC directory should be")
    writer = RotatingWarcWriter(blocker / "warc", factory=RecordFactory(), info=INFO)
    with pytest.raises(WarcWriteError, match="cannot start a WARC file"):
        writer.write(*RecordFactory().exchange(make_exchange()))
    assert writer.close() == []
