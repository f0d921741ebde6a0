"""Turn archived HTML pages into articles in worker processes, off the reactor thread.

A :class:`~pebble.ProcessPool` (``EXTRACT_WORKERS`` processes, one per core by default)
runs trafilatura; a page over ``EXTRACT_TIMEOUT`` seconds has its worker killed and
replaced, and is counted, not retried. Pages without article text are dropped here: they
stay in the WARC files and are counted.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import TYPE_CHECKING

from pebble import ProcessExpired, ProcessPool
from scrapy.exceptions import DropItem, NotConfigured

from newsarchive.exceptions import SettingsError
from newsarchive.extract import ExtractConfig, extract_in_worker, init_worker, pool_context
from newsarchive.items import ArticleItem, PageCapture
from newsarchive.stats import stat_key

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ExtractPipeline:
    """PageCapture in, ArticleItem out (or DropItem when the page holds no article)."""

    def __init__(self, config: ExtractConfig, stats: StatsCollector) -> None:
        self.config = config
        self.stats = stats
        # Started now rather than on spider_opened: the workers load trafilatura while Scrapy
        # is still building the rest of the crawler.
        self.pool = ProcessPool(
            max_workers=config.pool_size,
            initializer=init_worker,
            initargs=(config,),
            context=pool_context(),
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("EXTRACT_ENABLED"):
            raise NotConfigured("EXTRACT_ENABLED is False")
        try:
            config = ExtractConfig(
                workers=settings.getint("EXTRACT_WORKERS"),
                timeout=settings.getfloat("EXTRACT_TIMEOUT"),
                focus=settings.get("EXTRACT_FOCUS"),
                target_language=settings.get("EXTRACT_TARGET_LANGUAGE") or None,
                min_text_length=settings.getint("EXTRACT_MIN_TEXT_LENGTH"),
            )
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        return cls(config, crawler.stats)

    async def process_item(self, item: object) -> object:
        if not isinstance(item, PageCapture):
            return item
        fields = await self._extract(item)
        if fields is None:
            self.stats.inc_value(stat_key("extract", "non_articles"))
            raise DropItem(f"No article text in {item.url} (archived only)", log_level="DEBUG")
        self.stats.inc_value(stat_key("extract", "articles"))
        return _article(item, fields)

    async def _extract(self, page: PageCapture) -> dict[str, object] | None:
        """Article fields from a worker; DropItem (counted, logged) when the worker fails."""
        future = self.pool.schedule(
            extract_in_worker, args=(page.html, page.url), timeout=self.config.timeout
        )
        try:
            fields, seconds = await asyncio.wrap_future(future)
        except FutureTimeoutError:
            kind, why = "timeouts", f"took over EXTRACT_TIMEOUT={self.config.timeout:g}s"
        except ProcessExpired as exc:
            kind, why = "errors", f"worker died ({exc})"
        except Exception as exc:
            kind, why = "errors", f"{type(exc).__name__}: {exc}"
        else:
            self.stats.inc_value(stat_key("extract", "seconds"), seconds)
            return fields
        self.stats.inc_value(stat_key("extract", kind))
        logger.error("Extraction failed for %s: %s (archived, no JSON line)", page.url, why)
        raise DropItem(f"Extraction failed for {page.url}: {why}", log_level="DEBUG")

    def close_spider(self) -> None:
        # Every item has finished by now (the scraper waits for them), so this does not wait.
        self.pool.close()
        self.pool.join()


def _article(page: PageCapture, fields: dict[str, object]) -> ArticleItem:
    """The published record: extracted fields, gaps filled from feed/sitemap hints."""
    for key in ("title", "date", "language"):
        if not fields.get(key) and page.hints.get(key):
            fields[key] = page.hints[key]
    location = page.warc
    return ArticleItem(
        url=page.url,
        source=page.source,
        fetched_at=page.fetched_at,
        status=page.status,
        content_type=page.content_type,
        content_length=page.content_length,
        warc_filename=str(location["filename"]),
        warc_offset=int(location["offset"]),  # type: ignore[call-overload]
        warc_length=int(location["length"]),  # type: ignore[call-overload]
        warc_record_id=str(location["record_id"]),
        **fields,  # type: ignore[arg-type]
    )
