"""Read RSS 0.9x/1.0/2.0 and Atom feeds with feedparser, and find feeds linked from a page."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timezone

import feedparser

FEED_LINK_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")


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
    """Parse ``body`` fetched from ``url``; relative entry links resolve against ``url``."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    entries = []
    for entry in parsed.entries:
        link = entry.get("link") or _alternate_link(entry)
        if link:
            entries.append(FeedEntry(link.strip(), entry.get("title"), _entry_date(entry)))
    problem = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        problem = f"{type(exc).__name__}: {exc}" if exc else "not a well-formed feed"
    return ParsedFeed(parsed.get("version") or "", tuple(entries), problem)


def _alternate_link(entry: feedparser.FeedParserDict) -> str | None:
    for link in entry.get("links", ()):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


def _entry_date(entry: feedparser.FeedParserDict) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
