"""The crawl's side of the archive: recover abandoned files when the spider opens; as each
file is closed, index it (a WARC file, ``WARC_INDEX``) and publish it, in a background thread
that never stalls the crawl; wait for that work when the spider closes.

For a local archive there is nothing to publish: files are written in place. Both kinds share
every line above :class:`SpoolPublisher`.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.extensions.feedexport import FeedExporter
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.log import failure_to_exc_info
from twisted.internet.defer import Deferred, DeferredList
from twisted.python.failure import Failure

from newsarchive.layout import ArchiveLayout
from newsarchive.stats import stat_key
from newsarchive.storage.closing import FileDone, files_to_finish, finish_file
from newsarchive.storage.publisher import SpoolPublisher
from newsarchive.storage.recovery import recover_abandoned
from newsarchive.storage.s3 import S3Store

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ArchiveStorage:
    """Scrapy extension owning the archive's layout, the indexing of closed WARC files and, for a
    remote archive, the uploads."""

    def __init__(
        self, crawler: Crawler, layout: ArchiveLayout, publisher: SpoolPublisher | None, *, index: bool
    ) -> None:
        self.crawler = crawler
        self.layout = layout
        self.stats: StatsCollector = crawler.stats
        self.publisher = publisher
        self.index = index
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="newsarchive-archive")
        self._in_flight: set[Deferred[FileDone]] = set()
        self._feeds_closed: Deferred[None] = Deferred()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        layout = ArchiveLayout.from_settings(crawler.settings)
        publisher = None
        if layout.remote is not None:
            store = S3Store.from_settings(crawler.settings, layout.remote)
            publisher = SpoolPublisher(
                layout, store, keep_local=crawler.settings.getbool("ARCHIVE_KEEP_LOCAL")
            )
        extension = cls(crawler, layout, publisher, index=crawler.settings.getbool("WARC_INDEX"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.feed_exporter_closed, signal=signals.feed_exporter_closed)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    @classmethod
    def of(cls, crawler: Crawler) -> ArchiveStorage:
        storage = crawler.get_extension(cls)
        if storage is None:
            raise NotConfigured("the ArchiveStorage extension is not enabled")
        return storage

    def spider_opened(self) -> None:
        if self.crawler.get_extension(FeedExporter) is None:
            self.feed_exporter_closed()
        recovered = recover_abandoned(self.layout)
        for file in recovered:
            self.stats.inc_value(stat_key("storage", "recovered_files"))
            self.stats.inc_value(stat_key("storage", "recovered_cut_bytes"), file.cut_bytes)
        for path in files_to_finish(self.layout, recovered, self.publisher):
            self.file_closed(path)

    def file_closed(self, path: Path) -> Deferred[FileDone]:
        """Index (a WARC file without its index) and publish a closed file in the background;
        the Deferred fires when done (failures are logged and counted, never raised)."""
        future = self._executor.submit(finish_file, self.layout, path, self.publisher, index=self.index)
        done: Deferred[FileDone] = Deferred.fromFuture(asyncio.wrap_future(future))
        self._in_flight.add(done)
        done.addBoth(self._finished, done)
        return done

    def _finished(self, result: FileDone | Failure, done: Deferred[FileDone]) -> FileDone | None:
        self._in_flight.discard(done)
        if isinstance(result, Failure):
            self.stats.inc_value(stat_key("storage", "failed"))
            logger.error("Could not finish a closed file", exc_info=failure_to_exc_info(result))
            return None
        if result.index_error:
            self.stats.inc_value(stat_key("warc", "index_errors"))
        elif result.indexed:
            self.stats.inc_value(stat_key("warc", "indexes"))
        for published in result.published:
            if published.outcome is None:
                self.stats.inc_value(stat_key("storage", "conflicts" if published.conflict else "failed"))
            else:
                self.stats.inc_value(stat_key("storage", published.outcome.name.lower()))
                self.stats.inc_value(stat_key("storage", "bytes"), published.size)
        return result

    def feed_exporter_closed(self) -> None:
        if not self._feeds_closed.called:
            self._feeds_closed.callback(None)

    async def drained(self) -> None:
        """Wait until the JSON feed is closed and the work on every closed file has ended."""
        await maybe_deferred_to_future(self._feeds_closed)
        while self._in_flight:
            await maybe_deferred_to_future(DeferredList(list(self._in_flight)))

    async def spider_closed(self) -> None:
        await self.drained()
        if self.publisher is not None:
            pending = len(self.publisher.pending())
            self.stats.set_value(stat_key("storage", "pending"), pending)
            if pending:
                logger.warning(
                    "%d files are still in the spool %s; the next run or `newsarchive upload` sends them",
                    pending,
                    self.layout.root,
                )

    def engine_stopped(self) -> None:
        self._executor.shutdown(wait=True)
        if self.publisher is not None:
            self.publisher.close()
