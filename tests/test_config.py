"""The sources file: what loads, and how every mistake is reported (file, line, source, key)."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from newsarchive.config import Source, load_sources, validate_url
from newsarchive.exceptions import ConfigError
from tests.conftest import REPO, crawl_command

ISSUE_EXAMPLE = """\
sources:
  - name: bbc-world
    feeds: ["https://feeds.bbci.co.uk/news/world/rss.xml"]
  - name: some-paper
    sitemaps: ["https://example.com/news-sitemap.xml"]
    urls: ["https://example.com/a/story.html"]
"""


def write(tmp_path: Path, text: str, name: str = "sources.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    return str(caught.value)


def one_source(body: str) -> str:
    """A sources file whose only source is ``a``, with ``body`` (indented keys) after its name."""
    return "sources:\n  - name: a\n" + body


# what loads


@pytest.mark.parametrize("name", ["sources.yaml", "demo.yaml"])
def test_shipped_files_load(name: str) -> None:
    """Both sources files shipped in config/ load, with distinct, non-empty sources."""
    config = load_sources(REPO / "config" / name)
    names = [s.name for s in config.sources]
    assert names and len(names) == len(set(names))
    assert all(s.feeds or s.sitemaps or s.urls for s in config.sources)


def test_shipped_sources_values() -> None:
    """config/sources.yaml is read faithfully: lists, domains and max_age of a known source."""
    (bbc,) = load_sources(REPO / "config" / "sources.yaml").select("bbc-world")
    assert bbc.feeds == ("https://feeds.bbci.co.uk/news/world/rss.xml",)
    assert bbc.allowed_domains == ("bbc.co.uk", "bbc.com")
    assert bbc.max_age == timedelta(days=2)


def test_issue_example_loads_as_written(tmp_path: Path) -> None:
    """The example from the issue loads: two sources with exactly the lists it gives."""
    config = load_sources(write(tmp_path, ISSUE_EXAMPLE))
    assert config.sources == (
        Source(name="bbc-world", feeds=("https://feeds.bbci.co.uk/news/world/rss.xml",)),
        Source(
            name="some-paper",
            sitemaps=("https://example.com/news-sitemap.xml",),
            urls=("https://example.com/a/story.html",),
        ),
    )


def test_single_string_is_a_one_element_list(tmp_path: Path) -> None:
    """A bare string where a list is expected is taken as a list of one URL."""
    config = load_sources(write(tmp_path, one_source('    feeds: "https://a.example/rss"\n')))
    assert config.sources[0].feeds == ("https://a.example/rss",)


# errors: each names file, line, source and key


@pytest.mark.parametrize(
    ("body", "line", "key", "hint"),
    [
        (
            '    feeds: ["https://a.example/rss"]\n    feed: ["https://a.example/x"]\n',
            4,
            "feed",
            "did you mean 'feeds'?",
        ),
        (
            '    feeds: ["https://a.example/rss"]\n    max-age: 2d\n',
            4,
            "max-age",
            "did you mean 'max_age'?",
        ),
        (
            '    feeds: ["https://a.example/rss"]\n    zzz: 1\n',
            4,
            "zzz",
            "allowed: feeds, sitemaps, urls",
        ),
    ],
)
def test_unknown_key_in_source(tmp_path: Path, body: str, line: int, key: str, hint: str) -> None:
    """An unknown key in a source names file, line, source and key, and guesses the intended one."""
    path = write(tmp_path, one_source(body))
    message = config_error(path)
    assert message.startswith(f"{path}:{line}: ")
    assert "source 'a'" in message
    assert f"unknown key {key!r}" in message
    assert hint in message


def test_unknown_key_at_top(tmp_path: Path) -> None:
    """A misspelt top-level key names file, line and key, and suggests 'sources'."""
    path = write(tmp_path, 'source:\n  - name: a\n    feeds: ["https://a.example/rss"]\n')
    message = config_error(path)
    assert message.startswith(f"{path}:1: ")
    assert "top level" in message
    assert "unknown key 'source'" in message
    assert "did you mean 'sources'?" in message


def test_unknown_key_at_top_after_sources(tmp_path: Path) -> None:
    """An extra top-level key after a valid 'sources' list is reported on its own line."""
    path = write(tmp_path, one_source('    feeds: ["https://a.example/rss"]\nextra: 1\n'))
    message = config_error(path)
    assert message.startswith(f"{path}:4: ")
    assert "unknown key 'extra'" in message


ERRORS = {
    # id: (source body, line, key, part of the problem)
    "feeds-not-a-list": ("    feeds: {x: 1}\n", 3, "feeds", "expected a list of strings"),
    "urls-of-ints": ("    urls: [1, 2]\n", 3, "urls", "expected a list of strings"),
    "empty-string-url": ('    urls: [""]\n', 3, "urls", "expected a list of strings"),
    "no-scheme": (
        '    feeds: ["www.example.com/rss.xml"]\n',
        3,
        "feeds",
        "'www.example.com/rss.xml' is not an absolute http(s) URL",
    ),
    "ftp": (
        '    urls: ["ftp://example.com/story.html"]\n',
        3,
        "urls",
        "'ftp://example.com/story.html' is not an absolute http(s) URL",
    ),
    "port-out-of-range": (
        '    sitemaps: ["https://example.com:99999/s.xml"]\n',
        3,
        "sitemaps",
        "is not a valid URL",
    ),
    "port-not-a-number": (
        '    sitemaps: ["https://example.com:80a/s.xml"]\n',
        3,
        "sitemaps",
        "is not a valid URL",
    ),
    "space-in-url": (
        '    urls: ["https://example.com/a story.html"]\n',
        3,
        "urls",
        "is not an absolute http(s) URL",
    ),
    "space-in-host": (
        '    urls: ["https://exa mple.com/story.html"]\n',
        3,
        "urls",
        "'https://exa mple.com/story.html'",
    ),
    "bad-url-second-line": (
        '    feeds: ["https://a.example/rss"]\n    urls:\n      - https://a.example/ok\n      - "http://"\n',
        4,
        "urls",
        "is not an absolute http(s) URL",
    ),
    "max-age-words": (
        '    feeds: ["https://a.example/rss"]\n    max_age: 2 days\n',
        4,
        "max_age",
        "'2 days' is not a positive duration",
    ),
    "max-age-zero": (
        '    feeds: ["https://a.example/rss"]\n    max_age: 0\n',
        4,
        "max_age",
        "0 is not a positive duration",
    ),
    "max-age-negative": (
        '    feeds: ["https://a.example/rss"]\n    max_age: -3\n',
        4,
        "max_age",
        "-3 is not a positive duration",
    ),
    "max-age-unit": (
        '    feeds: ["https://a.example/rss"]\n    max_age: 3y\n',
        4,
        "max_age",
        "'3y' is not a positive duration",
    ),
    "max-age-bool": (
        '    feeds: ["https://a.example/rss"]\n    max_age: yes\n',
        4,
        "max_age",
        "got a boolean",
    ),
    "max-age-list": (
        '    feeds: ["https://a.example/rss"]\n    max_age: [2d]\n',
        4,
        "max_age",
        "got a list",
    ),
    "domain-is-url": (
        '    feeds: ["https://a.example/rss"]\n    allowed_domains: ["https://a.example"]\n',
        4,
        "allowed_domains",
        "'https://a.example' is not a domain name",
    ),
    "domain-with-space": (
        '    feeds: ["https://a.example/rss"]\n    allowed_domains: ["a example.com"]\n',
        4,
        "allowed_domains",
        "is not a domain name",
    ),
    "domains-not-a-list": (
        '    feeds: ["https://a.example/rss"]\n    allowed_domains: 5\n',
        4,
        "allowed_domains",
        "expected a list of strings, got an integer",
    ),
}


@pytest.mark.parametrize(("body", "line", "key", "problem"), list(ERRORS.values()), ids=list(ERRORS))
def test_bad_value(tmp_path: Path, body: str, line: int, key: str, problem: str) -> None:
    """A bad value raises ConfigError naming file, the line of the key, the source and the key."""
    path = write(tmp_path, one_source(body))
    message = config_error(path)
    assert message.startswith(f"{path}:{line}: ")
    assert "source 'a'" in message
    assert f"key {key!r}" in message
    assert problem in message


def test_bad_name(tmp_path: Path) -> None:
    """A name with a space is refused on its line, quoting the name and the key 'name'."""
    path = write(tmp_path, 'sources:\n  - name: "bbc world"\n    feeds: ["https://a.example/rss"]\n')
    message = config_error(path)
    assert message.startswith(f"{path}:2: ")
    assert "source 'bbc world'" in message
    assert "key 'name'" in message


def test_missing_name(tmp_path: Path) -> None:
    """A source without a name is identified by its position (#2) and the key 'name'."""
    path = write(
        tmp_path,
        one_source('    feeds: ["https://a.example/rss"]\n') + '  - feeds: ["https://b.example/rss"]\n',
    )
    message = config_error(path)
    assert message.startswith(f"{path}:4: ")
    assert "source #2" in message
    assert "key 'name'" in message


def test_source_without_lists(tmp_path: Path) -> None:
    """A source with no feeds, sitemaps or urls names its line, itself and the three keys."""
    path = write(tmp_path, ISSUE_EXAMPLE + "  - name: lonely\n    max_age: 2d\n")
    message = config_error(path)
    assert message.startswith(f"{path}:7: ")
    assert "source 'lonely'" in message
    assert "'feeds', 'sitemaps', 'urls'" in message


def test_empty_lists_count_as_none(tmp_path: Path) -> None:
    """Empty lists do not satisfy 'at least one of feeds, sitemaps, urls'."""
    path = write(tmp_path, one_source("    feeds: []\n    urls: []\n"))
    message = config_error(path)
    assert message.startswith(f"{path}:2: ")
    assert "needs at least one of" in message


@pytest.mark.parametrize("text", ["sources: []\n", "sources:\n", "sources: {name: a}\n"])
def test_empty_or_wrong_sources(tmp_path: Path, text: str) -> None:
    """'sources' that is empty, null or not a list is refused, naming file, line 1 and the key."""
    path = write(tmp_path, text)
    message = config_error(path)
    assert message.startswith(f"{path}:1: ")
    assert "'sources' must be a non-empty list" in message


@pytest.mark.parametrize("text", ["", "- a\n", "just text\n"])
def test_not_a_mapping(tmp_path: Path, text: str) -> None:
    """An empty file or a document that is not a mapping names the file and the 'sources' key."""
    path = write(tmp_path, text)
    message = config_error(path)
    assert message.startswith(f"{path}: ")
    assert "'sources'" in message


def test_missing_file(tmp_path: Path) -> None:
    """A missing sources file is a ConfigError naming the path, not a FileNotFoundError."""
    path = tmp_path / "nope" / "sources.yaml"
    message = config_error(path)
    assert message == f"{path}: sources file not found"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('sources:\n  - name: a\n    feeds: ["https://a.example/rss"\n', ":4:1: "),
        ("sources:\n  - name: a\n   feeds: x\n", ":3:4: "),
        ("sources:\n\t- name: a\n", ":2:1: "),
    ],
    ids=["unclosed-bracket", "bad-indent", "tab"],
)
def test_invalid_yaml(tmp_path: Path, text: str, where: str) -> None:
    """Invalid YAML is a ConfigError with file, line and column, not a yaml.YAMLError."""
    path = write(tmp_path, text)
    message = config_error(path)
    assert message.startswith(f"{path}{where}")
    assert "not valid YAML" in message


def test_not_utf8(tmp_path: Path) -> None:
    """A file that is not UTF-8 is a ConfigError naming the file."""
    path = tmp_path / "sources.yaml"
    path.write_bytes(one_source('    feeds: ["https://a.example/caf\xe9"]\n').encode("latin-1"))
    message = config_error(path)
    assert message.startswith(f"{path}: cannot read sources file")


def test_duplicate_names(tmp_path: Path) -> None:
    """A repeated name names file, the source, its position, the key and the first occurrence."""
    path = write(tmp_path, ISSUE_EXAMPLE + '  - name: bbc-world\n    urls: ["https://bbc.com/x"]\n')
    message = config_error(path)
    assert message.startswith(f"{path}")
    assert "source 'bbc-world' (#3)" in message
    assert "key 'name'" in message
    assert "duplicate of source #1" in message


def test_duplicate_names_line(tmp_path: Path) -> None:
    """A repeated name's error names the line of the second 'name' key (line 7 here)."""
    path = write(tmp_path, ISSUE_EXAMPLE + '  - name: bbc-world\n    urls: ["https://bbc.com/x"]\n')
    assert config_error(path).startswith(f"{path}:7: ")


def test_source_not_a_mapping_line(tmp_path: Path) -> None:
    """A list item that is a bare string instead of a mapping is reported with its line (2)."""
    path = write(tmp_path, "sources:\n  - https://a.example/rss\n")
    message = config_error(path)
    assert "source #1" in message
    assert message.startswith(f"{path}:2: ")


def test_wrong_type_says_mapping(tmp_path: Path) -> None:
    """A mapping where a list of URLs is expected is called a mapping/dict, not a private class."""
    message = config_error(write(tmp_path, one_source("    feeds: {x: 1}\n")))
    assert "_LinedDict" not in message


# max_age


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("36h", timedelta(hours=36)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("90m", timedelta(minutes=90)),
        ("1.5d", timedelta(hours=36)),
        (" 12h ", timedelta(hours=12)),
        ("3", timedelta(days=3)),
        ("'3d'", timedelta(days=3)),
    ],
)
def test_max_age(tmp_path: Path, value: str, expected: timedelta) -> None:
    """max_age accepts h/d/w (and m/s) units; a bare integer counts days."""
    path = write(tmp_path, one_source(f'    feeds: ["https://a.example/rss"]\n    max_age: {value}\n'))
    assert load_sources(path).sources[0].max_age == expected


def test_max_age_absent(tmp_path: Path) -> None:
    """Without max_age a source has no age window (None), not a zero one."""
    path = write(tmp_path, one_source('    feeds: ["https://a.example/rss"]\n'))
    assert load_sources(path).sources[0].max_age is None


# Source.allows, select(), validate_url


def test_allows_domains_and_subdomains() -> None:
    """allowed_domains matches the domain and its subdomains, ignoring case and a final dot."""
    source = Source(name="bbc", feeds=("https://bbc.co.uk/rss",), allowed_domains=("bbc.co.uk", "bbc.com"))
    for host in (
        "bbc.co.uk",
        "www.bbc.co.uk",
        "feeds.news.bbc.co.uk",
        "WWW.BBC.COM",
        "www.bbc.com.",
    ):
        assert source.allows(host), host
    for host in ("notbbc.co.uk", "bbc.co.uk.evil.com", "bbc.co", "example.com", "", None):
        assert not source.allows(host), host


def test_allows_everything_without_domains() -> None:
    """A source without allowed_domains accepts any host."""
    source = Source(name="any", urls=("https://a.example/",))
    assert source.allows("anything.example") and source.allows(None)


def test_allowed_domains_lower_cased(tmp_path: Path) -> None:
    """Domains from the file are lower-cased, so matching a lower-case host still works."""
    path = write(
        tmp_path,
        one_source('    feeds: ["https://a.example/rss"]\n    allowed_domains: [BBC.co.uk]\n'),
    )
    (source,) = load_sources(path).sources
    assert source.allowed_domains == ("bbc.co.uk",)
    assert source.allows("www.bbc.co.uk")


def test_allowed_domain_trailing_dot(tmp_path: Path) -> None:
    """A fully qualified domain with a trailing dot is accepted and stored without it."""
    path = write(
        tmp_path,
        one_source('    feeds: ["https://a.example/rss"]\n    allowed_domains: [bbc.co.uk.]\n'),
    )
    assert load_sources(path).sources[0].allowed_domains == ("bbc.co.uk",)


def test_select(tmp_path: Path) -> None:
    """select(None) gives every source and select(name) just that one."""
    config = load_sources(write(tmp_path, ISSUE_EXAMPLE))
    assert [s.name for s in config.select(None)] == ["bbc-world", "some-paper"]
    assert [s.name for s in config.select("some-paper")] == ["some-paper"]


def test_select_unknown_lists_known_names(tmp_path: Path) -> None:
    """select() of an unknown name raises ConfigError naming file, name and the known names."""
    path = write(tmp_path, ISSUE_EXAMPLE)
    with pytest.raises(ConfigError) as caught:
        load_sources(path).select("bbc")
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "'bbc'" in message
    assert "bbc-world, some-paper" in message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a?b=c",
        "http://127.0.0.1:8741/rss.xml",
        "http://[::1]:8080/x",
        "HTTPS://EXAMPLE.COM/",
    ],
)
def test_validate_url_accepts(url: str) -> None:
    """Absolute http(s) URLs, with ports, IPs and upper case, are accepted."""
    assert validate_url(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "example.com/x",
        "/relative",
        "ftp://example.com/",
        "mailto:a@example.com",
        "https://",
        "http://a.example:0x50/",
        "http://a.example:70000/",
        "http://a.example/a b",
        "http://[::1/",
    ],
)
def test_validate_url_refuses(url: str) -> None:
    """Relative, non-http(s), host-less, bad-port, spaced, malformed URLs are refused, quoted."""
    problem = validate_url(url)
    assert problem is not None
    assert repr(url) in problem


# before any request


def test_crawl_with_bad_sources_stops_before_any_request(tmp_path: Path) -> None:
    """`scrapy crawl feeds -a sources=BAD` exits non-zero, prints the error, writes no WARC."""
    path = write(
        tmp_path,
        one_source('    feeds: ["https://a.example/rss"]\n    feed: ["https://a.example/x"]\n'),
    )
    archive = tmp_path / "archive"
    done = subprocess.run(
        crawl_command("feeds", archive, f"sources={path}"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert f"{path}:4: source 'a': unknown key 'feed' (did you mean 'feeds'?)" in done.stderr
    assert "ConfigError" in done.stderr
    assert "Crawled (" not in done.stderr
    assert not [p for p in archive.rglob("*") if ".warc" in p.name]
