"""Word-level alignment of two texts, for the report's diffs and quoted passages: tokens with
paragraph breaks kept, and difflib's opcodes anchored first on words found once in each text."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_TOKENS = 5_000
"""Words of a text compared at most: a word diff costs up to quadratic time in them."""
PARAGRAPH = "\n"
"""The token between two paragraphs: a moved or merged paragraph shows in the diff."""


def tokens(text: str) -> tuple[list[str], bool]:
    """The words of ``text`` with :data:`PARAGRAPH` between paragraphs, at most :data:`MAX_TOKENS`
    (and whether some were left out)."""
    result: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        if not words:
            continue
        if result:
            result.append(PARAGRAPH)
        result.extend(words)
        if len(result) > MAX_TOKENS:
            return result[:MAX_TOKENS], True
    return result, False


def diff_opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """:meth:`difflib.SequenceMatcher.get_opcodes` of ``a`` and ``b``, anchored first on the words
    found once in each, in the same order (the "patience diff" of bzr and git): SequenceMatcher,
    without its autojunk heuristic (which drops every common word from a long text), costs about
    10 ms for two 800-word articles, but only a fraction of that on the short runs between anchors;
    and the anchors keep a frequent word from matching far from where it belongs."""
    ops: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    for ai, bj in [*_anchors(a, b), (len(a), len(b))]:
        if a[i:ai] == b[j:bj]:
            ops.append(("equal", i, ai, j, bj))
        elif i == ai or j == bj:
            ops.append(("insert" if i == ai else "delete", i, ai, j, bj))
        else:
            matcher = SequenceMatcher(None, a[i:ai], b[j:bj], autojunk=False)
            ops.extend((tag, i + i1, i + i2, j + j1, j + j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes())
        if ai < len(a):  # not the end
            ops.append(("equal", ai, ai + 1, bj, bj + 1))
        i, j = ai + 1, bj + 1
    merged: list[tuple[str, int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in ops:
        if i1 == i2 and j1 == j2:
            continue
        if merged and (merged[-1][0] == "equal") == (tag == "equal"):
            last = merged.pop()
            tag = tag if tag == last[0] else "replace"
            i1, j1 = last[1], last[3]
        merged.append((tag, i1, i2, j1, j2))
    return merged


def _anchors(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """The longest increasing run of (i, j) with ``a[i] == b[j]`` a word unique in both."""
    count_a, count_b = Counter(a), Counter(b)
    where = {word: j for j, word in enumerate(b) if count_b[word] == 1}
    pairs = [(i, where[word]) for i, word in enumerate(a) if count_a[word] == 1 and word in where]
    tails: list[int] = []  # the smallest j ending an increasing run of each length
    ends: list[int] = []  # the pair that j belongs to
    back = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        length = bisect_left(tails, j)
        if length == len(tails):
            tails.append(j)
            ends.append(k)
        else:
            tails[length], ends[length] = j, k
        back[k] = ends[length - 1] if length else -1
    run = []
    k = ends[-1] if ends else -1
    while k >= 0:
        run.append(pairs[k])
        k = back[k]
    return run[::-1]
