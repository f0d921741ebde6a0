"""One re-processing run: records are read and turned into pages in a thread of their own, handed
to the item pipelines at most ``REPROCESS_MAX_PENDING`` at a time, counted and reported.

Why the bound: Scrapy sends an item yielded by ``Spider.start()`` to the pipelines at once and
asks for the next one (``ExecutionEngine._process_start_next``); its back-out test looks at
downloads and response bytes, not at items in the pipelines. Reading a record takes well under
a millisecond and extracting it tens, so without a bound every page of the input would wait in
memory for a worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from newsarchive.exceptions import SettingsError
from newsarchive.items import PageCapture
from newsarchive.reprocess.inputs import InputError, WarcInput
from newsarchive.reprocess.records import (
    FileDone,
    FileFailed,
    HttpResponseRecord,
    SkippedRecord,
    read_records,
)
from newsarchive.stats import stat_key

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Generator, Iterable

    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

    from newsarchive.reprocess.inputs import InputResolver
    from newsarchive.reprocess.pages import PageBuilder

logger = logging.getLogger(__name__)

BATCH = 64
"""Outcomes fetched from the reader thread per hop, at most..."""
BATCH_PAGES = 4
"""...and at most this many pages (each holds a decoded page in memory)."""


@dataclass(frozen=True)
class ReprocessConfig:
    """The ``REPROCESS_*`` settings, and ``DOWNLOAD_MAXSIZE`` (the crawl's cap, applied alike)."""

    log_interval: float
    """Seconds between progress lines; 0: one line per batch of records read."""
    max_pending: int
    """Pages handed to the item pipelines and not yet done with, at most."""
    max_size: int
    """Payloads bigger than this, stored or decoded, are skipped; 0: no cap."""

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ReprocessConfig:
        config = cls(
            log_interval=settings.getfloat("REPROCESS_LOG_INTERVAL"),
            max_pending=settings.getint("REPROCESS_MAX_PENDING"),
            max_size=settings.getint("DOWNLOAD_MAXSIZE"),
        )
        if config.max_pending < 1:
            raise SettingsError(f"REPROCESS_MAX_PENDING must be at least 1, got {config.max_pending}")
        if config.log_interval < 0:
            raise SettingsError(f"REPROCESS_LOG_INTERVAL must be >= 0 seconds, got {config.log_interval}")
        if config.max_size < 0:
            raise SettingsError(f"DOWNLOAD_MAXSIZE must be >= 0 (0: no limit), got {config.max_size}")
        return config


class PendingItems:
    """Counts pages in the item pipelines; :meth:`acquire` waits while there are ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self._room = asyncio.Event()

    async def acquire(self) -> None:
        while self.count >= self.limit:
            self._room.clear()
            await self._room.wait()
        self.count += 1

    def release(self) -> None:
        self.count = max(0, self.count - 1)
        self._room.set()


@dataclass
class Tally:
    """What the run has done so far, for progress lines and the final report."""

    files: int = 0
    records: int = 0
    bytes: int = 0
    handed_on: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failures: list[FileFailed] = field(default_factory=list)
    current: WarcInput | None = None
    position: int = 0
    file_records: int = 0
    file_pages: int = 0


class Reprocessor:
    """Reads ``inputs`` and yields the pages to hand on (:meth:`pages`), counting the rest."""

    def __init__(
        self,
        inputs: Iterable[str],
        resolver: InputResolver,
        builder: PageBuilder,
        config: ReprocessConfig,
        stats: StatsCollector,
    ) -> None:
        self.inputs = list(inputs)
        self.resolver = resolver
        self.builder = builder
        self.config = config
        self.stats = stats
        self.pending = PendingItems(config.max_pending)
        self.tally = Tally()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="newsarchive-reprocess")
        self._outcomes = self._read_all()
        self._last_log = time.monotonic()
        self._closed = False

    # reader thread

    def _read_all(self) -> Generator[object, None, None]:
        """Every outcome of every input, pages already built: runs in the reader thread."""
        for item in self.resolver.resolve(self.inputs):
            if isinstance(item, InputError):
                yield FileFailed(item.name, None, item.reason)
                continue
            yield item
            for outcome in read_records(item, self.config.max_size):
                if isinstance(outcome, HttpResponseRecord):
                    built = self.builder.build(outcome)
                    if isinstance(built, str):
                        yield SkippedRecord(outcome.rec_type, built, outcome.url, outcome.location)
                        continue
                    yield built
                else:
                    yield outcome

    def _next_batch(self) -> list[object]:
        batch: list[object] = []
        pages = 0
        for outcome in self._outcomes:
            batch.append(outcome)
            pages += isinstance(outcome, PageCapture)
            if pages >= BATCH_PAGES or len(batch) >= BATCH:
                break
        return batch

    # reactor thread

    async def pages(self) -> AsyncIterator[PageCapture]:
        """The pages, each handed on once fewer than ``max_pending`` are in the pipelines."""
        loop = asyncio.get_running_loop()
        ahead = loop.run_in_executor(self._executor, self._next_batch)
        while batch := await ahead:
            # The next batch is read while this one goes to the pipelines.
            ahead = loop.run_in_executor(self._executor, self._next_batch)
            for outcome in batch:
                if isinstance(outcome, PageCapture):
                    self._count_page(outcome)
                    await self.pending.acquire()
                    self.stats.max_value(stat_key("reprocess", "pending", "max"), self.pending.count)
                    yield outcome
                else:
                    self._note(outcome)
            self._maybe_log_progress()

    def item_done(self, *args: object, **kwargs: object) -> None:
        """``item_scraped`` / ``item_dropped`` / ``item_error``: a page has left the pipelines."""
        self.pending.release()

    def close(self) -> None:
        """Close the file being read (in the reader thread, after the batch it may be reading)."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self._outcomes.close)
        self._executor.shutdown(wait=True)

    def _count_page(self, page: PageCapture) -> None:
        self._count_record("response", int(page.warc["length"]), int(page.warc["offset"]))  # type: ignore[call-overload]
        self.tally.handed_on += 1
        self.tally.file_pages += 1
        self.stats.inc_value(stat_key("reprocess", "responses"))

    def _note(self, outcome: object) -> None:
        tally = self.tally
        if isinstance(outcome, WarcInput):
            tally.current, tally.position, tally.file_records, tally.file_pages = outcome, 0, 0, 0
            logger.debug("Reading %s (%s bytes)", outcome.name, outcome.size)
        elif isinstance(outcome, SkippedRecord):
            location = outcome.location
            self._count_record(outcome.rec_type, location.length, location.offset)
            tally.skipped[outcome.reason] += 1
            self.stats.inc_value(stat_key("reprocess", "skipped"))
            self.stats.inc_value(stat_key("reprocess", "skipped", outcome.reason))
            logger.debug(
                "Skipped %s record %s at %s:%d: %s",
                outcome.rec_type,
                outcome.url or "-",
                location.filename,
                location.offset,
                outcome.reason,
            )
        elif isinstance(outcome, FileDone):
            tally.files += 1
            self.stats.inc_value(stat_key("reprocess", "files", "read"))
            logger.info(
                "Read %s: %d records, %d responses handed on",
                outcome.name,
                tally.file_records,
                tally.file_pages,
            )
            tally.current = None
        elif isinstance(outcome, FileFailed):
            tally.failures.append(outcome)
            self.stats.inc_value(stat_key("reprocess", "files", "failed"))
            where = f"at offset {outcome.offset}" if outcome.offset is not None else "at all"
            logger.error(
                "Could not read %s %s: %s (%d records before it processed; going on with the next file)",
                outcome.name,
                where,
                outcome.reason,
                tally.file_records if tally.current and tally.current.name == outcome.name else 0,
            )
            tally.current = None

    def _count_record(self, rec_type: str, length: int, offset: int) -> None:
        tally = self.tally
        tally.records += 1
        tally.file_records += 1
        tally.bytes += length
        tally.position = offset + length
        self.stats.inc_value(stat_key("reprocess", "records"))
        self.stats.inc_value(stat_key("reprocess", "records", rec_type))
        self.stats.inc_value(stat_key("reprocess", "bytes"), length)

    def _maybe_log_progress(self) -> None:
        now = time.monotonic()
        if now - self._last_log < self.config.log_interval:
            return
        self._last_log = now
        logger.info(self.progress_line())

    def progress_line(self) -> str:
        tally = self.tally
        line = (
            f"Reprocessing: {tally.files} files read, {len(tally.failures)} failed; "
            f"{tally.records} records ({tally.bytes / 1e6:.1f} MB), {tally.handed_on} responses "
            f"handed on, {sum(tally.skipped.values())} skipped, {self.pending.count} in the pipelines"
        )
        if tally.current is not None:
            size = f" of {tally.current.size / 1e6:.1f} MB" if tally.current.size else ""
            line += f"; now {tally.current.name} at {tally.position / 1e6:.1f}{size}"
        return line

    def summary(self, articles: int) -> str:
        tally = self.tally
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(tally.skipped.items()))
        return (
            f"Reprocessed {tally.files + len(tally.failures)} files ({len(tally.failures)} failed): "
            f"{tally.records} records ({tally.bytes / 1e6:.1f} MB), {tally.handed_on} responses handed "
            f"on, {articles} articles; {sum(tally.skipped.values())} skipped ({reasons or 'none'})"
        )
