"""Reprocess throughput: ``newsarchive reprocess`` against a plain warcio pass over the same WARC.

The WARC holds the 439 real article pages of ../shared/corpora (AEB and Fundus), each as a
request and a response record the way a crawler stores them (one gzip member per record; every
other body still gzip-encoded, as news sites send it), ``--repeat K`` times under new URLs.
Measured one after the other, never in parallel:

- warcio                      ``for record in ArchiveIterator(f): record.content_stream().read()``
- reprocess, no extraction    ``python -m newsarchive.reprocess WARC -s EXTRACT_ENABLED=False``:
                              reading, decoding, page building, Scrapy's item path, the feed
- reprocess                   the same with extraction (trafilatura in the pool) and dedup

Rates are records read per second; a reprocess run is timed by its own ``elapsed_time_seconds``
(spider open to close; interpreter start-up and pool start excluded), its peak RSS is the main
process's (``wait4``; the extraction workers are apart). ``--max-pending N`` sets
``REPROCESS_MAX_PENDING`` (a huge value shows what the bound saves).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
CORPUS_GLOBS = (
    "aeb-article-extraction-benchmark/html/*.html.gz",
    "fundus-parser-test-data/*/*.html.gz",
)
WARCIO = "warcio (content_stream().read())"
NO_EXTRACT = "reprocess, no extraction"
FULL = "reprocess"


@dataclass(frozen=True)
class Measurement:
    name: str
    records: int
    seconds: float
    process_seconds: float | None = None
    peak_rss_mb: float | None = None
    handed_on: int | None = None
    articles: int | None = None

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else float("nan")


def corpus_pages(corpora: Path, limit: int | None) -> list[tuple[str, bytes]]:
    """(name, stored .html.gz bytes) of every corpus page, in a fixed order."""
    paths = sorted(p for pattern in CORPUS_GLOBS for p in corpora.glob(pattern))
    if not paths:
        raise SystemExit(f"no pages under {corpora} ({', '.join(CORPUS_GLOBS)})")
    return [(str(p.relative_to(corpora)), p.read_bytes()) for p in paths[:limit]]


def write_warc(path: Path, pages: list[tuple[str, bytes]], repeat: int) -> int:
    """The bench WARC; returns its number of records."""
    records = 0
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "reprocess bench"}))
        records += 1
        for round_ in range(repeat):
            for number, (name, stored) in enumerate(pages):
                url = f"https://bench.invalid/{round_}/{name.removesuffix('.gz')}"
                encoded = number % 2 == 0
                body = stored if encoded else gzip.decompress(stored)
                headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
                if encoded:
                    headers.append(("Content-Encoding", "gzip"))
                request = writer.create_warc_record(
                    url,
                    "request",
                    http_headers=StatusAndHeaders(
                        f"GET /{round_}/{name} HTTP/1.1", [("Host", "bench.invalid")], is_http_request=True
                    ),
                )
                response = writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                )
                writer.write_request_response_pair(request, response)
                records += 2
    return records


def warcio_pass(path: Path) -> Measurement:
    started = time.perf_counter()
    records = 0
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            record.content_stream().read()
            records += 1
    return Measurement(WARCIO, records, time.perf_counter() - started)


def reprocess_pass(name: str, warc: Path, work: Path, settings: dict[str, str]) -> Measurement:
    archive = work / name.replace(" ", "-").replace(",", "")
    command = [sys.executable, "-m", "newsarchive", "reprocess", str(warc), "-o", str(archive)]
    for key, value in {"LOG_LEVEL": "WARNING", **settings}.items():
        command += ["-s", f"{key}={value}"]
    print(f"  $ {shlex.join(command)}", file=sys.stderr)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    log = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{name}: exit status {process.returncode}\n{log[-3000:]}")
    runs = sorted((archive / "state" / "runs").glob("*.json"))
    stats = json.loads(runs[-1].read_text())
    return Measurement(
        name,
        int(stats["newsarchive/reprocess/records"]),
        float(stats["elapsed_time_seconds"]),
        process_seconds=elapsed,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        handed_on=int(stats.get("newsarchive/reprocess/responses", 0)),
        articles=int(stats.get("newsarchive/extract/articles", 0)),
    )


def table(measurements: list[Measurement], warc: Path, pages: int, repeat: int) -> str:
    base = next(m for m in measurements if m.name == WARCIO)
    lines = [
        (
            f"WARC: {warc.stat().st_size / 1e6:.1f} MB, {base.records} records ({pages} pages x {repeat}, "
            f"request + response each); {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "",
        "| measurement | records | seconds | records/s | ratio to warcio | peak RSS | handed on | articles |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in measurements:
        lines.append(
            f"| {m.name} | {m.records} | {m.seconds:.2f} | {m.rate:,.0f} | {m.rate / base.rate:.3f} | "
            + (f"{m.peak_rss_mb:.0f} MB" if m.peak_rss_mb else "-")
            + f" | {'-' if m.handed_on is None else m.handed_on} | {'-' if m.articles is None else m.articles} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help="corpora folder (%(default)s)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N pages")
    parser.add_argument("--repeat", type=int, default=1, metavar="K", help="each page K times (1)")
    parser.add_argument("--workers", type=int, default=0, help="EXTRACT_WORKERS (0: one per core)")
    parser.add_argument("--max-pending", type=int, help="REPROCESS_MAX_PENDING (default: the setting's)")
    parser.add_argument(
        "--only",
        choices=("warcio", "no-extraction", "full"),
        action="append",
        help="run only these measurements (repeatable; default: all three)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    only = set(args.only or ("warcio", "no-extraction", "full"))
    pages = corpus_pages(args.corpora, args.limit)
    settings = {"EXTRACT_WORKERS": str(args.workers)}
    if args.max_pending:
        settings["REPROCESS_MAX_PENDING"] = str(args.max_pending)
    with tempfile.TemporaryDirectory(prefix="reprocess-bench-") as tmp:
        work = Path(tmp)
        warc = work / "bench.warc.gz"
        write_warc(warc, pages, args.repeat)
        measurements = []
        if "warcio" in only or True:  # the baseline every ratio needs
            warcio_pass(warc)  # warm the page cache: both passes then read from memory
            measurements.append(warcio_pass(warc))
        if "no-extraction" in only:
            measurements.append(
                reprocess_pass(NO_EXTRACT, warc, work, {**settings, "EXTRACT_ENABLED": "False"})
            )
        if "full" in only:
            measurements.append(reprocess_pass(FULL, warc, work, settings))
        print(table(measurements, warc, len(pages), args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
