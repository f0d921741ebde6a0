"""``scrapy crawl urls``: a given list of article URLs.

``-a urls=URL1,URL2`` or ``-a file=PATH`` (one URL a line, ``#`` comments) crawl those URLs;
without either, the ``urls`` of the sources file are crawled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsarchive.config import Source, validate_url
from newsarchive.exceptions import ConfigError
from spiders.base import SourceSpider


class UrlsSpider(SourceSpider):
    """Archives the given article URLs."""

    name = "urls"
    kinds = ("urls",)

    def __init__(self, *args: Any, urls: str | None = None, file: str | None = None, **kwargs: Any) -> None:
        self._given = _given_urls(urls, file)
        super().__init__(*args, **kwargs)

    def load_sources(self, path: str, name: str | None) -> tuple[Source, ...]:
        if self._given is None:
            return super().load_sources(path, name)
        return (Source(name=name or "command-line", urls=tuple(self._given)),)


def _given_urls(urls: str | None, file: str | None) -> list[str] | None:
    if urls is None and file is None:
        return None
    given: list[tuple[str, str]] = []
    if urls:
        given += [("-a urls", u.strip()) for u in urls.split(",") if u.strip()]
    if file:
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"{file}: cannot read URL list: {exc}") from None
        given += [
            (f"{file}:{n}", line.strip())
            for n, line in enumerate(lines, 1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
    for where, url in given:
        if problem := validate_url(url):
            raise ConfigError(f"{where}: {problem}")
    if not given:
        raise ConfigError("-a urls / -a file: no URLs given")
    return [url for _, url in given]
