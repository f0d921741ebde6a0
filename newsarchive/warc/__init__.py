"""WARC records, rotating files and the Scrapy components that capture every exchange."""

from __future__ import annotations

from newsarchive.warc.records import HeaderPolicy, HttpExchange, RecordFactory
from newsarchive.warc.writer import RecordLocation, RotatingWarcWriter

__all__ = ["HeaderPolicy", "HttpExchange", "RecordFactory", "RecordLocation", "RotatingWarcWriter"]
