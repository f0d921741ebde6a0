"""The ``newsarchive`` command: demo, clusters, report, upload, index, replay, wacz, reprocess,
schema, rebuild-json, check-sources.

Crawls themselves run with ``scrapy crawl`` (see README); these are the tools around them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from newsarchive.exceptions import ConfigError, SettingsError
from newsarchive.tools import ToolMissingError

if TYPE_CHECKING:
    from scrapy.settings import Settings

DEMO_SOURCES = "config/demo.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newsarchive", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="serve the bundled demo web on 127.0.0.1 and crawl it")
    demo.add_argument(
        "--archive", default="./archive", help="ARCHIVE_URI to crawl into (default: %(default)s)"
    )
    demo.add_argument("--sources", default=DEMO_SOURCES, help="sources file (default: %(default)s)")
    _settings_option(demo, "a Scrapy setting")

    clusters = commands.add_parser("clusters", help="list the clusters of near-identical articles")
    clusters.add_argument(
        "archive", nargs="?", default="./archive", help="ARCHIVE_URI (default: %(default)s)"
    )
    clusters.add_argument("--json", action="store_true", help="one JSON document, for programs")
    clusters.add_argument("--min-size", type=int, default=2, help="smallest cluster listed (default: 2)")
    _settings_option(
        clusters,
        "a setting, as for scrapy crawl: DEDUP_URI and DEDUP_REDIS_PREFIX name a Redis index "
        "(default: the project's settings; DEDUP_URI empty: ARCHIVE's state/dedup.sqlite)",
    )

    report = commands.add_parser("report", help="write the syndication report: one HTML page of the stories")
    report.add_argument("archive", nargs="?", default="./archive", help="ARCHIVE_URI (default: %(default)s)")
    report.add_argument(
        "-o", "--output", type=Path, default=Path("report.html"), help="page to write (default: %(default)s)"
    )
    report.add_argument(
        "--replay-url",
        default="http://127.0.0.1:8080/archive/",  # newsarchive replay's; a literal: no import here
        help="pywb collection URL the replay links start with (default: %(default)s)",
    )
    report.add_argument("--min-size", type=int, default=2, help="smallest story listed (default: 2)")
    _settings_option(report, "as for clusters: DEDUP_URI, DEDUP_REDIS_PREFIX, ARCHIVE_SPOOL")

    upload = commands.add_parser(
        "upload", help="recover files killed crawls left open and upload what the spool still holds"
    )
    upload.add_argument("archive", nargs="?", help="ARCHIVE_URI (default: the project's ARCHIVE_URI)")
    _settings_option(upload, "a setting (AWS_*, ARCHIVE_SPOOL...)")

    index = commands.add_parser("index", help="write the CDXJ index of each WARC file that lacks one")
    index.add_argument("archive", nargs="?", default="./archive", help="local archive (default: %(default)s)")
    index.add_argument("--rebuild", action="store_true", help="rewrite every index")

    replay = commands.add_parser("replay", help="serve the archive in pywb (its own virtualenv: make tools)")
    replay.add_argument(
        "archive", nargs="?", default="./archive", help="local archive (default: %(default)s)"
    )
    replay.add_argument("-p", "--port", type=int, default=8080, help="(default: %(default)s)")
    replay.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to listen on (default: %(default)s; anything else serves the archive to the network)",
    )

    wacz = commands.add_parser("wacz", help="package the archive as a WACZ file with its articles as pages")
    wacz.add_argument("archive", nargs="?", default="./archive", help="local archive (default: %(default)s)")
    wacz.add_argument("-o", "--output", type=Path, required=True, help="the .wacz file to write")
    wacz.add_argument("--title", help="the collection's title (default: newsarchive: ARCHIVE)")

    reprocess = commands.add_parser(
        "reprocess", help="extract the articles of stored WARC files (any crawler's) into an archive"
    )
    reprocess.add_argument(
        "inputs",
        nargs="+",
        metavar="WARC_OR_DIR",
        help="WARC/ARC files, directories of them (searched recursively), s3://bucket/key or s3://bucket/prefix/",
    )
    reprocess.add_argument(
        "-o",
        "--output",
        metavar="ARCHIVE",
        help="ARCHIVE_URI whose json/ and near-duplicate index get the articles (default: the project's)",
    )
    reprocess.add_argument(
        "--source", default="reprocess", help="the lines' 'source' field (default: %(default)s)"
    )
    _settings_option(reprocess, "a setting (EXTRACT_*, DEDUP_*, AWS_*, REPROCESS_*...)")

    commands.add_parser("schema", help="print the JSON Schema of the article records")

    rebuild = commands.add_parser("rebuild-json", help="print the JSON lines stored in WARC files")
    rebuild.add_argument("warcs", nargs="+", type=Path, help="WARC files or directories")

    check = commands.add_parser("check-sources", help="validate a sources file and list its sources")
    check.add_argument("path", nargs="?", default="config/sources.yaml")

    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from newsarchive.demo.run import run_demo

            return run_demo(args.archive, args.sources, dict(_setting(s) for s in args.set))
        if args.command == "clusters":
            from newsarchive.dedup.report import print_clusters

            return print_clusters(
                args.archive, as_json=args.json, min_size=args.min_size, **_index_options(args.set)
            )
        if args.command == "report":
            from newsarchive.report import write_report

            return write_report(
                args.archive,
                args.output,
                replay_url=args.replay_url,
                min_size=args.min_size,
                **_index_options(args.set),
            )
        if args.command == "upload":
            from newsarchive.storage.command import upload_pending

            settings = project_settings(args.set)
            if args.archive:
                settings.set("ARCHIVE_URI", args.archive, "cmdline")
            return upload_pending(settings, sys.stdout)
        if args.command == "reprocess":
            from newsarchive.reprocess.command import run_reprocess

            return run_reprocess(
                args.inputs, args.output, dict(_setting(s) for s in args.set), source=args.source
            )
        if args.command in ("index", "replay", "wacz"):
            return _archivist_command(args)
        if args.command == "schema":
            from newsarchive.schema import article_schema

            print(json.dumps(article_schema(), indent=2))
            return 0
        if args.command == "rebuild-json":
            from newsarchive.warc.reader import iter_article_json

            for line in iter_article_json(args.warcs):
                sys.stdout.write(line + "\n")
            return 0
        if args.command == "check-sources":
            from newsarchive.config import load_sources

            for source in load_sources(args.path).sources:
                print(
                    f"{source.name}: {len(source.feeds)} feeds, {len(source.sitemaps)} sitemaps, {len(source.urls)} urls"
                )
            return 0
    except (ConfigError, SettingsError, ToolMissingError) as exc:
        print(f"newsarchive: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(args.command)


def _archivist_command(args: argparse.Namespace) -> int:
    from newsarchive.layout import ArchiveLayout

    layout = ArchiveLayout.from_uri(args.archive)
    if args.command == "index":
        from newsarchive.replay import index_archive

        return index_archive(layout, rebuild=args.rebuild)
    if args.command == "replay":
        from newsarchive.replay import run_replay

        return run_replay(layout, port=args.port, bind=args.bind)
    from newsarchive.wacz import write_wacz

    return write_wacz(layout, args.output, title=args.title)


def _index_options(overrides: list[str]) -> dict[str, str]:
    """Where the crawl's near-duplicate index is, from the project's settings (the index it
    used) and ``-s`` overrides: a Redis server and prefix, or the archive's (spooled) state."""
    settings = project_settings(overrides)
    return {
        "dedup_uri": settings.get("DEDUP_URI") or "",
        "redis_prefix": settings.get("DEDUP_REDIS_PREFIX"),
        "spool": settings.get("ARCHIVE_SPOOL") or "",
    }


def _settings_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE", help=text)


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise SystemExit(f"newsarchive: -s expects NAME=VALUE, got {text!r}")
    return name, value


def project_settings(overrides: list[str]) -> Settings:
    """The project's settings (those ``scrapy crawl`` uses), with ``-s NAME=VALUE`` applied."""
    from scrapy.utils.project import get_project_settings

    configure_scrapy_environment()
    settings = get_project_settings()
    settings.setdict(dict(_setting(s) for s in overrides), "cmdline")
    return settings


def configure_scrapy_environment() -> None:
    """What ``scrapy crawl`` finds through scrapy.cfg, for in-process crawls run from anywhere."""
    # newsarchive.settings also keeps tldextract offline, before any crawler component loads.
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newsarchive.settings")
