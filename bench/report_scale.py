"""The syndication report at 10,000 articles: page size, generation time, Chromium's render time.

    .venv/bin/python bench/report_scale.py [--articles 10000] [--small 1000] [--repeat 3] [--keep DIR]

An archive-like input is built from the real article texts of ``../shared/corpora`` (AEB and
Fundus ground-truth bodies, as ``bench/dedup_quality.py`` loads them): stories whose sizes follow
a heavy tail (most stories reach one or two other sites, a few wire stories reach dozens), each
copy on its own site either verbatim, lightly edited (``light_edit``), with an attribution line
added, or trimmed; a roundup page of excerpts now and then; a third of the articles are in no story.
There are only ~430 real texts, so beyond them a story's text is a real one with every fourth
word replaced (a story of its own for the index). Every article goes through the real :class:`~newsarchive.dedup.MinHasher`
and :class:`~newsarchive.dedup.SqliteIndex` (``add_many``, as the pipeline's documents, keyed by
their WARC record id) into ``state/dedup.sqlite``, and is written as an
:class:`~newsarchive.items.ArticleItem` JSON line with the cluster fields the index answered.

Then :func:`newsarchive.report.write_report` runs in a subprocess (its wall time and peak memory
are measured), once on the whole archive and once on an archive of its first ``--small``
articles. The machines here are noisy, so Chromium's times are ratios against baselines measured
in the same run, interleaved, medians of ``--repeat`` runs: ``chromium --headless --dump-dom`` of
an empty page (start-up), of a plain page holding every article's title and text once (no diff),
and of the small report.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from dedup_quality import CORPORA, load_articles  # noqa: E402

from newsarchive.dedup import MinHasher, SignatureParams  # noqa: E402
from newsarchive.dedup._edits import light_edit  # noqa: E402
from newsarchive.dedup.index import Document, IndexConfig, SqliteIndex  # noqa: E402
from newsarchive.dedup.partial import site_of  # noqa: E402
from newsarchive.items import ArticleItem  # noqa: E402

SITES = 120
SINGLE_SHARE = 1 / 3
"""Share of the articles that are in no story."""
MAX_STORY = 40
SIZE_WEIGHTS = {k: k**-1.6 for k in range(2, MAX_STORY + 1)}
"""Articles of a syndicated story: P(k) ~ k^-1.6 from 2 to :data:`MAX_STORY` (mean 7.3)."""
MEAN_SIZE = sum(k * w for k, w in SIZE_WEIGHTS.items()) / sum(SIZE_WEIGHTS.values())
ALONE = SINGLE_SHARE * MEAN_SIZE / (1 - SINGLE_SHARE + SINGLE_SHARE * MEAN_SIZE)
"""Share of the stories that are alone, so that :data:`SINGLE_SHARE` of the articles are."""
BATCH = 500


def story_size(rng: random.Random) -> int:
    if rng.random() < ALONE:
        return 1
    return rng.choices(list(SIZE_WEIGHTS), weights=list(SIZE_WEIGHTS.values()))[0]


def texts(rng: random.Random) -> Iterator[tuple[str, str]]:
    """(title, text) of every spaced real article, then the same again and again with every
    fourth word replaced by a word of the corpora: each a story of its own, since no 5-word
    shingle, hence no signature value and no passage fingerprint, is left in common."""
    articles = [a for a in load_articles(CORPORA) if a.spaced]
    vocabulary = [word for a in articles for word in a.body.split()]
    result = [(a.title, "\n".join(a.paragraphs)) for a in articles]
    rng.shuffle(result)
    yield from result

    def reworded(text: str, offset: int) -> str:
        return " ".join(rng.choice(vocabulary) if i % 4 == offset else w for i, w in enumerate(text.split()))

    while True:
        for title, text in result:
            offset = rng.randrange(4)
            yield reworded(title, offset), "\n".join(reworded(p, offset) for p in text.split("\n"))


def variant(text: str, rng: random.Random, source: str) -> tuple[str, str]:
    kind = rng.choices(("verbatim", "edited", "attribution", "trimmed"), weights=(25, 50, 15, 10))[0]
    if kind == "verbatim":
        return kind, text
    if kind == "edited":
        return kind, light_edit(text, rng, 0.02, 0.12)
    paragraphs = text.split("\n")
    if kind == "attribution":
        return kind, f"This story first appeared on {source} and is republished with permission.\n" + text
    keep = max(2, int(len(paragraphs) * rng.uniform(0.6, 0.9)))
    return kind, "\n".join(paragraphs[:keep])


def build(archive: Path, articles: int, seed: int) -> dict[str, int]:
    """Write ``archive/json/bench.jsonl`` and ``archive/state/dedup.sqlite``; the kinds made."""
    rng = random.Random(seed)
    hosts = [f"www.{name}-news.com" for name in (f"site{n:03d}" for n in range(SITES))]
    source_texts = texts(rng)
    pages: list[tuple[str, str, str, str]] = []  # (kind, host, title, text)
    kinds: dict[str, int] = {}
    recent: list[tuple[str, str]] = []
    while len(pages) < articles:
        title, text = next(source_texts)
        size = story_size(rng)
        size = min(size, articles - len(pages))
        home, *others = rng.sample(hosts, min(size, len(hosts)))
        pages.append(("original", home, title, text))
        for host in others:
            kind, copy = variant(text, rng, home)
            pages.append((kind, host, title, copy))
            kinds[kind] = kinds.get(kind, 0) + 1
        if size > 1:
            recent.append((title, text))
        if len(recent) == 4 and len(pages) < articles:
            excerpts = "\n".join(t.split("\n")[0] + "\nRead more." for _, t in recent[:4])
            pages.append(("roundup", rng.choice(hosts), "Today's roundup", excerpts))
            kinds["roundup"] = kinds.get("roundup", 0) + 1
            recent.clear()
    hasher = MinHasher(SignatureParams())
    (archive / "json").mkdir(parents=True)
    (archive / "state").mkdir()
    with (
        SqliteIndex(archive / "state" / "dedup.sqlite", hasher.params, IndexConfig()) as index,
        open(archive / "json" / "bench.jsonl", "w", encoding="utf-8") as out,
    ):
        for start in range(0, len(pages), BATCH):
            items = [item(n, *pages[n]) for n in range(start, min(start + BATCH, len(pages)))]
            docs = []
            for it in items:
                fingerprint, shingles = hasher.fingerprint_and_shingles(it.text)
                docs.append(
                    Document(
                        key=it.warc_record_id,
                        url=it.url,
                        site=site_of(it.url),
                        title=it.title,
                        fetched_at=it.fetched_at,
                        fingerprint=fingerprint,
                        signature=hasher.signature_from_hashes(shingles),
                        published=it.date,
                        shingles=shingles,
                    )
                )
            for it, match in zip(items, index.add_many(docs), strict=True):
                it.cluster_id, it.duplicate_of, it.similarity = (
                    match.cluster_id,
                    match.duplicate_of,
                    match.similarity,
                )
                it.partial_copies = [asdict(link) for link in match.partial]
                out.write(json.dumps(asdict(it), ensure_ascii=False) + "\n")
    kinds["original"] = sum(page[0] == "original" for page in pages)
    return kinds


def item(n: int, kind: str, host: str, title: str, text: str) -> ArticleItem:
    fetched = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_795_000_000 + n * 37))
    return ArticleItem(
        url=f"https://{host}/{kind}/{n:05d}.html",
        canonical_url=None,
        title=title,
        author=None,
        date=fetched[:10],
        sitename=host.removeprefix("www.").removesuffix(".com").replace("-", " ").title(),
        hostname=host,
        language="en",
        description=None,
        categories=[],
        tags=[],
        text=text,
        source="bench",
        fetched_at=fetched,
        status=200,
        content_type="text/html; charset=utf-8",
        content_length=len(text.encode()),
        warc_filename="bench.warc.gz",
        warc_offset=n * 1000,
        warc_length=1000,
        warc_record_id=f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>",
    )


PEAK = "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1], file=sys.stderr)"
"""The process's own peak resident memory (kB): ``ru_maxrss`` would count the bench's, from before exec."""


def generate(archive: Path | None, out: Path) -> tuple[float, float, str]:
    """(seconds, peak MiB, printed line) of ``write_report`` in a fresh process (no archive: the
    imports alone)."""
    code = (
        "import re, sys; from pathlib import Path; from newsarchive.report import write_report; status = 0; "
    )
    if archive is not None:
        code += "status = write_report(sys.argv[1], Path(sys.argv[2])); "
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code + PEAK + "; sys.exit(status)", str(archive), str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"write_report failed with status {result.returncode}: {result.stderr[-3000:]}")
    return elapsed, int(result.stderr.split()[-1]) / 1024, result.stdout.strip()


def plain_page(archive: Path, out: Path) -> None:
    """Every article's title and text once, as paragraphs: what the report would weigh without
    any diff, summary or structure."""
    with open(out, "w", encoding="utf-8") as page:
        page.write(
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>plain</title></head><body>\n'
        )
        for path in sorted((archive / "json").glob("*.jsonl")):
            with open(path, encoding="utf-8") as lines:
                for line in lines:
                    record = json.loads(line)
                    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in record["text"].split("\n"))
                    page.write(f"<article><h2>{escape(record['title'] or '')}</h2>{paragraphs}</article>\n")
        page.write("</body></html>\n")


def render_seconds(chromium: str, page: Path, workdir: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={workdir / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode or b"</html>" not in result.stdout[-200:]:
        raise SystemExit(f"chromium failed on {page}: {result.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000, help="articles of the baseline report")
    parser.add_argument("--repeat", type=int, default=3, help="Chromium runs per page (median)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--keep", type=Path, help="build in this (new) directory and keep it")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        raise SystemExit(
            f"no Chromium at {args.chromium}: apt-get install -y --no-install-recommends chromium"
        )
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="report-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return measure(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(args: argparse.Namespace, workdir: Path) -> int:
    big, small = workdir / "big", workdir / "small"
    started = time.perf_counter()
    kinds = build(big, args.articles, args.seed)
    build(small, args.small, args.seed)  # the same seed: the big archive's first articles
    built = time.perf_counter() - started
    started = time.perf_counter()
    for path in (big / "json").glob("*.jsonl"):
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                json.loads(line)
    read = time.perf_counter() - started

    pages = {"report": workdir / "report.html", "small": workdir / "small.html"}
    pages["plain"], pages["empty"] = workdir / "plain.html", workdir / "empty.html"
    imports, imports_peak, _ = generate(None, pages["report"])
    seconds, peak, line = generate(big, pages["report"])
    small_seconds, small_peak, small_line = generate(small, pages["small"])
    plain_page(big, pages["plain"])
    pages["empty"].write_text("<!DOCTYPE html><html><head><title>empty</title></head><body></body></html>\n")

    render_seconds(args.chromium, pages["empty"], workdir)  # a first start fills the caches
    times: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(args.repeat):
        for name, page in pages.items():
            times[name].append(render_seconds(args.chromium, page, workdir))
    render = {name: statistics.median(values) for name, values in times.items()}
    size = {name: page.stat().st_size for name, page in pages.items()}

    print(f"input: {args.articles:,} articles ({kinds}), built in {built:.0f} s")
    print(line)
    print(small_line)
    print()
    print("| page | articles | bytes | bytes/article | generation | peak memory | Chromium --dump-dom |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [
        ("report", args.articles, f"{seconds:.1f} s", f"{peak:.0f} MiB"),
        ("small", args.small, f"{small_seconds:.1f} s", f"{small_peak:.0f} MiB"),
        ("plain", args.articles, "-", "-"),
        ("empty", 0, "-", "-"),
    ]
    for name, articles, generation, memory in rows:
        per = f"{size[name] / articles:,.0f}" if articles else "-"
        print(
            f"| {name} | {articles:,} | {size[name]:,} | {per} | {generation} | {memory} | "
            f"{render[name]:.2f} s |"
        )
    startup = render["empty"]
    print()
    print("| ratio (medians, same run) | value |")
    print("|---|---:|")
    for label, value in (
        ("report size / plain page size (every text once, no diff)", size["report"] / size["plain"]),
        (
            f"report size / small report size ({args.articles // args.small}x the articles)",
            size["report"] / size["small"],
        ),
        ("report render / plain page render", render["report"] / render["plain"]),
        ("report render / small report render", render["report"] / render["small"]),
        (
            "report render / plain page render, Chromium start-up (empty page) subtracted",
            (render["report"] - startup) / max(render["plain"] - startup, 1e-3),
        ),
        (
            "report render / small report render, Chromium start-up subtracted",
            (render["report"] - startup) / max(render["small"] - startup, 1e-3),
        ),
        ("report generation / reading the JSON lines alone", seconds / read),
        ("report generation / small report generation", seconds / small_seconds),
        ("report peak memory / the imports' alone", peak / imports_peak),
    ):
        print(f"| {label} | {value:.2f} |")
    print()
    print(
        f"Chromium start-up (empty page): {startup:.2f} s; reading the JSON lines: {read:.2f} s; "
        f"a process importing newsarchive.report: {imports:.1f} s, {imports_peak:.0f} MiB; "
        f"each Chromium figure is the median of {args.repeat} runs, pages interleaved."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
