"""``newsarchive upload``: recover what killed crawls left open, index WARC files that lack an
index, and send every file still in the spool to the store; what a crawl does at its start,
without crawling."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from newsarchive.layout import ArchiveLayout
from newsarchive.storage.closing import files_to_finish, finish_file
from newsarchive.storage.publisher import SpoolPublisher
from newsarchive.storage.recovery import recover_abandoned
from newsarchive.storage.s3 import S3Store

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


def upload_pending(settings: BaseSettings, out: TextIO) -> int:
    """0 when the spool holds nothing the store lacks afterwards, 1 otherwise."""
    layout = ArchiveLayout.from_settings(settings)
    recovered = recover_abandoned(layout)
    for file in recovered:
        print(f"recovered {file.describe()}", file=out)
    publisher = None
    if layout.remote is not None:
        store = S3Store.from_settings(settings, layout.remote)
        publisher = SpoolPublisher(layout, store, keep_local=settings.getbool("ARCHIVE_KEEP_LOCAL"))
    try:
        done = [
            finish_file(layout, path, publisher, index=settings.getbool("WARC_INDEX"))
            for path in files_to_finish(layout, recovered, publisher)
        ]
    finally:
        if publisher is not None:
            publisher.close()
    if publisher is None:
        print(f"{layout.root} is a local archive: nothing to upload", file=out)
        return 0
    results = [published for file in done for published in file.published]
    stored = [r for r in results if r.outcome is not None]
    for result in results:
        status = result.outcome.value if result.outcome else f"FAILED ({result.error})"
        print(f"{result.path.name} -> {result.url}: {status}", file=out)
    failed = len(results) - len(stored)
    print(
        f"{len(stored)} of {len(results)} files in {layout.remote} "
        f"({sum(r.size for r in stored) / 1e6:.1f} MB); {failed} still in {layout.root}",
        file=out,
    )
    return 1 if failed else 0
