"""The baseline crawl of ``crawl_throughput.py``: bare Scrapy fetching a URL list, doing nothing.

Run as ``scrapy runspider bench/bare_spider.py -a file=URLS -a stats=OUT.json -s ADDONS={}``
from the repository root: the project's settings (headers, size limits, retries) still apply,
but without the newsarchive add-on there is no WARC capture, no extraction and no JSON feed,
and the run-stats file the add-on writes is missing too, so this spider writes its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response


class BareSpider(scrapy.Spider):
    """Requests every URL of ``-a file=PATH``; the callback ignores the response."""

    name = "bare"

    def __init__(self, *args: Any, file: str, stats: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.urls = [
            line.strip() for line in Path(file).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        self.stats_path = Path(stats)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BareSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # engine_stopped, not spider_closed or closed(): CoreStats sets elapsed_time_seconds in
        # its own spider_closed handler, which runs after the spider's.
        crawler.signals.connect(spider.write_stats, signal=signals.engine_stopped)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> None:
        """Nothing: the baseline is the cost of fetching (and gzip-decoding) alone."""

    def write_stats(self) -> None:
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        self.stats_path.write_text(json.dumps(stats, indent=1, sort_keys=True, default=str), encoding="utf-8")
