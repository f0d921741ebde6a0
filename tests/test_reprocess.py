"""``newsarchive reprocess``: stored WARC files through the crawl's item pipelines.

Real files only: the third-party WARC/ARC files of ../shared/corpora/warc-samples (their
manifest says what each holds and which are broken), real article pages wrapped into WARC
records here with warcio, a WARC our own crawler wrote against the test web, and one read from
moto's S3 server. The runs are real: ``python -m newsarchive.reprocess`` subprocesses.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import pytest
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsarchive.extract import ArticleExtractor, ExtractConfig
from newsarchive.items import PageCapture
from newsarchive.reprocess import (
    FileDone,
    FileFailed,
    HttpResponseRecord,
    InputError,
    InputResolver,
    PageBuilder,
    SkippedRecord,
    read_records,
)
from newsarchive.reprocess.command import run_reprocess
from newsarchive.warc.writer import RecordLocation
from tests.conftest import BUCKET, REPO, run_crawl
from tests.web import CP1252_PHRASE, EXTRACTABLE, MAXSIZE, aeb_pages, build_web, pdf_bytes, sources_yaml

MAX_SIZE = 32 * 1024 * 1024
SAMPLES = "corpora/warc-samples"
BROKEN_AS_WARCIO_SAYS = {
    # file: warcio's own error (manifest.jsonl) -> where we stop, and why
    "gowarc/corrupted-mid-record.warc.gz.open": (0, "one gzip stream"),
    "gowarc/corrupted-trailing-bytes.warc.gz.open": (0, "one gzip stream"),
    "gowarc/good.warc.gz.open": (0, "one gzip stream"),
    "warcio/example-bad-non-chunked.warc.gz": (0, "one gzip stream"),
    "warcio/example-bad.warc.gz.bad": (0, "one gzip stream"),
    "warcio/example-wrong-chunks.warc.gz": (0, "the data ends 1270 bytes before the end of this record"),
}
CUT_SHORT = {
    # warcio iterates this one without a word; its last record lacks 12 bytes (Archive-length
    # 1591, 1579 bytes left in the file): a truncated file, reported where the record starts.
    "warcio/example-space-in-url.arc": (151, "the data ends 12 bytes before the end of this record"),
}


# --- helpers ---------------------------------------------------------------------------------


def samples_dir(shared: Path) -> Path:
    return shared / SAMPLES


def manifest(shared: Path) -> dict[str, dict]:
    with open(samples_dir(shared) / "manifest.jsonl", encoding="utf-8") as lines:
        return {row["file"]: row for row in map(json.loads, lines)}


def read_file(path: Path | str) -> list[object]:
    [source] = InputResolver(Settings()).resolve([str(path)])
    assert not isinstance(source, InputError), source
    return list(read_records(source, MAX_SIZE))


def record_at(path: Path, offset: int) -> tuple[object, int]:
    """The record starting at ``offset`` of ``path`` (seek, read one) and its stored length."""
    with path.open("rb") as stream:
        stream.seek(offset)
        iterator = ArchiveIterator(stream, arc2warc=path.name.endswith((".arc", ".arc.gz")))
        record = next(iterator)
        iterator.read_to_end()
        return record, iterator.get_record_length()


def decoder() -> HttpCompressionMiddleware:
    crawler = get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": MAXSIZE})
    crawler.stats = MemoryStatsCollector(crawler)
    return build_from_crawler(HttpCompressionMiddleware, crawler)


def extracted_text(html: str, url: str) -> str | None:
    fields = ArticleExtractor(ExtractConfig()).extract(html, url)
    return fields["text"] if fields else None


@dataclass
class Run:
    """A finished ``python -m newsarchive.reprocess`` and what it left in the archive."""

    returncode: int
    log: str
    stats: dict[str, object]
    lines: list[dict[str, object]]

    def stat(self, *names: str) -> int:
        return int(self.stats.get("/".join(("newsarchive/reprocess", *names)), 0) or 0)  # type: ignore[call-overload]

    def by_url(self) -> dict[str, dict[str, object]]:
        return {str(line["url"]): line for line in self.lines}


def reprocess(
    inputs: list[str], archive: Path, *, settings: dict[str, object] | None = None, cwd: Path = REPO
) -> Run:
    """Run the command in a subprocess (a Scrapy process runs one reactor, once)."""
    runs = archive / "state" / "runs"
    json_dir = archive / "json"
    before_runs = set(runs.glob("*.json")) if runs.exists() else set()
    before_json = set(json_dir.glob("*.jsonl")) if json_dir.exists() else set()
    command = [sys.executable, "-m", "newsarchive", "reprocess", *inputs, "-o", str(archive)]
    for name, value in {"EXTRACT_WORKERS": 1, "LOG_LEVEL": "INFO", **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    new_runs = sorted(set(runs.glob("*.json")) - before_runs) if runs.exists() else []
    stats = json.loads(new_runs[-1].read_text()) if new_runs else {}
    lines = [
        json.loads(line)
        for path in sorted(set(json_dir.glob("*.jsonl")) - before_json if json_dir.exists() else [])
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    return Run(done.returncode, done.stderr, stats, lines)


def assert_resolves(line: dict[str, object], base: Path) -> None:
    """The JSON line's warc_* fields lead to its source record: seek, read, same id and length."""
    path = Path(str(line["warc_filename"]))
    if not path.is_absolute():
        path = base / path
    record, length = record_at(path, int(line["warc_offset"]))  # type: ignore[call-overload]
    assert record.rec_type == "response"
    assert record.rec_headers.get_header("WARC-Target-URI") == line["url"]
    assert length == line["warc_length"]
    if not path.name.endswith((".arc", ".arc.gz")):
        assert record.rec_headers.get_header("WARC-Record-ID") == line["warc_record_id"]


# --- a WARC of real article pages, written here ----------------------------------------------


@dataclass(frozen=True)
class Article:
    url: str
    html: bytes
    charset: str = "utf-8"


def fundus_article(shared: Path, html_path: str) -> Article:
    folder = shared / "corpora/fundus-parser-test-data"
    with open(folder / "index.jsonl", encoding="utf-8") as lines:
        url = next(row["url"] for row in map(json.loads, lines) if row["html"] == html_path)
    return Article(url, gzip.decompress((folder / html_path).read_bytes()))


def cp1252_page() -> bytes:
    return (
        "<html><head><title>Prices at the harbour café</title></head><body><article>"
        "<h1>Prices at the harbour café</h1>"
        + "".join(f"<p>{CP1252_PHRASE}, in paragraph {i} of a long report on prices.</p>" for i in range(12))
        + "</article></body></html>"
    ).encode("cp1252")


def chunked(body: bytes, size: int = 1000) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


class WarcBuilder:
    """Writes response (and other) records the way other crawlers store them."""

    def __init__(self, path: Path, *, gzip_records: bool = True) -> None:
        self.path = path
        self._file = path.open("wb")
        self.writer = WARCWriter(self._file, gzip=gzip_records)
        self.writer.write_record(self.writer.create_warcinfo_record(path.name, {"software": "test"}))

    def response(
        self,
        url: str,
        payload: bytes,
        headers: list[tuple[str, str]],
        *,
        status: str = "200 OK",
        warc_headers: dict[str, str] | None = None,
        content_length: int | None = None,
    ) -> None:
        headers = list(headers)
        if not any(name.lower() == "transfer-encoding" for name, _ in headers):
            headers.append(
                ("Content-Length", str(len(payload) if content_length is None else content_length))
            )
        record = self.writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(payload),
            length=len(payload),  # else warcio spools it to a temporary file it never closes
            http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
            warc_headers_dict=warc_headers or {},
        )
        request = self.writer.create_warc_record(
            url,
            "request",
            http_headers=StatusAndHeaders(
                f"GET {url} HTTP/1.1", [("Host", url.split("/")[2])], is_http_request=True
            ),
        )
        self.writer.write_request_response_pair(request, record)

    def other(self, rec_type: str, url: str, payload: bytes, content_type: str) -> None:
        self.writer.write_record(
            self.writer.create_warc_record(
                url,
                rec_type,
                payload=io.BytesIO(payload),
                length=len(payload),
                warc_content_type=content_type,
            )
        )

    def revisit(self, url: str, of: str) -> None:
        self.writer.write_record(
            self.writer.create_revisit_record(
                url,
                "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                of,
                "2026-11-20T10:00:00Z",
                http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"),
            )
        )

    def close(self) -> Path:
        self._file.close()
        return self.path


@dataclass(frozen=True)
class BuiltWarc:
    path: Path
    articles: dict[str, Article]
    """URL -> page, of every response that must become a JSON line."""


HTML = [("Content-Type", "text/html; charset=utf-8")]


def build_articles_warc(shared: Path, path: Path, *, gzip_records: bool = True) -> BuiltWarc:
    """Real pages as stored by other tools: plain, gzip-, deflate- and br-encoded, chunked (and
    chunked over gzip), charset only in a header or only in <meta>; and what must be skipped."""
    plain, gzipped, chunked_page, both, brotli_page, deflated, copied = aeb_pages(shared, 7)
    german = fundus_article(shared, "de/DW_2023_04_28.html.gz")
    japanese = fundus_article(shared, "jp/TheJapanNews_2024_10_13.html.gz")
    site = "https://news.example"
    warc = WarcBuilder(path, gzip_records=gzip_records)
    articles = {
        f"{site}/plain.html": Article(f"{site}/plain.html", plain),
        f"{site}/gzip.html": Article(f"{site}/gzip.html", gzipped),
        f"{site}/chunked.html": Article(f"{site}/chunked.html", chunked_page),
        f"{site}/chunked-gzip.html": Article(f"{site}/chunked-gzip.html", both),
        f"{site}/br.html": Article(f"{site}/br.html", brotli_page),
        f"{site}/deflate.html": Article(f"{site}/deflate.html", deflated),
        f"{site}/copy-a.html": Article(f"{site}/copy-a.html", copied),
        f"{site}/copy-b.html": Article(f"{site}/copy-b.html", copied),
        f"{site}/cp1252-header.html": Article(f"{site}/cp1252-header.html", cp1252_page(), "cp1252"),
        f"{site}/cp1252-meta.html": Article(
            f"{site}/cp1252-meta.html",
            cp1252_page().replace(
                b"<head>", b'<head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
            ),
            "cp1252",
        ),
        german.url: german,
        japanese.url: japanese,
    }
    warc.response(f"{site}/plain.html", plain, HTML)
    warc.response(f"{site}/gzip.html", gzip.compress(gzipped), [*HTML, ("Content-Encoding", "gzip")])
    warc.response(f"{site}/chunked.html", chunked(chunked_page), [*HTML, ("Transfer-Encoding", "chunked")])
    warc.response(
        f"{site}/chunked-gzip.html",
        chunked(gzip.compress(both)),
        [*HTML, ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
    )
    warc.response(f"{site}/br.html", brotli.compress(brotli_page), [*HTML, ("Content-Encoding", "br")])
    warc.response(f"{site}/deflate.html", zlib.compress(deflated), [*HTML, ("Content-Encoding", "deflate")])
    warc.response(f"{site}/copy-a.html", copied, HTML)
    warc.response(f"{site}/copy-b.html", gzip.compress(copied), [*HTML, ("Content-Encoding", "gzip")])
    warc.response(
        f"{site}/cp1252-header.html", cp1252_page(), [("Content-Type", "text/html; charset=windows-1252")]
    )
    warc.response(
        f"{site}/cp1252-meta.html", articles[f"{site}/cp1252-meta.html"].html, [("Content-Type", "text/html")]
    )
    warc.response(german.url, german.html, HTML)
    warc.response(japanese.url, gzip.compress(japanese.html), [*HTML, ("Content-Encoding", "gzip")])
    # what must not become a JSON line
    warc.revisit(f"{site}/plain.html", f"{site}/plain.html")
    warc.response(f"{site}/cut.html", plain[:5000], HTML, warc_headers={"WARC-Truncated": "length"})
    warc.response(f"{site}/short.html", plain[:5000], HTML, content_length=len(plain))
    warc.response(f"{site}/missing.html", plain, HTML, status="404 Not Found")
    warc.response(
        f"{site}/moved.html", b"", [("Location", f"{site}/plain.html")], status="301 Moved Permanently"
    )
    warc.response(f"{site}/report.pdf", pdf_bytes(), [("Content-Type", "application/pdf")])
    warc.response(f"{site}/style.css", b"body { color: red }", [("Content-Type", "text/css")])
    warc.response(
        f"{site}/bad-gzip.html", b"\x1f\x8b\x08" + b"\x00" * 40, [*HTML, ("Content-Encoding", "gzip")]
    )
    warc.other("metadata", f"{site}/plain.html", b"outlink: x\r\n", "application/warc-fields")
    warc.other("resource", "urn:test:log", b"crawl log\n", "text/plain")
    return BuiltWarc(warc.close(), articles)


@pytest.fixture(scope="module")
def articles_warc(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltWarc:
    return build_articles_warc(shared, tmp_path_factory.mktemp("warc") / "articles.warc.gz")


@pytest.fixture(scope="module")
def articles_run(articles_warc: BuiltWarc, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    archive = tmp_path_factory.mktemp("out") / "archive"
    run = reprocess([str(articles_warc.path)], archive, settings={"REPROCESS_LOG_INTERVAL": 0})
    return run, archive


# --- third-party files, read without a crawler -----------------------------------------------


def test_samples_record_counts_match_the_manifest(shared: Path) -> None:
    """Every readable sample yields each of its records once, with the manifest's types, then ends."""
    for name, row in manifest(shared).items():
        if row["warcio_error"] or name in CUT_SHORT:
            continue
        outcomes = read_file(samples_dir(shared) / name)
        assert isinstance(outcomes[-1], FileDone), (name, outcomes[-1])
        types = Counter(o.rec_type for o in outcomes if isinstance(o, HttpResponseRecord | SkippedRecord))
        assert types == Counter(row["record_types"]), name


def test_broken_samples_are_reported_with_their_offset(shared: Path) -> None:
    """Files warcio cannot read, and one it reads without noticing the cut, end in FileFailed at
    the offset where reading stopped; nothing after that point is handed on."""
    rows = manifest(shared)
    assert {name for name, row in rows.items() if row["warcio_error"]} == set(BROKEN_AS_WARCIO_SAYS)
    for name, (offset, reason) in {**BROKEN_AS_WARCIO_SAYS, **CUT_SHORT}.items():
        outcomes = read_file(samples_dir(shared) / name)
        failure = outcomes[-1]
        assert isinstance(failure, FileFailed), (name, failure)
        assert failure.offset == offset, name
        assert reason in failure.reason, (name, failure.reason)
        handed_on = [o for o in outcomes if isinstance(o, HttpResponseRecord)]
        assert all(o.location.offset < offset for o in handed_on), name


def test_sample_skips_say_why(shared: Path) -> None:
    """Revisits, WARC-Truncated, short payloads, dns: records, non-2xx and non-HTML are skipped
    under their reason; the HTML responses of every tool are handed on."""
    folder = samples_dir(shared)

    def reasons(name: str) -> Counter[str]:
        return Counter(
            o.reason if isinstance(o, SkippedRecord) else "candidate"
            for o in read_file(folder / name)
            if isinstance(o, HttpResponseRecord | SkippedRecord)
        )

    assert reasons("warcio/example-trunc.warc") == {"warcinfo": 2, "request": 1, "short_payload": 1}
    assert reasons("warcio/example.warc.gz")["revisit"] == 1
    assert reasons("pywb/example-url-agnostic-revisit.warc.gz") == {"warcinfo": 1, "revisit": 1}
    assert reasons("pywb/missing-status-text.warc") == {"not_2xx": 1}
    assert reasons("warcio/post-test.warc.gz") == {"request": 3, "not_html": 3}  # application/json
    assert reasons("warcio/bad.arc") == {"invalid_length": 3, "not_http": 1}  # lengths -1 and 'abc'
    heritrix = reasons("ukwa-webarchive-test-suite/IAH-20080430204825-00000-blackbook-truncated.warc.gz")
    assert heritrix["not_http"] == 1  # the dns: record
    assert heritrix["metadata"] == 7 and heritrix["request"] == 7
    assert heritrix["not_html"] == 2  # robots.txt and an XML file: their headers say so
    assert heritrix["candidate"] == 5  # 2 pages, 3 images: decided with the body, as Scrapy does
    dupes = reasons("pywb/dupes.warc.gz")
    assert dupes["revisit"] == 9 and dupes["not_2xx"] == 1 and dupes["request"] == 12
    assert reasons("ukwa-webarchive-test-suite/IAH-urls-wget.warc.gz")["resource"] == 3
    # chunked (warcprox), Common Crawl (Nutch), ARC files: handed on
    for name in (
        "warcio/example-iana.org-chunked.warc",
        "commoncrawl-whirlwind/whirlwind.warc.gz",
        "jwarc/cc.warc.gz",
        "warcio/example.arc.gz",
    ):
        assert reasons(name)["candidate"] == 1, name


def test_sample_offsets_lead_back_to_each_record(shared: Path) -> None:
    """Seeking to a record's offset in its file reads that record, with the length reported."""
    checked = 0
    for name, row in manifest(shared).items():
        if row["warcio_error"] or name in CUT_SHORT:
            continue
        path = samples_dir(shared) / name
        for outcome in read_file(path):
            if not isinstance(outcome, HttpResponseRecord | SkippedRecord):
                continue
            record, length = record_at(path, outcome.location.offset)
            assert length == outcome.location.length, (name, outcome.location)
            assert record.rec_type == outcome.rec_type
            if row["format"] == "WARC":
                assert record.rec_headers.get_header("WARC-Record-ID") == outcome.location.record_id
            checked += 1
    assert checked > 600


def test_wget_angle_brackets_are_stripped_and_arc_ids_stable(shared: Path) -> None:
    """wget 1.19's ``<URI>`` target is read as the URI; ARC records get the same made-up id every
    time (the dedup index is keyed by it), not warcio's random one."""
    folder = samples_dir(shared)
    [wget] = [
        o
        for o in read_file(folder / "warcio/example-wget-bad-target-uri.warc.gz")
        if isinstance(o, HttpResponseRecord)
    ]
    assert wget.url == "http://example.com/"
    first, second = (
        [
            o.location.record_id
            for o in read_file(folder / "warcio/example.arc")
            if isinstance(o, HttpResponseRecord)
        ]
        for _ in range(2)
    )
    assert first == second and first[0].startswith("<urn:uuid:")


def test_missing_inputs_and_empty_directories(tmp_path: Path) -> None:
    """A path that does not exist stops the command before it starts (status 2); a directory with
    no WARC file in it is a failed input, reported, not a silent no-op."""
    assert run_reprocess([str(tmp_path / "crawl.warc.gz")], str(tmp_path / "archive"), {}) == 2
    assert not (tmp_path / "archive").exists()
    (tmp_path / "notes.txt").write_text("no WARC here")
    resolved = list(InputResolver(Settings()).resolve([str(tmp_path)]))
    assert len(resolved) == 1 and isinstance(resolved[0], InputError)


# --- pages as a crawl would have seen them ---------------------------------------------------


def test_page_builder_decodes_like_a_crawl(shared: Path, tmp_path: Path) -> None:
    """Encoded, chunked and non-UTF-8 pages come out as the page's text; a body that does not
    decode, or decodes past DOWNLOAD_MAXSIZE, is skipped with its reason."""
    built = build_articles_warc(shared, tmp_path / "a.warc.gz")
    builder = PageBuilder(decoder(), "reprocess")
    pages: dict[str, PageCapture | str] = {}
    for outcome in read_file(built.path):
        if isinstance(outcome, HttpResponseRecord):
            pages[outcome.url] = builder.build(outcome)
    for url, article in built.articles.items():
        page = pages[url]
        assert isinstance(page, PageCapture), (url, page)
        assert page.html == article.html.decode(article.charset), url
        assert page.warc["filename"] == str(built.path)
    assert CP1252_PHRASE in pages["https://news.example/cp1252-meta.html"].html  # type: ignore[union-attr]
    assert CP1252_PHRASE in pages["https://news.example/cp1252-header.html"].html  # type: ignore[union-attr]
    assert pages["https://news.example/bad-gzip.html"] == "undecodable"
    assert pages["https://news.example/report.pdf"] == "not_html"
    bomb = HttpResponseRecord(
        "https://news.example/bomb.html",
        200,
        [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        gzip.compress(b"<p>" + b" " * (MAXSIZE + 10)),
        RecordLocation("x.warc.gz", 0, 1, "<urn:uuid:1>", "2026-01-01T00:00:00Z"),
    )
    assert builder.build(bomb) == "too_large"


# --- real runs -------------------------------------------------------------------------------


def test_articles_are_extracted_linked_and_skips_counted(
    articles_run: tuple[Run, Path], articles_warc: BuiltWarc
) -> None:
    """Each HTML response becomes one JSON line whose text is what extraction gives for the page,
    whose warc_* fields lead back to the source record, and every skip is counted by reason."""
    run, _ = articles_run
    assert run.returncode == 0, run.log[-3000:]
    lines = run.by_url()
    assert set(lines) == set(articles_warc.articles)
    for url, article in articles_warc.articles.items():
        line = lines[url]
        assert line["text"] == extracted_text(article.html.decode(article.charset), url), url
        assert line["source"] == "reprocess"
        assert line["status"] == 200
        assert str(line["fetched_at"]).endswith("Z")
        assert line["warc_filename"] == str(articles_warc.path)
        assert_resolves(line, REPO)
    assert run.stat("responses") == len(articles_warc.articles)
    assert run.stat("skipped", "revisit") == 1
    assert run.stat("skipped", "truncated") == 1
    assert run.stat("skipped", "short_payload") == 1
    assert run.stat("skipped", "not_2xx") == 2
    assert run.stat("skipped", "not_html") == 2  # the PDF (read, sniffed) and the CSS (headers only)
    assert run.stat("skipped", "undecodable") == 1
    assert run.stat("skipped", "request") == 19  # one per response record
    assert run.stat("skipped", "metadata") == 1 and run.stat("skipped", "resource") == 1
    assert run.stat("skipped", "warcinfo") == 1
    assert run.stat("records") == sum(
        int(v)
        for k, v in run.stats.items()
        if k.startswith("newsarchive/reprocess/records/")  # type: ignore[call-overload]
    )
    assert run.stat("files", "read") == 1 and run.stat("files", "failed") == 0
    assert "Reprocessing: " in run.log and "records" in run.log  # progress lines (interval 0)


def test_copies_join_one_cluster_across_runs(
    articles_run: tuple[Run, Path], articles_warc: BuiltWarc, shared: Path, tmp_path: Path
) -> None:
    """The two copies of one page share a cluster, one marked a duplicate of the other; a later
    run into the same archive finds its copy in the index the first run filled."""
    run, archive = articles_run
    copy_a, copy_b = (
        run.by_url()["https://news.example/copy-a.html"],
        run.by_url()["https://news.example/copy-b.html"],
    )
    url_a, url_b = "https://news.example/copy-a.html", "https://news.example/copy-b.html"
    assert copy_a["cluster_id"] == copy_b["cluster_id"] is not None
    # pages are extracted and indexed concurrently: either may be the first one indexed
    assert (copy_a["duplicate_of"], copy_b["duplicate_of"]) in ((None, url_a), (url_b, None))
    later = WarcBuilder(tmp_path / "later.warc.gz")
    _, _, _, _, _, _, copied = aeb_pages(shared, 7)
    later.response("https://elsewhere.example/syndicated.html", copied, HTML)
    second = reprocess([str(later.close())], archive)
    assert second.returncode == 0, second.log[-3000:]
    [line] = second.lines
    assert line["cluster_id"] == copy_a["cluster_id"]
    assert line["duplicate_of"] in (url_a, url_b)
    assert line["warc_filename"] == str(tmp_path / "later.warc.gz")


def test_reprocessing_the_same_records_again_keeps_their_clusters(
    articles_run: tuple[Run, Path], articles_warc: BuiltWarc
) -> None:
    """Re-extracting an archive into itself (after a trafilatura upgrade, say) gives each article
    the cluster its record already has, without index errors."""
    run, archive = articles_run
    again = reprocess([str(articles_warc.path)], archive)
    assert again.returncode == 0, again.log[-3000:]
    assert int(again.stats.get("newsarchive/dedup/index_errors", 0) or 0) == 0  # type: ignore[call-overload]
    first = run.by_url()
    for url, line in again.by_url().items():
        assert line["cluster_id"] == first[url]["cluster_id"], url


def test_pages_in_the_pipelines_stay_bounded(articles_warc: BuiltWarc, tmp_path: Path) -> None:
    """Scrapy would send every start item to the pipelines at once: at most REPROCESS_MAX_PENDING
    pages are in them at any time, and the run still gets through all of them."""
    run = reprocess([str(articles_warc.path)], tmp_path / "archive", settings={"REPROCESS_MAX_PENDING": 2})
    assert run.returncode == 0, run.log[-3000:]
    assert run.stat("pending", "max") == 2
    assert len(run.lines) == len(articles_warc.articles)


def test_a_broken_file_is_reported_and_the_others_processed(
    articles_warc: BuiltWarc, shared: Path, tmp_path: Path
) -> None:
    """A file cut mid-record and one with a flipped byte are reported with file and offset, the
    files around them are read to their end, the status says something failed."""
    data = articles_warc.path.read_bytes()
    offsets = [o.location.offset for o in read_file(articles_warc.path) if isinstance(o, HttpResponseRecord)]
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: offsets[3] + 100])  # inside the 4th response's gzip member
    flipped = tmp_path / "flipped.warc.gz"
    flipped.write_bytes(
        data[: offsets[2] + 30] + bytes([data[offsets[2] + 30] ^ 0xFF]) + data[offsets[2] + 31 :]
    )
    good = samples_dir(shared) / "jwarc/cc.warc.gz"
    run = reprocess([str(cut), str(good), str(flipped), str(articles_warc.path)], tmp_path / "archive")
    assert run.returncode == 1
    assert run.stat("files", "failed") == 2 and run.stat("files", "read") == 2
    assert f"Could not read {cut} at offset {offsets[3]}" in run.log
    assert f"Could not read {flipped} at offset {offsets[2]}" in run.log
    urls = Counter(str(line["url"]) for line in run.lines)
    assert urls["http://commoncrawl.org/"] == 1
    # the records before each break were processed: 3 pages of each broken copy, and the whole file
    assert all(urls[url] == 3 for url in list(articles_warc.articles)[:2])
    assert set(urls) >= set(articles_warc.articles)


@pytest.fixture(scope="module")
def uncompressed_warc(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltWarc:
    path = tmp_path_factory.mktemp("warc") / "articles.warc"
    return build_articles_warc(shared, path, gzip_records=False)


@pytest.mark.parametrize("compressed", [True, False], ids=["warc.gz", "warc"])
@pytest.mark.parametrize("into", [5, 40, 100, 400, -2])
def test_a_file_cut_inside_a_record_fails_at_that_record(
    compressed: bool, into: int, articles_warc: BuiltWarc, uncompressed_warc: BuiltWarc, tmp_path: Path
) -> None:
    """Cut in its gzip header, its WARC headers, its HTTP headers, its payload or its last bytes,
    a record is reported with its offset and not handed on; the records before it are."""
    source = (articles_warc if compressed else uncompressed_warc).path
    records = [o for o in read_file(source) if isinstance(o, HttpResponseRecord)]
    victim = records[1].location
    end = victim.offset + (into if into > 0 else victim.length + into)
    cut = tmp_path / source.name
    cut.write_bytes(source.read_bytes()[:end])
    outcomes = read_file(cut)
    failure = outcomes[-1]
    assert isinstance(failure, FileFailed)
    assert failure.offset == victim.offset, failure
    handed_on = [o.url for o in outcomes if isinstance(o, HttpResponseRecord)]
    assert handed_on == [records[0].url]


def test_s3_inputs_are_streamed_from_the_store(articles_warc: BuiltWarc, s3, tmp_path: Path) -> None:
    """An s3:// prefix is listed and each object read from the store with the AWS_* settings;
    the JSON lines name the object, and its bytes at the offsets are the records."""
    client = s3.client()
    client.upload_file(str(articles_warc.path), BUCKET, "crawls/2026/articles.warc.gz")
    client.put_object(Bucket=BUCKET, Key="crawls/2026/notes.txt", Body=b"not a WARC")
    run = reprocess(["s3://archive/crawls/"], tmp_path / "archive", settings=s3.settings())
    assert run.returncode == 0, run.log[-3000:]
    assert set(run.by_url()) == set(articles_warc.articles)
    for line in run.lines:
        assert line["warc_filename"] == "s3://archive/crawls/2026/articles.warc.gz"
        start, length = int(line["warc_offset"]), int(line["warc_length"])  # type: ignore[call-overload]
        body = client.get_object(
            Bucket=BUCKET, Key="crawls/2026/articles.warc.gz", Range=f"bytes={start}-{start + length - 1}"
        )["Body"].read()
        record = next(iter(ArchiveIterator(io.BytesIO(body))))
        assert record.rec_headers.get_header("WARC-Record-ID") == line["warc_record_id"]
    assert s3.settings()["AWS_SECRET_ACCESS_KEY"] not in run.log


# --- our own crawler's WARC ------------------------------------------------------------------


@pytest.mark.e2e
def test_reprocessing_a_crawl_gives_the_crawl_s_articles(shared: Path, tmp_path: Path) -> None:
    """A crawl of the test web, then its WARC files re-processed into a new archive: the same
    articles, with the same text and metadata, pointing at the same response records."""
    crawled = tmp_path / "crawled"
    with build_web(shared) as web:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(web))
        crawl = run_crawl("feeds", crawled, f"sources={sources}", settings={"DOWNLOAD_MAXSIZE": MAXSIZE})
    assert crawl.returncode == 0, crawl.log[-3000:]
    crawl_lines = {
        line["url"]: line
        for path in (crawled / "json").glob("*.jsonl")
        for line in map(json.loads, path.read_text(encoding="utf-8").splitlines())
    }
    warc_dir = crawled / "warc"
    responses = {
        (path.name, o.location.offset)
        for path in warc_dir.glob("*.warc.gz")
        for o in read_file(path)
        if isinstance(o, HttpResponseRecord | SkippedRecord) and o.rec_type == "response"
    }
    expected = {
        url: line
        for url, line in crawl_lines.items()
        if (line["warc_filename"], line["warc_offset"]) in responses  # not those pointing at a revisit
    }
    sitemap_only = {"/articles/news-sitemap.html", "/articles/gz-sitemap.html"}
    assert {urlsplit(url).path for url in expected} >= EXTRACTABLE - sitemap_only

    run = reprocess([str(warc_dir)], tmp_path / "reprocessed", settings={"DOWNLOAD_MAXSIZE": MAXSIZE})
    assert run.returncode == 0, run.log[-3000:]
    lines = run.by_url()
    assert set(lines) == set(expected)
    for url, line in lines.items():
        original = expected[url]
        # title and date may come from the feed in a crawl (hints); a WARC record has none
        for field in (
            "text",
            "author",
            "sitename",
            "language",
            "description",
            "canonical_url",
            "hostname",
            "tags",
        ):
            assert line[field] == original[field], (url, field)
        for field in (
            "status",
            "content_type",
            "content_length",
            "fetched_at",
            "warc_offset",
            "warc_length",
            "warc_record_id",
        ):
            assert line[field] == original[field], (url, field)
        assert line["warc_filename"] == str(warc_dir / str(original["warc_filename"]))
        assert_resolves(line, REPO)
    assert any(CP1252_PHRASE in str(line["text"]) for line in lines.values())
    assert run.stat("skipped", "truncated") >= 2  # /articles/huge.html (size cap), /articles/cut.html
    assert run.stat("skipped", "not_html") >= 1  # the PDF
    assert run.stat("skipped", "not_2xx") >= 3  # 404s, the 301 and the loop's 302s
