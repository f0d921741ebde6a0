"""Recognise near-identical copies of archived articles: MinHash signature, LSH index, cluster.

Every article gets ``cluster_id``, ``duplicate_of``, ``similarity`` and ``partial_copies`` (see
``items.py``). The signature and the index look-up run in a thread, off the reactor: NumPy and SQLite release the
GIL for most of the work, and the index serialises writers itself (one transaction, or one Redis
script, per add). ``DEDUP_URI`` picks the index (``newsarchive/dedup/backends.py``).
``DEDUP_POLICY = "drop"`` leaves near-identical copies out of the JSON; their captures stay in
the WARC files either way.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from scrapy.exceptions import DropItem, NotConfigured

from newsarchive.config import parse_duration
from newsarchive.dedup import (
    Document,
    IndexConfig,
    Match,
    MinHasher,
    SignatureParams,
    partial,
)
from newsarchive.dedup.backends import DedupIndex, open_index
from newsarchive.dedup.index import DuplicateKeyError
from newsarchive.dedup.redis_index import IndexUnavailableError
from newsarchive.exceptions import SettingsError
from newsarchive.items import ArticleItem
from newsarchive.layout import ArchiveLayout
from newsarchive.stats import stat_key

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

POLICIES = ("mark", "drop")
INDEX_ERRORS = (sqlite3.Error, RedisError, IndexUnavailableError)
"""What an index that went away raises (a full disk, a lock held too long, Redis down past its
retries): the article is kept without cluster fields rather than lost."""


class DedupPipeline:
    """ArticleItem in, the same article with its cluster fields out (or dropped, by policy)."""

    def __init__(
        self,
        index: DedupIndex,
        hasher: MinHasher,
        policy: str,
        stats: StatsCollector,
        forget_after: timedelta | None = None,
    ) -> None:
        self.index = index
        self.hasher = hasher
        self.policy = policy
        self.stats = stats
        self.forget_after = forget_after

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("DEDUP_ENABLED"):
            raise NotConfigured("DEDUP_ENABLED is False")
        policy = settings.get("DEDUP_POLICY")
        if policy not in POLICIES:
            raise SettingsError(f"DEDUP_POLICY must be one of {', '.join(POLICIES)}, got {policy!r}")
        params, config = _dedup_config(settings)
        forget_after = None
        if settings.get("DEDUP_FORGET_AFTER"):
            try:
                forget_after = parse_duration(settings.get("DEDUP_FORGET_AFTER"))
            except ValueError as exc:
                raise SettingsError(f"DEDUP_FORGET_AFTER: {exc}") from None
        index = open_index(
            settings.get("DEDUP_URI") or "",
            params,
            config,
            state_dir=ArchiveLayout.from_settings(settings).state_dir,
            redis_prefix=settings.get("DEDUP_REDIS_PREFIX"),
        )
        return cls(index, MinHasher(params), policy, crawler.stats, forget_after)

    async def open_spider(self) -> None:
        """Forget what was archived more than ``DEDUP_FORGET_AFTER`` ago, before the first article:
        a copy of a story that old starts a new cluster. Off the reactor, as every index call."""
        if self.forget_after is None:
            return
        cutoff = (datetime.now(UTC) - self.forget_after).strftime("%Y-%m-%dT%H:%M:%SZ")
        forgotten = await asyncio.to_thread(self.index.forget_older_than, cutoff)
        self.stats.set_value(stat_key("dedup", "forgotten"), forgotten)
        logger.info(
            "Dedup index: forgot %d articles fetched before %s (DEDUP_FORGET_AFTER)", forgotten, cutoff
        )

    async def process_item(self, item: object) -> object:
        if not isinstance(item, ArticleItem):
            return item
        try:
            match = await asyncio.to_thread(self._add, item)
        except INDEX_ERRORS as exc:
            self.stats.inc_value(stat_key("dedup", "index_errors"))
            logger.error(
                "Near-duplicate index failed for %s, kept without cluster fields: %s: %s",
                item.url,
                type(exc).__name__,
                exc,
            )
            return item
        marked = replace(
            item,
            cluster_id=match.cluster_id,
            duplicate_of=match.duplicate_of,
            similarity=match.similarity,
            partial_copies=[asdict(link) for link in match.partial],
        )
        if match.partial:
            self.stats.inc_value(stat_key("dedup", "partial_links"), len(match.partial))
        if match.duplicate_of is None:
            self.stats.inc_value(stat_key("dedup", "originals"))
            return marked
        self.stats.inc_value(stat_key("dedup", "exact" if match.exact else "near_duplicates"))
        logger.debug("%s is a copy of %s (similarity %.2f)", item.url, match.duplicate_of, match.similarity)
        if self.policy == "drop":
            raise DropItem(f"{item.url} is a copy of {match.duplicate_of}", log_level="DEBUG")
        return marked

    def _add(self, item: ArticleItem) -> Match:
        doc = self._document(item)
        try:
            return self.index.add(doc)
        except DuplicateKeyError:
            # The record was indexed before (a WARC file re-processed into its own archive):
            # its cluster as the index has it. Its partial-copy links stay in the index.
            pass
        self.stats.inc_value(stat_key("dedup", "already_indexed"))
        match = self.index.find(doc)
        if match.duplicate_of == item.url and match.cluster_id == doc.fingerprint.hex():
            return Match(match.cluster_id, None, None, False)  # it is the canonical itself
        return match

    def _document(self, item: ArticleItem) -> Document:
        fingerprint, shingles = self.hasher.fingerprint_and_shingles(item.text)
        return Document(
            key=item.warc_record_id,
            url=item.url,
            site=partial.site_of(item.url),
            title=item.title,
            fetched_at=item.fetched_at,
            fingerprint=fingerprint,
            signature=self.hasher.signature_from_hashes(shingles),
            published=item.date,
            shingles=shingles,
        )

    def close_spider(self) -> None:
        self.index.close()


def _dedup_config(settings: BaseSettings) -> tuple[SignatureParams, IndexConfig]:
    """Every ``DEDUP_*`` setting, checked; a bad one stops the crawl naming it."""
    try:
        params = SignatureParams(
            num_perm=settings.getint("DEDUP_NUM_PERM"),
            shingle_size=settings.getint("DEDUP_SHINGLE_SIZE"),
            shingle_kind=settings.get("DEDUP_SHINGLE_KIND"),
            seed=settings.getint("DEDUP_SEED"),
        )
        config = IndexConfig(
            bands=settings.getint("DEDUP_BANDS"),
            rows=settings.getint("DEDUP_ROWS"),
            near_duplicate=settings.getfloat("DEDUP_THRESHOLD"),
            storage_bits=settings.getint("DEDUP_STORAGE_BITS"),
            window=settings.getint("DEDUP_WINDOW"),
            max_fingerprints=settings.getint("DEDUP_MAX_FINGERPRINTS"),
            partial=settings.getfloat("DEDUP_PARTIAL_THRESHOLD"),
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc
    return params, config
