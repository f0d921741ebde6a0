"""Crawl throughput: the full newsarchive crawl against bare Scrapy and trafilatura alone.

Extraction is the expensive part of a crawl (tens of milliseconds of CPU a page, against a
few for fetching), so this bench asks how close the full crawl (fetch, WARC, extraction in a
process pool, JSON lines) gets to the limit set by extraction alone on every core. Each
measurement covers the same real pages; they run one after the other, never in parallel
(they would share the cores):

- full newsarchive crawl        ``scrapy crawl urls``, add-on on, in a subprocess
- bare Scrapy                   ``scrapy runspider bench/bare_spider.py -s ADDONS={}``
- trafilatura, 1 core           ``ArticleExtractor.extract`` in this process
- trafilatura, all cores        a pebble pool as pipelines/extract.py runs it, warmed up
- trafilatura, all cores, cold  the same pool's first pass: start-up included, as in a crawl

The pages are served gzip-encoded, as stored, by the project's ``MultiSiteServer`` from
threads of this process: the stored bytes are sent as they are (no compression per request),
and this process is otherwise idle while a crawl subprocess runs. bench/README.md says how
to read the output.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/crawl_throughput.py` puts bench/ on the path
    sys.path.insert(0, str(REPO))

from pebble import ProcessPool  # noqa: E402

from newsarchive.demo.server import MultiSiteServer, Resource, Site  # noqa: E402
from newsarchive.extract import (  # noqa: E402
    ArticleExtractor,
    ExtractConfig,
    extract_in_worker,
    init_worker,
    pool_context,
)

DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
CORPUS_GLOBS = (
    "aeb-article-extraction-benchmark/html/*.html.gz",
    "fundus-parser-test-data/*/*.html.gz",
)
BARE_SPIDER = Path(__file__).resolve().parent / "bare_spider.py"
SITE = "corpus"
CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "ROBOTSTXT_OBEY": "False",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
    "LOG_LEVEL": "WARNING",
}
FULL = "full newsarchive crawl"
BARE = "bare Scrapy"
ONE_CORE = "trafilatura, 1 core"
ALL_CORES = "trafilatura, all cores"
ALL_CORES_COLD = "trafilatura, all cores, cold"
ORDER = (FULL, BARE, ONE_CORE, ALL_CORES, ALL_CORES_COLD)
JSON_LINES_TOLERANCE = 0.02
"""The full crawl may publish this fraction of articles more or fewer than in-process
extraction finds (a page near a limit) before the run is declared broken."""


@dataclass(frozen=True)
class Page:
    """One page to crawl and extract: its URL on the local server and its HTML."""

    url: str
    html: str


@dataclass(frozen=True)
class Bench:
    """What every round works on."""

    pages: list[Page]
    url_file: Path
    """The pages' URLs, one a line, for ``-a file=``."""
    config: ExtractConfig
    settings: dict[str, str]
    """``-s`` settings of both crawls."""


@dataclass
class Measurement:
    """One timed pass over all pages."""

    name: str
    pages: int
    seconds: float
    """What the rate is computed from (for a crawl: its own elapsed_time_seconds)."""
    cpu_seconds: float
    """CPU of the work measured (for a crawl: its whole process tree, start-up included)."""
    others_cores: float | None = None
    """Cores busy with work not ours meanwhile (other processes, the hypervisor), on average."""
    process_seconds: float | None = None
    """For a crawl: from process start to exit."""
    main_cpu_seconds: float | None = None
    """For a crawl: CPU of the crawl process alone (reactor, middlewares, pipelines)."""
    extract_cpu_seconds: float | None = None
    """For the full crawl: CPU its workers spent in trafilatura (its own stat)."""
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the pass does not measure what it should (the bench then exits with status 1)."""

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else float("nan")

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_seconds / self.pages if self.pages else float("nan")


# --- CPU accounting ------------------------------------------------------------------------
# The machines here are shared: a pass taken while another process kept a core busy is slower
# for that reason alone. Machine-wide busy time minus our own says how much that was.

_TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot, stolen time included; None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _TICK


def own_cpu() -> float:
    """CPU seconds of this process; while a crawl runs, that is the server threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """CPU seconds of every finished, waited-for descendant (a crawl and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu_seconds(pid: int | None = None) -> float:
    """CPU seconds of a process (default: this one) and all its descendants, ended or not.

    getrusage counts children once reaped only; a pool's workers live on: /proc is read."""
    if pid is None:
        pid, total = os.getpid(), own_cpu() + children_cpu()
    else:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0  # ended meanwhile: counted by whoever reaped it
        total = sum(int(x) for x in fields[11:15]) / _TICK  # utime stime cutime cstime
    return total + sum(tree_cpu_seconds(child) for child in _children(pid))


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as file:
                children += [int(x) for x in file.read().split()]
        except OSError:
            continue
    return children


class CpuMeter:
    """Started when made; :meth:`others_cores` is what the rest of the machine used since."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self._machine = machine_busy_seconds()
        self._ours = tree_cpu_seconds()

    def others_cores(self, ours: float | None = None) -> float | None:
        """``ours``: our CPU seconds since the start when known better than by the tree walk."""
        machine, wall = machine_busy_seconds(), time.perf_counter() - self.started
        if machine is None or self._machine is None or wall <= 0:
            return None
        if ours is None:
            ours = tree_cpu_seconds() - self._ours
        return max(0.0, (machine - self._machine - ours) / wall)


# --- corpus and server ---------------------------------------------------------------------


def corpus_files(root: Path, limit: int | None) -> list[Path]:
    """Both corpora in a fixed order, so every pass sees the same pages in the same order."""
    files = [path for pattern in CORPUS_GLOBS for path in sorted(root.glob(pattern))]
    if not files:
        raise SystemExit(f"no pages under {root} ({', '.join(CORPUS_GLOBS)}); see --corpora")
    return files[:limit] if limit else files


def url_path(root: Path, file: Path, copy: int) -> str:
    """``/r<copy>/<path in the corpora>`` minus ``.gz``: the copy number keeps URLs unique."""
    return f"/r{copy}/{file.relative_to(root).as_posix().removesuffix('.gz')}"


def build_site(root: Path, files: list[Path], repeat: int) -> tuple[Site, dict[str, str]]:
    """A site answering each page under ``repeat`` paths, and the HTML of every path.

    The body is the stored gzip file itself, sent with ``Content-Encoding: gzip`` and no
    ``encoding`` (which would compress again on every request): the server only writes."""
    site = Site(SITE)
    html_by_path: dict[str, str] = {}
    for file in files:
        encoded = file.read_bytes()
        html = gzip.decompress(encoded).decode("utf-8", errors="replace")
        answer = Resource(body=encoded, headers=[("Content-Encoding", "gzip")])
        for copy in range(repeat):
            path = url_path(root, file, copy)
            site.resources[path] = answer
            html_by_path[path] = html
    return site, html_by_path


@contextmanager
def serving(site: Site) -> Iterator[MultiSiteServer]:
    """The site on 127.0.0.1, on a port the OS picks; checks the bodies go out untouched."""
    server = MultiSiteServer([site]).start()
    try:
        # The server expands {{site:NAME}} placeholders in text bodies: compressed bytes that
        # happened to hold one would reach the crawler as a corrupt gzip stream.
        for path, answer in site.resources.items():
            if server.expand(answer.body) != answer.body:
                raise SystemExit(f"{path}: the gzip bytes hold a {{{{site:}}}} placeholder")
        yield server
    finally:
        server.stop()


# --- extraction alone ----------------------------------------------------------------------


def measure_one_core(bench: Bench) -> tuple[Measurement, int]:
    """Extraction in this process, after one untimed page (lazy loading takes ~1.5 s).

    Also returns how many pages hold an article: the full crawl must publish about as many."""
    pages = bench.pages
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # as init_worker() does
    extractor = ArticleExtractor(bench.config)
    extractor.extract(pages[0].html, pages[0].url)
    articles = 0
    meter, cpu_started = CpuMeter(), time.process_time()
    for page in pages:
        articles += extractor.extract(page.html, page.url) is not None
    seconds = time.perf_counter() - meter.started
    cpu = time.process_time() - cpu_started
    notes = [f"{articles} of {len(pages)} pages hold an article"]
    measurement = Measurement(ONE_CORE, len(pages), seconds, cpu, meter.others_cores(), notes=notes)
    return measurement, articles


def measure_all_cores(bench: Bench) -> list[Measurement]:
    """Extraction in a pebble pool set up as ExtractPipeline sets it up, over the pages twice.

    The cold pass starts the pool and sends every page at once, as in a crawl: the rate
    includes spawning the workers, importing trafilatura and each worker's slow first page.
    The warm pass sends the pages again to the same pool: the extraction-bound limit of a
    crawl that has been running a while, with pool start-up left out."""
    config, workers = bench.config, bench.config.pool_size
    meter = CpuMeter()
    pool = ProcessPool(
        max_workers=workers,
        initializer=init_worker,
        initargs=(config,),
        context=pool_context(),
    )
    try:
        cold = _pool_pass(pool, bench.pages, config, meter, ALL_CORES_COLD)
        warm = _pool_pass(pool, bench.pages, config, CpuMeter(), ALL_CORES)
    finally:
        pool.close()
        pool.join()
    return [warm, cold]


def _pool_pass(
    pool: ProcessPool, pages: list[Page], config: ExtractConfig, meter: CpuMeter, name: str
) -> Measurement:
    """Every page through the pool, timed from the meter's start to the last result."""
    futures = [
        pool.schedule(extract_in_worker, args=(page.html, page.url), timeout=config.timeout) for page in pages
    ]
    cpu, articles, failures = 0.0, 0, 0
    for future in futures:
        try:
            fields, page_cpu = future.result()
        except Exception:  # a timeout, a dead worker, an error: counted, as the pipeline does
            failures += 1
            continue
        cpu += page_cpu
        articles += fields is not None
    seconds = time.perf_counter() - meter.started
    notes = [f"{failures} pages failed (timeouts or errors)"] if failures else []
    return Measurement(name, len(pages), seconds, cpu, meter.others_cores(), notes=notes)


# --- crawls --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrawlRun:
    """What a crawl subprocess left behind."""

    command: list[str]
    wall_seconds: float
    cpu_seconds: float
    """The crawl's process tree."""
    main_cpu_seconds: float | None
    """The crawl process alone, without its extraction workers (None off Linux)."""
    server_cpu_seconds: float
    others_cores: float | None
    returncode: int
    stats: dict[str, object]
    log: str


def scrapy_command(settings: dict[str, str], *args: str) -> list[str]:
    """``python -m scrapy ARGS -s NAME=VALUE...``: both crawls get the same settings."""
    options = [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    return [sys.executable, "-m", "scrapy", *args, *options]


def run_crawl(command: list[str], stats_file: Callable[[], Path | None], log: Path) -> CrawlRun:
    """Run one crawl from the repository root, timed from process start to exit."""
    env = dict(os.environ, TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    cpu_before, server_before = children_cpu(), own_cpu()
    meter = CpuMeter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
        main_cpu, tree_cpu = _exited_process_cpu(process.pid)
        returncode = process.wait()
    wall = time.perf_counter() - meter.started
    # The extraction workers are children of a fork server, which nobody reaps into the
    # crawl's account: the tree as last seen alive counts them.
    cpu = max(children_cpu() - cpu_before, tree_cpu)
    server_cpu = own_cpu() - server_before
    others = meter.others_cores(ours=cpu + server_cpu)
    path = stats_file()
    stats = json.loads(path.read_text(encoding="utf-8")) if path else {}
    text = log.read_text(encoding="utf-8", errors="replace")
    return CrawlRun(command, wall, cpu, main_cpu, server_cpu, others, returncode, stats, text)


def _exited_process_cpu(pid: int) -> tuple[float | None, float]:
    """Watch ``pid`` until it exits: its own CPU seconds (read before it is reaped), and the
    CPU seconds of its whole process tree as last seen alive (sampled every 0.1 s).

    Once reaped, its CPU and its workers' come only as one sum; the split says how much of
    a page's cost lands in the one process that also runs the reactor."""
    tree = 0.0
    try:
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
            tree = max(tree, tree_cpu_seconds(pid))
            time.sleep(0.1)
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (AttributeError, OSError):
        return None, tree
    return (int(fields[11]) + int(fields[12])) / _TICK, tree  # utime stime: not its children's


def measure_full(bench: Bench, expected_articles: int) -> Measurement:
    """The real crawl, checked afterwards: a crawl that fails fast looks fast."""
    pages = len(bench.pages)
    with tempfile.TemporaryDirectory(prefix="bench-full-") as tmp:
        archive = Path(tmp) / "archive"
        command = scrapy_command(
            bench.settings, "crawl", "urls", "-a", f"file={bench.url_file}",
            "-s", f"ARCHIVE_URI={archive}",
        )  # fmt: skip
        runs = archive / "state" / "runs"
        run = run_crawl(command, lambda: min(runs.glob("*.json"), default=None), Path(tmp) / "log")
        json_lines = sum(
            1
            for path in (archive / "json").glob("*.jsonl")
            for line in path.open(encoding="utf-8")
            if line.strip()
        )
        warc_mb = sum(path.stat().st_size for path in (archive / "warc").glob("*")) / 1e6
    measurement = crawl_measurement(FULL, run, pages)
    extract = float(run.stats.get("newsarchive/extract/seconds", 0.0))  # type: ignore[arg-type]
    measurement.extract_cpu_seconds = extract
    measurement.notes += [
        f"JSON lines {json_lines}; in-process extraction found {expected_articles} articles",
        (
            f"CPU a page: trafilatura (workers) {1000 * extract / pages:.1f} ms, everything else"
            f" {1000 * (run.cpu_seconds - extract) / pages:.1f} ms; WARC files {warc_mb:.1f} MB"
        ),
    ]
    if abs(json_lines - expected_articles) > max(2, JSON_LINES_TOLERANCE * expected_articles):
        measurement.problems.append(f"{json_lines} JSON lines, expected {expected_articles}")
    return measurement


def measure_bare(bench: Bench) -> Measurement:
    """Bare Scrapy over the same URLs: the add-on off, a callback doing nothing."""
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        stats = Path(tmp) / "stats.json"
        command = scrapy_command(
            bench.settings, "runspider", str(BARE_SPIDER), "-a", f"file={bench.url_file}",
            "-a", f"stats={stats}", "-s", "ADDONS={}",
        )  # fmt: skip
        run = run_crawl(command, lambda: stats if stats.exists() else None, Path(tmp) / "log")
    return crawl_measurement(BARE, run, len(bench.pages))


def crawl_measurement(name: str, run: CrawlRun, pages: int) -> Measurement:
    """A crawl's rate from its own elapsed_time_seconds, and the checks every crawl passes."""
    elapsed = float(run.stats.get("elapsed_time_seconds", float("nan")))  # type: ignore[arg-type]
    ok = run.stats.get("downloader/response_status_count/200", 0)
    measurement = Measurement(
        name, pages, elapsed, run.cpu_seconds, run.others_cores,
        process_seconds=run.wall_seconds, main_cpu_seconds=run.main_cpu_seconds,
    )  # fmt: skip
    measurement.notes.append(
        f"{ok} responses 200; server CPU {1000 * run.server_cpu_seconds / pages:.2f} ms a page"
    )
    logged = [line for line in run.log.splitlines() if " WARNING: " in line or " ERROR: " in line]
    if logged:
        measurement.notes.append(f"{len(logged)} warnings or errors logged, first: {logged[0]}")
    problems = measurement.problems
    if run.returncode:
        problems.append(f"exit status {run.returncode}")
    if not run.stats:
        problems.append("no stats written")
    if ok != pages:
        problems.append(f"{ok} responses 200 for {pages} pages")
    if problems:
        problems.append(f"command: {shlex.join(run.command)}\n--- log ---\n{run.log[-3000:]}")
    return measurement


# --- report --------------------------------------------------------------------------------


def machine_info() -> list[str]:
    """Enough to tell two runs' machines apart; the load average says how busy it was."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text(errors="replace").splitlines() if cpuinfo.exists() else []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "?")
    names = ("scrapy", "trafilatura", "twisted", "lxml", "pebble")
    packages = ", ".join(f"{name} {version(name)}" for name in names)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {os.cpu_count()} cores ({model}), {platform.platform()}, load {load}",
        f"python:  {platform.python_version()}; {packages}",
    ]


def ratios(rounds: list[dict[str, Measurement]], workers: int) -> list[tuple[str, float, str]]:
    """The figures that matter, each the median over rounds of a ratio within one round, so
    that a slow spell of the machine weighs on both sides of a ratio alike."""

    def median(top: str, bottom: str) -> float:
        rates = [r[top].pages_per_second / r[bottom].pages_per_second for r in rounds]
        return statistics.median(rates)

    scaling = median(ALL_CORES, ONE_CORE)
    overhead = _median([_overhead(r[FULL]) for r in rounds])
    return [
        ("full / trafilatura all cores", median(FULL, ALL_CORES), "target >= 0.90"),
        ("full / trafilatura all cores, cold", median(FULL, ALL_CORES_COLD), "start-up both sides"),
        ("bare Scrapy / full", median(BARE, FULL), "how much faster fetching alone is"),
        ("trafilatura all cores / 1 core", scaling, f"{scaling / workers:.0%} of {workers}x"),
        ("crawl process CPU / trafilatura CPU", float("nan") if overhead is None else overhead,
         "in the full crawl; about 0.10 or less for the target"),
    ]  # fmt: skip


def _overhead(full: Measurement) -> float | None:
    """The crawl process's CPU (Scrapy, WARC, JSON, its start-up) against trafilatura's.

    With every core busy, the crawl process takes its CPU from the extraction workers: the
    full crawl then runs at about 1 / (1 + this) of the extraction-bound rate."""
    if full.main_cpu_seconds is None or not full.extract_cpu_seconds:
        return None
    return full.main_cpu_seconds / full.extract_cpu_seconds


def _per_page(runs: list[Measurement], seconds: Callable[[Measurement], float | None]) -> str:
    """Median milliseconds a page of a CPU figure, or '-' where it was not measured."""
    known = [1000 * value / m.pages for m in runs if (value := seconds(m)) is not None]
    return f"{statistics.median(known):.1f} ms" if known else "-"


def _median(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def _cell(value: float | None, spec: str, width: int) -> str:
    return format(value, spec).rjust(width) if value is not None else "-".rjust(width)


def print_report(rounds: list[dict[str, Measurement]], workers: int) -> None:
    """A table of medians over rounds, the ratios, then every note."""
    print(
        f"\n{'measurement':<28} {'pages':>5} {'seconds':>8} {'pages/s':>8} {'range':>11}"
        f" {'CPU ms/page':>11} {'others':>6} {'start-exit':>10}"
    )
    for name in ORDER:
        runs = [r[name] for r in rounds]
        rates = [m.pages_per_second for m in runs]
        print(
            f"{name:<28} {runs[0].pages:>5} {statistics.median(m.seconds for m in runs):>8.2f}"
            f" {statistics.median(rates):>8.1f} {f'{min(rates):.1f}-{max(rates):.1f}':>11}"
            f" {statistics.median(m.cpu_ms_per_page for m in runs):>11.1f}"
            f" {_cell(_median([m.others_cores for m in runs]), '.2f', 6)}"
            f" {_cell(_median([m.process_seconds for m in runs]), '.2f', 10)}"
        )
    print(
        "medians over rounds. range: of pages/s. CPU: of the process tree, start-up included."
        "\nothers: cores busy with work not ours meanwhile. start-exit: crawl process start to"
        " exit;\nthe crawl rates use the crawls' own elapsed_time_seconds. all cores: a pool of"
        f" {workers} workers,\nwarm; cold: the same pool's first pass, its start-up included."
    )
    full, bare = [r[FULL] for r in rounds], [r[BARE] for r in rounds]
    print(
        f"\nCPU a page, full crawl: crawl process {_per_page(full, lambda m: m.main_cpu_seconds)}"
        f" (bare Scrapy: {_per_page(bare, lambda m: m.main_cpu_seconds)}), extraction workers"
        f" {_per_page(full, lambda m: m.cpu_seconds - (m.main_cpu_seconds or 0.0))}"
        f" (in trafilatura: {_per_page(full, lambda m: m.extract_cpu_seconds)})"
    )
    plural = "s" if len(rounds) > 1 else ""
    print(f"\nratios (median over {len(rounds)} round{plural} of ratios within a round)")
    for label, value, comment in ratios(rounds, workers):
        print(f"  {label:<39} {value:5.2f}   {comment}")
    print("\nnotes")
    for number, round_ in enumerate(rounds, 1):
        for name in ORDER:
            for note in round_[name].notes:
                print(f"  {number}. {name}: {note}")


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Pages/s of the full newsarchive crawl against bare Scrapy and trafilatura"
        " alone (1 core, all cores), over real pages served gzip-encoded from 127.0.0.1."
        " The default run takes 3 to 4 minutes on 2 cores.",
    )
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help="corpora folder (%(default)s)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N pages")
    parser.add_argument("--repeat", type=int, default=1, metavar="K", help="serve each page under K URLs (1)")
    parser.add_argument(
        "--rounds", type=int, default=2, metavar="R", help="take each measurement R times (2)"
    )
    parser.add_argument(
        "--workers", type=int, default=0, metavar="W", help="extraction processes (0: per core)"
    )
    args = parser.parse_args(argv)
    for name in ("repeat", "rounds", "limit"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.workers < 0:
        parser.error("--workers must be 0 (one per core) or more")
    return args


def run_round(bench: Bench, number: int, total: int) -> dict[str, Measurement]:
    """Every measurement once, strictly one after the other: they would fight for the cores."""
    results: dict[str, Measurement] = {}

    def done(measurement: Measurement) -> None:
        results[measurement.name] = measurement
        rate = measurement.pages_per_second
        print(f"  round {number}/{total}  {measurement.name:<28} {rate:7.1f} pages/s", flush=True)

    one_core, articles = measure_one_core(bench)
    done(one_core)
    for measurement in measure_all_cores(bench):
        done(measurement)
    done(measure_full(bench, articles))
    done(measure_bare(bench))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = ExtractConfig(workers=args.workers)
    files = corpus_files(args.corpora, args.limit)
    site, html_by_path = build_site(args.corpora, files, args.repeat)
    print("\n".join(machine_info()))
    print(
        f"corpus:  {len(files)} pages x {args.repeat} URLs = {len(html_by_path)} pages a pass;"
        f" {args.rounds} rounds; {config.pool_size} extraction workers"
    )
    with serving(site) as server, tempfile.TemporaryDirectory(prefix="bench-urls-") as tmp:
        pages = [Page(server.url(SITE, path), html) for path, html in html_by_path.items()]
        url_file = Path(tmp) / "urls.txt"
        url_file.write_text("".join(f"{page.url}\n" for page in pages), encoding="utf-8")
        settings = dict(CRAWL_SETTINGS, EXTRACT_WORKERS=str(args.workers))
        bench = Bench(pages, url_file, config, settings)
        rounds = [run_round(bench, n, args.rounds) for n in range(1, args.rounds + 1)]
    print_report(rounds, config.pool_size)
    problems = [(m.name, p) for r in rounds for m in r.values() for p in m.problems]
    for name, problem in problems:
        print(f"\nBROKEN RUN, {name}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
