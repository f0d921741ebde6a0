"""Load and validate the sources file (``config/sources.yaml``).

Every problem is reported as one :class:`~newsarchive.exceptions.ConfigError` naming the
file, the line, the source and the key, before any request is made.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from newsarchive.exceptions import ConfigError

DEFAULT_SOURCES_PATH = "config/sources.yaml"
URL_KEYS = ("feeds", "sitemaps", "urls")
SOURCE_KEYS = (*URL_KEYS, "name", "allowed_domains", "max_age")
TOP_KEYS = ("sources",)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$")


@dataclass(frozen=True)
class Source:
    """One named news source: where to find its article URLs and how to filter them."""

    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    """Article links outside these domains (and their subdomains) are not followed; empty: any."""
    max_age: timedelta | None = None
    """Feed entries and sitemap URLs dated older than this are skipped; undated ones are kept."""

    def allows(self, host: str | None) -> bool:
        """Whether an article on ``host`` belongs to this source."""
        if not self.allowed_domains:
            return True
        host = (host or "").lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)


@dataclass(frozen=True)
class SourcesConfig:
    """A validated sources file."""

    path: Path
    sources: tuple[Source, ...]

    def select(self, name: str | None) -> tuple[Source, ...]:
        """All sources, or the one called ``name`` (a ConfigError lists the known names)."""
        if name is None:
            return self.sources
        for source in self.sources:
            if source.name == name:
                return (source,)
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source named {name!r} (sources: {known})")


class _LinedDict(dict):  # type: ignore[type-arg]
    """A mapping that remembers the line of each of its keys, for error messages."""

    lines: dict[Any, int]
    line: int


class _LinedList(list):  # type: ignore[type-arg]
    """A sequence that remembers the line of each of its items, for error messages."""

    lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings and sequences remember their lines."""


def _construct_lined_map(loader: _LineLoader, node: yaml.MappingNode) -> Any:
    mapping = _LinedDict()
    yield mapping
    mapping.update(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {
        loader.construct_object(key, deep=True): key.start_mark.line + 1 for key, _ in node.value
    }


def _construct_lined_list(loader: _LineLoader, node: yaml.SequenceNode) -> Any:
    sequence = _LinedList()
    yield sequence
    sequence.extend(loader.construct_sequence(node, deep=True))
    sequence.lines = [item.start_mark.line + 1 for item in node.value]


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_lined_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_lined_list)


def load_sources(path: str | Path) -> SourcesConfig:
    """Read and validate a sources file; raise ConfigError on the first problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: sources file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read sources file: {exc}") from None
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    return SourcesConfig(path=path, sources=_parse_document(path, data))


def _parse_document(path: Path, data: Any) -> tuple[Source, ...]:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' list at the top")
    _reject_unknown(path, data, TOP_KEYS, where="top level")
    entries = data.get("sources")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}:{_line(data, 'sources')}: 'sources' must be a non-empty list")
    sources = [_parse_source(path, i, entry, entries.lines[i - 1]) for i, entry in enumerate(entries, 1)]
    seen: dict[str, int] = {}
    for i, source in enumerate(sources, 1):
        if source.name in seen:
            raise ConfigError(
                f"{path}:{_line(entries[i - 1], 'name')}: source {source.name!r} (#{i}): key 'name': "
                f"duplicate of source #{seen[source.name]}"
            )
        seen[source.name] = i
    return tuple(sources)


def _parse_source(path: Path, index: int, entry: Any, line: int) -> Source:
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}:{line}: source #{index}: expected a mapping, got {_kind(entry)}")
    name = entry.get("name")
    label = f"source {name!r}" if isinstance(name, str) else f"source #{index}"

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{path}:{_line(entry, key)}: {label}: key {key!r}: {message}")

    _reject_unknown(path, entry, SOURCE_KEYS, where=label)
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", "required; letters, digits, '.', '_' or '-' (up to 64)")
    lists = {key: _url_list(entry, key, fail) for key in URL_KEYS}
    if not any(lists.values()):
        raise ConfigError(f"{path}:{entry.line}: {label}: needs at least one of 'feeds', 'sitemaps', 'urls'")
    domains = [d.lower().rstrip(".") for d in _string_list(entry, "allowed_domains", fail)]
    for domain in domains:
        if not _DOMAIN.match(domain):
            raise fail("allowed_domains", f"{domain!r} is not a domain name")
    return Source(
        name=name,
        allowed_domains=tuple(domains),
        max_age=_duration(entry, "max_age", fail),
        **{key: tuple(urls) for key, urls in lists.items()},
    )


def validate_url(url: str) -> str | None:
    """Why ``url`` cannot be crawled, or None when it is an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        return f"{url!r} is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        return f"{url!r} is not an absolute http(s) URL"
    return None


def _url_list(entry: dict[str, Any], key: str, fail: Any) -> list[str]:
    urls = _string_list(entry, key, fail)
    for url in urls:
        if problem := validate_url(url):
            raise fail(key, problem)
    return urls


def _string_list(entry: dict[str, Any], key: str, fail: Any) -> list[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise fail(key, f"expected a list of strings, got {_kind(value)}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise fail(key, f"expected a list of strings, found {_kind(item)} {item!r} in it")
    return [v.strip() for v in value]


def _duration(entry: dict[str, Any], key: str, fail: Any) -> timedelta | None:
    value = entry.get(key)
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise fail(key, str(exc)) from None


def parse_duration(value: object) -> timedelta:
    """``36h``, ``7d``, ``2w`` (or a number of days) as a timedelta; ValueError saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected a duration such as '36h' or '7d', got {_kind(value)}")
    match = _DURATION.match(f"{value}d" if isinstance(value, int) else value)
    if not match or float(match[1]) <= 0:
        raise ValueError(f"{value!r} is not a positive duration such as '36h' or '7d'")
    return timedelta(**{_UNITS[match[2]]: float(match[1])})


def _reject_unknown(path: Path, mapping: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            guess = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else f" (allowed: {', '.join(allowed)})"
            raise ConfigError(f"{path}:{_line(mapping, key)}: {where}: unknown key {key!r}{hint}")


def _line(mapping: Any, key: str) -> int | str:
    lines = getattr(mapping, "lines", {})
    return lines.get(key, getattr(mapping, "line", "?"))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    kinds = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (dict, "a mapping"),
        (list, "a list"),
        (str, "a string"),
    )
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"
