"""newsarchive: crawl syndicated news, archive every capture as WARC, publish clean JSON.

The Scrapy glue (``spiders/``, ``pipelines/``, the add-on, middlewares) is thin; the work
(config, WARC records and files, extraction, crawl state) lives in plain modules here.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

from newsarchive.config import Source, SourcesConfig, load_sources
from newsarchive.exceptions import ConfigError, NewsarchiveError
from newsarchive.items import ArticleItem, PageCapture

__all__ = [
    "ArticleItem",
    "ConfigError",
    "NewsarchiveError",
    "PageCapture",
    "Source",
    "SourcesConfig",
    "__version__",
    "load_sources",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
