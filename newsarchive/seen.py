"""Crawl state: article URLs already archived, so that scheduled runs fetch only new ones.

Feeds, sitemaps and robots.txt are fetched every run; article requests (``meta.ARTICLE``)
whose URL was archived with a 2xx response by an earlier run are skipped, unless
``ARCHIVE_RECRAWL`` is on. The store is one SQLite file under ``ARCHIVE_URI/state/``.
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
from newsarchive.layout import ArchiveLayout
from newsarchive.stats import stat_key

if TYPE_CHECKING:
    from collections.abc import Iterable
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
    """Downloader middleware: skip archived article URLs, remember newly archived ones."""

    def __init__(self, seen: SeenUrls, stats: StatsCollector, recrawl: bool) -> None:
        self.seen = seen
        self.stats = stats
        self.recrawl = recrawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        layout = ArchiveLayout.from_uri(crawler.settings["ARCHIVE_URI"])
        seen = SeenUrls(layout.state_dir / "seen.sqlite")
        middleware = cls(seen, crawler.stats, crawler.settings.getbool("ARCHIVE_RECRAWL"))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if self.recrawl or not request.meta.get(meta.ARTICLE) or request.url not in self.seen:
            return
        self.stats.inc_value(stat_key("seen", "skipped"))
        logger.debug("Skipping %s: archived by an earlier run (ARCHIVE_RECRAWL is off)", request.url)
        raise IgnoreRequest(f"already archived: {request.url}")

    def process_response(self, request: Request, response: Response) -> Response:
        if (
            request.meta.get(meta.ARTICLE)
            and 200 <= response.status < 300
            and meta.WARC_LOCATION in request.meta
        ):
            self.seen.add([response.url, request.url, *request.meta.get("redirect_urls", ())])
            self.stats.inc_value(stat_key("seen", "added"))
        return response

    def spider_closed(self, spider: Spider) -> None:
        self.seen.close()
