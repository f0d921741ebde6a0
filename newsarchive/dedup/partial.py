"""Partial copies: an excerpt of an article, or an article embedded in a bigger page.

MinHash LSH finds texts whose *Jaccard* similarity is high; a short excerpt of a long article
(or a long page embedding a short article) has a low Jaccard with it and is never a candidate.
Partial copies are found from a second, position-independent sample of each text instead: its
winnowing fingerprints (:func:`~newsarchive.dedup.signature.winnow`), kept in an inverted index
(fingerprint -> documents) by the backend. Partial copies link *stories*, near-duplicate
clusters: a text is dated by the earliest date any copy of its story was seen, and boilerplate is
counted in stories (a story syndicated to a hundred sites is one, not a hundred). This module decides, from what the backend looked up,
which pairs are partial copies; it does no I/O, so every backend decides the same way.

The rules, measured on the demo web and on ``../shared/corpora`` (``tests/test_dedup_partial.py``,
``bench/dedup_quality.py``):

- **Source and copy**: of two texts sharing a passage, the earlier published is the source (the
  earlier fetched when a date is missing), by day. Texts of the same day may be either: the
  rules below are tried both ways, and when both hold, the text seen first is the source. A
  passage is *attributed* to the earliest story that has it, the text's own story included (and
  first on a tie), so
  a roundup quoting an article that a second roundup also quotes links to the article, not to the
  other roundup, and a late repost of an article is not a copy of a page that embedded it.
- **Across sites**: texts of one site share its template (headlines in a roundup, an "About
  us" paragraph, a standard sign-off), so partial copies are only looked for between sites.
- **Evidence**: at least :data:`MIN_SHARED` fingerprints attributed to the source; a fingerprint
  held by more than :data:`MAX_HOLDERS` stories is boilerplate (a site's footer, a wire
  credit) and is no evidence of anything.
- **Linked** when the copy reproduces at least ``threshold`` of the source (an embedded article),
  or the source's text is at least ``threshold`` of the copy (an excerpt page), or the copy is a
  page made of earlier texts of several stories (at least ``threshold`` of it found in earlier
  pages, with passages of two other stories or more: a roundup of excerpts; a late repost is
  made of its own story, and is no roundup) and this source is at least :data:`MIN_SHARE` of it (counted on all of the copy's
  fingerprints or below the source's cut-off, whichever is larger: a long source keeps only its
  smallest fingerprints). An opinion piece quoting two
  paragraphs, or two press releases sharing an "About us" paragraph, is none of these.

Fractions are estimated on the fingerprints both texts kept: each keeps its smallest
``max_fingerprints``, so the two samples are compared below the smaller of their two cut-offs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import tldextract

from newsarchive.dedup.signature import window_minima

MIN_SHARED = 3
"""Fingerprints a copy must share with its source: with a 12-shingle window, ~40 words."""
MIN_SHARE = 0.04
"""Share of a roundup page one source must have to be linked by the roundup rule."""
MAX_HOLDERS = 50
"""A fingerprint found in more stories than this is boilerplate, not evidence."""
ANCHOR_WINDOW = 3
"""Anchors are the fingerprints winnowed once more, with this window, in text order: about half
of them. Only anchors go into the inverted index (each posting is a random write into a large
B-tree: most of what an insert costs), and since the second winnowing is local too, any
:data:`MIN_SHARED` fingerprints in a row that two texts share give them an anchor in common."""
NO_CUTOFF = 0xFFFFFFFF


def site_of(url: str) -> str:
    """The site a URL belongs to: its registered domain (``www.bbc.co.uk`` and ``m.bbc.co.uk``
    are ``bbc.co.uk``), or the host itself for an IP address or a local name; plus the port when
    one is given, so that sites served from one host on several ports stay apart."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    name = _domains()(host)
    site = f"{name.domain}.{name.suffix}" if name.domain and name.suffix else host
    return f"{site}:{parts.port}" if parts.port else site


@functools.cache
def _domains() -> tldextract.TLDExtract:
    # The public suffix list shipped with tldextract: never fetched at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def fingerprints(shingles: np.ndarray, window: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """(fingerprints, anchors) a document keeps, both sorted: the ``cap`` smallest of its
    winnowing fingerprints, and those of them that are anchors (:data:`ANCHOR_WINDOW`). None
    when ``window`` is 0: partial copies off."""
    if window == 0 or shingles.size == 0:
        return np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.uint32)
    minima = window_minima(shingles, window)
    fps = np.unique(minima)[:cap]
    anchors = np.unique(window_minima(minima, ANCHOR_WINDOW))
    return fps, anchors[anchors <= cutoff(fps, cap)]


def anchor_mask(fps: np.ndarray, anchors: np.ndarray) -> bytes:
    """Which of ``fps`` are anchors, one bit each: stored next to the fingerprints."""
    return np.packbits(np.isin(fps, anchors, assume_unique=True)).tobytes()


def anchors_from_mask(fps: np.ndarray, mask: bytes) -> np.ndarray:
    return fps[np.unpackbits(np.frombuffer(mask, np.uint8), count=fps.size).astype(bool)]


def one_way(links: Iterable[Link]) -> list[Link]:
    """``links`` without the reverse of a link whose source was seen first: texts of one day
    are judged both ways, and an excerpt and its source may pass the rules both ways."""
    links = list(links)
    pairs = {(link.copy.doc, link.source.doc) for link in links}
    return [
        link
        for link in links
        if (link.source.doc, link.copy.doc) not in pairs or link.source.order < link.copy.order
    ]


def holders(of: Text, texts: Iterable[Text]) -> dict[int, list[Text]]:
    """``{fingerprint of ``of``: the ``texts`` having it}``, :func:`without_boilerplate`."""
    result: dict[int, list[Text]] = {}
    for text in texts:
        for fp in np.intersect1d(of.fps, text.fps, assume_unique=True).tolist():
            result.setdefault(fp, []).append(text)
    return without_boilerplate(result)


def without_boilerplate(holders: Mapping[int, list[Text]]) -> dict[int, list[Text]]:
    """``holders`` without the fingerprints held by more than :data:`MAX_HOLDERS` stories."""
    return {
        fp: group for fp, group in holders.items() if len({text.cluster for text in group}) <= MAX_HOLDERS
    }


def cutoff(fps: np.ndarray, cap: int) -> int:
    """Largest fingerprint value the sample is complete up to."""
    return int(fps[-1]) if fps.size >= cap else NO_CUTOFF


@dataclass(frozen=True)
class Text:
    """A document as the partial-copy rules see it."""

    doc: int
    """Backend id; the new document has an id larger than every stored one."""
    cluster: int
    """Id of its cluster's canonical document (itself for a canonical)."""
    cluster_id: str
    url: str
    site: str | None
    seen: str
    """When it appeared (ISO 8601): its publication date, else its fetch time."""
    story_seen: str
    """When its story first appeared: the earliest ``seen`` of any copy in its cluster."""
    fps: np.ndarray
    """Its stored fingerprints (:func:`fingerprints`)."""
    anchors: np.ndarray
    """Those of them in the inverted index."""

    @property
    def origin(self) -> str:
        """The day it appeared (YYYY-MM-DD). Days, not times: many pages give no time, and one
        giving it must not seem older for that."""
        return self.seen[:10]

    @property
    def story_origin(self) -> str:
        """The day its story first appeared: a source is judged by its story's age."""
        return self.story_seen[:10]

    @property
    def order(self) -> tuple[str, str, int]:
        """Sort key of "appeared first": the day, then the time if known, then arrival."""
        return (self.origin, self.seen, self.doc)


@dataclass(frozen=True)
class Link:
    copy: Text
    source: Text
    containment: float
    """Share of the source's fingerprints found in the copy."""
    share: float
    """Share of the copy's fingerprints found in the source."""


def overlap(a: Text, b: Text, cap: int) -> tuple[int, int, int]:
    """(shared, |a|, |b|) counted below the smaller cut-off of the two samples."""
    limit = min(cutoff(a.fps, cap), cutoff(b.fps, cap))
    fa, fb = a.fps[a.fps <= limit], b.fps[b.fps <= limit]
    return np.intersect1d(fa, fb, assume_unique=True).size, fa.size, fb.size


def judge(
    copy: Text, holders: Mapping[int, Iterable[Text]], sources: Iterable[Text], threshold: float, cap: int
) -> list[Link]:
    """The partial-copy links from ``copy`` to each of ``sources``.

    ``holders`` maps each of ``copy``'s fingerprints to the stored stories that have it (its own
    included, other sites only; fingerprints with more than :data:`MAX_HOLDERS` left out);
    ``sources`` are the candidates (other stories), none published after ``copy``.
    """
    if copy.fps.size == 0:
        return []
    attributed: dict[int, int] = {}
    for fp in copy.fps.tolist():
        earlier = [h for h in holders.get(fp, ()) if h.story_origin <= copy.origin]
        if earlier:
            first = min(
                earlier, key=lambda h: (h.story_origin, h.cluster != copy.cluster, h.story_seen, h.doc)
            )
            attributed[first.cluster] = attributed.get(first.cluster, 0) + 1
    own = attributed.pop(copy.cluster, 0)
    # A page made of earlier texts of several stories: a roundup. Its own story (the one it was
    # clustered with) counts when it is a minor part: a roundup taken for a near-duplicate of one
    # of its excerpts; a repost is mostly its own story, and is not a roundup however it is quoted.
    coverage = (sum(attributed.values()) + (own if own / copy.fps.size < threshold else 0)) / copy.fps.size
    roundup = sum(count >= MIN_SHARED for count in attributed.values()) >= 2
    links = []
    for source in sources:
        count = attributed.get(source.cluster, 0)
        if count < MIN_SHARED:
            continue
        shared, size_copy, size_source = overlap(copy, source, cap)
        if not size_copy or not size_source:
            continue
        share, containment = shared / size_copy, shared / size_source
        if (
            containment >= threshold
            or share >= threshold
            or (roundup and coverage >= threshold and max(share, count / copy.fps.size) >= MIN_SHARE)
        ):
            links.append(Link(copy, source, round(containment, 3), round(share, 3)))
    return links


def links_of(copy: Text, holders: Mapping[int, list[Text]], threshold: float, cap: int) -> list[Link]:
    """:func:`judge` ``copy`` against every other story not published after it."""
    sources = candidates(
        holders, lambda text: text.story_origin <= copy.origin and text.cluster != copy.cluster
    )
    return judge(copy, holders, sources, threshold, cap)


def candidates(holders: Mapping[int, list[Text]], keep: Callable[[Text], bool]) -> list[Text]:
    """One text per cluster among the ``holders`` that ``keep`` accepts: the one holding most of
    the fingerprints (the oldest on ties); only texts holding :data:`MIN_SHARED` or more."""
    counts: dict[int, int] = {}
    texts: dict[int, Text] = {}
    for group in holders.values():
        for text in group:
            counts[text.doc] = counts.get(text.doc, 0) + 1
            texts[text.doc] = text
    best: dict[int, tuple[int, int, Text]] = {}
    for doc, count in counts.items():
        text = texts[doc]
        if not keep(text):
            continue
        key = (count, -doc)
        if count >= MIN_SHARED and (text.cluster not in best or key > best[text.cluster][:2]):
            best[text.cluster] = (*key, text)
    return [entry[2] for entry in best.values()]
