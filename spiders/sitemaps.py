"""``scrapy crawl sitemaps``: articles listed by each source's sitemaps.

Scrapy's ``SitemapSpider`` does the parsing (sitemap indexes, urlsets, ``.gz``, ``Sitemap:``
lines of a robots.txt); this adds what it drops: the source of each request, Google News
fields as hints, and the ``max_age`` window on publication date or lastmod.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.http import Request, Response
from scrapy.spiders import SitemapSpider

from newsarchive import meta
from newsarchive.config import validate_url
from newsarchive.sitemaps import EntryInfo, sitemap_entry_info
from spiders.base import SourceSpider

if TYPE_CHECKING:
    from collections.abc import Iterable

    from twisted.python.failure import Failure

    from newsarchive.config import Source

logger = logging.getLogger(__name__)


class SitemapsSpider(SourceSpider, SitemapSpider):
    """Follows sitemap indexes down to article URLs."""

    name = "sitemaps"
    kinds = ("sitemaps",)
    sitemap_rules = (("", "parse_article"),)

    def requests_for(self, source: Source) -> Iterable[Request]:
        yield from super().requests_for(source)
        if "sitemaps" in self.kinds:
            for url in source.sitemaps:
                yield Request(
                    url,
                    callback=self._parse_sitemap,
                    errback=self.sitemap_failed,
                    meta={meta.SOURCE: source.name},
                )

    def sitemap_filter(self, entries: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        """Leave out entries whose URL cannot be requested (Scrapy would fail the whole sitemap)."""
        for entry in entries:
            if problem := validate_url(entry.get("loc") or ""):
                self.count("sitemaps", "bad_urls")
                logger.warning("Skipping a sitemap entry: %s", problem)
                continue
            entry["alternate"] = [url for url in entry.get("alternate", ()) if not validate_url(url)]
            yield entry

    def sitemap_failed(self, failure: Failure) -> None:
        self.request_failed(failure, "sitemaps")

    def _parse_sitemap(self, response: Response) -> Iterable[Request]:
        source = self.source_of(response)
        requests = list(super()._parse_sitemap(response))
        if not requests and not response.url.endswith("/robots.txt"):
            self.count("sitemaps", "invalid")
            return
        self.count("sitemaps", "parsed")
        body = self._get_sitemap_body(response) if not response.url.endswith("/robots.txt") else None
        entries = sitemap_entry_info(body) if body else {}
        for request in requests:
            info = entries.get(request.url, EntryInfo())
            if self.too_old(info.date, source, request.url):
                continue
            if request.callback == self.parse_article:
                if article := self.article_request(request.url, source, _hints(info)):
                    yield article
            else:
                yield request.replace(errback=self.sitemap_failed, meta={meta.SOURCE: source.name})


def _hints(info: EntryInfo) -> dict[str, Any]:
    hints = {}
    if info.news_title:
        hints["title"] = info.news_title
    if info.date:
        hints["date"] = info.date.isoformat()
    if info.news_language:
        hints["language"] = info.news_language
    return hints
