"""What the syndication report shows: the dedup index's clusters, joined to the archive's JSON lines.

The clusters come from the index, not from the ``cluster_id`` of the JSON lines: a line is written
when its article is archived, so it lacks every link found later (a copy archived after it, a
partial copy). The index keeps no texts; the JSON lines do, with titles, site names and dates.
Both are joined on the WARC record id, the key the dedup pipeline adds each document under.

The lines are streamed and only the texts the report shows are kept: memory grows with the
clustered articles, not with the archive.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsarchive.dedup.backends import open_existing
from newsarchive.dedup.partial import site_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from newsarchive.dedup.index import Cluster, ClusterMember
    from newsarchive.layout import ArchiveLayout

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capture:
    """One archived article: the index's record of it, completed by its JSON line."""

    key: str
    """WARC-Record-ID of its response record (the index key, the line's ``warc_record_id``)."""
    url: str
    site: str
    """Registered domain and port (:func:`~newsarchive.dedup.partial.site_of`), as the index groups."""
    fetched_at: str
    title: str | None
    sitename: str | None = None
    published: str | None = None
    text: str | None = None
    """None when the archive has no JSON line for it: left out by ``DEDUP_POLICY = "drop"``, or in
    a JSON file a running crawl still holds open."""


@dataclass(frozen=True)
class Copy:
    """A near-identical copy of a story's canonical article."""

    capture: Capture
    similarity: float
    exact: bool


@dataclass(frozen=True)
class PartialCopy:
    """A page reproducing part of a story (an excerpt in a roundup, an embed) without being a copy."""

    capture: Capture
    source: Capture
    """The story's article whose text it reproduces (the canonical or one of its copies)."""
    containment: float
    """Estimated share of the source's text found in the page."""
    share: float
    """Estimated share of the page's text that is the source's."""


@dataclass(frozen=True)
class Story:
    """One cluster: the first archived article and every copy of it."""

    cluster_id: str
    canonical: Capture
    copies: tuple[Copy, ...]
    partial_copies: tuple[PartialCopy, ...]

    @property
    def size(self) -> int:
        return 1 + len(self.copies)

    @property
    def sites(self) -> set[str]:
        return {self.canonical.site, *(copy.capture.site for copy in self.copies)}


@dataclass(frozen=True)
class Republisher:
    site: str
    sitename: str | None
    copies: int
    exact: int
    originals: int
    partial_copies: int


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, and the totals of its summary."""

    archive: str
    min_size: int
    """Smallest story listed (stories with partial copies are listed whatever their size)."""
    stories: tuple[Story, ...]
    """Largest first, then earliest archived."""
    articles: int
    """Articles in the JSON lines (distinct WARC record ids)."""
    unlisted: int
    """Articles of the JSON lines in no story, neither as original, copy nor partial copy."""
    archive_sites: int
    """Sites of all the articles of the JSON lines."""
    without_text: int
    """Articles of the stories that have no JSON line (shown without text)."""
    bad_lines: int
    """JSON lines that could not be read (skipped, logged)."""

    @property
    def copies(self) -> int:
        return sum(len(story.copies) for story in self.stories)

    @property
    def exact_copies(self) -> int:
        return sum(copy.exact for story in self.stories for copy in story.copies)

    @property
    def partial_copies(self) -> int:
        return sum(len(story.partial_copies) for story in self.stories)

    @property
    def sites(self) -> set[str]:
        """Sites publishing the stories' originals and copies."""
        return {site for story in self.stories for site in story.sites}

    def republishers(self, top: int = 10) -> list[Republisher]:
        """The sites with the most copies (then most partial copies), with what else they published."""
        copies: Counter[str] = Counter()
        exact: Counter[str] = Counter()
        originals: Counter[str] = Counter()
        partial: Counter[str] = Counter()
        names: dict[str, Counter[str]] = {}
        for story in self.stories:
            originals[story.canonical.site] += 1
            for copy in story.copies:
                copies[copy.capture.site] += 1
                exact[copy.capture.site] += copy.exact
            for part in story.partial_copies:
                partial[part.capture.site] += 1
            for capture in (story.canonical, *(c.capture for c in story.copies)):
                if capture.sitename:
                    names.setdefault(capture.site, Counter())[capture.sitename] += 1
        ranked = sorted(set(copies) | set(partial), key=lambda site: (-copies[site], -partial[site], site))
        return [
            Republisher(
                site,
                names[site].most_common(1)[0][0] if site in names else None,
                copies[site],
                exact[site],
                originals[site],
                partial[site],
            )
            for site in ranked[:top]
        ]


def load_report(layout: ArchiveLayout, *, dedup_uri: str, redis_prefix: str, min_size: int) -> ReportData:
    """The stories of ``layout``'s archive. :class:`FileNotFoundError` when it has no index or no
    JSON lines; the index's own errors (unreachable, other version) pass through."""
    files = json_files(layout)
    with open_existing(dedup_uri, state_dir=layout.state_dir, redis_prefix=redis_prefix) as index:
        clusters = index.clusters(min_size=min_size)
    wanted = {member.key for cluster in clusters for member in _members(cluster)}
    lines = _LineReader(wanted)
    records = lines.read(files)
    stories = [_story(cluster, records) for cluster in clusters]
    stories.sort(key=lambda story: (-story.size, story.canonical.fetched_at, story.cluster_id))
    listed = {capture.key for story in stories for capture in _captures(story)}
    return ReportData(
        archive=layout.uri,
        min_size=min_size,
        stories=tuple(stories),
        articles=len(lines.sites),
        unlisted=sum(key not in listed for key in lines.sites),
        archive_sites=len(set(lines.sites.values())),
        without_text=sum(key not in records for key in listed),
        bad_lines=lines.bad,
    )


def json_files(layout: ArchiveLayout) -> list[Path]:
    """The archive's closed JSON files (a running crawl's ``.open`` file is left alone)."""
    files = sorted(layout.json_dir.glob("*.jsonl")) if layout.json_dir.is_dir() else []
    if files:
        return files
    if not layout.root.exists():
        raise FileNotFoundError(f"no archive at {layout.root}: give the ARCHIVE_URI a crawl wrote to")
    hint = "has a crawl extracted any article there?"
    if layout.remote is not None:
        hint = (
            f"the JSON files of {layout.remote} are removed from the spool once uploaded; "
            "crawl with ARCHIVE_KEEP_LOCAL=True, or copy them from the store into it"
        )
    raise FileNotFoundError(f"no JSON lines (*.jsonl) in {layout.json_dir}: {hint}")


def _members(cluster: Cluster) -> Iterator[ClusterMember]:
    yield cluster.canonical
    yield from cluster.members
    for part in cluster.partial_copies:
        yield part.copy


def _captures(story: Story) -> Iterator[Capture]:
    yield story.canonical
    for copy in story.copies:
        yield copy.capture
    for part in story.partial_copies:
        yield part.capture


class _LineReader:
    """Reads JSON lines once: the site of every article (for the totals), and the fields of the
    wanted ones."""

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.sites: dict[str, str] = {}
        self.bad = 0

    def read(self, files: Iterable[Path]) -> dict[str, dict[str, str | None]]:
        records: dict[str, dict[str, str | None]] = {}
        for path in files:
            with open(path, encoding="utf-8", errors="replace") as lines:
                for number, line in enumerate(lines, 1):
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                        key, url = item["warc_record_id"], item["url"]
                        if not isinstance(key, str) or not isinstance(url, str):
                            raise TypeError("warc_record_id and url must be strings")
                    except (ValueError, KeyError, TypeError) as exc:
                        self.bad += 1
                        logger.warning("Skipped unreadable JSON line %s:%d: %s", path, number, exc)
                        continue
                    if key in self.sites:  # the same article twice (a file copied in): keep the first
                        continue
                    self.sites[key] = site_of(url)
                    if key in self.wanted:
                        records[key] = {
                            name: _text_or_none(item.get(name))
                            for name in ("title", "sitename", "date", "text")
                        }
        return records


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _capture(member: ClusterMember, records: dict[str, dict[str, str | None]]) -> Capture:
    record = records.get(member.key, {})
    return Capture(
        key=member.key,
        url=member.url,
        site=member.site or site_of(member.url),
        fetched_at=member.fetched_at,
        title=record.get("title") or member.title,
        sitename=record.get("sitename"),
        published=record.get("date"),
        text=record.get("text"),
    )


def _story(cluster: Cluster, records: dict[str, dict[str, str | None]]) -> Story:
    canonical = _capture(cluster.canonical, records)
    copies = tuple(
        Copy(_capture(member, records), member.similarity or 0.0, member.exact) for member in cluster.members
    )
    by_url: dict[str, Capture] = {}
    for capture in (canonical, *(copy.capture for copy in copies)):
        by_url.setdefault(capture.url, capture)
    partial_copies = tuple(
        PartialCopy(
            _capture(part.copy, records),
            by_url.get(part.source_url, canonical),
            part.containment,
            part.share,
        )
        for part in cluster.partial_copies
    )
    return Story(cluster.cluster_id, canonical, copies, partial_copies)
