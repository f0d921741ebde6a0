"""What every newsarchive spider shares: the sources file, feed reading, article requests."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import scrapy
from scrapy.http import HtmlResponse, Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.httpobj import urlparse_cached

from newsarchive import meta
from newsarchive.config import DEFAULT_SOURCES_PATH, Source, load_sources, validate_url
from newsarchive.feeds import FEED_LINK_TYPES, parse_feed
from newsarchive.items import PageCapture
from newsarchive.responses import header, is_html
from newsarchive.stats import stat_key
from newsarchive.warc.capture import is_truncated

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)


class SourceSpider(scrapy.Spider):
    """Crawls the sources of a sources file (``-a sources=PATH``, ``-a source=NAME``)."""

    kinds: ClassVar[tuple[str, ...]] = ()
    """Which lists of each source this spider follows: 'feeds', 'sitemaps', 'urls'."""

    def __init__(
        self, *args: Any, sources: str = DEFAULT_SOURCES_PATH, source: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sources = self.load_sources(sources, source)
        self._by_name = {s.name: s for s in self.sources}

    def load_sources(self, path: str, name: str | None) -> tuple[Source, ...]:
        """The sources to crawl; a ConfigError stops the crawl before any request."""
        return load_sources(path).select(name)

    async def start(self) -> AsyncIterator[Any]:
        started = 0
        for source in self.sources:
            for request in self.requests_for(source):
                started += 1
                yield request
        if not started:
            logger.warning("Nothing to crawl: no selected source has any %s", " or ".join(self.kinds))

    def requests_for(self, source: Source) -> Iterable[Request]:
        if "urls" in self.kinds:
            for url in source.urls:
                if request := self.article_request(url, source):
                    yield request
        if "feeds" in self.kinds:
            for url in source.feeds:
                yield Request(
                    url, callback=self.parse_feed, errback=self.feed_failed, meta={meta.SOURCE: source.name}
                )

    def source_of(self, response: Response) -> Source:
        return self._by_name[response.meta[meta.SOURCE]]

    def count(self, *names: str, value: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(stat_key("spider", *names), value)

    # feeds

    def parse_feed(self, response: Response) -> Iterable[Request]:
        """Follow a feed's entries; on an HTML page, follow the feeds it links to instead."""
        source = self.source_of(response)
        if isinstance(response, HtmlResponse) and not response.meta.get(meta.DISCOVERED):
            yield from self.discover_feeds(response, source)
            return
        feed = parse_feed(response.body, response.url, header(response.headers, "Content-Type") or None)
        if not feed.entries and feed.is_feed and not feed.problem:
            self.count("feeds", "empty")
            logger.info("Feed %s (source %r) lists no article", response.url, source.name)
            return
        if not feed.entries:
            self.count("feeds", "malformed")
            logger.error(
                "No entries in feed %s (source %r): %s",
                response.url,
                source.name,
                feed.problem or "not a feed",
            )
            return
        self.count("feeds", "parsed")
        if feed.problem:
            self.count("feeds", "recovered")
            logger.warning("Feed %s is malformed but readable: %s", response.url, feed.problem)
        for entry in feed.entries:
            if self.too_old(entry.published, source, entry.url):
                continue
            hints = {"title": entry.title} if entry.title else {}
            if entry.published:
                hints["date"] = entry.published.isoformat()
            if request := self.article_request(entry.url, source, hints):
                yield request

    def discover_feeds(self, response: HtmlResponse, source: Source) -> Iterable[Request]:
        links = response.xpath(
            "//link[contains(concat(' ', normalize-space(@rel), ' '), ' alternate ')]"
            f"[{' or '.join(f'@type={t!r}' for t in FEED_LINK_TYPES)}]/@href"
        ).getall()
        if not links:
            self.count("feeds", "not_found")
            logger.error(
                "No feed at %s (source %r): an HTML page linking to no feed", response.url, source.name
            )
            return
        self.count("feeds", "discovered", value=len(links))
        for href in links:
            yield response.follow(
                href,
                callback=self.parse_feed,
                errback=self.feed_failed,
                meta={meta.SOURCE: source.name, meta.DISCOVERED: True},
            )

    # articles

    def too_old(self, date: datetime | None, source: Source, url: str) -> bool:
        if source.max_age is None or date is None:
            return False
        if date >= datetime.now(UTC) - source.max_age:
            return False
        self.count("articles", "too_old")
        logger.debug("Skipping %s: dated %s, older than max_age %s", url, date, source.max_age)
        return True

    def article_request(
        self, url: str, source: Source, hints: dict[str, str] | None = None
    ) -> Request | None:
        if problem := validate_url(url):
            self.count("articles", "bad_url")
            logger.warning("Skipping an entry of source %r: %s", source.name, problem)
            return None
        request = Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            meta={meta.SOURCE: source.name, meta.ARTICLE: True, meta.HINTS: hints or {}},
        )
        if not source.allows(urlparse_cached(request).hostname):
            self.count("articles", "offsite")
            logger.debug("Skipping %s: outside allowed_domains of source %r", url, source.name)
            return None
        self.count("articles", "requested")
        return request

    def parse_article(self, response: Response) -> Iterable[PageCapture]:
        """Hand an archived HTML page to the extraction pipeline; count everything else."""
        if not is_html(response):
            self.count("articles", "not_html")
            logger.info(
                "Not an HTML page, archived only: %s (%s)",
                response.url,
                header(response.headers, "Content-Type"),
            )
            return
        if is_truncated(response):
            self.count("articles", "truncated")
            return
        if "cached" in response.flags:
            self.count("articles", "cached")
            logger.debug("Not extracting %s: served from HTTPCACHE, archived by an earlier run", response.url)
            return
        location = response.meta.get(meta.WARC_LOCATION)
        if location is None:
            self.count("articles", "unarchived")
            logger.error("Not extracting %s: its response could not be archived", response.url)
            return
        yield PageCapture(
            url=response.url,
            html=response.text,
            source=response.meta[meta.SOURCE],
            status=response.status,
            content_type=header(response.headers, "Content-Type"),
            content_length=response.meta[meta.WIRE_LENGTH],
            fetched_at=str(location["date"]),
            warc=location,
            hints=response.meta.get(meta.HINTS, {}),
        )

    def article_failed(self, failure: Failure) -> None:
        self.request_failed(failure, "articles")

    def feed_failed(self, failure: Failure) -> None:
        self.request_failed(failure, "feeds")

    def request_failed(self, failure: Failure, kind: str) -> None:
        """Count and log a request that gave no usable response (its exchange, if any, is archived)."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            response = failure.value.response
            self.count(kind, "http_error")
            logger.warning("HTTP %d for %s %s (archived, not used)", response.status, kind, response.url)
        elif failure.check(scrapy.exceptions.IgnoreRequest):
            return  # skipped on purpose (robots.txt, already archived, loop): counted where decided
        else:
            self.count(kind, "download_error")
            logger.error("Could not download %s %s: %s", kind, request.url, failure.getErrorMessage())
