"""Turn a stored HTTP response into the page a crawl's callback would have seen, and then into
the :class:`PageCapture` the extraction pipeline takes.

The same Scrapy code decides as in a crawl: :mod:`scrapy.responsetypes` picks the response class
from the headers, URL and body (as the download handler does), Scrapy's own
``HttpCompressionMiddleware`` decodes ``Content-Encoding`` (gzip, deflate, br, zstd; over
``DOWNLOAD_MAXSIZE`` refused) and re-picks the class, and ``TextResponse.text`` finds the charset
from the headers, a BOM, ``<meta>`` or the bytes (w3lib's ``html_to_unicode``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, HtmlResponse, Response, TextResponse
from scrapy.responsetypes import responsetypes

from newsarchive.items import PageCapture
from newsarchive.responses import HTML_TYPES, header, is_html, mime_type

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware

    from newsarchive.reprocess.records import HttpResponseRecord

DECODED_ENCODINGS = {"gzip", "x-gzip", "deflate", "br", "zstd"}
"""What ``HttpCompressionMiddleware`` decodes (Scrapy 2.19)."""


def scrapy_headers(pairs: Iterable[tuple[str, str]]) -> Headers:
    """Scrapy headers keeping every value of a repeated header (``Headers(list)`` keeps the last)."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return Headers(grouped)


def ruled_out_by_headers(pairs: Iterable[tuple[str, str]]) -> bool:
    """True when the headers alone make the response a non-HTML text class in a crawl (CSS,
    scripts, JSON, XML, plain text): its body need not be read. Types that map to no class
    (images, ``application/octet-stream``) are decided by URL and body, as Scrapy does."""
    headers = scrapy_headers(pairs)
    if mime_type(headers) in HTML_TYPES:
        return False
    encodings = _encodings(headers)
    if encodings and not set(encodings) <= DECODED_ENCODINGS:
        return False  # kept encoded in a crawl: the class then comes from URL and body
    headers.pop(b"Content-Encoding", None)  # as after decoding
    cls = responsetypes.from_headers(headers)
    return cls is not Response and not issubclass(cls, HtmlResponse)


class PageBuilder:
    """Builds pages from response records; ``decoder`` is the crawl's compression middleware
    (None when ``COMPRESSION_ENABLED`` is off: bodies are then used as stored, as a crawl would)."""

    def __init__(self, decoder: HttpCompressionMiddleware | None, source: str) -> None:
        self.decoder = decoder
        self.source = source

    def build(self, record: HttpResponseRecord) -> PageCapture | str:
        """The page, or why it is skipped (``too_large``, ``undecodable``, ``bad_url``, ``not_html``)."""
        headers = scrapy_headers(record.headers)
        cls = responsetypes.from_args(headers=headers, url=record.url, body=record.body)
        response: Response = cls(url=record.url, status=record.status, headers=headers, body=record.body)
        if self.decoder is not None and _encodings(headers):
            try:
                request = Request(record.url)
            except ValueError:  # no scheme: nothing a crawl could have fetched
                return "bad_url"
            try:
                decoded = self.decoder.process_response(request, response)
            except IgnoreRequest:
                return "too_large"
            except Exception:  # zlib.error, OSError, brotli.error...: a body that does not decode
                return "undecodable"
            assert isinstance(decoded, Response)
            response = decoded
        if not is_html(response):
            return "not_html"
        assert isinstance(response, TextResponse)
        location = record.location
        return PageCapture(
            url=record.url,
            html=response.text,
            source=self.source,
            status=record.status,
            content_type=header(headers, "Content-Type"),
            content_length=len(record.body),
            fetched_at=location.date,
            warc=location.as_dict(),
        )


def _encodings(headers: Headers) -> list[str]:
    return [
        encoding.strip().lower()
        for value in headers.getlist("Content-Encoding")
        for encoding in value.decode("latin-1").split(",")
        if encoding.strip()
    ]
