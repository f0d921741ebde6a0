"""Partial copies, once for every backend: what an index does after its near-duplicate decision.

:mod:`~newsarchive.dedup.partial` holds the rules (pure functions); :class:`PassageFinder` asks a
:class:`PassageStore` for what the rules need and gives it what they found to keep. Each backend
implements the store on its own storage (``SqliteIndex``: SQL tables in its write transaction;
``RedisIndex``: hashes and Lua scripts), so both decide alike. For a new document with anchors
(a text that is not an exact copy of a stored one):

1. **Holders.** The stored texts sharing one of its anchors, leaving out the anchors held by
   more than :data:`~newsarchive.dedup.partial.MAX_HOLDERS` stories (boilerplate) and the texts
   of other stories on its own site; plus its earliest exact twin, which stands for its own story
   holding every passage (a verbatim copy stored earlier makes each passage its story's).
2. **As a copy**: :func:`~newsarchive.dedup.partial.links_of` the new text.
3. **As a source**: the stored texts of other stories, not older than the new text's story, that
   share passages with it are judged again whole, their own holders looked up with the new text
   among them: the new text may be what makes a page "mostly made of earlier texts".
4. **Kept**: the new text's anchors go into the store's inverted index (in the step that looks
   its holders up); each link is stored, replacing its reverse when its source was seen first
   (:func:`~newsarchive.dedup.partial.one_way`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from newsarchive.dedup import partial

if TYPE_CHECKING:
    from collections.abc import Sequence

    from newsarchive.dedup.index import Document, IndexConfig


@dataclass(frozen=True)
class PartialLink:
    """A partial copy: one text reproduces a passage of another without being a near-duplicate."""

    url: str
    """The other document."""
    cluster_id: str
    """The other document's cluster."""
    relation: str
    """``"copy_of"``: this text reproduces part of the other (an excerpt of it, or it embedded
    whole); ``"copied_by"``: the other reproduces part of this one."""
    containment: float
    """Estimated share of the source's text found in the copy (an excerpt: small; an embed: ~1)."""
    share: float
    """Estimated share of the copy's text that is the source's (an excerpt page: ~1; a page
    embedding the source among other texts: its part)."""


@dataclass(frozen=True)
class Found:
    """What a store holds about one text's passages (:meth:`PassageStore.lookup`)."""

    texts: Sequence[partial.Text]
    """The stored texts holding one of its anchors, boilerplate anchors left out (any order)."""
    twin: tuple[int, str] | None
    """(id, seen) of the earliest other stored text with its fingerprint (the same text), if any."""


class PassageStore(Protocol):
    """The storage :class:`PassageFinder` works on. Each method may be one round trip to a
    server: a step's queries come in one call."""

    def post(self, new: partial.Text) -> Found:
        """Put ``new``'s anchors in the passage index, under its document and cluster, and return
        what :meth:`lookup` found for it just before: in one step, so that of two texts added
        at the same moment the second sees the first."""
        ...

    def lookup(self, queries: Sequence[partial.Text], skip: int) -> list[Found]:
        """For each query text, its holders and its twin (:class:`Found`). An anchor counts when
        its postings name at most :data:`~newsarchive.dedup.partial.MAX_HOLDERS` clusters.
        Document ``skip`` (the one being added) is not there yet: its postings neither count nor
        are returned, nor is it a twin."""
        ...

    def links_present(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """Which of the (copy, source) pairs of document ids are stored links."""
        ...

    def write_links(self, drop: Sequence[tuple[int, int]], links: Sequence[partial.Link]) -> None:
        """Delete the (copy, source) links ``drop``, then store ``links`` (a stored (copy, source)
        pair gets the new containment and share)."""
        ...


def passages_of(doc: Document, config: IndexConfig) -> tuple[np.ndarray, np.ndarray]:
    """(fingerprints, anchors) of ``doc`` (:func:`~newsarchive.dedup.partial.fingerprints`);
    none without shingles."""
    if doc.shingles is None:
        return np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.uint32)
    return partial.fingerprints(np.asarray(doc.shingles), config.window, config.max_fingerprints)


def seen_of(doc: Document) -> str:
    """When ``doc`` appeared: its publication date, else its fetch time."""
    return doc.published or doc.fetched_at


def encode(fps: np.ndarray, anchors: np.ndarray) -> tuple[bytes, bytes]:
    """What a backend stores of a document's passages: the fingerprints (little-endian uint32)
    and which of them are anchors (:func:`~newsarchive.dedup.partial.anchor_mask`)."""
    return fps.astype("<u4").tobytes(), partial.anchor_mask(fps, anchors)


def stored_text(
    doc: int,
    cluster: int,
    cluster_id: str,
    url: str,
    site: str | None,
    seen: str,
    story: str,
    blob: bytes,
    mask: bytes,
) -> partial.Text:
    """A stored document as the rules see it, from what :func:`encode` gave."""
    fps = np.frombuffer(blob, "<u4").astype(np.uint32)
    return partial.Text(
        doc, cluster, cluster_id, url, site, seen, story, fps, partial.anchors_from_mask(fps, mask)
    )


def new_text(
    doc_id: int,
    cluster: int,
    cluster_id: str,
    doc: Document,
    story: str,
    fps: np.ndarray,
    anchors: np.ndarray,
) -> partial.Text:
    """The document just stored as ``doc_id`` in ``cluster``, whose story first appeared at ``story``."""
    return partial.Text(doc_id, cluster, cluster_id, doc.url, doc.site, seen_of(doc), story, fps, anchors)


class PassageFinder:
    """Finds and stores the partial copies of each new document (see the module docstring)."""

    def __init__(self, store: PassageStore, config: IndexConfig) -> None:
        self.store = store
        self.threshold = config.partial
        self.cap = config.max_fingerprints

    def add(self, new: partial.Text) -> tuple[PartialLink, ...]:
        """Link ``new`` (stored, but not in the passage index yet) to the texts it copies and to
        those copying it, and index its anchors; return the links from its side, for its Match."""
        if new.anchors.size == 0:
            # An exact copy (its twin's passages are these) or no passages: only its own story
            # holds them, and a story is not linked to itself.
            return ()
        links = self._links(new, self.store.post(new))
        if links:
            self._store(links)
        return tuple(_as_seen_by(new, link) for link in links if new.doc in (link.copy.doc, link.source.doc))

    def _links(self, new: partial.Text, found: Found) -> list[partial.Link]:
        """Links of ``new`` as a copy of stories not published after it, and links of the stored
        stories not published before its story that share passages with it. Those are judged
        again whole: ``new`` may be the source that makes a roundup page mostly made of earlier
        texts."""
        holders = self._holders(new, found)
        links = partial.links_of(new, holders, self.threshold, self.cap)
        later = partial.candidates(
            holders, lambda text: text.origin >= new.story_origin and text.cluster != new.cluster
        )
        if later:
            for text, theirs_found in zip(later, self.store.lookup(later, skip=new.doc), strict=True):
                theirs = self._holders(text, theirs_found)
                for fp in np.intersect1d(text.fps, new.fps, assume_unique=True).tolist():
                    theirs.setdefault(fp, []).append(new)
                links += partial.links_of(text, partial.without_boilerplate(theirs), self.threshold, self.cap)
        return partial.one_way(links)

    @staticmethod
    def _holders(of: partial.Text, found: Found) -> dict[int, list[partial.Text]]:
        """``{fingerprint of ``of``: the stored texts having it}``: the texts sharing one of its
        anchors, compared on all fingerprints; other sites only, but for ``of``'s own story. An
        exact twin of ``of`` (stored without passages of its own) holds them all."""
        twins = [replace(of, doc=found.twin[0], seen=found.twin[1])] if found.twin else []
        others = [
            text
            for text in sorted(found.texts, key=lambda text: text.doc)
            if text.doc != of.doc
            and (text.cluster == of.cluster or text.site is None or text.site != of.site)
        ]
        return partial.holders(of, others + twins)

    def _store(self, links: list[partial.Link]) -> None:
        """Record ``links``; a link replaces its reverse when its source was seen first, and is
        left out when the reverse is there and right (see :func:`partial.one_way`: ``links``
        holds no pair both ways)."""
        present = self.store.links_present([(link.source.doc, link.copy.doc) for link in links])
        drop, keep = [], []
        for link in links:
            if (link.source.doc, link.copy.doc) in present:
                if link.source.order > link.copy.order:
                    continue
                drop.append((link.source.doc, link.copy.doc))
            keep.append(link)
        self.store.write_links(drop, keep)


def _as_seen_by(new: partial.Text, link: partial.Link) -> PartialLink:
    """``link`` from ``new``'s side: the other document and ``new``'s relation to it."""
    if link.copy.doc == new.doc:
        return PartialLink(link.source.url, link.source.cluster_id, "copy_of", link.containment, link.share)
    return PartialLink(link.copy.url, link.copy.cluster_id, "copied_by", link.containment, link.share)
