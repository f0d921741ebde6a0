"""The archive in the archivists' tools: CDXJ indexes beside each WARC file, every capture
replayed by a real pywb (``newsarchive replay``, tools virtualenv) with the bytes the server
sent, and a WACZ that ``wacz validate`` accepts, its articles listed as pages."""

from __future__ import annotations

import gzip
import html
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from w3lib.encoding import html_to_unicode

from newsarchive.tools import ToolMissingError, find_tool
from tests.conftest import REPO, run_crawl
from tests.records import Record, read_records
from tests.web import CP1252_PHRASE, build_web, bytes_sent, sources_yaml

pytestmark = pytest.mark.e2e

ACCEPT_ENCODING = "gzip, deflate, br"  # what the crawl sent (settings.DEFAULT_REQUEST_HEADERS)


@pytest.fixture(scope="session")
def tools() -> Path:
    """The tools virtualenv's bin directory: missing tools fail the tests, saying how to fix it."""
    try:
        return find_tool("wayback").parent
    except ToolMissingError as exc:
        pytest.fail(str(exc), pytrace=False)


@dataclass
class Archive:
    path: Path
    sent: dict[str, bytes]

    def records(self) -> list[Record]:
        return [r for f in sorted((self.path / "warc").glob("*.warc.gz")) for r in read_records(f)]


@pytest.fixture(scope="module")
def archive(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """Feeds, then sitemaps, then feeds again (the unchanged feeds become revisit records)."""
    work = tmp_path_factory.mktemp("replay")
    path = work / "archive"
    with build_web(shared) as web:
        sources = work / "sources.yaml"
        sources.write_text(sources_yaml(web))
        for spider in ("feeds", "sitemaps", "feeds"):
            done = run_crawl(spider, path, f"sources={sources}", settings={"DOWNLOAD_MAXSIZE": 1_000_000})
            assert done.returncode == 0, done.log[-3000:]
        return Archive(path, bytes_sent(web))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def replay(archive: Archive, tools: Path):
    """``newsarchive replay ARCHIVE`` running; yields its collection URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "newsarchive", "replay", str(archive.path), "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "NEWSARCHIVE_TOOLS": str(tools)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/archive/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            break
        except (urllib.error.URLError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                output = process.communicate()[0].decode(errors="replace")
                pytest.fail(f"pywb did not start:\n{output[-3000:]}")
            time.sleep(0.2)
    yield base, port
    os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` as the crawler asked for it: compressed bodies accepted, redirects not followed."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Accept-Encoding": ACCEPT_ENCODING})
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def timestamp(record: Record) -> str:
    return "".join(c for c in record.headers["WARC-Date"] if c.isdigit())[:14]


def test_each_warc_file_has_its_index_of_responses_and_revisits(archive: Archive) -> None:
    warcs = sorted((archive.path / "warc").glob("*.warc.gz"))
    indexes = sorted((archive.path / "indexes").glob("*.cdxj"))
    assert [p.name for p in indexes] == [p.name + ".cdxj" for p in warcs]
    for warc, index in zip(warcs, indexes, strict=True):
        lines = [json.loads(line.split(" ", 2)[2]) for line in index.read_text().splitlines()]
        captures = [r for r in read_records(warc) if r.type in ("response", "revisit")]
        assert sorted((e["offset"], e["url"]) for e in lines) == sorted(
            (str(r.offset), r.headers["WARC-Target-URI"]) for r in captures
        )
        assert {e["filename"] for e in lines} == {warc.name}
        assert not any(e["mime"] == "application/json" for e in lines)  # no conversion records


def test_every_capture_replays_with_the_bytes_sent(archive: Archive, replay) -> None:
    base, _ = replay
    checked: dict[str, str] = {}
    responses = {r.headers["WARC-Record-ID"]: r for r in archive.records() if r.type == "response"}
    for record in archive.records():
        if record.type not in ("response", "revisit") or record.headers.get("WARC-Truncated"):
            continue
        url = record.headers["WARC-Target-URI"]
        status, headers, body = fetch(f"{base}{timestamp(record)}id_/{url}")
        assert status == int(record.http_line.split()[1]), url
        stored = responses[record.headers["WARC-Refers-To"]] if record.type == "revisit" else record
        assert body == stored.payload, f"{url}: {len(body)} bytes replayed, {len(stored.payload)} stored"
        if url in archive.sent and status == 200:
            assert body == archive.sent[url], url
        if stored.http("Content-Encoding"):
            assert headers.get("Content-Encoding") == stored.http("Content-Encoding")[0], url
        checked[url.split("/", 3)[3]] = record.type
    for path in (
        "articles/plain.html",
        "articles/gzip.html",
        "articles/chunked.html",
        "articles/cp1252.html",
    ):
        assert checked.get(path) == "response", path
    assert checked.get("old-url.html") == "response"  # the 301 itself
    assert checked.get("articles/moved.html") == "response"  # where it led
    assert "revisit" in checked.values()


def test_redirect_replays_as_a_redirect_to_the_archived_target(archive: Archive, replay) -> None:
    base, _ = replay
    (record,) = [
        r
        for r in archive.records()
        if r.type == "response" and r.headers["WARC-Target-URI"].endswith("/old-url.html")
    ]
    status, headers, _ = fetch(f"{base}{timestamp(record)}id_/{record.headers['WARC-Target-URI']}")
    assert status == 301 and headers["Location"].endswith("/articles/moved.html")


def test_articles_replay_in_rewriting_mode_too(archive: Archive, replay) -> None:
    """The mode people browse in: pywb decodes, rewrites and re-encodes the page."""
    base, _ = replay
    articles = {
        json.loads(line)["url"]: json.loads(line)
        for f in (archive.path / "json").glob("*.jsonl")
        for line in f.read_text(encoding="utf-8").splitlines()
    }
    assert len(articles) >= 5
    for url, article in articles.items():
        status, headers, body = fetch(
            f"{base}{''.join(c for c in article['fetched_at'] if c.isdigit())[:14]}mp_/{url}"
        )
        assert status == 200, url
        raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
        page = html.unescape(html_to_unicode(headers.get("Content-Type"), raw)[1])  # as a browser would
        assert article["title"][:40] in page, url
        if url.endswith("/articles/cp1252.html"):
            assert CP1252_PHRASE in page


def test_replay_listens_on_loopback_only(replay) -> None:
    _, port = replay
    listening = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if int(local_port, 16) == port and state == "0A":  # LISTEN
            listening.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    assert listening == ["127.0.0.1"]


def test_wacz_validates_and_lists_the_articles(archive: Archive, tools: Path, tmp_path: Path) -> None:
    output = tmp_path / "crawl.wacz"
    done = subprocess.run(
        [sys.executable, "-m", "newsarchive", "wacz", str(archive.path), "-o", str(output)],
        cwd=REPO,
        env={**os.environ, "NEWSARCHIVE_TOOLS": str(tools)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    checked = subprocess.run(
        [str(tools / "wacz"), "validate", "-f", str(output)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    articles = {
        json.loads(line)["url"]: json.loads(line)
        for f in (archive.path / "json").glob("*.jsonl")
        for line in f.read_text(encoding="utf-8").splitlines()
    }
    with zipfile.ZipFile(output) as wacz:
        names = set(wacz.namelist())
        header, *pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
    assert header["format"] == "json-pages-1.0"
    assert {p["url"] for p in pages} == set(articles)
    for page in pages:
        assert page["title"] == (articles[page["url"]]["title"] or page["url"])
        assert page["text"] == articles[page["url"]]["text"]
    warcs = {f"archive/{p.name}" for p in (archive.path / "warc").glob("*.warc.gz")}
    assert warcs <= names and any(n.startswith("indexes/") for n in names)
