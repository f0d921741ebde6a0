"""Archive every HTTP exchange as it came off the wire.

The middleware sits at 950, beside the download handler: its ``process_response`` runs
before HttpCompressionMiddleware (590) decodes the body and before RedirectMiddleware (600)
swallows a 3xx, and after HttpCacheMiddleware (900) so that a response served from the
cache (flagged ``cached``) is recognised and not archived twice.

It also enforces ``DOWNLOAD_MAXSIZE`` itself: Scrapy's own check discards an oversized
body, while stopping the download (``StopDownload(fail=False)``) keeps what was received,
which is archived with ``WARC-Truncated: length``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import StopDownload

from newsarchive import meta
from newsarchive.exceptions import WarcWriteError
from newsarchive.stats import stat_key
from newsarchive.warc.archive import WarcArchive
from newsarchive.warc.records import HttpExchange, flatten_headers

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

_META_CAP = "newsarchive_maxsize"
_META_RECEIVED = "newsarchive_received"


class WarcCaptureMiddleware:
    """Downloader middleware writing a request and a response record per exchange."""

    def __init__(self, archive: WarcArchive, stats: StatsCollector, maxsize: int) -> None:
        self.archive = archive
        self.stats = stats
        self.maxsize = maxsize

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = cls(WarcArchive.of(crawler), crawler.stats, crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        crawler.signals.connect(middleware.bytes_received, signal=signals.bytes_received)
        return middleware

    def process_request(self, request: Request) -> None:
        # Take the size cap over from the download handler (see the module docstring).
        if _META_CAP not in request.meta:
            request.meta[_META_CAP] = request.meta.get("download_maxsize", self.maxsize)
        request.meta["download_maxsize"] = 0
        request.meta[_META_RECEIVED] = 0

    def bytes_received(self, data: bytes, request: Request, **kwargs: Any) -> None:
        cap = request.meta.get(_META_CAP)
        if not cap:
            return
        received = request.meta.get(_META_RECEIVED, 0) + len(data)
        request.meta[_META_RECEIVED] = received
        if received > cap:
            raise StopDownload(fail=False)

    def process_response(self, request: Request, response: Response) -> Response:
        # Later components (decompression, sitemap gunzip) apply the cap again.
        request.meta["download_maxsize"] = request.meta.get(_META_CAP, self.maxsize)
        if "cached" in response.flags:
            self.stats.inc_value(stat_key("warc", "skipped", "cached"))
            return response
        truncated = self._truncation(request, response)
        try:
            location = self.archive.write_exchange(to_exchange(request, response, truncated))
        except WarcWriteError as exc:
            logger.error("Could not archive %s (the crawl goes on without it): %s", response, exc)
            return response
        request.meta[meta.WARC_LOCATION] = location.as_dict()
        request.meta[meta.WIRE_LENGTH] = len(response.body)
        return response

    def _truncation(self, request: Request, response: Response) -> str | None:
        if "download_stopped" in response.flags:
            self.stats.inc_value(stat_key("warc", "truncated", "length"))
            logger.warning(
                "Truncated %s at %d bytes (DOWNLOAD_MAXSIZE=%d); archived with WARC-Truncated",
                response,
                len(response.body),
                request.meta.get(_META_CAP, self.maxsize),
            )
            return "length"
        if "dataloss" in response.flags:
            self.stats.inc_value(stat_key("warc", "truncated", "disconnect"))
            logger.warning(
                "Connection lost mid-body for %s after %d bytes; archived with WARC-Truncated",
                response,
                len(response.body),
            )
            return "disconnect"
        return None


def to_exchange(request: Request, response: Response, truncated: str | None) -> HttpExchange:
    """The exchange as Scrapy saw it, body still content-encoded."""
    return HttpExchange(
        url=response.url,
        method=request.method,
        request_headers=flatten_headers(request.headers.items()),
        request_body=request.body,
        status=response.status,
        response_headers=flatten_headers(response.headers.items()),
        body=response.body,
        protocol=response.protocol or "HTTP/1.1",
        ip_address=str(response.ip_address) if response.ip_address else None,
        truncated=truncated,
    )


def is_truncated(response: Response) -> bool:
    """Whether the body was cut short (size cap or lost connection): not worth extracting."""
    return "download_stopped" in response.flags or "dataloss" in response.flags
