"""Stop redirect loops at the first repeat, with a clear message, instead of letting them
run into REDIRECT_MAX_TIMES or vanish in the duplicate filter."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from w3lib.url import safe_url_string

from newsarchive.stats import stat_key

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class RedirectLoopMiddleware:
    """Downloader middleware just above RedirectMiddleware (600): sees each 3xx first."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get("Location")
        if not 300 <= response.status < 400 or not location:
            return response
        target = safe_url_string(response.urljoin(location.decode("latin-1")))
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        if target in chain:
            self.stats.inc_value(stat_key("redirects", "loops"))
            logger.warning("Redirect loop: %s", " -> ".join([*chain, target]))
            raise IgnoreRequest(f"redirect loop at {request.url}")
        return response
