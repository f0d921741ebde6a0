"""Items: what the spiders hand to the pipelines, and the article record we publish.

``ArticleItem`` is the schema of every JSON line; ``schemas/article.schema.json`` is generated
from it (``newsarchive schema``) and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PageCapture:
    """An archived HTML response that may hold an article; the extraction pipeline's input.

    Never exported: the extraction pipeline turns it into an :class:`ArticleItem` or drops it.
    """

    url: str
    html: str
    source: str
    status: int
    content_type: str
    content_length: int
    fetched_at: str
    warc: dict[str, object]
    hints: dict[str, str] = field(default_factory=dict)


@dataclass
class ArticleItem:
    """One extracted news article, linked to the WARC record it was extracted from."""

    url: str
    """Final URL of the article, after redirects."""
    canonical_url: str | None
    """URL the page declares as canonical (link rel=canonical or og:url), if any."""
    title: str | None
    """Headline."""
    author: str | None
    """Author(s) as the page names them; several are joined with '; '."""
    date: str | None
    """Publication date, ISO 8601 (YYYY-MM-DD, or with time when the page gives one)."""
    sitename: str | None
    """Name of the publication (og:site_name or equivalent)."""
    hostname: str | None
    """Host name of the final URL."""
    language: str | None
    """ISO 639-1 language of the article text, detected with py3langid."""
    description: str | None
    """Summary the page gives in its meta description."""
    categories: list[str]
    """Sections or categories the page declares."""
    tags: list[str]
    """Keywords or tags the page declares."""
    text: str
    """Main article text, paragraphs separated by newlines; navigation, ads and comments removed."""
    source: str
    """Name of the configured source whose feed, sitemap or URL list led to this article; for
    ``newsarchive reprocess``, its ``--source`` label (default "reprocess")."""
    fetched_at: str
    """When the response was received, ISO 8601 UTC (the WARC-Date of its response record)."""
    status: int
    """HTTP status code of the archived response."""
    content_type: str
    """Content-Type header of the archived response."""
    content_length: int
    """Length in bytes of the response body as received (before content decoding)."""
    warc_filename: str
    """Name of the WARC file, under ARCHIVE_URI/warc/, that holds the response record (or the revisit
    record written instead when the same payload was archived before: its WARC-Refers-To leads to it).
    For ``newsarchive reprocess``: the path of the source WARC file as given, or its s3:// URI."""
    warc_offset: int
    """Byte offset of the response record in that file; seeking there yields the record."""
    warc_length: int
    """Length in bytes of the response record as stored (one gzip member)."""
    warc_record_id: str
    """WARC-Record-ID of the response (or revisit) record."""
    cluster_id: str | None = None
    """Same for every near-identical copy of one text, stable across runs: the hex fingerprint of
    the cluster's first archived text. None when near-duplicate detection is off."""
    duplicate_of: str | None = None
    """URL of the cluster's first archived article when this one is a copy of it; else None."""
    similarity: float | None = None
    """Estimated Jaccard similarity (word 5-shingles) to that article; None for the first one."""
    partial_copies: list[dict[str, str | float]] | None = None
    """Partial copies between this article and others archived before it, which are not near-duplicates:
    excerpts, and articles embedded in bigger pages. One object per link: ``url`` and ``cluster_id`` of
    the other article; ``relation``, ``copy_of`` (this page reproduces part of the other) or
    ``copied_by`` (the other reproduces part of this one); ``containment``, the estimated share of the
    source's text found in the copy; ``share``, the estimated share of the copy's text that is the
    source's. Empty when there are none; None when near-duplicate detection is off."""
