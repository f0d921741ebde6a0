"""The newsarchive add-on: enables its components and derives settings from the final ones.

Computed here, not in settings.py, so that ``-s ARCHIVE_URI=…`` or ``-s ARCHIVE_CONTACT=…``
on the command line change the JSON feed path and the User-Agent too. Everything is set
with the "addon" priority: a user's explicit setting still wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.settings import SETTINGS_PRIORITIES

from newsarchive import __version__
from newsarchive.layout import ArchiveLayout
from newsarchive.redact import redact_secrets
from newsarchive.storage.feed import SCHEME

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

DOWNLOADER_MIDDLEWARES = {
    "newsarchive.seen.SkipArchivedMiddleware": 60,  # before robots.txt: no lookup for skips
    "newsarchive.redirects.RedirectLoopMiddleware": 610,  # sees a 3xx before redirecting (600)
    "newsarchive.warc.capture.WarcCaptureMiddleware": 950,  # beside the wire (see capture.py)
}
SPIDER_MIDDLEWARES = {
    "newsarchive.seen.MarkArchivedMiddleware": 950,  # nearest the spider: sees its own output
}
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.dedup.DedupPipeline": 150,  # before the WARC record, which then holds its fields
    "pipelines.warc.WarcArticlePipeline": 200,
}
EXTENSIONS = {
    "newsarchive.storage.extension.ArchiveStorage": 0,  # recovery at open, uploads at close
    "newsarchive.warc.archive.WarcArchive": 0,
    "newsarchive.summary.RunSummary": 1000,  # last: reports what the others counted
}
ARTICLE_ITEM = "newsarchive.items.ArticleItem"
FEED_URI = "archive:json/%(name)s-%(time)s.jsonl"  # the archive's json/, local or spooled


class Addon:
    """Scrapy add-on (``ADDONS``) wiring newsarchive into a crawl."""

    def update_settings(self, settings: BaseSettings) -> None:
        for name, components in (
            ("DOWNLOADER_MIDDLEWARES", DOWNLOADER_MIDDLEWARES),
            ("SPIDER_MIDDLEWARES", SPIDER_MIDDLEWARES),
            ("ITEM_PIPELINES", ITEM_PIPELINES),
            ("EXTENSIONS", EXTENSIONS),
        ):
            for path, order in components.items():
                settings[name].set(path, order, "addon")
        redact_secrets(settings)
        ArchiveLayout.from_settings(settings)  # a bad ARCHIVE_URI stops the crawl here
        settings["FEED_STORAGES"].set(SCHEME, "newsarchive.storage.feed.ArchiveFeedStorage", "addon")
        feeds = settings.getdict("FEEDS")
        feeds.setdefault(
            FEED_URI,
            {
                "format": "jsonlines",
                "encoding": "utf-8",
                "item_classes": [ARTICLE_ITEM],
                "store_empty": False,
            },
        )
        settings.set("FEEDS", feeds, max(settings.getpriority("FEEDS") or 0, SETTINGS_PRIORITIES["addon"]))
        if settings.getpriority("USER_AGENT") == SETTINGS_PRIORITIES["default"]:
            settings.set("USER_AGENT", user_agent(settings["ARCHIVE_CONTACT"]), "addon")


def user_agent(contact: str) -> str:
    """An identifying User-Agent, naming a contact when one is configured."""
    suffix = f"; +{contact}" if contact else ""
    return f"newsarchive/{__version__} (news archive crawler{suffix})"
