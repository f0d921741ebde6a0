"""WARC records, rotating files and the Scrapy components that capture every exchange."""

from __future__ import annotations

from newsarchive.warc.records import Capture, HeaderPolicy, HttpExchange, RecordFactory
from newsarchive.warc.revisits import REVISIT_PROFILE, PayloadIndex, revisitable
from newsarchive.warc.writer import RecordLocation, RotatingWarcWriter

__all__ = [
    "REVISIT_PROFILE",
    "Capture",
    "HeaderPolicy",
    "HttpExchange",
    "PayloadIndex",
    "RecordFactory",
    "RecordLocation",
    "RotatingWarcWriter",
    "revisitable",
]
