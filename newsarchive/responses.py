"""What the crawl's spiders and ``newsarchive reprocess`` both ask of a response, answered once."""

from __future__ import annotations

from scrapy.http import Headers, HtmlResponse, Response, TextResponse

HTML_TYPES = ("text/html", "application/xhtml+xml")


def header(headers: Headers, name: str) -> str:
    """The last value of header ``name``, decoded as HTTP allows (latin-1); "" when absent."""
    value = headers.get(name)
    return value.decode("latin-1") if value else ""


def mime_type(headers: Headers) -> str:
    return header(headers, "Content-Type").split(";")[0].strip().lower()


def is_html(response: Response) -> bool:
    """An article candidate: an HTML response class, or a text response with an HTML type."""
    if not isinstance(response, TextResponse):
        return False
    return isinstance(response, HtmlResponse) or mime_type(response.headers) in HTML_TYPES
