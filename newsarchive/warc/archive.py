"""The crawl's WARC archive: one writer per crawl, shared by the capture middleware and the
text pipeline, closed (and its files renamed) on ``spider_closed``, whatever the close reason.
Each closed file is handed to the archive's store (:class:`ArchiveStorage`), which uploads it
when the archive is remote.
With ``WARC_REVISITS`` on, a payload archived before is written as a ``revisit`` record
(see :mod:`newsarchive.warc.revisits`).
"""

from __future__ import annotations

import logging
import platform
import socket
import sqlite3
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import scrapy
from scrapy import signals
from scrapy.exceptions import NotConfigured

from newsarchive import __version__
from newsarchive.exceptions import SettingsError, WarcWriteError
from newsarchive.layout import ArchiveLayout
from newsarchive.stats import stat_key
from newsarchive.storage.extension import ArchiveStorage
from newsarchive.warc.records import Capture, HeaderPolicy, HttpExchange, RecordFactory
from newsarchive.warc.revisits import PayloadIndex, revisitable
from newsarchive.warc.writer import RecordLocation, RotatingWarcWriter

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.spiders import Spider
    from scrapy.statscollectors import StatsCollector
    from warcio.recordloader import ArcWarcRecord

logger = logging.getLogger(__name__)

_RECORDS = stat_key("warc", "records")
_BYTES = stat_key("warc", "bytes")
_REVISITS = stat_key("warc", "revisits")
_BYTES_SAVED = stat_key("warc", "revisits", "bytes_saved")
_INDEX_ERRORS = stat_key("warc", "revisits", "index_errors")


@dataclass(frozen=True)
class WarcConfig:
    """Every ``WARC_*`` setting, read and checked once."""

    directory: Path
    location: str  # where the files end up (the directory, or s3://bucket/prefix/warc)
    prefix: str
    max_size: int
    gzip_level: int
    keep_cookies: bool
    revisits: bool
    payload_index: Path
    info: dict[str, str]

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> WarcConfig:
        layout = ArchiveLayout.from_settings(settings)
        max_size = settings.getint("WARC_MAX_SIZE")
        if max_size <= 0:
            raise SettingsError(f"WARC_MAX_SIZE must be a positive number of bytes, got {max_size}")
        level = settings.getint("WARC_GZIP_LEVEL")
        if not 0 <= level <= 9:
            raise SettingsError(f"WARC_GZIP_LEVEL must be 0 (uncompressed .warc) to 9, got {level}")
        return cls(
            directory=layout.warc_dir,
            location=layout.warc_location,
            prefix=settings["WARC_PREFIX"],
            max_size=max_size,
            gzip_level=level,
            keep_cookies=settings.getbool("WARC_KEEP_COOKIES"),
            revisits=settings.getbool("WARC_REVISITS"),
            payload_index=layout.state_dir / "payloads.sqlite",
            info=warcinfo_fields(settings),
        )


def warcinfo_fields(settings: BaseSettings) -> dict[str, str]:
    """The ``warcinfo`` block: software, host, robots policy, operator and contact."""
    fields = {
        "software": (
            f"newsarchive/{__version__} (Scrapy/{scrapy.__version__}; "
            f"warcio/{version('warcio')}; Python/{platform.python_version()})"
        ),
        "hostname": socket.gethostname(),
        "http-header-user-agent": settings["USER_AGENT"],
        "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        "isPartOf": settings["BOT_NAME"],
        "description": (
            "HTTP exchanges as received: bodies still content-encoded; chunked framing removed "
            "by the client (Transfer-Encoding renamed X-Crawler-Transfer-Encoding, "
            "Content-Length set to the stored length); header names title-cased; "
            + ("cookies kept" if settings.getbool("WARC_KEEP_COOKIES") else "Cookie and Set-Cookie removed")
            + "; Authorization removed."
        ),
    }
    for key, setting in (("operator", "ARCHIVE_OPERATOR"), ("contact", "ARCHIVE_CONTACT")):
        if settings[setting]:
            fields[key] = settings[setting]
    return fields


class WarcArchive:
    """Scrapy extension owning the crawl's :class:`RotatingWarcWriter`."""

    def __init__(
        self,
        writer: RotatingWarcWriter,
        stats: StatsCollector,
        payloads: PayloadIndex | None = None,
        location: str | None = None,
    ) -> None:
        self.writer = writer
        self.location = location or str(writer.directory)
        self.factory = writer.factory
        self.stats = stats
        self.payloads = payloads

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("WARC_ENABLED"):
            raise NotConfigured("WARC_ENABLED is False")
        config = WarcConfig.from_settings(crawler.settings)
        writer = RotatingWarcWriter(
            config.directory,
            factory=RecordFactory(HeaderPolicy(keep_cookies=config.keep_cookies)),
            info=config.info,
            prefix=config.prefix,
            max_size=config.max_size,
            gzip_level=config.gzip_level,
        )
        payloads = PayloadIndex(config.payload_index) if config.revisits else None
        archive = cls(writer, crawler.stats, payloads, config.location)
        # Looked up when a file closes: every extension exists by then.
        writer.on_file_closed = lambda path: ArchiveStorage.of(crawler).file_closed(path)
        crawler.signals.connect(archive.spider_closed, signal=signals.spider_closed)
        return archive

    @classmethod
    def of(cls, crawler: Crawler) -> WarcArchive:
        """The crawl's archive, for components that write to it; NotConfigured when it is off."""
        archive = crawler.get_extension(cls)
        if archive is None:
            raise NotConfigured("the WarcArchive extension is not enabled (WARC_ENABLED)")
        return archive

    def write_exchange(self, exchange: HttpExchange) -> RecordLocation:
        """Archive a request/response pair; return the location of the response record, or
        of the revisit record written instead when the payload was archived before."""
        request, response = self.factory.exchange(exchange)
        if self.payloads is None or not revisitable(exchange):
            return self.write(request, response)[1]
        digest = response.rec_headers.get_header("WARC-Payload-Digest")
        written: list[RecordLocation] = []

        def write_first() -> Capture:
            location = self.write(request, response)[1]
            written.append(location)
            return Capture(
                response.rec_headers.get_header("WARC-Target-URI"), location.date, location.record_id
            )

        try:
            original = self.payloads.first_capture(digest, write_first)
        except sqlite3.Error:
            # Degrade to what WARC_REVISITS=False does: a full record is always right.
            self.stats.inc_value(_INDEX_ERRORS)
            logger.error(
                "Payload index %s failed for %s; archived in full",
                self.payloads.path,
                exchange.url,
                exc_info=True,
            )
            return written[0] if written else self.write(request, response)[1]
        if original is None:
            return written[0]
        request, revisit = self.factory.revisit(exchange, payload_digest=digest, original=original)
        location = self.write(request, revisit)[1]
        self.stats.inc_value(_REVISITS)
        self.stats.inc_value(_BYTES_SAVED, len(exchange.body))
        logger.debug(
            "Revisit record for %s: same payload as %s at %s", exchange.url, original.uri, original.date
        )
        return location

    def write(self, *records: ArcWarcRecord) -> list[RecordLocation]:
        """Append records (contiguously, in one file); raises WarcWriteError after rolling back."""
        try:
            locations = self.writer.write(*records)
        except WarcWriteError:
            self.stats.inc_value(stat_key("warc", "errors"))
            raise
        self.stats.inc_value(_RECORDS, len(records))
        self.stats.inc_value(_BYTES, sum(location.length for location in locations))
        for record in records:
            self.stats.inc_value(stat_key("warc", "records", record.rec_type))
        return locations

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.payloads is not None:
            self.payloads.close()
        files = self.writer.close()
        self.stats.set_value(stat_key("warc", "files"), len(files))
        self.stats.set_value(stat_key("warc", "directory"), self.location)
