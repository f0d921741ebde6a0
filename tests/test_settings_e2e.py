"""A setting newsarchive cannot work with stops the crawl before any request, saying which."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_crawl

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("WARC_GZIP_LEVEL", 12, "WARC_GZIP_LEVEL must be 0 (uncompressed .warc) to 9, got 12"),
        ("WARC_MAX_SIZE", 0, "WARC_MAX_SIZE must be a positive number of bytes, got 0"),
        ("EXTRACT_FOCUS", "fast", "EXTRACT_FOCUS must be one of balanced, precision, recall, got 'fast'"),
        ("EXTRACT_TARGET_LANGUAGE", "EN", "EXTRACT_TARGET_LANGUAGE must be a lower-case ISO 639-1 code"),
        ("DEDUP_POLICY", "keep", "DEDUP_POLICY must be one of mark, drop, got 'keep'"),
        ("DEDUP_SHINGLE_KIND", "words", "DEDUP_SHINGLE_KIND"),
    ],
)
def test_bad_setting_stops_the_crawl(tmp_path: Path, setting: str, value: object, message: str) -> None:
    """Exit status 1, the setting and its value in the log, nothing archived."""
    archive = tmp_path / "archive"
    run = run_crawl("urls", archive, "urls=http://127.0.0.1:9/never.html", settings={setting: value})
    assert run.returncode == 1
    assert message in run.log
    assert "Crawled (" not in run.log
    assert not list(archive.rglob("*.warc*"))


def test_index_built_with_other_parameters_stops_the_crawl(tmp_path: Path) -> None:
    """Reopening the near-duplicate index with another DEDUP_SEED is refused, naming the difference."""
    archive = tmp_path / "archive"
    first = run_crawl("urls", archive, "urls=http://127.0.0.1:9/never.html")
    assert first.returncode == 0 and (archive / "state" / "dedup.sqlite").is_file()
    second = run_crawl("urls", archive, "urls=http://127.0.0.1:9/never.html", settings={"DEDUP_SEED": 2})
    assert second.returncode == 1
    assert "dedup.sqlite" in second.log and "seed: ours 2, stored 1" in second.log
