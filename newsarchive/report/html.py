"""The syndication report as one self-contained HTML page: inline CSS, a few lines of inline
script, no request to anywhere but the replay links a reader clicks.

Every string from the archive (texts, titles, URLs, site names) is untrusted and escaped; a
Content-Security-Policy lets only this module's own script run and nothing load, in case one
slipped through. With thousands of stories the page stays small: each diff shows the changed
words with a little context and is bounded (:data:`MAX_SHOWN`), inside a closed ``<details>``
element the browser does not lay out until it is opened.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

from newsarchive.report.diff import MAX_TOKENS, PARAGRAPH, diff_opcodes, tokens

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import TextIO

    from newsarchive.report.data import Capture, ReportData, Story

DEFAULT_REPLAY_URL = "http://127.0.0.1:8080/archive/"
"""pywb's ``wayback -b 127.0.0.1 -p 8080`` with a collection named ``archive``."""
CONTEXT = 6
"""Unchanged words shown on each side of a change."""
MAX_SHOWN = 160
"""Words shown per diff or per list of reproduced passages; the rest is counted."""
MAX_RUN = 60
"""Words shown of one inserted, deleted or reproduced run."""
MAX_QUOTED = 20
"""Partial copies of one story whose passages are quoted (the largest first): a story excerpted
by hundreds of pages still gets one row per page, but not hundreds of quotes."""
MIN_PASSAGE = 8
"""Words in a row two texts must share to count as a reproduced passage."""


@dataclass(frozen=True)
class Diff:
    html: str
    added: int
    removed: int
    cut: bool
    """One of the texts was longer than :data:`~newsarchive.report.diff.MAX_TOKENS`: only their
    beginnings were compared."""


def render(data: ReportData, out: TextIO, *, replay_url: str = DEFAULT_REPLAY_URL) -> None:
    """Write the page for ``data`` to ``out``, story by story (nothing holds the whole page)."""
    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    out.write(
        _HEAD.format(
            title=escape(f"Syndication report: {data.archive}"),
            csp=f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'",
            style=_STYLE,
        )
    )
    out.write(_summary(data))
    out.write('<main id="stories">\n')
    for story in data.stories:
        out.write(_story(story, replay_url))
    if not data.stories:
        out.write(f'<p class="empty">No story of {data.min_size} or more articles in this archive yet.</p>\n')
    out.write("</main>\n<script>" + _SCRIPT + "</script>\n</body>\n</html>\n")


# -- summary ---------------------------------------------------------------------------------------


def _summary(data: ReportData) -> str:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts = [
        ("Stories", f"{data.min_size} or more articles, or with partial copies", len(data.stories)),
        ("Copies", f"{data.exact_copies} exact", data.copies),
        ("Partial copies", "excerpts and embeds", data.partial_copies),
        ("Sites", f"publishing these stories, of {data.archive_sites} in the archive", len(data.sites)),
        ("Articles", f"in the JSON lines; {data.unlisted} in no story", data.articles),
    ]
    if data.without_text:
        facts.append(("Without text", "no JSON line: shown without diff", data.without_text))
    if data.bad_lines:
        facts.append(("Unreadable lines", "skipped", data.bad_lines))
    items = "".join(
        f'<div><dt>{escape(name)}</dt><dd><b>{value:,}</b> <span class="note">{escape(note)}</span></dd></div>'
        for name, note, value in facts
    )
    rows = "".join(
        f"<tr><td>{_site(r.site, r.sitename)}</td><td>{r.copies:,}</td><td>{r.exact:,}</td>"
        f"<td>{r.partial_copies:,}</td><td>{r.originals:,}</td></tr>"
        for r in data.republishers()
    )
    table = (
        '<h2>Top republishers</h2>\n<table class="republishers"><thead><tr><th>site</th><th>copies</th>'
        "<th>exact</th><th>partial copies</th><th>originals</th></tr></thead>\n"
        f"<tbody>{rows}</tbody></table>\n"
        if rows
        else ""
    )
    return (
        f'<header>\n<h1>Syndication report</h1>\n<p class="note">{escape(data.archive)} · '
        f"generated {generated}</p>\n"
        f'<section id="summary">\n<dl class="totals">{items}</dl>\n{_LEGEND}{table}</section>\n'
        '<p id="tools" hidden><input id="filter" type="search" placeholder="Filter stories by title or site" '
        'aria-label="Filter stories by title or site"> <span id="shown"></span></p>\n</header>\n'
    )


# -- stories ---------------------------------------------------------------------------------------


def _story(story: Story, replay_url: str) -> str:
    head = story.canonical
    sites = len(story.sites)
    anchor = escape(story.cluster_id)
    parts = [
        (
            f'<section class="story" id="s-{anchor}">\n'
            f"<h2>{escape(head.title or '(no title)')}</h2>\n"
            f'<p class="note">{story.size} article{"s" * (story.size != 1)} on {sites} '
            f"site{'s' * (sites != 1)} · first archived {_time(head.fetched_at)} · "
            f'<a href="#s-{anchor}">cluster {escape(story.cluster_id[:12])}</a></p>\n'
        ),
        '<ol class="captures">\n',
        f'<li class="original">{_row(head, "original", head, replay_url)}</li>\n',
    ]
    for copy in story.copies:
        label = "exact" if copy.exact else f"{copy.similarity:.2f}"
        parts.append(
            f"<li>{_row(copy.capture, label, head, replay_url)}{_changes(head, copy.capture)}</li>\n"
        )
    parts.append("</ol>\n")
    if story.partial_copies:
        parts.append(f'<h3>Partial copies ({len(story.partial_copies)})</h3>\n<ol class="captures">\n')
        for number, part in enumerate(story.partial_copies):
            source = "the original" if part.source is head else f"the copy on {part.source.site}"
            passages = _reproduced(part.source, part.capture) if number < MAX_QUOTED else ""
            parts.append(
                f'<li class="partial">{_row(part.capture, "partial", head, replay_url)}'
                f'<p class="note">reproduces {part.containment:.0%} of {escape(source)}; '
                f"that is {part.share:.0%} of its own text</p>{passages}</li>\n"
            )
        if len(story.partial_copies) > MAX_QUOTED:
            parts.append(f'<li class="note">passages quoted for the first {MAX_QUOTED} only</li>\n')
        parts.append("</ol>\n")
    parts.append("</section>\n")
    return "".join(parts)


def _row(capture: Capture, label: str, head: Capture, replay_url: str) -> str:
    title = (
        f'<div class="alt">{escape(capture.title)}</div>'
        if capture is not head and capture.title and capture.title != head.title
        else ""
    )
    published = f" · published {escape(capture.published)}" if capture.published else ""
    stamp = timestamp14(capture.fetched_at)
    replay = (
        f'<a class="replay" href="{escape(replay_url + stamp + "/" + capture.url)}">replay</a>'
        if stamp
        else '<span class="replay">no replay</span>'
    )
    return (
        f'<div class="row"><span class="badge">{escape(label)}</span>{_site(capture.site, capture.sitename)}'
        f'<span class="when">{escape(_when(capture.fetched_at))}{published}</span>{replay}'
        f'<span class="url">{escape(capture.url)}</span></div>{title}'
    )


def _site(site: str, sitename: str | None) -> str:
    name = (
        f"{escape(sitename)} <small>{escape(site)}</small>" if sitename and sitename != site else escape(site)
    )
    return f'<span class="site">{name}</span>'


def _time(iso: str) -> str:
    return f'<time datetime="{escape(iso)}">{escape(_when(iso))}</time>'


def _when(iso: str) -> str:
    when = _parse(iso)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else iso


def _parse(iso: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def timestamp14(iso: str) -> str:
    """``fetched_at`` as the 14-digit UTC timestamp replay URLs carry; empty when unreadable."""
    when = _parse(iso)
    return when.strftime("%Y%m%d%H%M%S") if when else ""


def _changes(head: Capture, copy: Capture) -> str:
    if head.text is None or copy.text is None:
        return '<p class="note">no text to compare: the article has no JSON line</p>'
    if head.text == copy.text:
        return '<p class="note">identical text</p>'
    diff = word_diff(head.text, copy.text)
    if not diff.added and not diff.removed:
        return '<p class="note">same words, other spacing</p>'
    cut = f", first {MAX_TOKENS:,} words compared" if diff.cut else ""
    return (
        f"<details><summary>changes: <ins>+{diff.added:,}</ins> <del>−{diff.removed:,}</del> words{cut}"
        f'</summary><div class="text">{diff.html}</div></details>'
    )


def _reproduced(source: Capture, page: Capture) -> str:
    if source.text is None or page.text is None:
        return ""
    html, words = passages(source.text, page.text)
    if not words:
        return '<p class="note">no passage of 8 or more words in the same order (edited excerpt)</p>'
    return (
        f"<details><summary>reproduced passages: {words:,} words</summary>"
        f'<div class="text">{html}</div></details>'
    )


# -- diffs -----------------------------------------------------------------------------------------


def word_diff(old: str, new: str) -> Diff:
    """``new`` against ``old`` word by word: deleted words in ``<del>``, inserted ones in ``<ins>``,
    unchanged runs cut to :data:`CONTEXT` words around each change."""
    a, a_cut = tokens(old)
    b, b_cut = tokens(new)
    opcodes = diff_opcodes(a, b)
    added = removed = shown = hidden = 0
    parts: list[str] = []
    last = len(opcodes) - 1
    for number, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            if shown < MAX_SHOWN:
                text, count = _context(a[i1:i2], lead=number > 0, trail=number < last)
                parts.append(text)
                shown += count
            continue
        removed += _words(a[i1:i2])
        added += _words(b[j1:j2])
        if shown >= MAX_SHOWN:
            hidden += 1
            continue
        if i2 > i1:
            parts.append(f"<del>{_run(a[i1:i2])}</del>")
        if j2 > j1:
            parts.append(f"<ins>{_run(b[j1:j2])}</ins>")
        shown += min(i2 - i1, MAX_RUN) + min(j2 - j1, MAX_RUN)
    if hidden:
        parts.append(f'<span class="gap">… {hidden:,} more change{"s" * (hidden != 1)} not shown</span>')
    return Diff(" ".join(parts), added, removed, a_cut or b_cut)


def passages(source: str, page: str) -> tuple[str, int]:
    """The passages of ``source`` that ``page`` reproduces (:data:`MIN_PASSAGE` words or more, in
    order), as HTML, and how many words they hold."""
    a, _ = tokens(source)
    b, _ = tokens(page)
    blocks = [
        (i1, i2 - i1)
        for tag, i1, i2, _, _ in diff_opcodes(a, b)
        if tag == "equal" and _words(a[i1:i2]) >= MIN_PASSAGE
    ]
    parts: list[str] = []
    shown = 0
    for start, size in blocks:
        if shown >= MAX_SHOWN:
            parts.append(f'<span class="gap">… {len(blocks) - len(parts):,} more passages</span>')
            break
        parts.append(f"<q>{_run(a[start : start + size], breaks=True)}</q>")
        shown += min(size, MAX_RUN)
    return "\n".join(parts), sum(_words(a[start : start + size]) for start, size in blocks)


def _words(run: Sequence[str]) -> int:
    return sum(token != PARAGRAPH for token in run)


def _join(run: Iterable[str], *, breaks: bool = True) -> str:
    """Words as text: paragraph breaks as line breaks (``white-space: pre-wrap``), or as ¶ inside
    a change, where a line break would not show what changed."""
    paragraphs = escape(" ".join(run)).split(PARAGRAPH)
    return ("\n" if breaks else " ¶ ").join(paragraph.strip() for paragraph in paragraphs).strip(" ")


def _run(run: Sequence[str], *, breaks: bool = False) -> str:
    if len(run) <= MAX_RUN:
        return _join(run, breaks=breaks)
    return (
        _join(run[:MAX_RUN], breaks=breaks) + f' <span class="gap">… {len(run) - MAX_RUN:,} more words</span>'
    )


def _context(run: Sequence[str], *, lead: bool, trail: bool) -> tuple[str, int]:
    """An unchanged run: :data:`CONTEXT` words after the change before it (``lead``) and before
    the change after it (``trail``), the words between counted; (HTML, words shown)."""
    head = run[:CONTEXT] if lead else []
    tail = run[-CONTEXT:] if trail else []
    if len(run) <= len(head) + len(tail) + 3:
        return _join(run), len(run)
    gap = f'<span class="gap">… {_words(run) - _words(head) - _words(tail):,} words …</span>'
    return " ".join(part for part in (_join(head), gap, _join(tail)) if part), len(head) + len(tail)


# -- page ------------------------------------------------------------------------------------------

_LEGEND = (
    '<p class="note">Each story lists its first archived article, then its copies, oldest first, with '
    "the similarity of their text to the original (estimated Jaccard of word shingles, from the dedup "
    "index; <b>exact</b>: the same text once normalised), and the words each copy changed "
    "(<del>removed</del>, <ins>added</ins>; long unchanged runs are cut). <b>replay</b> opens the "
    "capture in pywb.</p>\n"
)

_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
"""

_STYLE = """
:root{color-scheme:light dark;--muted:#6b6b6b;--line:#ddd;--ins:#d7f5dd;--del:#fbe0e0}
@media (prefers-color-scheme:dark){:root{--muted:#a0a0a0;--line:#444;--ins:#1f4d2b;--del:#5a2626}}
body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 1.5rem}
h1{margin:.2rem 0}h2{font-size:1.15rem;margin:0 0 .2rem}h3{font-size:1rem;margin:.8rem 0 .3rem}
.note,small,.when,.url,.gap{color:var(--muted)}.note{margin:.1rem 0 .4rem}
.totals{display:flex;flex-wrap:wrap;gap:.4rem 2rem;margin:.8rem 0}.totals dt{font-size:.85rem;color:var(--muted)}
.totals dd{margin:0}.totals b{font-size:1.4rem}
table{border-collapse:collapse}th,td{padding:.15rem .8rem .15rem 0;text-align:left;border-bottom:1px solid var(--line)}
td:not(:first-child){text-align:right}
.story{border-top:2px solid var(--line);padding:.8rem 0}
.captures{list-style:none;padding:0;margin:0}.captures li{padding:.25rem 0;border-bottom:1px dotted var(--line)}
.row{display:grid;grid-template-columns:5.5rem minmax(10rem,16rem) 21rem 4rem minmax(0,1fr);gap:.6rem;align-items:baseline}
.badge{font-variant-numeric:tabular-nums;font-weight:600}.original .badge{color:#2a6}.partial .badge{color:#c70}
.when{font-size:.85rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.url{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:.85rem}
.alt{margin-left:6.1rem;font-style:italic}
details{margin:.2rem 0 .2rem 6.1rem}summary{cursor:pointer;color:var(--muted)}
.text{white-space:pre-wrap;font-family:Georgia,serif;line-height:1.5;padding:.4rem .6rem;border-left:3px solid var(--line)}
ins{background:var(--ins);text-decoration:none}del{background:var(--del)}
q{display:block;margin:.3rem 0}q::before,q::after{content:"\\2026"}
.partial .note{margin-left:6.1rem}
@media (max-width:50rem){.row{grid-template-columns:1fr}.alt,details,.partial .note{margin-left:0}}
"""

_SCRIPT = """
(() => {
  const tools = document.getElementById("tools"), filter = document.getElementById("filter");
  const shown = document.getElementById("shown"), stories = [...document.querySelectorAll(".story")];
  const words = (s) => (s.dataset.q ??= [...s.querySelectorAll("h2, .site")]
    .map((e) => e.textContent).join(" ").toLowerCase());
  tools.hidden = false;
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    let n = 0;
    for (const s of stories) { s.hidden = q !== "" && !words(s).includes(q); n += !s.hidden; }
    shown.textContent = q ? `${n} of ${stories.length} stories` : "";
  });
})();
"""
