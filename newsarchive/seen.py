"""Crawl state: article URLs already archived, so that scheduled runs fetch only new ones.

Feeds, sitemaps and robots.txt are fetched every run; article requests (``meta.ARTICLE``)
whose URL was archived with a 2xx response, and whose page was then done with, by an earlier
run are skipped, unless ``ARCHIVE_RECRAWL`` is on. The store is one SQLite file under ``ARCHIVE_URI/state/``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from w3lib.url import canonicalize_url

from newsarchive import meta
from newsarchive._sqlite import connect
from newsarchive.items import PageCapture
from newsarchive.layout import ArchiveLayout
from newsarchive.stats import stat_key

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class SeenUrls:
    """A persistent set of canonicalised URLs, with when each was first archived."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # WAL + NORMAL: a commit costs no fsync, and a crash loses at most the last few marks.
        self._db = connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen (url TEXT PRIMARY KEY, first_archived TEXT NOT NULL)"
        )

    def __contains__(self, url: str) -> bool:
        row = self._db.execute("SELECT 1 FROM seen WHERE url = ?", (_key(url),)).fetchone()
        return row is not None

    def add(self, urls: Iterable[str]) -> None:
        now = datetime.now(UTC).isoformat()
        self._db.executemany(
            "INSERT OR IGNORE INTO seen (url, first_archived) VALUES (?, ?)",
            [(_key(url), now) for url in set(urls)],
        )

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM seen").fetchone()[0]

    def close(self) -> None:
        self._db.close()


def _key(url: str) -> str:
    return canonicalize_url(url)


class SkipArchivedMiddleware:
    """Downloader middleware: skip article URLs an earlier run archived."""

    def __init__(self, seen: SeenUrls, stats: StatsCollector, recrawl: bool) -> None:
        self.seen = seen
        self.stats = stats
        self.recrawl = recrawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(_open_seen(crawler), crawler.stats, crawler.settings.getbool("ARCHIVE_RECRAWL"))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if self.recrawl or not request.meta.get(meta.ARTICLE) or request.url not in self.seen:
            return
        self.stats.inc_value(stat_key("seen", "skipped"))
        logger.debug("Skipping %s: archived by an earlier run (ARCHIVE_RECRAWL is off)", request.url)
        raise IgnoreRequest(f"already archived: {request.url}")

    def spider_closed(self, spider: Spider) -> None:
        self.seen.close()


class MarkArchivedMiddleware:
    """Spider middleware: remember an article URL once its page is done with, so that a crawl
    killed between download and JSON line fetches the page again rather than never.

    Done is: its item written or dropped (item signals), or, for a page handed to no pipeline
    (not HTML, cut short), the callback finished. Only archived 2xx responses count.
    """

    def __init__(self, seen: SeenUrls, stats: StatsCollector) -> None:
        self.seen = seen
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(_open_seen(crawler), crawler.stats)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(middleware.item_done, signal=signal)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_spider_output(self, response: Response, result: Iterable[object]) -> Iterator[object]:
        handed_on = False
        for output in result:
            handed_on = handed_on or isinstance(output, PageCapture)
            yield output
        if not handed_on:
            self._mark(response)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[object]
    ) -> AsyncIterator[object]:
        handed_on = False
        async for output in result:
            handed_on = handed_on or isinstance(output, PageCapture)
            yield output
        if not handed_on:
            self._mark(response)

    def item_done(self, item: object, response: Response | None = None, **_: object) -> None:
        if response is not None:
            self._mark(response)

    def _mark(self, response: Response) -> None:
        request = response.request
        if (
            request is None
            or not request.meta.get(meta.ARTICLE)
            or not 200 <= response.status < 300
            or meta.WARC_LOCATION not in request.meta
        ):
            return
        self.seen.add([response.url, request.url, *request.meta.get("redirect_urls", ())])
        self.stats.inc_value(stat_key("seen", "added"))

    def spider_closed(self, spider: Spider) -> None:
        self.seen.close()


def _open_seen(crawler: Crawler) -> SeenUrls:
    return SeenUrls(ArchiveLayout.from_settings(crawler.settings).state_dir / "seen.sqlite")
