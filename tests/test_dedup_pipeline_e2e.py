"""The dedup pipeline in real crawls: forgetting old articles, and an index that goes away."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from newsarchive.demo.server import SITES_DIR, MultiSiteServer, Resource, Site
from tests.conftest import REPO, CrawlResult, crawl_command, run_crawl
from tests.redis_server import RedisServer

pytestmark = pytest.mark.e2e

HERALD = sorted((SITES_DIR / "herald/news/2026/11").glob("*.html"))


def herald_site(delay_after: int | None = None, delay: float = 0.0) -> Site:
    """The demo Herald's six articles; from the ``delay_after``-th on, each answers ``delay`` late."""
    site = Site("herald")
    for i, page in enumerate(HERALD):
        slow = delay_after is not None and i >= delay_after
        site.resources[f"/news/{page.name}"] = Resource(page.read_bytes(), delay=delay if slow else 0.0)
    return site


def article_urls(web: MultiSiteServer) -> list[str]:
    return [web.url("herald", f"/news/{page.name}") for page in HERALD]


def json_lines(archive: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for f in sorted((archive / "json").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


def test_forget_after_drops_old_entries_at_start(tmp_path: Path) -> None:
    """Articles fetched longer ago than DEDUP_FORGET_AFTER are forgotten when the next crawl
    starts: re-crawled, they are first captures again, not copies of their old selves."""
    archive = tmp_path / "archive"
    with MultiSiteServer([herald_site()]) as web:
        urls = "urls=" + ",".join(article_urls(web))
        first = run_crawl("urls", archive, urls)
        assert first.returncode == 0, first.log[-3000:]
        index = sqlite3.connect(archive / "state/dedup.sqlite")
        with index:  # as if the first crawl had run in January
            index.execute("UPDATE docs SET fetched_at = '2026-01-05T10:00:00Z'")
        index.close()
        nothing = "urls=http://127.0.0.1:9/nothing.html"
        kept = run_crawl("urls", archive, nothing, settings={"DEDUP_FORGET_AFTER": "400d"})
        again = run_crawl(
            "urls", archive, urls, settings={"ARCHIVE_RECRAWL": True, "DEDUP_FORGET_AFTER": "30d"}
        )
    assert kept.returncode == 0 and kept.stat("newsarchive/dedup/forgotten") == 0
    assert again.returncode == 0, again.log[-3000:]
    assert again.stat("newsarchive/dedup/forgotten") == len(HERALD)
    assert f"forgot {len(HERALD)} articles fetched before" in again.log
    assert again.stat("newsarchive/dedup/originals") == len(HERALD)
    assert again.stat("newsarchive/dedup/exact") == 0
    index = sqlite3.connect(archive / "state/dedup.sqlite")
    assert index.execute("SELECT COUNT(*), MIN(fetched_at) > '2026-02' FROM docs").fetchone() == (
        len(HERALD),
        1,
    )
    index.close()


def test_a_bad_forget_after_stops_the_crawl_naming_it(tmp_path: Path) -> None:
    run = run_crawl(
        "urls", tmp_path / "a", "urls=http://127.0.0.1:9/x", settings={"DEDUP_FORGET_AFTER": "soon"}
    )
    assert run.returncode == 1
    assert "SettingsError: DEDUP_FORGET_AFTER: 'soon' is not a positive duration" in run.log


def test_redis_going_away_mid_crawl_loses_no_article(tmp_path: Path) -> None:
    """The index server stops after the first articles: the crawl goes on, every article is
    still written (the later ones without cluster fields), each failure counted and logged."""
    archive = tmp_path / "archive"
    redis = RedisServer(tmp_path / "redis").start()
    try:
        with MultiSiteServer([herald_site(delay_after=2, delay=2.0)]) as web:
            settings = {"DEDUP_URI": redis.url, "CONCURRENT_REQUESTS": 1}
            command = crawl_command("urls", archive, "urls=" + ",".join(article_urls(web)), settings=settings)
            log = tmp_path / "crawl.log"
            with log.open("w") as out:
                crawl = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True)
                deadline = time.monotonic() + 120
                while redis.command(b"EXISTS", b"newsarchive:dedup:id") != b":1\r\n":  # no article yet
                    assert time.monotonic() < deadline and crawl.poll() is None, log.read_text()[-3000:]
                    time.sleep(0.05)
                redis.stop()
                assert crawl.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        redis.stop()
    result = CrawlResult(0, log.read_text(), _last_run_stats(archive))
    lines = json_lines(archive)
    assert sorted(line["url"] for line in lines) == sorted(article_urls(web))
    unmarked = [line for line in lines if line["cluster_id"] is None]
    assert unmarked and len(unmarked) == result.stat("newsarchive/dedup/index_errors")
    assert len(lines) - len(unmarked) >= 1  # what was indexed before the server went away
    assert "Near-duplicate index failed for" in result.log


def _last_run_stats(archive: Path) -> dict[str, object]:
    runs = sorted((archive / "state" / "runs").glob("*.json"))
    return json.loads(runs[-1].read_text())
