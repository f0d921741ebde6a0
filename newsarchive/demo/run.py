"""``newsarchive demo``: serve the demo web on 127.0.0.1, crawl it with ``news``, report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsarchive.cli import configure_scrapy_environment
from newsarchive.config import load_sources
from newsarchive.demo.server import DEMO_PORTS, MultiSiteServer, demo_sites
from newsarchive.layout import ArchiveLayout
from newsarchive.storage.s3 import S3Store
from newsarchive.summary import RunCounts

if TYPE_CHECKING:
    from scrapy.settings import Settings


def run_demo(archive: str, sources: str, settings: dict[str, str]) -> int:
    load_sources(sources)  # a bad file fails here, before any server starts
    configure_scrapy_environment()
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    project = get_project_settings()
    project.set("ARCHIVE_URI", archive, "cmdline")
    project.set("LOG_LEVEL", "WARNING", "cmdline")
    project.setdict(settings, "cmdline")
    with MultiSiteServer(demo_sites(), ports=DEMO_PORTS) as web:
        print(f"Demo web: {', '.join(f'{name} {web.url(name)}' for name in web.sites)}")
        process = CrawlerProcess(project)
        crawler = process.create_crawler("news")
        process.crawl(crawler, sources=sources)
        process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(report(stats, ArchiveLayout.from_settings(project), archive_files(project)))
    return 0 if stats.get("finish_reason") == "finished" else 1


def archive_files(settings: Settings) -> tuple[list[str], list[str]]:
    """The archive's WARC and JSON files: paths, or ``s3://`` URLs of a remote archive."""
    layout = ArchiveLayout.from_settings(settings)
    if layout.remote is None:
        return (
            [str(p) for p in sorted(layout.warc_dir.glob("*.warc.gz"))],
            [str(p) for p in sorted(layout.json_dir.glob("*.jsonl"))],
        )
    store = S3Store.from_settings(settings, layout.remote)
    bucket = layout.remote.bucket
    warcs, jsons = ([f"s3://{bucket}/{key}" for key in store.keys(name)] for name in ("warc", "json"))
    return warcs, jsons


def report(stats: dict[str, object], layout: ArchiveLayout, files: tuple[list[str], list[str]]) -> str:
    """What the demo crawl produced, where it is, and how to look at it."""
    counts = RunCounts.from_stats(stats)
    warcs, jsons = files
    warc_dir = layout.warc_location
    local_dir = "archive" if layout.remote else str(layout.root)
    lines = [
        "",
        f"Crawl {stats.get('finish_reason')}: {counts.responses} responses, {counts.failures} failures",
        (
            f"WARC: {counts.warc_records} records, {counts.warc_bytes / 1e3:.0f} kB written this run; "
            f"{len(warcs)} files in {warc_dir}"
        ),
        (
            f"Articles: {counts.articles} extracted this run, {counts.non_articles} pages without "
            f"article, {counts.skipped} skipped as already archived"
        ),
        f"JSON: {', '.join(jsons[-1:]) or 'none'}"
        + (f" (and {len(jsons) - 1} earlier runs)" if len(jsons) > 1 else ""),
        "",
        "Replay the capture in pywb (`make tools` installs it in its own virtualenv):",
        *(
            [f"  aws s3 sync {layout.remote} archive   # (with --endpoint-url for other stores)"]
            if layout.remote
            else []
        ),
        f"  newsarchive replay {local_dir}   # then open http://127.0.0.1:8080/archive/<URL>",
        (
            f"Or `newsarchive wacz {local_dir} -o demo.wacz` and open it in https://replayweb.page;"
            f" rebuild the JSON from the WARC files with `newsarchive rebuild-json {local_dir}/warc`."
        ),
    ]
    return "\n".join(lines)
