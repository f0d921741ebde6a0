"""Scrapy's HTTP cache does not make captures twice; a page over EXTRACT_TIMEOUT costs its
JSON line only; `-a urls=` crawls the given URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsarchive.demo.server import MultiSiteServer, Resource, Site
from tests.conftest import run_crawl
from tests.records import response_urls
from tests.web import aeb_pages

pytestmark = pytest.mark.e2e


@pytest.fixture()
def web(shared: Path):
    pages = aeb_pages(shared, 3)
    with MultiSiteServer([Site("s", {f"/{i}.html": Resource(p) for i, p in enumerate(pages)})]) as web:
        yield web


def test_cached_responses_are_not_archived_twice(web: MultiSiteServer, tmp_path: Path) -> None:
    """A recrawl served from HTTPCACHE adds no response record and no second JSON line."""
    archive = tmp_path / "archive"
    urls = ",".join(web.url("s", f"/{i}.html") for i in range(3))
    settings = {"HTTPCACHE_ENABLED": True, "HTTPCACHE_DIR": tmp_path / "cache", "ARCHIVE_RECRAWL": True}
    first = run_crawl("urls", archive, f"urls={urls}", settings=settings)
    assert first.stat("newsarchive/extract/articles") == 3
    before = response_urls(*sorted((archive / "warc").iterdir()))
    second = run_crawl("urls", archive, f"urls={urls}", settings=settings)
    assert second.returncode == 0
    assert second.stat("httpcache/hit") >= 3
    assert second.stat("newsarchive/warc/skipped/cached") >= 3
    assert response_urls(*sorted((archive / "warc").iterdir())) == before
    assert second.stat("newsarchive/spider/articles/cached") == 3
    assert second.stat("newsarchive/extract/articles") == 0
    assert len(web.sites["s"].requests) == len(before)  # the server saw the first run only


def test_extraction_timeout_is_counted_and_the_crawl_goes_on(web: MultiSiteServer, tmp_path: Path) -> None:
    """Pages over EXTRACT_TIMEOUT get no JSON line, are counted and logged; the WARC has them."""
    archive = tmp_path / "archive"
    urls = ",".join(web.url("s", f"/{i}.html") for i in range(3))
    run = run_crawl("urls", archive, f"urls={urls}", settings={"EXTRACT_TIMEOUT": 0.001})
    assert run.returncode == 0 and run.stats["finish_reason"] == "finished"
    assert run.stat("newsarchive/extract/timeouts") == 3
    assert run.stat("newsarchive/extract/articles") == 0
    assert "took over EXTRACT_TIMEOUT" in run.log
    assert sorted(response_urls(*sorted((archive / "warc").iterdir()))) == sorted(
        [*urls.split(","), web.url("s", "/robots.txt")]
    )
