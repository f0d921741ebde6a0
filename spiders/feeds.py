"""``scrapy crawl feeds``: articles announced by the RSS/Atom feeds of each source."""

from __future__ import annotations

from spiders.base import SourceSpider


class FeedsSpider(SourceSpider):
    """Fetches each source's feeds (or finds them on a home page) and archives their articles."""

    name = "feeds"
    kinds = ("feeds",)
