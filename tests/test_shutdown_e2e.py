"""SIGTERM mid-crawl: a clean stop leaves only closed, valid WARC files and a complete JSON
file; a forced stop leaves only complete records; JOBDIR resumes without fetching twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from newsarchive.demo.server import MultiSiteServer, Resource, Site
from tests.conftest import crawl_command, start_crawl_process
from tests.records import response_urls, warcio_check
from tests.web import aeb_pages

pytestmark = pytest.mark.e2e

ARTICLES = 24


@pytest.fixture()
def slow_web(shared: Path):
    """One site whose articles (real pages) each take 0.4 s to answer; the first one, a real
    page with its body repeated 25 times, keeps an extraction worker busy for about a second."""
    pages = aeb_pages(shared, ARTICLES)
    start, end = pages[0].index(b"<body"), pages[0].rindex(b"</body>")
    pages[0] = pages[0][:start] + pages[0][start:end].replace(b"<body", b"<div", 1) * 25 + pages[0][end:]
    site = Site("slow", {f"/a/{i}.html": Resource(page, delay=0.4) for i, page in enumerate(pages)})
    with MultiSiteServer([site]) as web:
        yield web


def start_crawl(
    web: MultiSiteServer, tmp_path: Path, archive: Path, *settings: tuple[str, object]
) -> subprocess.Popen[str]:
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(web.url("slow", f"/a/{i}.html") + "\n" for i in range(ARTICLES)))
    command = crawl_command(
        "urls",
        archive,
        f"file={urls}",
        settings={"LOG_LEVEL": "DEBUG", "CONCURRENT_REQUESTS": 2, **dict(settings)},
    )
    return start_crawl_process(command)


def wait_for(process: subprocess.Popen[str], marker: str, count: int = 1) -> list[str]:
    """Read the crawl's log until ``marker`` has appeared ``count`` times."""
    assert process.stderr is not None
    lines = []
    seen = 0
    for line in process.stderr:
        lines.append(line)
        seen += marker in line
        if seen >= count:
            return lines
    raise AssertionError(f"crawl ended before {marker!r} appeared {count} times:\n{''.join(lines[-40:])}")


def finish(process: subprocess.Popen[str], lines: list[str]) -> str:
    assert process.stderr is not None
    lines += process.stderr.readlines()
    process.stderr.close()
    process.wait(timeout=120)
    return "".join(lines)


def test_sigterm_closes_warc_and_json(slow_web: MultiSiteServer, tmp_path: Path) -> None:
    """After SIGTERM the crawl closes as 'shutdown' with renamed, valid files and complete JSON."""
    archive = tmp_path / "archive"
    process = start_crawl(slow_web, tmp_path, archive)
    lines = wait_for(process, "Crawled (200)", count=3)
    process.send_signal(signal.SIGTERM)
    log = finish(process, lines)
    assert "Spider closed (shutdown)" in log
    files = sorted((archive / "warc").iterdir())
    assert files and not [f for f in files if f.name.endswith(".open")]
    done = warcio_check(*files)
    assert done.returncode == 0, done.stdout
    archived = [url for f in files for url in response_urls(f)]
    articles = [u for u in archived if "/a/" in u]
    assert 3 <= len(articles) < ARTICLES
    lines_out = [
        json.loads(line) for f in (archive / "json").glob("*.jsonl") for line in f.read_text().splitlines()
    ]
    assert lines_out and {line["url"] for line in lines_out} <= set(articles)


def test_ctrl_c_to_the_process_group_spares_the_extraction_workers(
    slow_web: MultiSiteServer, tmp_path: Path
) -> None:
    """SIGINT to the whole group (Ctrl-C) early on: a clean shutdown, the page in flight still
    extracted (the fork server must not die of it while it loads trafilatura)."""
    archive = tmp_path / "archive"
    process = start_crawl(slow_web, tmp_path, archive)
    lines = wait_for(process, "/a/0.html> (referer: None)")  # its extraction starts now
    os.killpg(process.pid, signal.SIGINT)
    log = finish(process, lines)
    assert "Spider closed (shutdown)" in log, log[-3000:]
    assert "Extraction failed" not in log, [x for x in log.splitlines() if "Extraction failed" in x]
    (run,) = (archive / "state" / "runs").glob("*.json")
    stats = json.loads(run.read_text())
    assert "newsarchive/extract/errors" not in stats
    extracted = [line for f in (archive / "json").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert len(extracted) == stats["newsarchive/extract/articles"] >= 1
    assert any(json.loads(line)["url"].endswith("/a/0.html") for line in extracted)


def test_second_signal_leaves_only_complete_records(slow_web: MultiSiteServer, tmp_path: Path) -> None:
    """A forced stop (second SIGTERM) may leave an .open file, but every record in it is whole."""
    archive = tmp_path / "archive"
    process = start_crawl(slow_web, tmp_path, archive)
    lines = wait_for(process, "Crawled (200)", count=3)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    finish(process, lines)
    files = sorted((archive / "warc").iterdir())
    assert files
    for path in files:
        assert response_urls(path)  # reads to the end: no torn record, digests right


def test_jobdir_resume_fetches_each_article_once(slow_web: MultiSiteServer, tmp_path: Path) -> None:
    """A crawl stopped with SIGTERM and resumed from JOBDIR archives every article exactly once."""
    archive = tmp_path / "archive"
    jobdir = ("JOBDIR", tmp_path / "job")
    process = start_crawl(slow_web, tmp_path, archive, jobdir)
    lines = wait_for(process, "Crawled (200)", count=4)
    process.send_signal(signal.SIGTERM)
    assert "Spider closed (shutdown)" in finish(process, lines)
    resumed = start_crawl(slow_web, tmp_path, archive, jobdir)
    assert "Spider closed (finished)" in finish(resumed, [])
    archived = Counter(
        url for f in sorted((archive / "warc").iterdir()) for url in response_urls(f) if "/a/" in url
    )
    assert len(archived) == ARTICLES and set(archived.values()) == {1}
    requested = Counter(slow_web.sites["slow"].paths_requested())
    assert all(n == 1 for path, n in requested.items() if path.startswith("/a/"))
    extracted = [
        json.loads(line)["url"]
        for f in (archive / "json").glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    assert sorted(extracted) == sorted(archived)
