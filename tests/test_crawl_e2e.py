"""End to end: real ``scrapy crawl`` runs over the test web, then the archive is checked
against what the servers logged having sent."""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from warcio.archiveiterator import ArchiveIterator

from newsarchive import __version__
from newsarchive.schema import SCHEMA_PATH
from newsarchive.warc.reader import iter_article_json
from tests.conftest import CrawlResult, run_crawl
from tests.records import Record, read_records, warcio_check
from tests.web import CP1252_PHRASE, EXTRACTABLE, MAXSIZE, SECRET_COOKIE, build_web, bytes_sent, sources_yaml

pytestmark = pytest.mark.e2e

CONTACT = "mailto:archive@example.org"


@dataclass
class Crawled:
    web: object
    archive: Path
    feeds: CrawlResult
    sitemaps: CrawlResult
    second: CrawlResult
    logged_after_first_runs: dict[str, list[str]]

    def warc_files(self) -> list[Path]:
        return sorted((self.archive / "warc").iterdir())

    def records(self) -> list[Record]:
        return [r for f in self.warc_files() for r in read_records(f)]

    def json_lines(self) -> list[dict[str, object]]:
        files = sorted((self.archive / "json").glob("*.jsonl"))
        return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def crawled(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    work = tmp_path_factory.mktemp("crawl")
    archive = work / "archive"
    with build_web(shared) as web:
        sources = work / "sources.yaml"
        sources.write_text(sources_yaml(web))
        settings = {"DOWNLOAD_MAXSIZE": MAXSIZE, "ARCHIVE_CONTACT": CONTACT, "ARCHIVE_OPERATOR": "Test Desk"}
        feeds = run_crawl("feeds", archive, f"sources={sources}", settings=settings)
        sitemaps = run_crawl("sitemaps", archive, f"sources={sources}", settings=settings)
        logged = {name: site.paths_requested() for name, site in web.sites.items()}
        for site in web.sites.values():
            site.requests.clear()
        second = run_crawl("feeds", archive, f"sources={sources}", settings=settings)
        # keep the request logs of the second run on the sites for the test that reads them
        return Crawled(web, archive, feeds, sitemaps, second, logged)


def test_crawls_finish_cleanly(crawled: Crawled) -> None:
    """Each run exits 0 and reports 'finished', with a readable summary line."""
    for run in (crawled.feeds, crawled.sitemaps, crawled.second):
        assert run.returncode == 0, run.log[-3000:]
        assert run.stats["finish_reason"] == "finished"
        assert "newsarchive run finished:" in run.log


def test_every_exchange_is_archived(crawled: Crawled) -> None:
    """Each request a server answered has a response record (a revisit record when the same
    payload was archived before), robots.txt and 3xx included."""
    responses = [r for r in crawled.records() if r.type in ("response", "revisit")]
    archived = [r.headers["WARC-Target-URI"] for r in responses]
    logged = [
        crawled.web.url(name, path)  # type: ignore[attr-defined]
        for name, paths in crawled.logged_after_first_runs.items()
        for path in paths
    ] + [
        crawled.web.url(name, path)  # type: ignore[attr-defined]
        for name, site in crawled.web.sites.items()  # type: ignore[attr-defined]
        for path in site.paths_requested()
    ]
    assert sorted(archived) == sorted(logged)
    status = {r.headers["WARC-Target-URI"]: r.http_line for r in responses}
    news = crawled.web.url  # type: ignore[attr-defined]
    assert status[news("news", "/robots.txt")] == "HTTP/1.1 200 OK"
    assert status[news("blog", "/robots.txt")] == "HTTP/1.1 404 Not Found"
    assert status[news("news", "/old-url.html")] == "HTTP/1.1 301 Moved Permanently"
    assert status[news("news", "/articles/missing.html")] == "HTTP/1.1 404 Not Found"
    assert status[news("news", "/loop/b")] == "HTTP/1.1 302 Found"


def test_requests_are_linked_to_responses(crawled: Crawled) -> None:
    """Each request record names its response or revisit (WARC-Concurrent-To) and keeps Host and query."""
    records = crawled.records()
    ids = {r.headers["WARC-Record-ID"]: r for r in records}
    requests = [r for r in records if r.type == "request"]
    assert len(requests) == sum(r.type in ("response", "revisit") for r in records)
    for request in requests:
        response = ids[request.headers["WARC-Concurrent-To"]]
        assert response.type in ("response", "revisit")
        assert response.headers["WARC-Target-URI"] == request.headers["WARC-Target-URI"]
        assert request.http("Host") == [request.headers["WARC-Target-URI"].split("/")[2]]
        assert request.http("Accept-Encoding") == ["gzip, deflate, br"]  # never zstd
        assert request.http("User-Agent") == [f"newsarchive/{__version__} (news archive crawler; +{CONTACT})"]
    assert all(
        r.headers.get("WARC-IP-Address") == "127.0.0.1" for r in records if r.type in ("response", "revisit")
    )


def test_payloads_are_the_bytes_sent(crawled: Crawled) -> None:
    """Payloads equal the servers' bytes (still gzip-encoded where sent so); truncation marked."""
    sent = bytes_sent(crawled.web)  # type: ignore[arg-type]
    checked = 0
    for record in crawled.records():
        if record.type != "response" or record.http_line.split()[1] == "404":
            continue
        url = record.headers["WARC-Target-URI"]
        truncated = record.headers.get("WARC-Truncated")
        if url.endswith("/articles/huge.html"):
            assert truncated == "length"
            assert MAXSIZE < len(record.payload) < len(sent[url])
            assert sent[url].startswith(record.payload)
        elif url.endswith("/articles/cut.html"):
            assert truncated == "disconnect"
            assert record.payload == sent[url][:2000]
        else:
            assert truncated is None
            assert record.payload == sent[url], url
        checked += 1
    assert checked >= 25


def test_stored_headers_agree_with_stored_bodies(crawled: Crawled) -> None:
    """Content-Length matches, no Transfer-Encoding lie, Content-Encoding only over encoded bytes."""
    encoded = chunked = 0
    for record in crawled.records():
        if record.type != "response":
            continue
        assert record.http("Content-Length") == [str(len(record.payload))]
        assert record.http("Transfer-Encoding") == []
        if record.http("Content-Encoding") == ["gzip"]:
            encoded += 1
            zlib.decompress(record.payload, wbits=31)  # raises if not gzip
        if record.http("X-Crawler-Transfer-Encoding"):
            chunked += 1
        assert record.http_line.startswith(("HTTP/1.1 ", "HTTP/1.0 "))
    assert encoded >= 3  # gzip.html, moved.html, gz-sitemap.html


def test_warcio_check_passes(crawled: Crawled) -> None:
    """``warcio check`` verifies every digest of every file."""
    files = crawled.warc_files()
    assert files and all(f.name.endswith(".warc.gz") for f in files)
    done = warcio_check(*files)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "digest pass" in done.stdout and "fail" not in done.stdout


def test_each_file_opens_with_warcinfo(crawled: Crawled) -> None:
    """warcinfo first: software, robots policy, format; files named prefix-timestamp-serial-host."""
    for path in crawled.warc_files():
        first = read_records(path)[0]
        assert first.type == "warcinfo"
        info = first.payload.decode()
        assert "software: newsarchive/" in info and "robots: obey" in info
        assert f"contact: {CONTACT}" in info and "operator: Test Desk" in info
        prefix, stamp, serial, _host = path.name.removesuffix(".warc.gz").split("-", 3)
        assert (prefix, len(stamp), len(serial)) == ("newsarchive", 17, 5)


def test_json_lines_point_at_their_records(crawled: Crawled) -> None:
    """Seeking to warc_offset in warc_filename yields the response record of that article."""
    lines = crawled.json_lines()
    assert lines
    for line in lines:
        path = crawled.archive / "warc" / str(line["warc_filename"])
        offset, length = int(line["warc_offset"]), int(line["warc_length"])  # type: ignore[call-overload]
        with path.open("rb") as stream:
            stream.seek(offset)
            member = stream.read(length)
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Record-ID") == line["warc_record_id"]
            assert record.rec_headers.get_header("WARC-Target-URI") == line["url"]
        gunzip = zlib.decompressobj(wbits=31)
        assert gunzip.decompress(member).startswith(b"WARC/1.0\r\nWARC-Date")
        assert gunzip.eof and not gunzip.unused_data  # exactly one record, whole


def test_articles_extracted_once_each(crawled: Crawled) -> None:
    """Exactly the extractable pages become JSON lines, each once, valid against the schema."""
    lines = crawled.json_lines()
    paths = sorted("/" + str(line["url"]).split("/", 3)[3] for line in lines)
    assert paths == sorted(EXTRACTABLE)
    schema = json.loads(SCHEMA_PATH.read_text())
    for line in lines:
        jsonschema.validate(line, schema)
        assert len(str(line["text"])) > 250
    cp1252 = next(line for line in lines if str(line["url"]).endswith("cp1252.html"))
    assert CP1252_PHRASE in str(cp1252["text"])
    assert {line["source"] for line in lines} == {"news", "blog"}
    news_sitemap = next(line for line in lines if str(line["url"]).endswith("/articles/news-sitemap.html"))
    assert news_sitemap["language"] == "en"


def test_warc_alone_rebuilds_the_json(crawled: Crawled) -> None:
    """The conversion records hold the same JSON lines as the JSON output."""
    rebuilt = sorted(json.loads(line)["url"] for line in iter_article_json([crawled.archive / "warc"]))
    assert rebuilt == sorted(line["url"] for line in crawled.json_lines())


def test_disallowed_and_out_of_window_pages_never_requested(crawled: Crawled) -> None:
    """robots.txt disallow and the max_age window keep pages from being requested at all."""
    news = crawled.logged_after_first_runs["news"]
    assert "/robots.txt" in news
    for path in ("/private/secret.html", "/articles/too-old.html", "/articles/sitemap-too-old.html"):
        assert path not in news
    assert crawled.feeds.stat("robotstxt/forbidden") == 1


def test_no_cookie_values_archived(crawled: Crawled) -> None:
    """Set-Cookie and Cookie values stay out of the WARC files."""
    secret = SECRET_COOKIE.split("=")[1].encode()
    for path in crawled.warc_files():
        assert secret not in gzip.decompress(path.read_bytes())


def test_bad_input_is_counted_not_fatal(crawled: Crawled) -> None:
    """Malformed feed, dead link, PDF, binary page, cut body, huge body, loop: counted, logged."""
    stats = crawled.feeds
    assert stats.stat("newsarchive/spider/feeds/malformed") == 1
    assert stats.stat("newsarchive/spider/feeds/empty") == 1  # well-formed, no items: no error
    assert stats.stat("newsarchive/spider/feeds/http_error") == 1  # a feed URL answering 404
    assert stats.stat("newsarchive/spider/feeds/download_error") == 1  # a server gone away
    assert "Could not download feeds http://127.0.0.1:9/feed.xml" in stats.log
    assert stats.stat("newsarchive/spider/articles/http_error") == 1
    assert "HTTP 404 for feeds" in stats.log
    assert stats.stat("newsarchive/spider/articles/not_html") == 1
    assert stats.stat("newsarchive/warc/truncated/length") == 1
    assert stats.stat("newsarchive/warc/truncated/disconnect") == 1
    assert stats.stat("newsarchive/redirects/loops") == 1
    assert stats.stat("newsarchive/extract/non_articles") == 1  # the binary page
    assert stats.stat("newsarchive/spider/articles/bad_url") == 1  # "http://bad host/" in a feed
    assert crawled.sitemaps.stat("newsarchive/spider/sitemaps/bad_urls") == 1  # and in a sitemap
    assert "No entries in feed" in stats.log and "broken.xml" in stats.log
    assert "Redirect loop:" in stats.log


def test_second_run_fetches_no_archived_article(crawled: Crawled) -> None:
    """Feeds and robots.txt are fetched again; no article archived before is."""
    again = {path for site in crawled.web.sites.values() for path in site.paths_requested()}  # type: ignore[attr-defined]
    assert {"/rss.xml", "/atom.xml", "/robots.txt"} <= again
    assert not again & EXTRACTABLE
    assert crawled.second.stat("newsarchive/seen/skipped") >= 7
    assert crawled.second.stat("newsarchive/extract/articles") == 0
