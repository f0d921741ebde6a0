"""The JSON feed's storage: ``archive:json/<file name>`` in ``FEEDS``.

The feed is written like a WARC file: ``json/<name>.open``, locked while the crawl lives,
renamed when Scrapy closes the feed (a SIGTERM included), then published to the archive's
store. A file left ``.open`` by a killed crawl is recovered at the next start.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from newsarchive.exceptions import SettingsError
from newsarchive.layout import ArchiveLayout
from newsarchive.storage.extension import ArchiveStorage
from newsarchive.storage.openfiles import OPEN_SUFFIX, close_open_file, create_open_file
from newsarchive.warc.writer import safe_name_part

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

SCHEME = "archive"


class ArchiveFeedStorage:
    """``FEED_STORAGES["archive"]``: a feed file in the archive's ``json/`` directory."""

    def __init__(self, uri: str, crawler: Crawler) -> None:
        path = PurePosixPath(urlsplit(uri).path)
        if path.parent != PurePosixPath("json") or not path.name:
            raise SettingsError(f"FEEDS: {uri!r}: an archive feed is archive:json/<file name>")
        self.name = safe_name_part(path.name, "feed.jsonl")
        self.crawler = crawler  # FeedExporter builds storages before the extensions all exist
        self.path = ArchiveLayout.from_settings(crawler.settings).json_dir / self.name

    @classmethod
    def from_crawler(cls, crawler: Crawler, uri: str, *, feed_options: dict | None = None) -> Self:
        return cls(uri, crawler)

    def open(self, spider: Spider) -> IO[bytes]:
        stem, dot, suffix = self.name.partition(".")
        for attempt in range(1000):
            name = self.name if attempt == 0 else f"{stem}-{attempt}{dot}{suffix}"
            file = create_open_file(self.path.parent, name)
            if file is not None:  # else another crawl of this spider started in the same second
                self.path = self.path.parent / name
                return file
        raise FileExistsError(f"{self.path}: 1000 feed files of this name exist")

    def store(self, file: IO[bytes]) -> Deferred:
        final = close_open_file(file, self.path.with_name(self.path.name + OPEN_SUFFIX))  # type: ignore[arg-type]
        return ArchiveStorage.of(self.crawler).file_closed(final)
