"""Real feeds and sitemaps from other projects' tests, read by parse_feed and sitemap_entry_info."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest

from newsarchive.dates import parse_w3c_date
from newsarchive.feeds import parse_feed
from newsarchive.sitemaps import sitemap_entry_info
from tests.conftest import SHARED

CORPUS = SHARED / "corpora" / "feeds-and-sitemaps"
FEED_URL = "https://feeds.example.org/feed.xml"
"""Where the test pretends each feed came from (relative links resolve against it)."""


def manifest() -> list[dict[str, object]]:
    path = CORPUS / "manifest.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def feed_cases() -> list[object]:
    """Every manifest feed with entries (RSS, Atom, RDF and JSON Feed)."""
    return [
        pytest.param(entry["file"], entry["entries"], id=entry["file"])
        for entry in manifest()
        if entry["file"].startswith("feeds/") and entry["entries"]
    ]


def read(shared: Path, relative: str) -> bytes:
    return (shared / "corpora" / "feeds-and-sitemaps" / relative).read_bytes()


def expected_output(path: Path) -> dict[str, object]:
    """rss-parser's expected JSON (one file, encoding.json, is Latin-1 rather than UTF-8)."""
    raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return json.loads(raw.decode("latin-1"))


# feeds


@pytest.mark.parametrize(("relative", "count"), feed_cases())
def test_manifest_feeds_give_entries(shared: Path, relative: str, count: int) -> None:
    """A feed with entries (per the manifest) gives at most that many: those with a web link."""
    body = read(shared, relative)
    feed = parse_feed(body, FEED_URL)
    if relative.endswith(".json"):  # JSON Feed: feedparser cannot read it, the manifest counts
        with_links = count
    else:
        links = [urljoin(FEED_URL, e.get("link", "").strip()) for e in feedparser.parse(body).entries]
        with_links = sum(1 for link in links if link.startswith(("http://", "https://")) and link != FEED_URL)
    assert len(feed.entries) == with_links <= count
    if with_links:
        assert feed.entries[0].url
    assert all(e.url and e.url == e.url.strip() for e in feed.entries)
    assert feed.is_feed


def test_manifest_feeds_mostly_linked(shared: Path) -> None:
    """Nearly every feed of the manifest with entries has web links (three have none)."""
    feeds = [m for m in manifest() if str(m["file"]).startswith("feeds/") and m["entries"]]
    unlinked = [m["file"] for m in feeds if not parse_feed(read(shared, str(m["file"])), FEED_URL).entries]
    assert len(feeds) >= 60
    assert sorted(unlinked) == [
        "feeds/feedjira/AtomEscapedHTMLInPreTag.xml",
        "feeds/rss-parser/input/incomplete-fields.atom",
        "feeds/rss-parser/input/missing-fields.atom",  # its only entry has just a tag: id
    ]


@pytest.mark.parametrize(
    "relative",
    ["feeds/feedjira/AtomEscapedHTMLInPreTag.xml", "feeds/rss-parser/input/incomplete-fields.atom"],
)
def test_entries_without_link_are_dropped(shared: Path, relative: str) -> None:
    """An entry with neither a link nor a permalink guid is dropped, the feed is still a feed."""
    feed = parse_feed(read(shared, relative), FEED_URL, "application/atom+xml")
    assert feed.entries == ()
    assert feed.version == "atom10"
    assert feed.is_feed


def test_permalink_guids(shared: Path) -> None:
    """RSS guids are links only when isPermaLink is not 'false'; <link> beats <guid>."""
    feed = parse_feed(read(shared, "feeds/feedjira/Permalinks.xml"), FEED_URL, "application/rss+xml")
    assert [e.url for e in feed.entries] == [
        "http://example.com/2",
        "http://example.com/3",
        "http://example.com/4",
    ]


def rss_parser_cases() -> list[object]:
    folder = CORPUS / "feeds" / "rss-parser" / "expected-output"
    names = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
    return names


@pytest.mark.parametrize("name", rss_parser_cases())
def test_urls_match_rss_parser_expected_output(shared: Path, name: str) -> None:
    """Entry URLs equal rss-parser's expected items[].link (trimmed, resolved against the feed)."""
    folder = shared / "corpora" / "feeds-and-sitemaps" / "feeds" / "rss-parser"
    (source,) = (folder / "input").glob(f"{name}.*")
    items = expected_output(folder / "expected-output" / f"{name}.json")["feed"]["items"]
    expected = [urljoin(FEED_URL, item["link"].strip()) for item in items if item.get("link")]
    feed = parse_feed(source.read_bytes(), FEED_URL, "application/xml")
    assert [e.url for e in feed.entries] == expected


def test_non_http_ids_are_not_entry_urls(shared: Path) -> None:
    """An Atom entry whose only identifier is a tag: URI gives no entry URL."""
    body = read(shared, "feeds/rss-parser/input/missing-fields.atom")
    feed = parse_feed(body, FEED_URL, "application/atom+xml")
    assert all(e.url.startswith(("http://", "https://")) for e in feed.entries)


@pytest.mark.parametrize(
    ("relative", "version", "count", "first_url", "first_title"),
    [
        (
            "feeds/rss-parser/input/rss-1.rss",
            "rss10",
            69,
            "http://science.sciencemag.org/cgi/content/short/356/6343/1134-a?rss=1",
            "Food for fungi",
        ),
        (
            "feeds/rss-parser/input/craigslist.rss",
            "rss10",
            25,
            None,
            None,
        ),
        (
            "feeds/rss-parser/input/heise.atom",
            "atom10",
            15,
            "http://www.heise.de/developer/meldung/Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html?wt_mc=rss.developer.beitrag.atom",
            "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei",
        ),
        (
            "feeds/rss-parser/input/heraldsun.rss",
            "rss092",
            2,
            "http://www.oreilly.com/example/001.html",
            "The First Item",
        ),
        (
            "feeds/rss-parser/input/encoding.rss",
            "rss20",
            40,
            "http://feeds.jn.pt/~r/JN-ULTIMAS/~3/UBnb8Ra3Q1U/sonia-laig-e-a-nova-presidente-da-rarissimas-9021600.html",
            "Mãe de utente é a nova presidente da Raríssimas",
        ),
    ],
    ids=["rss1.0-rdf", "rss1.0-craigslist", "atom", "rss0.92-latin1", "rss2.0-iso-8859-1"],
)
def test_feed_formats(
    shared: Path,
    relative: str,
    version: str,
    count: int,
    first_url: str | None,
    first_title: str | None,
) -> None:
    """RSS 1.0/RDF, Atom, RSS 0.92 and ISO-8859-1 feeds parse cleanly, with their text decoded."""
    feed = parse_feed(read(shared, relative), FEED_URL, "application/xml")
    assert feed.problem is None
    assert feed.version == version
    assert len(feed.entries) == count
    if first_url:
        assert feed.entries[0].url == first_url
        assert feed.entries[0].title == first_title


def test_latin1_without_declaration(shared: Path) -> None:
    """A bare Latin-1 <rss> without declaration is read; the encoding override is the problem."""
    feed = parse_feed(read(shared, "feeds/rss-parser/input/uolNoticias.rss"), FEED_URL, "application/xml")
    assert len(feed.entries) == 15
    assert feed.problem and feed.problem.startswith("CharacterEncodingOverride")
    assert "simulações" in feed.entries[0].title


def test_dates_are_aware_utc(shared: Path) -> None:
    """Entry dates are timezone-aware UTC datetimes (RFC 822 and ISO sources alike)."""
    for relative in ("feeds/rss-parser/input/guardian.rss", "feeds/rss-parser/input/heise.atom"):
        feed = parse_feed(read(shared, relative), FEED_URL, "application/xml")
        dates = [e.published for e in feed.entries]
        assert dates and all(d is not None and d.tzinfo == UTC for d in dates)
    heise = parse_feed(read(shared, "feeds/rss-parser/input/heise.atom"), FEED_URL, "application/xml")
    assert heise.entries[0].published == datetime(2016, 2, 1, 16, 22, tzinfo=UTC)


def test_relative_links_resolve_against_feed_url(shared: Path) -> None:
    """Relative entry links (gulp's Atom) resolve against the URL the feed was fetched from."""
    feed = parse_feed(
        read(shared, "feeds/rss-parser/input/gulp-atom.atom"),
        "https://github.com/gulpjs/gulp/releases.atom",
    )
    assert feed.entries[0].url == "https://github.com/gulpjs/gulp/releases/tag/v3.9.0"


def illformed_cases() -> list[str]:
    folder = CORPUS / "feeds" / "feedparser" / "illformed"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.xml")) if folder.is_dir() else []


@pytest.mark.parametrize("name", illformed_cases())
def test_illformed_never_raises(shared: Path, name: str) -> None:
    """feedparser's ill-formed cases never raise; those expected to be bozo give a problem."""
    path = shared / "corpora" / "feeds-and-sitemaps" / "feeds" / "feedparser" / "illformed" / name
    body = path.read_bytes()
    expect = next(line for line in body.decode("latin-1").splitlines() if "Expect:" in line)
    feed = parse_feed(body, FEED_URL, "application/rss+xml")
    assert isinstance(feed.entries, tuple)
    if expect.split("Expect:")[1].split()[0] == "bozo":
        assert isinstance(feed.problem, str) and feed.problem


def test_corrupted_ampersands_still_give_the_link(shared: Path) -> None:
    """A not-well-formed feed still yields its entry, with the link's '&' intact."""
    body = read(shared, "feeds/feedparser/illformed/rss_item_link_corrupted_ampersands.xml")
    feed = parse_feed(body, FEED_URL, "application/rss+xml")
    assert feed.problem
    assert [e.url for e in feed.entries] == ["http://link/get?a=1&b=2"]


@pytest.mark.parametrize("body", [b"", b"\x00\xff\xfe garbage", b"{}", b"<rss"])
def test_garbage_never_raises(body: bytes) -> None:
    """Empty, binary or truncated bodies give no entries and are not feeds, never an exception."""
    feed = parse_feed(body, FEED_URL, "application/rss+xml")
    assert feed.entries == ()
    assert not feed.is_feed
    if body:
        assert feed.problem


def test_html_page_is_not_a_feed(shared: Path) -> None:
    """A real article page (HTML) gives no entries and is not a feed."""
    page = shared / "corpora" / "aeb-article-extraction-benchmark" / "html"
    html = gzip.decompress(
        (page / "7916ecca969ffdd8f6fc32d171fbe0dd63db40fe4c1d2ade02b1dec5929a162f.html.gz").read_bytes()
    )
    feed = parse_feed(html, "https://www.aljazeera.com/news/2019/11/x.html", "text/html; charset=utf-8")
    assert feed.entries == ()
    assert feed.version == ""
    assert not feed.is_feed


def test_feed_served_with_xml_type_has_no_problem(shared: Path) -> None:
    """A well-formed feed served with an XML Content-Type reports no problem."""
    feed = parse_feed(read(shared, "feeds/rss-parser/input/guardian.rss"), FEED_URL, "application/rss+xml")
    assert feed.problem is None
    assert len(feed.entries) == 55


# sitemaps


def test_nyt_news_sitemap(shared: Path) -> None:
    """The NYT Google News sitemap gives its 6 entries with news titles, dates and language."""
    info = sitemap_entry_info(read(shared, "sitemaps/advertools/news_sitemap.xml"))
    assert len(info) == 6
    assert all(e.news_title and e.news_publication_date and e.lastmod for e in info.values())
    assert all(e.news_language == "en-US" for e in info.values())
    first = info["https://www.nytimes.com/interactive/2020/05/11/magazine/quarantine-insanity.html"]
    assert first.news_title == "Quarantine Was Driving Me Crazy — So I Decided to Lose My Mind on Purpose"
    assert first.news_publication_date == datetime(2020, 5, 11, 9, 0, 1, tzinfo=UTC)
    assert first.lastmod == datetime(2020, 5, 19, 21, 57, 45, tzinfo=UTC)
    assert first.date == first.news_publication_date
    music = info["https://www.nytimes.com/2020/05/19/arts/music/germany-music-coronavirus.html"]
    assert music.news_title == "An Audience Comes Out of Lockdown for Schubert and Mahler"


def test_commoncrawl_news_sitemap(shared: Path) -> None:
    """Google's news sitemap example (XSL PI, comments, images, hreflang) gives one entry."""
    info = sitemap_entry_info(read(shared, "sitemaps/commoncrawl-news-crawl/sitemap-news.xml"))
    assert list(info) == ["http://www.example.com/business/article55.html"]
    entry = info["http://www.example.com/business/article55.html"]
    assert entry.news_title == "Companies A, B in Merger Talks"
    assert entry.news_publication_date == datetime(2008, 12, 23, tzinfo=UTC)
    assert entry.news_language == "en"
    assert entry.lastmod is None
    assert entry.date == entry.news_publication_date


def test_wordpress_news_sitemap(shared: Path) -> None:
    """A real WordPress.com news sitemap gives 3 entries, each with a title and a date."""
    info = sitemap_entry_info(
        read(shared, "sitemaps/crawler-commons/sitemaps/extension/shinpaideshou-news-sitemap.xml")
    )
    assert len(info) == 3
    assert all(e.news_title and e.date for e in info.values())


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        (
            "sitemaps/advertools/sitemap_index.xml",
            {
                "https://advertools.readthedocs.io/sitemap.xml": datetime(
                    2020, 5, 20, 18, 23, 17, tzinfo=UTC
                ),
                "http://www.example.com/sitemap.xml": datetime(2020, 5, 20, tzinfo=UTC),
                "https://raw.githubusercontent.com/eliasdabbas/advertools/master/tests/data/"
                "sitemap_testing/sitemap_index.xml": None,
                "https://www.google.com/adwords/sitemap_us.xml": datetime(2020, 5, 20, tzinfo=UTC),
            },
        ),
        (
            "sitemaps/trafilatura/sitemap2.xml",
            {
                "http://www.example.com/sitemap1.xml.gz": datetime(2004, 10, 1, 18, 23, 17, tzinfo=UTC),
                "http://www.example.com/sitemap2.xml.gz": datetime(2005, 1, 1, tzinfo=UTC),
            },
        ),
    ],
    ids=["advertools", "cdata-loc"],
)
def test_sitemap_index(shared: Path, relative: str, expected: dict[str, datetime | None]) -> None:
    """A sitemap index gives each child sitemap (CDATA locs too) with its lastmod, no news."""
    info = sitemap_entry_info(read(shared, relative))
    assert {loc: e.lastmod for loc, e in info.items()} == expected
    assert all(e.news_title is None for e in info.values())


def test_plain_sitemap(shared: Path) -> None:
    """The sitemaps.org urlset gives all 84 URLs, each with its lastmod."""
    info = sitemap_entry_info(read(shared, "sitemaps/trafilatura/sitemap.xml"))
    assert len(info) == 84
    assert info["https://www.sitemaps.org/"].lastmod == datetime(2016, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    "relative",
    [
        "sitemaps/advertools/error_sitemap.xml",
        "sitemaps/advertools/robots.txt",
        "sitemaps/crawler-commons/sitemaps/sitemap.txt",
        "sitemaps/crawler-commons/sitemaps/sitemap-with-bom.txt",
        "sitemaps/crawler-commons/sitemaps/atom.xml",
        "sitemaps/commoncrawl-news-crawl/feed-with-sitemap-namespace.xml",
    ],
)
def test_not_a_sitemap_does_not_raise(shared: Path, relative: str) -> None:
    """Malformed XML, text files, robots.txt and feeds give no entries and never raise."""
    assert sitemap_entry_info(read(shared, relative)) == {}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x1f\x8b\x08garbage",
        b"<urlset><url><loc>",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><urlset/>",
    ],
)
def test_garbage_sitemap_does_not_raise(body: bytes) -> None:
    """Empty, binary, truncated or DTD-carrying bodies give no entries and never raise."""
    assert sitemap_entry_info(body) == {}


def test_entities_are_not_expanded() -> None:
    """An internal entity in a sitemap is not expanded into a loc (no XML bombs, no XXE)."""
    body = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY e "https://evil.example/x">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&e;</loc></url>'
        b"<url><loc>https://ok.example/a</loc></url></urlset>"
    )
    info = sitemap_entry_info(body)
    assert "https://evil.example/x" not in info
    assert "https://ok.example/a" in info


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T08:15:00Z", datetime(2026, 11, 20, 8, 15, tzinfo=UTC)),
        ("2026-11-20T08:15Z", datetime(2026, 11, 20, 8, 15, tzinfo=UTC)),
        ("2026-11-20T08:15:00+01:00", datetime(2026, 11, 20, 7, 15, tzinfo=UTC)),
        ("2026-11-20T20:15:00-05:00", datetime(2026, 11, 21, 1, 15, tzinfo=UTC)),
        (
            "1997-07-16T19:20:30.45+01:00",
            datetime(1997, 7, 16, 18, 20, 30, 450000, tzinfo=UTC),
        ),
        (
            "2026-11-20T08:15:00.123456Z",
            datetime(2026, 11, 20, 8, 15, 0, 123456, tzinfo=UTC),
        ),
        ("  2026-11-20T08:15:00Z\n", datetime(2026, 11, 20, 8, 15, tzinfo=UTC)),
    ],
)
def test_parse_w3c_date(value: str, expected: datetime) -> None:
    """W3C datetimes (date, Z, offset, fractional seconds) become aware UTC datetimes."""
    parsed = parse_w3c_date(value)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "garbage", "2026-13-45", "20 Nov 2026", "Fri, 20 Nov 2026 08:15:00 GMT"],
)
def test_parse_w3c_date_garbage(value: str | None) -> None:
    """Anything that is not a W3C datetime gives None, not an exception."""
    assert parse_w3c_date(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_w3c_date_reduced_precision(value: str, expected: datetime) -> None:
    """The year-month and year-only W3C forms parse to the start of that period."""
    assert parse_w3c_date(value) == expected
