"""Read RSS 0.9x/1.0/2.0 and Atom feeds (feedparser) and JSON Feeds (which feedparser lacks)."""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import feedparser

from newsarchive.dates import parse_w3c_date

FEED_LINK_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
)
JSON_FEED_VERSION = "https://jsonfeed.org/version/"


@dataclass(frozen=True)
class FeedEntry:
    """An article a feed announces."""

    url: str
    title: str | None
    published: datetime | None


@dataclass(frozen=True)
class ParsedFeed:
    """Entries of a feed, and what was wrong with it, if anything."""

    version: str
    entries: tuple[FeedEntry, ...]
    problem: str | None
    """feedparser's complaint (not well-formed, wrong encoding…); entries may still be usable."""

    @property
    def is_feed(self) -> bool:
        return bool(self.version or self.entries)


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse ``body`` fetched from ``url``; relative entry links resolve against ``url``.

    Entries without an http(s) link are left out (feedparser falls back to an entry's id,
    which may be a ``tag:`` or ``urn:`` URI that cannot be fetched).
    """
    if body.lstrip()[:1] == b"{":
        return _parse_json_feed(body, url)
    # Without a Content-Type feedparser flags every feed as suspect; XML is what we expect.
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    entries = []
    for entry in parsed.entries:
        link = entry.get("link") or _alternate_link(entry)
        if link and _is_web_url(link.strip()):
            entries.append(FeedEntry(link.strip(), entry.get("title"), _entry_date(entry)))
    problem = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        problem = f"{type(exc).__name__}: {exc}" if exc else "not a well-formed feed"
    return ParsedFeed(parsed.get("version") or "", tuple(entries), problem)


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """A JSON Feed (jsonfeed.org, versions 1 and 1.1)."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        return ParsedFeed("", (), f"not a JSON Feed: {exc}")
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(JSON_FEED_VERSION):
        return ParsedFeed("", (), "JSON without a jsonfeed.org version")
    entries = []
    for item in document.get("items") or ():
        if not isinstance(item, dict):
            continue
        link = urljoin(url, str(item.get("url") or item.get("external_url") or "").strip())
        if _is_web_url(link):
            date = parse_w3c_date(item.get("date_published") or item.get("date_modified"))
            entries.append(FeedEntry(link, item.get("title"), date))
    return ParsedFeed("json", tuple(entries), None)


def _is_web_url(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def _alternate_link(entry: feedparser.FeedParserDict) -> str | None:
    for link in entry.get("links", ()):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


def _entry_date(entry: feedparser.FeedParserDict) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
