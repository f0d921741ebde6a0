"""``scrapy crawl reprocess -a inputs=WARC_OR_DIR_OR_S3[,...]``: the article pipeline over stored
WARC files (ours, Common Crawl's, Heritrix's, wget's...), without a single request.

``start()`` yields one :class:`PageCapture` per HTML response record, linked to that record;
the items then take the crawl's way: extraction, near-duplicate index, the archive's JSON feed.
``newsarchive reprocess`` runs this spider; the work is in :mod:`newsarchive.reprocess`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import build_from_crawler

from newsarchive.exceptions import ConfigError
from newsarchive.reprocess.inputs import InputResolver
from newsarchive.reprocess.pages import PageBuilder
from newsarchive.reprocess.run import ReprocessConfig, Reprocessor
from newsarchive.stats import stat_key

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from typing import Self

    from scrapy.crawler import Crawler

    from newsarchive.items import PageCapture

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "reprocess"


class ReprocessSpider(scrapy.Spider):
    """Hands the response records of WARC files to the item pipelines."""

    name = "reprocess"
    # Nothing new to archive: the records are in the files being read.
    custom_settings = {"WARC_ENABLED": False, "ROBOTSTXT_OBEY": False}  # noqa: RUF012 (Scrapy's API)

    config: ReprocessConfig
    reprocessor: Reprocessor | None = None

    def __init__(
        self, *args: Any, inputs: str | list[str] | None = None, source: str = DEFAULT_SOURCE, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(inputs, str):
            inputs = [part.strip() for part in inputs.split(",") if part.strip()]
        if not inputs:
            raise ConfigError("-a inputs=…: give WARC files, directories or s3:// URIs, comma-separated")
        self.inputs = list(inputs)
        self.source = source

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = ReprocessConfig.from_settings(crawler.settings)  # a bad value stops it here
        return spider

    async def start(self) -> AsyncIterator[PageCapture]:
        self.reprocessor = self.build_reprocessor()
        async for page in self.reprocessor.pages():
            yield page

    def build_reprocessor(self) -> Reprocessor:
        """Built once the crawl runs: the stats collector and the compression middleware it
        needs do not exist when the spider is created."""
        crawler = self.crawler
        assert crawler.stats is not None
        try:  # the crawl's own decoder, so that bodies decode as they would have in a crawl
            decoder = build_from_crawler(HttpCompressionMiddleware, crawler)
        except NotConfigured:
            decoder = None
        reprocessor = Reprocessor(
            self.inputs,
            InputResolver(crawler.settings),
            PageBuilder(decoder, self.source),
            self.config,
            crawler.stats,
        )
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(reprocessor.item_done, signal=signal)
        return reprocessor

    def closed(self, reason: str) -> None:
        if self.reprocessor is None:
            return
        self.reprocessor.close()
        assert self.crawler.stats is not None
        articles = self.crawler.stats.get_value(stat_key("extract", "articles"), 0)
        logger.info(self.reprocessor.summary(articles))
        for failure in self.reprocessor.tally.failures:
            where = f"offset {failure.offset}" if failure.offset is not None else "its start"
            logger.error("Not read to its end: %s, from %s: %s", failure.name, where, failure.reason)
