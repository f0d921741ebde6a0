"""``scrapy crawl news``: every feed, sitemap and URL of the sources file in one run (the cron job)."""

from __future__ import annotations

from spiders.sitemaps import SitemapsSpider


class NewsSpider(SitemapsSpider):
    """Feeds, sitemaps and URL lists of every source."""

    name = "news"
    kinds = ("feeds", "sitemaps", "urls")
