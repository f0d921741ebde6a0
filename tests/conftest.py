"""Fixtures shared by the tests: paths to ../shared, real crawl subprocesses."""

from __future__ import annotations

import os

# Offline: tldextract (cookie handling) must not try to download the public suffix list.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (seeds and corpora). CI always has it; elsewhere its absence is said, loudly."""
    if not (SHARED / "corpora").is_dir():
        message = f"these tests need {SHARED} (seeds and corpora of real pages), which is missing"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED


@pytest.fixture(scope="session")
def labelled_pairs(shared: Path) -> list[tuple[dict, str, str]]:
    """news-reposts-real pairs, texts extracted as the pipeline does (or the upstream bodies)."""
    from newsarchive.extract import ArticleExtractor, ExtractConfig

    folder = shared / "corpora/news-reposts-real"
    corpora = shared / "corpora"
    aeb = json.loads((corpora / "aeb-article-extraction-benchmark/ground-truth.json").read_text())
    with open(corpora / "fundus-parser-test-data/index.jsonl", encoding="utf-8") as lines:
        fundus = {r["html"]: r["body_text"] for r in map(json.loads, lines)}
    extractor = ArticleExtractor(ExtractConfig())

    def text(path: str) -> str:
        if path.startswith("../aeb-article-extraction-benchmark/"):
            return aeb[Path(path).name.removesuffix(".html.gz")]["articleBody"]
        if path.startswith("../fundus-parser-test-data/"):
            return fundus[path.removeprefix("../fundus-parser-test-data/")]
        html = (folder / path).read_bytes().decode("utf-8")
        return extractor.extract(html, f"https://example.invalid/{Path(path).name}")["text"]

    with open(folder / "pairs.jsonl", encoding="utf-8") as lines:
        labels = [json.loads(line) for line in lines]
    return [(label, text(label["a"]), text(label["b"])) for label in labels]


@dataclass
class CrawlResult:
    """A finished ``scrapy crawl`` subprocess and the stats it left in the archive."""

    returncode: int
    log: str
    stats: dict[str, object]

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)  # type: ignore[call-overload]


def crawl_command(
    spider: str, archive: Path, *args: str, settings: dict[str, object] | None = None
) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"ARCHIVE_URI={archive}"]
    for name, value in {"EXTRACT_WORKERS": 1, "AUTOTHROTTLE_ENABLED": False, **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    for arg in args:
        command += ["-a", arg]
    return command


def run_crawl(
    spider: str, archive: Path, *args: str, settings: dict[str, object] | None = None, timeout: float = 300
) -> CrawlResult:
    """Run a real ``scrapy crawl`` from the repository root; return its log and run stats."""
    before = set(_runs(archive))
    done = subprocess.run(
        crawl_command(spider, archive, *args, settings=settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    new = sorted(set(_runs(archive)) - before)
    stats = json.loads(new[-1].read_text()) if new else {}
    return CrawlResult(done.returncode, done.stderr, stats)


def start_crawl_process(command: list[str]) -> subprocess.Popen[str]:
    """A crawl subprocess reading its log from a pipe, in a session of its own: a process group
    to signal as a terminal's Ctrl-C would, or to kill whole."""
    return subprocess.Popen(
        command,
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def _runs(archive: Path) -> list[Path]:
    return list((archive / "state" / "runs").glob("*.json"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    """A real redis-server on 127.0.0.1 for the session (tests/redis_server.py). A missing binary
    fails the tests that need it, saying how to install it: never a silent skip."""
    from tests.redis_server import RedisServer, RedisServerError

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    problem = None
    try:
        server.start()
    except RedisServerError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The session's Redis server, emptied first: each test starts from no keys."""
    redis_server.flush()
    return redis_server.url


BUCKET = "archive"


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 for the session (tests/s3_server.py)."""
    from tests.s3_server import MotoServer

    with MotoServer() as server:
        yield server


@pytest.fixture
def s3(s3_server):
    """The session's S3 server, emptied, with a versioned bucket ``archive``: a test can count
    every write of a key (an overwrite would add a version)."""
    s3_server.reset()
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3_server
