"""End to end: real ``scrapy crawl`` runs into one archive write a payload seen before as a
``revisit`` record pointing at the first full response, within a run, across runs and across
processes; changed, truncated, empty and non-200 payloads stay full responses."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from base64 import b32encode
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsarchive.demo.server import MultiSiteServer, Resource, Site
from newsarchive.warc.reader import iter_article_json, read_payload
from tests.conftest import REPO, CrawlResult, crawl_command, run_crawl
from tests.records import Record, read_records, warcio_check
from tests.web import aeb_pages

pytestmark = pytest.mark.e2e

PROFILE = "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest"
MAXSIZE = 60_000


def rss(paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Story {path}</title><link>{{{{site:rv}}}}{path}</link></item>\n" for path in paths
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Revisits</title>'
        f"<link>{{{{site:rv}}}}/</link><description>Test</description>\n{items}</channel></rss>"
    ).encode()


FIRST_ARTICLES = [
    "/same-a.html",  # the same bytes as /same-b.html
    "/same-b.html",
    "/same-gzip.html",  # the same page, gzip-encoded: other stored bytes
    "/cut-2000.html",  # the first 2000 bytes of the page, then the connection closes
    "/exact-3000.html",  # exactly the first 3000 bytes of the page, complete
    "/huge-a.html",  # over DOWNLOAD_MAXSIZE
    "/huge-b.html",
    "/missing-a.html",  # 404, same error page
    "/missing-b.html",
    "/empty-a.txt",  # 200, empty body
    "/empty-b.txt",
]
SECOND_ARTICLES = [
    "/exact-2000.html",  # the payload /cut-2000.html was cut to, complete this time
    "/cut-3000.html",  # cut to the payload of /exact-3000.html
]


def revisit_site(page: bytes) -> Site:
    huge = page * (MAXSIZE // len(page) + 2)
    return Site(
        "rv",
        {
            "/robots.txt": Resource(
                b"User-agent: *\nAllow: /\nSitemap: {{site:rv}}/sitemap.xml\n", "text/plain"
            ),
            "/feed.xml": Resource(rss(FIRST_ARTICLES), "application/rss+xml"),
            "/static-feed.xml": Resource(rss(["/other.html"]), "application/rss+xml"),
            "/sitemap.xml": Resource(
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                b"<url><loc>{{site:rv}}/same-a.html</loc></url></urlset>",
                "application/xml",
            ),
            "/other.html": Resource(page.replace(b"<body", b"<body data-other", 1)),
            "/same-a.html": Resource(page),
            "/same-b.html": Resource(page),
            "/same-gzip.html": Resource(page, encoding="gzip"),
            "/cut-2000.html": Resource(page, cut_after=2000),
            "/exact-2000.html": Resource(page[:2000]),
            "/cut-3000.html": Resource(page, cut_after=3000),
            "/exact-3000.html": Resource(page[:3000]),
            "/huge-a.html": Resource(huge),
            "/huge-b.html": Resource(huge),
            "/empty-a.txt": Resource(b"", "text/plain"),
            "/empty-b.txt": Resource(b"", "text/plain"),
        },
    )


@dataclass
class Archive:
    web: MultiSiteServer
    root: Path
    page: bytes
    first: CrawlResult
    second: CrawlResult
    first_files: list[Path]
    second_files: list[Path]

    def url(self, path: str) -> str:
        return self.web.url("rv", path)

    def records(self, files: list[Path] | None = None) -> list[Record]:
        return [r for f in (files or self.first_files + self.second_files) for r in read_records(f)]

    def of(self, path: str, files: list[Path] | None = None) -> list[Record]:
        """Response and revisit records of one URL."""
        return [
            r
            for r in self.records(files)
            if r.type in ("response", "revisit") and r.headers["WARC-Target-URI"] == self.url(path)
        ]

    def json_lines(self) -> list[dict[str, object]]:
        files = sorted((self.root / "json").glob("*.jsonl"))
        return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def archive(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """Two runs of the ``news`` spider into one archive; between them the feed changes."""
    work = tmp_path_factory.mktemp("revisits")
    root = work / "archive"
    page = aeb_pages(shared, 1)[0]
    with MultiSiteServer([revisit_site(page)]) as web:
        sources = work / "sources.yaml"
        base = web.url("rv", "")
        sources.write_text(
            "sources:\n  - name: rv\n"
            f'    feeds: ["{base}/feed.xml", "{base}/static-feed.xml"]\n'
            f'    sitemaps: ["{base}/robots.txt"]\n'
        )
        settings = {"DOWNLOAD_MAXSIZE": MAXSIZE}
        first = run_crawl("news", root, f"sources={sources}", settings=settings)
        first_files = sorted((root / "warc").iterdir())
        web.sites["rv"].resources["/feed.xml"] = Resource(
            rss(FIRST_ARTICLES + SECOND_ARTICLES), "application/rss+xml"
        )
        second = run_crawl("news", root, f"sources={sources}", settings=settings)
        second_files = sorted(set((root / "warc").iterdir()) - set(first_files))
        return Archive(web, root, page, first, second, first_files, second_files)


def test_runs_finish_cleanly(archive: Archive) -> None:
    """Both runs exit 0, finished, and count the revisits they wrote."""
    for run, files in ((archive.first, archive.first_files), (archive.second, archive.second_files)):
        assert run.returncode == 0, run.log[-3000:]
        assert run.stats["finish_reason"] == "finished"
        revisits = [r for r in archive.records(files) if r.type == "revisit"]
        assert revisits
        assert run.stat("newsarchive/warc/revisits") == len(revisits)
        assert run.stat("newsarchive/warc/records/revisit") == len(revisits)
        assert run.stat("newsarchive/warc/revisits/bytes_saved") == sum(
            int(r.http("Content-Length")[0]) for r in revisits
        )
        assert run.stat("newsarchive/warc/revisits/index_errors") == 0


def test_same_bytes_at_two_urls_one_response_one_revisit(archive: Archive) -> None:
    """Two URLs serving identical bytes: a full response, then a revisit naming it by id,
    target URI and date, with its own status line and headers and no payload."""
    records = archive.of("/same-a.html") + archive.of("/same-b.html")
    assert sorted(r.type for r in records) == ["response", "revisit"]
    (original,) = [r for r in records if r.type == "response"]
    (revisit,) = [r for r in records if r.type == "revisit"]
    assert original.payload == archive.page
    assert revisit.headers["WARC-Profile"] == PROFILE
    assert revisit.headers["WARC-Refers-To"] == original.headers["WARC-Record-ID"]
    assert revisit.headers["WARC-Refers-To-Target-URI"] == original.headers["WARC-Target-URI"]
    assert revisit.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]
    assert revisit.headers["WARC-Target-URI"] != original.headers["WARC-Target-URI"]
    sha1 = "sha1:" + b32encode(hashlib.sha1(archive.page).digest()).decode()
    assert revisit.headers["WARC-Payload-Digest"] == original.headers["WARC-Payload-Digest"] == sha1
    assert revisit.headers["WARC-IP-Address"] == "127.0.0.1"
    assert "WARC-Truncated" not in revisit.headers
    assert revisit.payload == b""
    assert revisit.http_line == "HTTP/1.1 200 OK"
    assert revisit.http("Content-Length") == [str(len(archive.page))]
    assert revisit.http("Content-Type") == original.http("Content-Type")
    ids = {r.headers["WARC-Record-ID"]: r for r in archive.records()}
    requests = [r for r in archive.records() if r.type == "request"]
    assert len(requests) == sum(r.type in ("response", "revisit") for r in ids.values())
    (request,) = [
        r for r in requests if r.headers.get("WARC-Concurrent-To") == revisit.headers["WARC-Record-ID"]
    ]
    assert request.headers["WARC-Target-URI"] == revisit.headers["WARC-Target-URI"]
    assert request.headers["WARC-Date"] == revisit.headers["WARC-Date"]
    assert [r.type for r in archive.of("/same-gzip.html")] == ["response"]  # encoded: other bytes


def test_articles_of_revisits_are_extracted_and_point_at_the_revisit(archive: Archive) -> None:
    """Both copies become JSON lines; the copy's line points at its revisit record, and
    read_payload follows it to the page's bytes; rebuild-json reads both back."""
    lines = {str(line["url"]): line for line in archive.json_lines()}
    a, b = lines[archive.url("/same-a.html")], lines[archive.url("/same-b.html")]
    assert a["text"] == b["text"] and len(str(a["text"])) > 250
    kinds = set()
    for line in (a, b):
        record = next(
            r
            for r in archive.records()
            if r.headers["WARC-Record-ID"] == line["warc_record_id"] and r.file.name == line["warc_filename"]
        )
        assert record.offset == line["warc_offset"]
        kinds.add(record.type)
        payload = read_payload(archive.root / "warc", str(line["warc_filename"]), int(line["warc_offset"]))  # type: ignore[call-overload]
        assert payload == archive.page
    assert kinds == {"response", "revisit"}
    conversions = [r for r in archive.records() if r.type == "conversion"]
    assert {r.headers["WARC-Refers-To"] for r in conversions} >= {a["warc_record_id"], b["warc_record_id"]}
    rebuilt = [json.loads(line) for line in iter_article_json([archive.root / "warc"])]
    assert sorted(line["url"] for line in rebuilt) == sorted(lines)
    done = subprocess.run(
        [sys.executable, "-m", "newsarchive", "rebuild-json", str(archive.root / "warc")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(json.loads(line)["url"] for line in done.stdout.splitlines()) == sorted(lines)


def test_unchanged_feed_robots_and_sitemap_revisit_the_first_run(archive: Archive) -> None:
    """Fetched again by the second run with the same bytes, the static feed, the sitemap and
    robots.txt are revisit records pointing at the first run's full responses."""
    first = {r.headers["WARC-Record-ID"]: r for r in archive.records(archive.first_files)}
    for path in ("/static-feed.xml", "/sitemap.xml", "/robots.txt"):
        again = archive.of(path, archive.second_files)
        assert again and {r.type for r in again} == {"revisit"}, path
        (original,) = [r for r in archive.of(path, archive.first_files) if r.type == "response"]
        for revisit in again:
            assert revisit.headers["WARC-Refers-To"] in first
            assert revisit.headers["WARC-Refers-To"] == original.headers["WARC-Record-ID"]
            assert revisit.headers["WARC-Refers-To-Target-URI"] == archive.url(path)
            assert revisit.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]
            assert revisit.headers["WARC-Date"] >= original.headers["WARC-Date"]
    robots = archive.of("/robots.txt")
    assert len(robots) >= 3  # fetched for the rules and as a sitemap source, each run
    assert [r.type for r in robots].count("response") == 1


def test_changed_payload_is_a_full_response(archive: Archive) -> None:
    """The feed that gained entries, and the new articles, are full responses in the second run."""
    (feed,) = archive.of("/feed.xml", archive.second_files)
    assert feed.type == "response"
    assert feed.payload == archive.web.expand(rss(FIRST_ARTICLES + SECOND_ARTICLES))
    for path in SECOND_ARTICLES:
        assert [r.type for r in archive.of(path, archive.second_files)] == ["response"], path


def test_truncated_payloads_never_revisit_nor_are_revisited(archive: Archive) -> None:
    """A body cut short is neither a revisit nor the record a revisit points to, even when a
    complete body has exactly its bytes; nor are empty bodies and 404 pages."""
    (cut_2000,) = archive.of("/cut-2000.html", archive.first_files)
    (exact_2000,) = archive.of("/exact-2000.html", archive.second_files)
    assert cut_2000.headers["WARC-Truncated"] == "disconnect"
    assert cut_2000.headers["WARC-Payload-Digest"] == exact_2000.headers["WARC-Payload-Digest"]
    assert exact_2000.type == "response"  # not a revisit of the earlier, truncated record

    (exact_3000,) = archive.of("/exact-3000.html", archive.first_files)
    (cut_3000,) = archive.of("/cut-3000.html", archive.second_files)
    assert exact_3000.type == "response" and "WARC-Truncated" not in exact_3000.headers
    assert cut_3000.headers["WARC-Payload-Digest"] == exact_3000.headers["WARC-Payload-Digest"]
    assert cut_3000.type == "response" and cut_3000.headers["WARC-Truncated"] == "disconnect"

    huge = archive.of("/huge-a.html") + archive.of("/huge-b.html")
    assert [r.type for r in huge] == ["response", "response"]
    assert {r.headers["WARC-Truncated"] for r in huge} == {"length"}
    assert all(MAXSIZE < len(r.payload) < len(archive.page) * 5 for r in huge)

    for pair, status in (
        (("/empty-a.txt", "/empty-b.txt"), "200 OK"),
        (("/missing-a.html", "/missing-b.html"), "404 Not Found"),
    ):
        records = [r for path in pair for r in archive.of(path)]
        assert len(records) >= 2 and {r.type for r in records} == {"response"}, pair  # 404s: each run
        assert len({r.headers["WARC-Payload-Digest"] for r in records}) == 1
        assert all(r.http_line == f"HTTP/1.1 {status}" for r in records)


def test_warcio_reads_and_checks_revisits(archive: Archive) -> None:
    """``warcio check`` passes on every file; ``warcio index`` lists the revisits with their
    references; ArchiveIterator reads them (read_records verifies every digest)."""
    files = archive.first_files + archive.second_files
    done = warcio_check(*files)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "fail" not in done.stdout and "not checked (revisit)" in done.stdout
    index = subprocess.run(
        [
            sys.executable,
            "-m",
            "warcio.cli",
            "index",
            "-f",
            "warc-type,warc-target-uri,warc-refers-to-target-uri,warc-refers-to-date,http:status",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    entries = [json.loads(line) for line in index.stdout.splitlines()]
    revisits = [e for e in entries if e["warc-type"] == "revisit"]
    expected = [r for r in archive.records() if r.type == "revisit"]
    assert len(revisits) == len(expected) >= 6
    assert all(
        e["http:status"] == "200" and e["warc-refers-to-target-uri"].startswith("http://") for e in revisits
    )


def test_revisits_off_writes_every_payload_in_full(shared: Path, tmp_path: Path) -> None:
    """WARC_REVISITS=False: identical payloads are full response records, and no index is kept."""
    page = aeb_pages(shared, 1)[0]
    root = tmp_path / "archive"
    with MultiSiteServer([revisit_site(page)]) as web:
        urls = ",".join(web.url("rv", path) for path in ("/same-a.html", "/same-b.html", "/robots.txt"))
        run = run_crawl("urls", root, f"urls={urls}", settings={"WARC_REVISITS": False})
    assert run.returncode == 0, run.log[-3000:]
    records = [r for f in sorted((root / "warc").iterdir()) for r in read_records(f)]
    assert Counter(r.type for r in records if r.type in ("response", "revisit")) == {"response": 4}
    digests = Counter(r.headers["WARC-Payload-Digest"] for r in records if r.type == "response")
    assert sorted(digests.values()) == [2, 2]  # the page twice, robots.txt twice
    assert not (root / "state" / "payloads.sqlite").exists()
    assert run.stat("newsarchive/warc/revisits") == 0


def test_two_crawls_at_once_store_each_payload_once(shared: Path, tmp_path: Path) -> None:
    """Two crawler processes fetching the same pages into one archive at the same time: each
    payload is one full response record, the other capture a revisit of it."""
    pages = aeb_pages(shared, 8)
    site = Site("rv", {f"/p{i}.html": Resource(page, delay=0.3) for i, page in enumerate(pages)})
    root = tmp_path / "archive"
    with MultiSiteServer([site]) as web:
        urls = ",".join(web.url("rv", f"/p{i}.html") for i in range(len(pages)))
        command = crawl_command("urls", root, f"urls={urls}", settings={"ARCHIVE_RECRAWL": True})
        crawls = [
            subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        logs = [crawl.communicate(timeout=300)[1] for crawl in crawls]
    assert [crawl.returncode for crawl in crawls] == [0, 0], [log[-2000:] for log in logs]
    records = [r for f in sorted((root / "warc").iterdir()) for r in read_records(f)]
    for i, page in enumerate(pages):
        mine = [r for r in records if r.headers.get("WARC-Target-URI") == web.url("rv", f"/p{i}.html")]
        kinds = sorted(r.type for r in mine if r.type in ("response", "revisit"))
        assert kinds == ["response", "revisit"], (i, kinds)
        (original,) = [r for r in mine if r.type == "response"]
        assert original.payload == page
        (revisit,) = [r for r in mine if r.type == "revisit"]
        assert revisit.headers["WARC-Refers-To"] == original.headers["WARC-Record-ID"]
    assert warcio_check(*sorted((root / "warc").iterdir())).returncode == 0
