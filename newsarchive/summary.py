"""The end of each run: one readable line from the stats, and the stats kept as JSON.

``ARCHIVE_URI/state/runs/<spider>-<UTC start>.json`` holds every stat of the run, so that
scheduled runs leave a record of what each one fetched, archived and skipped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals

from newsarchive.layout import ArchiveLayout
from newsarchive.stats import stat_key
from newsarchive.storage.extension import ArchiveStorage

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

NON_ARTICLE_STATS = (
    stat_key("extract", "non_articles"),
    stat_key("spider", "articles", "not_html"),
    stat_key("spider", "articles", "http_error"),
    stat_key("spider", "articles", "truncated"),
)
FAILURE_STATS = (
    stat_key("extract", "errors"),
    stat_key("extract", "timeouts"),
    stat_key("spider", "articles", "download_error"),
    stat_key("spider", "feeds", "malformed"),
    stat_key("spider", "feeds", "not_found"),
    stat_key("spider", "feeds", "http_error"),
    stat_key("spider", "feeds", "download_error"),
    stat_key("spider", "sitemaps", "http_error"),
    stat_key("spider", "sitemaps", "download_error"),
    stat_key("spider", "sitemaps", "invalid"),
    stat_key("warc", "errors"),
    stat_key("storage", "failed"),
    stat_key("storage", "conflicts"),
    stat_key("reprocess", "files", "failed"),
)


@dataclass(frozen=True)
class RunCounts:
    """The figures people ask about after a run, added up from its stats."""

    responses: int
    warc_records: int
    warc_bytes: int
    warc_files: int
    articles: int
    non_articles: int
    skipped: int
    failures: int

    @classmethod
    def from_stats(cls, stats: dict[str, object]) -> RunCounts:
        def n(*keys: str) -> int:
            return sum(int(stats.get(key, 0) or 0) for key in keys)  # type: ignore[call-overload]

        return cls(
            responses=n("downloader/response_count") - n("httpcache/hit"),
            warc_records=n(stat_key("warc", "records")),
            warc_bytes=n(stat_key("warc", "bytes")),
            warc_files=n(stat_key("warc", "files")),
            articles=n(stat_key("extract", "articles")),
            non_articles=n(*NON_ARTICLE_STATS),
            skipped=n(stat_key("seen", "skipped")),
            failures=n(*FAILURE_STATS),
        )


def summarize(stats: dict[str, object], reason: str) -> str:
    """``stats`` of a finished crawl as one line for people."""
    c = RunCounts.from_stats(stats)
    return (
        f"newsarchive run {reason}: {c.responses} responses, {c.warc_records} WARC records "
        f"({c.warc_bytes / 1e6:.1f} MB in {c.warc_files} files), {c.articles} articles, "
        f"{c.non_articles} pages without article, {c.skipped} skipped as already archived, "
        f"{c.failures} failures; WARC files in {stats.get(stat_key('warc', 'directory'), '-')}"
        + (
            f" ({stats.get(stat_key('storage', 'uploaded'), 0)} files uploaded, "
            f"{stats[stat_key('storage', 'pending')]} left in the spool)"
            if stat_key("storage", "pending") in stats
            else ""
        )
    )


class RunSummary:
    """Extension logging :func:`summarize` when the spider closes."""

    def __init__(self, crawler: Crawler, runs_dir: Path) -> None:
        self.crawler = crawler
        self.stats: StatsCollector = crawler.stats
        self.runs_dir = runs_dir

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        layout = ArchiveLayout.from_settings(crawler.settings)
        extension = cls(crawler, layout.state_dir / "runs")
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        storage = self.crawler.get_extension(ArchiveStorage)
        if storage is not None:
            await storage.drained()  # the uploads' stats belong to the run
        stats = dict(self.stats.get_stats(), finish_reason=reason)
        logger.info(summarize(stats, reason))
        started = stats.get("start_time") or datetime.now(UTC)
        path = self.runs_dir / f"{spider.name}-{started:%Y%m%dT%H%M%SZ}.json"  # type: ignore[str-format]
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stats, indent=1, sort_keys=True, default=str), encoding="utf-8")
        except OSError:
            logger.exception("Could not write the run's stats to %s", path)
