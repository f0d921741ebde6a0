"""ArticleExtractor on real pages (AEB benchmark, Fundus, example.com) and ExtractConfig checks."""

from __future__ import annotations

import gzip
import json
import re
from functools import cache
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsarchive.extract import ArticleExtractor, ExtractConfig

AEB_PAGES = {
    # id: hostname; English news pages of five different sites
    "7916ecca969ffdd8f6fc32d171fbe0dd63db40fe4c1d2ade02b1dec5929a162f": "www.aljazeera.com",
    "e372e42c0a3df7b86e1c0bacf7bc14d042144a01e88833bc5a643d61b3547090": "www.jpost.com",
    "7de5241947a5f7147fe9787c6f6fa16685bfe66e6c35510a68780f27690dc4f0": "www.detroitnews.com",
    "e7994d5500875202d93e736e8f0c8a0436107d10add94ce3789001b8c5c32358": "hosted.ap.org",
    "06e5123e4ef7cfb4533250dc45d1e03d0838fc66223f45c583c4d12f48b4da85": "venturebeat.com",
}
ENGLISH_PAGE = "7916ecca969ffdd8f6fc32d171fbe0dd63db40fe4c1d2ade02b1dec5929a162f"
MIN_RECALL = 0.8
"""Share of ground-truth word tokens found in our text (trafilatura scores ~0.98 on the set)."""


@cache
def aeb_truth(shared: Path) -> dict[str, dict[str, str]]:
    return json.loads(
        (shared / "corpora" / "aeb-article-extraction-benchmark" / "ground-truth.json").read_text()
    )


def aeb_page(shared: Path, key: str) -> tuple[str, str]:
    """(html, url) of one AEB page."""
    folder = shared / "corpora" / "aeb-article-extraction-benchmark" / "html"
    html = gzip.decompress((folder / f"{key}.html.gz").read_bytes()).decode("utf-8")
    return html, aeb_truth(shared)[key]["url"]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def example_com_page(shared: Path) -> str:
    """The real example.com home page (one short paragraph), from warcio's sample WARC."""
    path = shared / "corpora" / "warc-samples" / "warcio" / "example.warc.gz"
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                return record.content_stream().read().decode("utf-8")
    raise AssertionError(f"no response record in {path}")


@pytest.fixture(scope="module")
def extractor() -> ArticleExtractor:
    return ArticleExtractor(ExtractConfig())


@pytest.mark.parametrize("key", list(AEB_PAGES))
def test_aeb_body_found(shared: Path, extractor: ArticleExtractor, key: str) -> None:
    """The text holds at least 80% of the ground-truth body's words; hostname is the URL's."""
    html, url = aeb_page(shared, key)
    fields = extractor.extract(html, url)
    assert fields is not None
    truth = words(aeb_truth(shared)[key]["articleBody"])
    found = set(words(fields["text"]))
    recall = sum(1 for w in truth if w in found) / len(truth)
    assert recall >= MIN_RECALL, f"{url}: recall {recall:.2f}"
    assert fields["hostname"] == AEB_PAGES[key]
    assert fields["language"] == "en"
    assert len(fields["text"]) >= 250


def test_fields_shape(shared: Path, extractor: ArticleExtractor) -> None:
    """The result has every documented field, with lists for categories and tags."""
    html, url = aeb_page(shared, ENGLISH_PAGE)
    fields = extractor.extract(html, url)
    assert fields is not None
    assert set(fields) == {
        "canonical_url", "title", "author", "date", "sitename", "hostname",
        "language", "description", "categories", "tags", "text",
    }  # fmt: skip
    assert isinstance(fields["categories"], list) and isinstance(fields["tags"], list)
    assert fields["title"]


@pytest.mark.parametrize(
    "html_file",
    [
        "us/Reuters_2023_05_16.html.gz",
        "uk/TheGuardian_2024_02_24.html.gz",
        "us/APNews_2023_04_28.html.gz",
    ],
)
def test_fundus_title(shared: Path, extractor: ArticleExtractor, html_file: str) -> None:
    """A Fundus page's extracted title equals its ground truth, and its text overlaps the body."""
    folder = shared / "corpora" / "fundus-parser-test-data"
    index = [json.loads(line) for line in (folder / "index.jsonl").read_text(encoding="utf-8").splitlines()]
    (entry,) = [e for e in index if e["html"] == html_file]
    html = gzip.decompress((folder / html_file).read_bytes()).decode("utf-8")
    fields = extractor.extract(html, entry["url"])
    assert fields is not None
    assert fields["title"] == entry["title"]
    truth = words(entry["body_text"])
    found = set(words(fields["text"]))
    assert sum(1 for w in truth if w in found) / len(truth) >= MIN_RECALL


def test_page_with_almost_no_text(shared: Path, extractor: ArticleExtractor) -> None:
    """The example.com page (a couple of sentences) is not an article: None."""
    assert extractor.extract(example_com_page(shared), "http://example.com/") is None


def test_short_page_with_low_minimum(shared: Path) -> None:
    """With min_text_length=1 the same short page does give its text: the length limit decided."""
    fields = ArticleExtractor(ExtractConfig(min_text_length=1)).extract(
        example_com_page(shared), "http://example.com/"
    )
    assert fields is not None
    assert "illustrative examples" in fields["text"]
    assert fields["hostname"] == "example.com"


def test_min_text_length_boundary(shared: Path, extractor: ArticleExtractor) -> None:
    """A page whose text has N characters passes min_text_length=N and fails N+1."""
    html, url = aeb_page(shared, ENGLISH_PAGE)
    fields = extractor.extract(html, url)
    assert fields is not None
    length = len(fields["text"])
    assert ArticleExtractor(ExtractConfig(min_text_length=length)).extract(html, url) is not None
    assert ArticleExtractor(ExtractConfig(min_text_length=length + 1)).extract(html, url) is None


def test_target_language_filters(shared: Path) -> None:
    """target_language='de' on an English article gives None; 'en' gives the article."""
    html, url = aeb_page(shared, ENGLISH_PAGE)
    assert ArticleExtractor(ExtractConfig(target_language="de")).extract(html, url) is None
    fields = ArticleExtractor(ExtractConfig(target_language="en")).extract(html, url)
    assert fields is not None and fields["language"] == "en"


def test_language_reported_without_target(shared: Path, extractor: ArticleExtractor) -> None:
    """Without target_language the detected language is still reported ('en' here)."""
    html, url = aeb_page(shared, ENGLISH_PAGE)
    fields = extractor.extract(html, url)
    assert fields is not None
    assert fields["language"] == "en"


def test_extractor_reused_across_pages(shared: Path, extractor: ArticleExtractor) -> None:
    """One extractor gives each page its own hostname and text (nothing carried over)."""
    first_html, first_url = aeb_page(shared, ENGLISH_PAGE)
    other = next(k for k in AEB_PAGES if k != ENGLISH_PAGE)
    other_html, other_url = aeb_page(shared, other)
    a = extractor.extract(first_html, first_url)
    b = extractor.extract(other_html, other_url)
    again = extractor.extract(first_html, first_url)
    assert a is not None and b is not None
    assert a["hostname"] != b["hostname"] and a["text"] != b["text"]
    assert again == a


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html></html>",
        "not html at all",
        "<html><body><nav><a href='/'>Home</a></nav></body></html>",
    ],
)
def test_empty_pages_give_none(extractor: ArticleExtractor, html: str) -> None:
    """Empty or content-free documents give None, not an exception."""
    assert extractor.extract(html, "https://news.example.com/") is None


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"focus": "fast"}, "EXTRACT_FOCUS"),
        ({"focus": "Precision"}, "EXTRACT_FOCUS"),
        ({"timeout": 0}, "EXTRACT_TIMEOUT"),
        ({"timeout": -1.5}, "EXTRACT_TIMEOUT"),
        ({"workers": -1}, "EXTRACT_WORKERS"),
    ],
)
def test_config_rejects_bad_values(options: dict[str, object], setting: str) -> None:
    """A bad focus, timeout or workers count is a ValueError naming the setting and value."""
    with pytest.raises(ValueError, match=setting) as caught:
        ExtractConfig(**options)  # type: ignore[arg-type]
    assert str(next(iter(options.values()))) in str(caught.value)


@pytest.mark.parametrize("focus", ["balanced", "precision", "recall"])
def test_config_accepts_each_focus(shared: Path, focus: str) -> None:
    """Every documented focus builds an extractor that finds the article."""
    html, url = aeb_page(shared, ENGLISH_PAGE)
    assert ArticleExtractor(ExtractConfig(focus=focus)).extract(html, url) is not None


def test_pool_size() -> None:
    """workers=0 means one per CPU (at least 1); a positive count is used as given."""
    assert ExtractConfig(workers=3).pool_size == 3
    assert ExtractConfig(workers=0).pool_size >= 1


def test_target_language_not_silently_wrong(shared: Path) -> None:
    """An upper-case language code is either refused (naming the setting) or understood as 'en'."""
    html, url = aeb_page(shared, ENGLISH_PAGE)
    try:
        config = ExtractConfig(target_language="EN")
    except ValueError as exc:
        assert "EXTRACT_TARGET_LANGUAGE" in str(exc)
        return
    assert ArticleExtractor(config).extract(html, url) is not None
