"""The end of each run: one readable line from the stats, and the stats kept as JSON.

``ARCHIVE_URI/state/runs/<spider>-<UTC start>.json`` holds every stat of the run, so that
scheduled runs leave a record of what each one fetched, archived and skipped.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals

from newsarchive.layout import ArchiveLayout
from newsarchive.stats import stat_key

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
    stat_key("spider", "sitemaps", "invalid"),
    stat_key("warc", "errors"),
)


def summarize(stats: dict[str, object], reason: str) -> str:
    """``stats`` of a finished crawl as one line for people."""

    def n(key: str) -> int:
        return int(stats.get(key, 0) or 0)  # type: ignore[call-overload]

    pages = n("downloader/response_count") - n("httpcache/hit")
    return (
        f"newsarchive run {reason}: {pages} responses, "
        f"{n(stat_key('warc', 'records'))} WARC records "
        f"({n(stat_key('warc', 'bytes')) / 1e6:.1f} MB in {n(stat_key('warc', 'files'))} files), "
        f"{n(stat_key('extract', 'articles'))} articles, "
        f"{sum(n(k) for k in NON_ARTICLE_STATS)} pages without article, "
        f"{n(stat_key('seen', 'skipped'))} skipped as already archived, "
        f"{sum(n(k) for k in FAILURE_STATS)} failures; "
        f"WARC files in {stats.get(stat_key('warc', 'directory'), '-')}"
    )


class RunSummary:
    """Extension logging :func:`summarize` when the spider closes."""

    def __init__(self, stats: StatsCollector, runs_dir: Path) -> None:
        self.stats = stats
        self.runs_dir = runs_dir

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        layout = ArchiveLayout.from_uri(crawler.settings["ARCHIVE_URI"])
        extension = cls(crawler.stats, layout.state_dir / "runs")
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = dict(self.stats.get_stats(), finish_reason=reason)
        logger.info(summarize(stats, reason))
        started = stats.get("start_time") or datetime.now(timezone.utc)
        path = self.runs_dir / f"{spider.name}-{started:%Y%m%dT%H%M%SZ}.json"  # type: ignore[str-format]
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stats, indent=1, sort_keys=True, default=str), encoding="utf-8")
        except OSError:
            logger.exception("Could not write the run's stats to %s", path)
