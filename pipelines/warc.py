"""Store each article in the WARC files too, as a ``conversion`` record of its response.

The record's payload is the article's JSON line, and ``WARC-Refers-To`` names the response
record it was extracted from (a revisit record, when its payload had been archived before), so
the WARC files alone can rebuild the JSON output.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

from newsarchive.exceptions import WarcWriteError
from newsarchive.items import ArticleItem
from newsarchive.warc.archive import WarcArchive
from newsarchive.warc.reader import ARTICLE_CONTENT_TYPE

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class WarcArticlePipeline:
    """Writes one conversion record per article; the item passes on unchanged."""

    def __init__(self, archive: WarcArchive) -> None:
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(WarcArchive.of(crawler))

    def process_item(self, item: object) -> object:
        if not isinstance(item, ArticleItem):
            return item
        payload = json.dumps(asdict(item), ensure_ascii=False).encode("utf-8")
        record = self.archive.factory.conversion(
            item.url, payload, refers_to=item.warc_record_id, content_type=ARTICLE_CONTENT_TYPE
        )
        try:
            self.archive.write(record)
        except WarcWriteError as exc:
            logger.error("Could not archive the extracted text of %s: %s", item.url, exc)
        return item
