"""What Scrapy's sitemap parser drops: dates and Google News fields of each sitemap entry.

Scrapy's ``Sitemap`` keeps only the direct text children of ``<url>``, so the
``<news:news>`` block (title, publication date, language) is lost; this reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from newsarchive.dates import parse_w3c_date


@dataclass(frozen=True)
class EntryInfo:
    """Dates and news fields of one ``<url>`` or ``<sitemap>`` entry."""

    lastmod: datetime | None = None
    news_title: str | None = None
    news_publication_date: datetime | None = None
    news_language: str | None = None

    @property
    def date(self) -> datetime | None:
        """The best date for an age window: publication date, else last modification."""
        return self.news_publication_date or self.lastmod


def sitemap_entry_info(body: bytes) -> dict[str, EntryInfo]:
    """``{loc: EntryInfo}`` for every entry of a urlset or sitemap index."""
    parser = etree.XMLParser(
        recover=True, remove_comments=True, resolve_entities=False, no_network=True, huge_tree=True
    )
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    info = {}
    for element in root:
        if _local(element) not in ("url", "sitemap"):
            continue
        fields = {_local(child): child for child in element}
        loc = _text(fields.get("loc"))
        if not loc:
            continue
        news = fields.get("news")
        news_fields = {_local(e): e for e in news.iter()} if news is not None else {}
        info[loc] = EntryInfo(
            lastmod=parse_w3c_date(_text(fields.get("lastmod"))),
            news_title=_text(news_fields.get("title")),
            news_publication_date=parse_w3c_date(_text(news_fields.get("publication_date"))),
            news_language=_text(news_fields.get("language")),
        )
    return info


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None
