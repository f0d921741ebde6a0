"""``newsarchive reprocess WARC_OR_DIR... [-o ARCHIVE]``: run the ``reprocess`` spider in this
process, as ``newsarchive demo`` runs ``news``."""

from __future__ import annotations

import sys

from newsarchive.reprocess.inputs import missing_local_inputs

FAILED_FILES = "newsarchive/reprocess/files/failed"


def run_reprocess(
    inputs: list[str], archive: str | None, settings: dict[str, str], *, source: str = "reprocess"
) -> int:
    """Extract the articles of ``inputs`` into ``archive``. Exit status: 0 when every file was
    read to its end, 1 when one was not (the others were processed), 2 for a missing input."""
    missing = missing_local_inputs(inputs)
    if missing:
        print(f"newsarchive reprocess: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    from newsarchive.cli import configure_scrapy_environment

    configure_scrapy_environment()
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    project = get_project_settings()
    if archive:
        project.set("ARCHIVE_URI", archive, "cmdline")
    project.setdict(settings, "cmdline")
    project.set("WARC_ENABLED", False, "cmdline")  # the records are in the files being read
    process = CrawlerProcess(project)
    crawler = process.create_crawler("reprocess")
    process.crawl(crawler, inputs=inputs, source=source)
    process.start()
    try:
        stats = crawler.stats.get_stats() if crawler.stats else {}
    except RuntimeError:  # the crawl did not start (a bad setting, logged above)
        stats = {}
    failed = int(stats.get(FAILED_FILES, 0) or 0)
    return 0 if stats.get("finish_reason") == "finished" and not failed else 1
