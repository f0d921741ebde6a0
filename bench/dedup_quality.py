"""Precision and recall of near-duplicate and partial-copy links on real texts.

    .venv/bin/python bench/dedup_quality.py [--seed 1] [--size 60] [--background N] [--json]

A labelled test set is built from the real articles of ``../shared/corpora`` (AEB and Fundus:
ground-truth bodies, real HTML, real URLs), deterministically for a seed: reposts of ``--size``
source articles rendered into other sites' HTML templates (verbatim, lightly edited, with an
attribution line, trimmed, rewritten as a wire story), roundup pages of excerpts, pages
embedding a whole article, and negatives (opinion pieces quoting an article, pages sharing only
an "About us" paragraph or a disclaimer, and every pair of distinct real articles). Every page
goes through the crawl's pieces: trafilatura (:class:`~newsarchive.extract.ArticleExtractor`),
:class:`~newsarchive.dedup.MinHasher`, one :class:`~newsarchive.dedup.SqliteIndex` fed in a
shuffled order; the final clusters and partial copies are scored against the labels. The method
and the latest figures: ``bench/DEDUP_QUALITY.md``.

``tests/test_dedup_quality.py`` imports :func:`build`, :func:`run` and :func:`score` for a reduced
run with quality floors.
"""

from __future__ import annotations

import argparse
import gzip
import html
import itertools
import json
import math
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from newsarchive.dedup import (  # noqa: E402
    MinHasher,
    SignatureParams,
    estimate_jaccard,
    text_fingerprint,
    winnow,
)
from newsarchive.dedup._edits import light_edit  # noqa: E402
from newsarchive.dedup.index import Document, IndexConfig, SqliteIndex  # noqa: E402
from newsarchive.dedup.partial import MIN_SHARED  # noqa: E402

CORPORA = REPO.parent / "shared" / "corpora"
DEFAULT_SEED = 1
DEFAULT_SIZE = 60

# -- kinds ---------------------------------------------------------------------------------------

NEAR = "near"
PARTIAL = "partial"
NONE = "none"
KINDS: dict[str, str] = {
    "verbatim": NEAR,
    "edit-light": NEAR,
    "edit-medium": NEAR,
    "edit-strong": NEAR,
    "attribution": NEAR,
    "trimmed": NEAR,
    "wire": NEAR,
    "real-copy": NEAR,
    "excerpt": PARTIAL,
    "embed": PARTIAL,
    "quote": NONE,
    "boilerplate": NONE,
    "independent": NONE,
}
"""Row of the table -> the link its pairs should get (``none``: must not be linked)."""
VARIANTS = ("edit-light", "edit-medium", "edit-strong", "attribution", "trimmed", "wire")
"""The second near copy each source gets, in turn (the first is always a verbatim repost)."""
EDIT_RATES = {"edit-light": (0.01, 0.05), "edit-medium": (0.05, 0.12), "edit-strong": (0.12, 0.20)}
"""Fraction of words ``light_edit`` replaces or deletes, by strength (its default is 0.05-0.20)."""
REAL_KINDS = ("original", "background")
"""Page kinds of real pages (extracted from their own HTML); the others are built here."""
KNOWN_COPIES = (("fundus/de/Taz_2023_04_28.html.gz", "fundus/de/Taz_2024_10_23.html.gz"),)
"""Real articles that are the same text (the same taz.de article under two site templates)."""
SAME_DAY = 0.25
"""Share of copies published the same day as their source."""

# Fixed page furniture. Articles are real; these strings play the part of what a site's own
# template or a press office adds, and vary by site where a real site's would.
BOILERPLATES = (
    (
        "About Northwind Analytics: Northwind Analytics is a privately held research firm that helps "
        "retailers, publishers and public agencies understand how people shop, read and travel. Founded "
        "in 2009 and headquartered in Leeds, the company employs more than 300 analysts in eight "
        "countries and publishes the quarterly Northwind Consumer Pulse. For more information, visit "
        "the company's website or follow it on LinkedIn."
    ),
    (
        "Disclaimer: This article is for general information only and does not constitute financial, "
        "legal or investment advice. Past performance is not a reliable indicator of future results. "
        "Readers should seek independent professional advice before making any decision based on the "
        "information above. The publisher accepts no liability for losses arising from its use."
    ),
    (
        "About the Harbourline Foundation: The Harbourline Foundation is an independent charity that "
        "funds local journalism, adult literacy and community radio in coastal towns. Since 2012 it has "
        "awarded more than 1,400 grants to newsrooms and volunteer groups. The foundation does not "
        "influence the editorial decisions of the organisations it supports. Media contact: "
        "press@harbourline.example."
    ),
    (
        "Editor's note: This story is part of our partnership with the Open Newsroom Network, a group "
        "of independent publishers that share reporting on climate, health and local government. "
        "Articles in the series may be republished free of charge under the network's terms, provided "
        "the author and the original publisher are credited and the text is not altered."
    ),
)
NAME_PARTS = (
    (
        "daily",
        "metro",
        "coastal",
        "northern",
        "valley",
        "river",
        "capital",
        "evening",
        "morning",
        "lakeside",
        "harbour",
        "upland",
        "county",
        "prairie",
        "bay",
        "summit",
        "hillside",
        "central",
        "eastern",
        "western",
        "old-town",
        "market",
        "bridge",
        "canal",
    ),
    (
        "herald",
        "ledger",
        "post",
        "times",
        "wire",
        "dispatch",
        "chronicle",
        "gazette",
        "observer",
        "bulletin",
        "report",
        "digest",
        "journal",
        "notes",
        "review",
        "courier",
        "tribune",
        "sentinel",
        "record",
        "monitor",
        "briefing",
        "press",
        "voice",
        "standard",
    ),
)
TLDS = (".com", ".net", ".org", ".co.uk", ".de", ".news", ".info", ".ch", ".ie", ".com.au")
AUTHORS = (
    "Maria Lindqvist",
    "Tom Okafor",
    "Jana Novak",
    "Luis Ferreira",
    "Aiko Tanabe",
    "Ben Harrow",
    "Sofia Marin",
    "Karl Weber",
    "Amira Haddad",
    "Pete Dunmore",
    "Ines Costa",
    "Olu Adeyemi",
)
SECTIONS = (
    "World",
    "Politics",
    "Business",
    "Tech",
    "Science",
    "Culture",
    "Sport",
    "Health",
    "Opinion",
    "Local",
    "Travel",
    "Climate",
)
TOPICS = ("local politics", "technology", "the economy", "science", "culture", "sport", "travel")
COMMENTS = (
    "Thanks for sharing this, very interesting.",
    "I saw this elsewhere yesterday, good to have it here too.",
    "Does anyone know if there is an update on this?",
    "Great read. Keep it up!",
    "Not sure I agree with all of it, but worth reading.",
    "Shared with my colleagues.",
    "Finally someone writes about this.",
)
AGENCIES = ("NWS", "Continental Press", "Eurowire", "Pacific News Agency", "Atlas Wire")
CITIES = ("LONDON", "BERLIN", "NEW YORK", "MADRID", "SYDNEY", "TORONTO", "ZURICH", "NAIROBI")


# -- real articles -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    """One real article of the corpora."""

    id: str
    """``aeb/<hash>`` or ``fundus/<html path>``."""
    url: str
    title: str
    body: str
    """The ground-truth article text, paragraphs separated by newlines."""
    published: str
    """YYYY-MM-DD: Fundus's publishing date; for AEB (which has none) the date in the URL, else a
    day of November 2019, when the AEB pages were collected."""
    html_path: Path

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.body.split("\n") if p.strip()]

    @property
    def words(self) -> int:
        return len(self.body.split())

    @property
    def spaced(self) -> bool:
        """Written with spaces between words (word shingles and ``light_edit`` need them; a
        Japanese or Chinese text is a few very long "words")."""
        return self.words >= 1 and len(self.body) / self.words <= 12


def load_articles(corpora: Path = CORPORA) -> list[Article]:
    """Every AEB and Fundus article with a non-empty body, in a fixed order."""
    articles = []
    aeb = corpora / "aeb-article-extraction-benchmark"
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    for name in sorted(truth):
        record = truth[name]
        path = aeb / "html" / f"{name}.html.gz"
        body = record.get("articleBody") or ""
        if body.strip():
            title = _page_title(path) or " ".join(body.split()[:10])
            articles.append(
                Article(f"aeb/{name}", record["url"], title, body, _aeb_date(record["url"], name), path)
            )
    fundus = corpora / "fundus-parser-test-data"
    with open(fundus / "index.jsonl", encoding="utf-8") as lines:
        for record in map(json.loads, lines):
            body = record.get("body_text") or ""
            if body.strip():
                title = record.get("title") or " ".join(body.split()[:10])
                published = (record.get("publishing_date") or record["crawl_date"])[:10]
                articles.append(
                    Article(
                        f"fundus/{record['html']}",
                        record["url"],
                        title,
                        body,
                        published,
                        fundus / record["html"],
                    )
                )
    return articles


def _page_title(path: Path) -> str | None:
    page = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
    found = re.search(r'<meta[^>]+property=["\']og:title["\'][^>]+content=["\']([^"\']+)', page) or re.search(
        r"<title[^>]*>(.*?)</title>", page, re.S | re.I
    )
    return html.unescape(found.group(1)).strip() if found else None


def _aeb_date(url: str, name: str) -> str:
    found = re.search(r"/(20\d\d)/(\d\d)/(\d\d)/", url)
    if found:
        return "-".join(found.groups())
    return (date(2019, 11, 1) + timedelta(days=int(name[:4], 16) % 20)).isoformat()


def read_html(path: Path) -> str:
    """A stored page as text (UTF-8, as the crawl decodes pages served with ``charset=utf-8``)."""
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace")


# -- sites and templates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """A made-up site: its own host, name, author and furniture."""

    host: str
    name: str
    author: str
    tagline: str
    menu: tuple[str, ...]
    links: tuple[str, ...]
    """Headlines of other (real) articles shown in its sidebar."""
    comments: tuple[str, ...]


class SiteMaker:
    """Distinct realistic hosts: partial copies are only looked for between sites."""

    def __init__(self, rng: random.Random, titles: Sequence[str]) -> None:
        self.rng = rng
        self.titles = titles
        self.used: set[str] = set()

    def __call__(self) -> Site:
        rng = self.rng
        while True:
            first, second = rng.choice(NAME_PARTS[0]), rng.choice(NAME_PARTS[1])
            host = f"www.{first}{second}{rng.choice(TLDS)}"
            if host not in self.used:
                self.used.add(host)
                break
        name = f"{first.replace('-', ' ').title()} {second.title()}"
        return Site(
            host=host,
            name=name,
            author=rng.choice(AUTHORS),
            tagline=f"{name}: news and notes about {rng.choice(TOPICS)} since {rng.randint(1998, 2021)}",
            menu=tuple(rng.sample(SECTIONS, 6)),
            links=tuple(rng.sample(list(self.titles), 5)),
            comments=tuple(rng.sample(COMMENTS, 3)),
        )


Block = tuple[str, str]
"""(tag, text) of the page's main content: ``p``, ``h2``, ``quote`` or ``credit``."""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _blocks_html(blocks: Iterable[Block], split: bool = False) -> str:
    out = []
    for tag, text in blocks:
        if tag == "h2":
            out.append(f"<h2>{_e(text)}</h2>")
        elif tag == "quote":
            out.append(f"<blockquote><p>{_e(text)}</p></blockquote>")
        elif tag == "credit":
            out.append(f'<p class="credit"><em>{_e(text)}</em></p>')
        elif split:
            out.extend(f"<p>{_e(sentence)}</p>" for sentence in sentences(text))
        else:
            out.append(f"<p>{_e(text)}</p>")
    return "\n".join(out)


def _head(site: Site, title: str, day: str, url: str, amp: bool = False) -> str:
    extra = '<link rel="canonical" href="{0}"><script async src="https://cdn.ampproject.org/v0.js"></script>'
    return (
        f'<!doctype html>\n<html lang="en"{" amp" if amp else ""}><head><meta charset="utf-8">'
        f"<title>{_e(title)} | {_e(site.name)}</title>"
        f'<meta property="og:title" content="{_e(title)}">'
        f'<meta property="og:site_name" content="{_e(site.name)}">'
        f'<meta property="article:published_time" content="{day}T08:30:00+00:00">'
        f'<meta name="author" content="{_e(site.author)}">'
        f"{extra.format(_e(url)) if amp else ''}</head>"
    )


def _nav(site: Site) -> str:
    items = "".join(f'<li><a href="/{m.lower()}/">{m}</a></li>' for m in site.menu)
    return f'<nav class="main-menu"><ul><li><a href="/">Home</a></li>{items}</ul></nav>'


def _links(site: Site, heading: str) -> str:
    items = "".join(f'<li><a href="/story/{i}">{_e(t)}</a></li>' for i, t in enumerate(site.links))
    return f'<section class="widget"><h3>{heading}</h3><ul>{items}</ul></section>'


def render_blog(
    site: Site, title: str, day: str, url: str, blocks: Sequence[Block], rng: random.Random
) -> str:
    """A WordPress-like blog post: masthead, entry, post navigation, comments, widgets."""
    comments = "".join(
        f'<li class="comment"><div class="comment-author">{_e(rng.choice(AUTHORS).split()[0])}</div>'
        f'<div class="comment-content"><p>{_e(c)}</p></div></li>'
        for c in site.comments
    )
    return (
        _head(site, title, day, url)
        + f'<body class="post-template-default single single-post"><div id="page" class="site">'
        f'<header id="masthead" class="site-header"><p class="site-title"><a href="/">{_e(site.name)}</a></p>'
        f'<p class="site-description">{_e(site.tagline)}</p>{_nav(site)}</header>'
        f'<div id="content" class="site-content"><main id="main" class="site-main">'
        f'<article class="post type-post status-publish hentry"><header class="entry-header">'
        f'<h1 class="entry-title">{_e(title)}</h1><div class="entry-meta">Posted on '
        f'<time class="entry-date published" datetime="{day}">{day}</time> by '
        f'<span class="author vcard">{_e(site.author)}</span></div></header>'
        f'<div class="entry-content">{_blocks_html(blocks)}</div>'
        f'<footer class="entry-footer">Posted in <a href="/news/">{site.menu[0]}</a></footer></article>'
        f'<nav class="post-navigation"><div class="nav-previous"><a href="/prev">{_e(site.links[0])}</a></div>'
        f'<div class="nav-next"><a href="/next">{_e(site.links[1])}</a></div></nav>'
        f'<div id="comments" class="comments-area"><h2 class="comments-title">{len(site.comments)} thoughts on '
        f'&ldquo;{_e(title)}&rdquo;</h2><ol class="comment-list">{comments}</ol>'
        f'<div id="respond"><h3>Leave a Reply</h3><form><textarea name="comment"></textarea>'
        f'<input type="submit" value="Post Comment"></form></div></div></main>'
        f'<aside id="secondary" class="widget-area">{_links(site, "Recent Posts")}'
        f'<section class="widget"><h3>About</h3><p>{_e(site.tagline)}.</p></section></aside></div>'
        f'<footer id="colophon" class="site-footer">&copy; {day[:4]} {_e(site.name)}. Proudly powered by '
        f"WordPress.</footer></div></body></html>"
    )


def render_news(
    site: Site, title: str, day: str, url: str, blocks: Sequence[Block], rng: random.Random
) -> str:
    """A news site: top nav, breadcrumb, byline, ad slots and "Read more" links between
    paragraphs, related stories, newsletter box, most-read sidebar, comments, footer."""
    body: list[str] = []
    for i, block in enumerate(blocks):
        body.append(_blocks_html([block]))
        if i == 2:
            body.append('<div class="ad-slot" data-ad="mid">Advertisement</div>')
        if i == 4 and len(blocks) > 7:
            body.append(
                f'<p class="inline-link"><strong>Read more:</strong> <a href="/r">{_e(site.links[2])}</a></p>'
            )
    related = "".join(f'<li><a href="/rel/{i}">{_e(t)}</a></li>' for i, t in enumerate(site.links[2:]))
    comments = "".join(f'<div class="comment"><p>{_e(c)}</p></div>' for c in site.comments)
    return (
        _head(site, title, day, url)
        + f'<body class="article-page"><header class="site-header"><a class="logo" href="/">{_e(site.name)}</a>'
        f'{_nav(site)}<form class="search"><input name="q" placeholder="Search"></form></header>'
        f'<div class="breadcrumb"><a href="/">Home</a> &rsaquo; <a href="/{site.menu[1].lower()}/">'
        f"{site.menu[1]}</a></div>"
        f'<div class="layout"><main><article class="story"><h1 class="headline">{_e(title)}</h1>'
        f'<p class="byline">By <a rel="author" href="/authors/x">{_e(site.author)}</a> | '
        f'<time datetime="{day}T08:30:00Z">{day}</time></p>'
        f'<div class="article-body">{"".join(body)}</div></article>'
        f'<section class="related"><h2>Related stories</h2><ul>{related}</ul></section>'
        f'<div class="newsletter"><h3>Get our morning briefing</h3><p>The day\'s top stories from '
        f'{_e(site.name)} in your inbox.</p><form><input type="email"><button>Sign up</button></form></div>'
        f'<section class="comments"><h2>Comments</h2>{comments}</section></main>'
        f'<aside class="sidebar">{_links(site, "Most read")}<div class="ad-slot">Advertisement</div></aside></div>'
        f'<footer class="site-footer"><p>&copy; {day[:4]} {_e(site.name)}. All rights reserved.</p>'
        f'<a href="/privacy">Privacy</a> <a href="/terms">Terms</a> <a href="/contact">Contact</a></footer>'
        f"</body></html>"
    )


def render_amp(
    site: Site, title: str, day: str, url: str, blocks: Sequence[Block], rng: random.Random
) -> str:
    """An AMP page: minimal header, amp-img, share bar, short footer."""
    return (
        _head(site, title, day, url, amp=True)
        + f'<body><header class="amp-header"><a href="/">{_e(site.name)}</a></header>'
        f'<main><article><h1>{_e(title)}</h1><div class="meta">{_e(site.author)} &middot; {day}</div>'
        f'<amp-img src="/img/lead.jpg" width="1200" height="675" layout="responsive" alt=""></amp-img>'
        f'{_blocks_html(blocks)}<amp-social-share type="twitter"></amp-social-share>'
        f'<amp-social-share type="facebook"></amp-social-share></article></main>'
        f'<footer><a href="{_e(url)}">View the full site</a> &middot; &copy; {_e(site.name)}</footer>'
        f"</body></html>"
    )


def render_split(
    site: Site, title: str, day: str, url: str, blocks: Sequence[Block], rng: random.Random
) -> str:
    """A page with every sentence its own <p>, and an author box after the text."""
    return (
        _head(site, title, day, url)
        + f'<body><div class="wrapper"><header><div class="brand">{_e(site.name)}</div>{_nav(site)}</header>'
        f'<article class="post-body"><h1>{_e(title)}</h1><div class="post-date">{day}</div>'
        f"{_blocks_html(blocks, split=True)}</article>"
        f'<div class="author-box"><img src="/avatars/a.png" alt=""><h4>About the author</h4>'
        f"<p>{_e(site.author)} writes about {_e(site.menu[0].lower())} and {_e(site.menu[1].lower())} for "
        f"{_e(site.name)}.</p></div>{_links(site, 'You may also like')}"
        f"<footer><p>&copy; {_e(site.name)}</p></footer></div></body></html>"
    )


TEMPLATES = {"blog": render_blog, "news": render_news, "amp": render_amp, "split": render_split}


def sentences(text: str) -> list[str]:
    """``text`` cut after sentence-ending punctuation followed by a capital or a quote."""
    parts = re.split(r'(?<=[.!?…])\s+(?=["“„«\'A-ZÀ-ÖØ-ÞĀ-Ž0-9])', text)
    return [p for p in parts if p.strip()]


# -- the test set --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One document of the test set."""

    key: str
    url: str
    site: str
    published: str
    kind: str
    """``original`` (a source's real page), ``background`` (another real page), a near-copy row
    kind, ``roundup``, ``embed``, ``opinion`` or ``boilerplate``."""
    full: str | None = None
    """Id of the real article whose whole text this page is (a real page or a near copy)."""
    parts: tuple[str, ...] = ()
    """Real articles it reproduces part of (excerpts) or embeds among other content."""
    quotes: tuple[str, ...] = ()
    """Real articles it quotes a paragraph or two of (must not be linked)."""
    intended: str = field(default="", repr=False)
    """The main text the page carries (before extraction); empty for real pages."""
    html: str = field(default="", repr=False)
    html_path: Path | None = None
    note: str = ""


@dataclass(frozen=True)
class Pair:
    """A labelled pair: ``source`` and the page made from it (or the two pages of a negative)."""

    kind: str
    source: str
    copy: str


@dataclass
class TestSet:
    seed: int
    size: int
    pages: list[Page]
    pairs: list[Pair]
    """Positive pairs, and the labelled negatives (quotes, boilerplate); "independent" pairs are
    every pair of distinct real articles, counted by :func:`score`."""


def build(
    seed: int = DEFAULT_SEED, size: int = DEFAULT_SIZE, background: int | None = None, corpora: Path = CORPORA
) -> TestSet:
    """The labelled test set for ``seed``: ``size`` source articles and everything made from
    them, plus ``background`` other real pages (None: all of them)."""
    rng = random.Random(seed)
    articles = load_articles(corpora)
    by_id = {a.id: a for a in articles}
    known = {i for pair in KNOWN_COPIES for i in pair}
    eligible = [
        a for a in articles if a.id not in known and a.spaced and a.words >= 200 and len(a.paragraphs) >= 4
    ]
    rng.shuffle(eligible)
    if size < 4 or size > len(eligible) // 2:
        raise ValueError(f"--size must be between 4 and {len(eligible) // 2}, got {size}")
    sources, rest = eligible[:size], eligible[size:]
    n_quote = math.ceil(size / 4)
    n_groups = max(1, round(size / 15))
    group_sizes = [3 + (g % 2) for g in range(n_groups)]
    long_rest = [a for a in rest if a.words >= 300]
    held_out = long_rest[: n_quote + sum(group_sizes)]
    opinion_bodies, boiler_bodies = held_out[:n_quote], held_out[n_quote:]
    held_ids = {a.id for a in held_out}
    fillers = [a for a in rest if a.id not in held_ids]
    titles = [a.title for a in articles if len(a.title.split()) >= 4]
    sites = SiteMaker(rng, titles)
    pages: list[Page] = []
    pairs: list[Pair] = []

    def page(kind: str, site: Site, title: str, day: str, blocks: list[Block], **labels) -> Page:
        template = labels.pop("template", None) or rng.choice(sorted(TEMPLATES))
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower())[:60].strip("-") or "story"
        url = f"https://{site.host}/{day.replace('-', '/')}/{slug}-{len(pages)}"
        text = "\n".join(t for tag, t in blocks if tag != "h2")
        markup = TEMPLATES[template](site, title, day, url, blocks, rng)
        created = Page(
            key=f"{kind}:{len(pages)}",
            url=url,
            site=site.host,
            published=day,
            kind=kind,
            intended=text,
            html=markup,
            note=f"{template} template" + (f"; {labels.pop('note')}" if "note" in labels else ""),
            **labels,
        )
        pages.append(created)
        return created

    # Real pages: the sources, the known copies, the background.
    copy_of = {second: first for first, second in KNOWN_COPIES}
    originals: dict[str, Page] = {}
    for article in [*sources, *(by_id[i] for i in sorted(known) if i in by_id)]:
        kind = "original" if article in sources else "background"
        originals[article.id] = _real_page(article, kind, len(pages), copy_of.get(article.id))
        pages.append(originals[article.id])
    for first, second in KNOWN_COPIES:
        if first in originals and second in originals:
            pairs.append(Pair("real-copy", originals[first].key, originals[second].key))
    # Near copies: a verbatim repost of every source, and one variant each.
    templates = sorted(TEMPLATES)
    for i, article in enumerate(sources):
        blocks = [("p", p) for p in article.paragraphs]
        copy = page(
            "verbatim",
            sites(),
            article.title,
            later(article.published, rng),
            blocks,
            full=article.id,
            template=templates[i % len(templates)],
        )
        pairs.append(Pair("verbatim", originals[article.id].key, copy.key))
        variant = VARIANTS[i % len(VARIANTS)]
        title, blocks, note = _variant(variant, article, rng)
        copy = page(
            variant, sites(), title, later(article.published, rng), blocks, full=article.id, note=note
        )
        pairs.append(Pair(variant, originals[article.id].key, copy.key))

    # Partial copies and quotes: each source is excerpted, embedded or quoted, by turns.
    roles = {a.id: ("excerpt", "excerpt", "embed", "quote")[i % 4] for i, a in enumerate(sources)}
    excerpted = sorted((a for a in sources if roles[a.id] == "excerpt"), key=lambda a: a.published)
    for group in _chunks(excerpted, rng):
        site = sites()
        day = later(max(a.published for a in group), rng)
        blocks = [
            (
                "p",
                f"Here is what we are reading on {_weekday(day)}: {len(group)} stories from around the web.",
            )
        ]
        notes = []
        for article in group:
            excerpt, how = _excerpt(article, rng)
            blocks += [("h2", article.title), *(("p", p) for p in excerpt)]
            blocks.append(("credit", f"Read the full story at {article.host}"))
            notes.append(how)
        roundup = page(
            "roundup",
            site,
            f"Morning reads for {day}",
            day,
            blocks,
            parts=tuple(a.id for a in group),
            note="excerpts: " + ", ".join(notes),
        )
        pairs += [Pair("excerpt", originals[a.id].key, roundup.key) for a in group]

    # Each filler item is used once: a filler shared by two pages is a real shared passage. The
    # articles they come from are not indexed (nor is any text of the negatives' pages).
    def filler_items() -> Iterator[tuple[str, str]]:
        for article in fillers:
            held_ids.add(article.id)
            yield from _items(article)

    items_left = filler_items()
    for article in (a for a in sources if roles[a.id] == "embed"):
        # The article is 15-70 % of the page (as far as 3-30 short items allow): an article
        # with little around it is a near-duplicate of the page, one among much is not.
        target = article.words * (1 / rng.uniform(0.15, 0.7) - 1)
        items: list[list[Block]] = []
        words = 0
        while len(items) < 3 or (words < target and len(items) < 30):
            item = next(items_left, None)
            if item is None:
                break
            item_title, text = item
            items.append([("h2", item_title), ("p", text)])
            words += len(text.split())
        cut = rng.randint(0, len(items))
        embedded = [("h2", article.title), *(("p", p) for p in article.paragraphs)]
        embedded.append(("credit", f"This article first appeared on {article.host}."))
        blocks = [*itertools.chain(*items[:cut]), *embedded, *itertools.chain(*items[cut:])]
        share = article.words / (article.words + words)
        embed = page(
            "embed",
            sites(),
            f"Live: the day's news, {article.published}",
            later(article.published, rng),
            blocks,
            parts=(article.id,),
            note=f"article {share:.0%} of the page, {len(items)} other items",
        )
        pairs.append(Pair("embed", originals[article.id].key, embed.key))

    for article, body in zip((a for a in sources if roles[a.id] == "quote"), opinion_bodies, strict=False):
        quoted = _quotable(article, body, rng)
        if quoted is None:
            continue
        paragraphs = body.paragraphs
        at = rng.randint(1, max(1, len(paragraphs) - 1))
        site_name = _site_name(article.host)
        if rng.random() < 0.5:
            inserted = [("p", f"As {site_name} reported:"), *(("quote", q) for q in quoted)]
            how = "blockquote"
        else:
            inserted = [("p", f"As {site_name} put it, “{' '.join(quoted)}”")]
            how = "inline quote"
        blocks = [*(("p", p) for p in paragraphs[:at]), *inserted, *(("p", p) for p in paragraphs[at:])]
        quoted_words = sum(len(q.split()) for q in quoted)
        opinion = page(
            "opinion",
            sites(),
            f"Opinion: {body.title}",
            later(article.published, rng),
            blocks,
            quotes=(article.id,),
            note=f"{how} of {quoted_words} words ({quoted_words / article.words:.0%} "
            f"of the source) in {body.words} words of an unrelated article",
        )
        pairs.append(Pair("quote", originals[article.id].key, opinion.key))

    bodies = iter(boiler_bodies)
    for g, group_size in enumerate(group_sizes):
        boilerplate = BOILERPLATES[g % len(BOILERPLATES)]
        group = []
        for body in itertools.islice(bodies, group_size):
            blocks = [*(("p", p) for p in body.paragraphs), ("p", boilerplate)]
            group.append(
                page(
                    "boilerplate",
                    sites(),
                    body.title,
                    body.published,
                    blocks,
                    note=f"{len(boilerplate.split())} words of shared boilerplate after {body.words} words",
                )
            )
        pairs += [Pair("boilerplate", a.key, b.key) for a, b in itertools.combinations(group, 2)]

    # The background: real pages no copy was made of, for the independent pairs.
    others = [a for a in articles if a.id not in originals and a.id not in held_ids]
    for article in others if background is None else others[:background]:
        pages.append(_real_page(article, "background", len(pages)))
    return TestSet(seed, size, pages, pairs)


def _real_page(article: Article, kind: str, number: int, full: str | None = None) -> Page:
    return Page(
        key=f"{kind}:{number}",
        url=article.url,
        site=article.host,
        published=article.published,
        kind=kind,
        full=full or article.id,
        html_path=article.html_path,
        note=article.id,
    )


def later(day: str, rng: random.Random) -> str:
    """A day on or after ``day``: the same day for :data:`SAME_DAY` of the copies."""
    if rng.random() < SAME_DAY:
        return day
    return (date.fromisoformat(day) + timedelta(days=rng.choice((1, 1, 2, 3, 5, 8)))).isoformat()


def _weekday(day: str) -> str:
    return date.fromisoformat(day).strftime("%A")


def _site_name(host: str) -> str:
    return host.removeprefix("www.").split(".")[0].capitalize()


def _chunks(items: list[Article], rng: random.Random) -> list[list[Article]]:
    """Consecutive groups of 3-6 (fewer only if there are fewer than 3 in all)."""
    groups: list[list[Article]] = []
    rest = list(items)
    while rest:
        n = rng.randint(3, 6)
        if len(rest) - n < 3:
            n = len(rest) if len(rest) <= 6 else len(rest) - 3
        groups.append(rest[:n])
        rest = rest[n:]
    return groups


def _items(article: Article) -> list[tuple[str, str]]:
    """Short news items (40-200 words, whole sentences) made of an article's paragraphs."""
    items = []
    pending: list[str] = []
    for paragraph in article.paragraphs:
        pending += sentences(paragraph)
        if sum(len(s.split()) for s in pending) < 40:
            continue
        kept, words = [], 0
        for sentence in pending:
            if kept and words + len(sentence.split()) > 200:
                break
            kept.append(sentence)
            words += len(sentence.split())
        if words <= 200:
            items.append((article.title, " ".join(kept)))
        pending = []
    return items


def _excerpt(article: Article, rng: random.Random) -> tuple[list[str], str]:
    """The first 1-3 paragraphs (at least 60 words) or the first 60-150 words, cut at a
    sentence; never more than half the article."""
    paragraphs = article.paragraphs
    limit = article.words // 2
    if rng.random() < 0.5:
        count = rng.randint(1, 3)
        taken = paragraphs[:count]
        while sum(len(p.split()) for p in taken) < 60 and len(taken) < len(paragraphs):
            taken = paragraphs[: len(taken) + 1]
        if sum(len(p.split()) for p in taken) <= limit:
            return taken, f"{len(taken)} paragraphs"
    target = min(rng.randint(60, 150), limit)
    kept: list[str] = []
    words = 0
    for paragraph in paragraphs:
        part = []
        for sentence in sentences(paragraph):
            if words >= target or (words and words + len(sentence.split()) > 1.3 * target):
                break
            part.append(sentence)
            words += len(sentence.split())
        if part:
            kept.append(" ".join(part))
        if words >= target:
            break
    return kept, f"{words} words"


def _quotable(article: Article, body: Article, rng: random.Random) -> list[str] | None:
    """One or two consecutive paragraphs of ``article`` (at least 40 words: enough to share
    fingerprints) that are at most 30 % of it and at most a third of ``body``."""
    paragraphs = article.paragraphs
    limit = min(0.30 * article.words, body.words / 3)
    options = []
    for start in range(1, len(paragraphs)):
        for count in (1, 2):
            chosen = paragraphs[start : start + count]
            words = sum(len(p.split()) for p in chosen)
            if len(chosen) == count and 40 <= words <= limit:
                options.append(chosen)
    return rng.choice(options) if options else None


def _variant(variant: str, article: Article, rng: random.Random) -> tuple[str, list[Block], str]:
    """(title, blocks, note) of a source's second near copy."""
    paragraphs = article.paragraphs
    if variant in EDIT_RATES:
        low, high = EDIT_RATES[variant]
        edited = light_edit("\n".join(paragraphs), rng, low, high)
        return article.title, [("p", p) for p in edited.split("\n")], f"light_edit {low:.2f}-{high:.2f}"
    if variant == "attribution":
        line = (
            f"This article was originally published by {_site_name(article.host)} ({article.url}) "
            "and is republished here with permission."
        )
        blocks: list[Block] = [("p", p) for p in paragraphs]
        if rng.random() < 0.5:
            return article.title, [("credit", line), *blocks], "attribution line first"
        return article.title, [*blocks, ("credit", line)], "attribution line last"
    if variant == "trimmed":
        drop = 1 if len(paragraphs[-1].split()) >= 25 or len(paragraphs) < 6 else 2
        return article.title, [("p", p) for p in paragraphs[:-drop]], f"last {drop} paragraph(s) dropped"
    # A wire story run by another outlet: own headline and lead, the rest kept, the end trimmed.
    headline = light_edit(article.title, rng, 0.2, 0.4)
    lead = f"{rng.choice(CITIES)} ({rng.choice(AGENCIES)}) – {light_edit(paragraphs[0], rng, 0.3, 0.5)}"
    body = paragraphs[1:]
    trimmed = rng.random() < 0.5 and len(body) > 4
    if trimmed:
        body = body[:-1]
    return (
        headline,
        [("p", lead), *(("p", p) for p in body)],
        "new headline and lead" + (", last paragraph dropped" if trimmed else ""),
    )


# -- running the pipeline ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the index made of the test set."""

    texts: dict[str, str]
    """Extracted text of every indexed page."""
    not_extracted: list[str]
    cluster_of: dict[str, str]
    near: set[frozenset[str]]
    """Every pair of pages in one cluster."""
    partial: dict[tuple[str, str], tuple[float, float]]
    """(copy key, source key) -> (containment, share), from ``clusters()``."""
    similarity: dict[str, float | None]
    """Each page's similarity to its cluster's canonical."""
    order: list[str]
    seconds_extract: float
    seconds_index: float


def run(test_set: TestSet, workdir: Path, config: IndexConfig | None = None) -> Outcome:
    """Extract every page, add them all to one fresh index in a shuffled order, read it back."""
    from newsarchive.extract import ArticleExtractor, ExtractConfig

    extractor = ArticleExtractor(ExtractConfig())
    hasher = MinHasher(SignatureParams())
    texts: dict[str, str] = {}
    not_extracted = []
    started = time.perf_counter()
    for page in test_set.pages:
        markup = read_html(page.html_path) if page.html_path else page.html
        fields = extractor.extract(markup, page.url)
        if fields is None or not fields["text"].strip():
            not_extracted.append(page.key)
        else:
            texts[page.key] = fields["text"]
    extracted = time.perf_counter()
    order = [p for p in test_set.pages if p.key in texts]
    random.Random(f"order-{test_set.seed}").shuffle(order)
    path = workdir / "dedup.sqlite"
    with SqliteIndex(path, hasher.params, config or IndexConfig()) as index:
        for n, page in enumerate(order):
            text = texts[page.key]
            shingles = hasher.shingle_sequence(text)
            fetched = f"2026-11-20T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
            index.add(
                Document(
                    key=page.key,
                    url=page.url,
                    site=page.site,
                    title=None,
                    fetched_at=fetched,
                    fingerprint=text_fingerprint(text),
                    signature=hasher.signature_from_hashes(shingles),
                    published=page.published,
                    shingles=shingles,
                )
            )
        clusters = index.clusters(min_size=1)
        cluster_of = index.lookup([p.key for p in order])
    near: set[frozenset[str]] = set()
    partial: dict[tuple[str, str], tuple[float, float]] = {}
    similarity: dict[str, float | None] = {}
    for cluster in clusters:
        members = [cluster.canonical, *cluster.members]
        for member in members:
            similarity[member.key] = member.similarity
        near.update(frozenset(p) for p in itertools.combinations([m.key for m in members], 2))
        by_url = {m.url: m.key for m in members}
        for part in cluster.partial_copies:
            partial[(part.copy.key, by_url[part.source_url])] = (part.containment, part.share)
    return Outcome(
        texts,
        not_extracted,
        cluster_of,
        near,
        partial,
        similarity,
        [p.key for p in order],
        extracted - started,
        time.perf_counter() - extracted,
    )


# -- scoring -------------------------------------------------------------------------------------


@dataclass
class Row:
    kind: str
    expect: str
    n: int = 0
    """Labelled pairs (for ``independent``: pairs of distinct real articles indexed)."""
    found: int = 0
    """Pairs linked the expected way (for negatives: 0, see ``linked``)."""
    other: int = 0
    """Pairs linked, but the other way (a near copy linked as a partial copy, or the reverse)."""
    linked: int = 0
    """Negative pairs linked (errors)."""
    predicted: int = 0
    """Links the index made that involve a page of this kind."""
    false: int = 0
    """Of those, links between pages that share no text by construction."""

    @property
    def precision(self) -> float | None:
        return (self.predicted - self.false) / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        if self.expect == NONE or not self.n:
            return None
        return self.found / self.n

    @property
    def recall_any(self) -> float | None:
        if self.expect == NONE or not self.n:
            return None
        return (self.found + self.other) / self.n


@dataclass
class Report:
    rows: list[Row]
    totals: list[Row]
    misses: list[dict]
    false_links: list[dict]
    other_way: list[dict]
    directions: dict[str, list[dict]]
    """Found partial pairs by the direction of their links: ``copy -> source`` (right),
    ``source -> copy`` (reversed) or ``both ways``."""
    closest: list[dict]
    """The negative pairs sharing most fingerprints (labelled ones and pairs of real articles)."""
    counts: dict[str, int]


def relation(a: Page, b: Page) -> str | None:
    """What links ``a`` and ``b`` by construction: ``near`` (both the whole text of one
    article), ``partial`` (one carries part of the other's article), else None."""
    if a.full and a.full == b.full:
        return NEAR
    if (a.full and a.full in b.parts) or (b.full and b.full in a.parts):
        return PARTIAL
    return None


def score(test_set: TestSet, outcome: Outcome) -> Report:
    """Score the final clusters against the labels (see ``bench/DEDUP_QUALITY.md``, Scoring)."""
    pages = {p.key: p for p in test_set.pages}
    cid = outcome.cluster_of
    rows = {kind: Row(kind, expect) for kind, expect in KINDS.items()}
    cluster_links: dict[frozenset[str], list[tuple[str, str]]] = {}
    for copy, source in outcome.partial:
        cluster_links.setdefault(frozenset((cid[copy], cid[source])), []).append((copy, source))
    figures = Figures(outcome.texts)

    def linked(a: str, b: str) -> str | None:
        if a not in cid or b not in cid:
            return None
        if cid[a] == cid[b]:
            return NEAR
        return PARTIAL if frozenset((cid[a], cid[b])) in cluster_links else None

    def index_links(pair: Pair) -> list[dict]:
        """What the index recorded between the pair's clusters: partial links, or similarities."""
        if cid.get(pair.source) == cid.get(pair.copy):
            return [{"similarity": outcome.similarity.get(k), "key": k} for k in (pair.source, pair.copy)]
        between = cluster_links.get(frozenset((cid.get(pair.source), cid.get(pair.copy))), [])
        return [
            {
                "copy": c,
                "source": s,
                "containment": outcome.partial[(c, s)][0],
                "share": outcome.partial[(c, s)][1],
            }
            for c, s in between
        ]

    misses, other_way = [], []
    directions: dict[str, list[dict]] = {"copy -> source": [], "source -> copy": [], "both ways": []}
    for pair in test_set.pairs:
        row = rows[pair.kind]
        row.n += 1
        got = linked(pair.source, pair.copy)
        if row.expect == NONE:
            row.linked += got is not None
            continue
        info = {"kind": pair.kind, "expected": row.expect, **_pair_info(pages, pair, outcome, figures)}
        if got == row.expect:
            row.found += 1
            if got == PARTIAL:
                links = index_links(pair)
                ways = {cid[link["copy"]] == cid[pair.copy] for link in links}
                direction = (
                    "both ways" if len(ways) == 2 else "copy -> source" if True in ways else "source -> copy"
                )
                directions[direction].append({**info, "links": links})
        elif got is not None:
            row.other += 1
            other_way.append({**info, "got": got, "links": index_links(pair)})
        else:
            misses.append({**info, "reason": _reason(info)})

    # The links the index made: each judged true or false, counted against the kinds involved.
    real = [k for k, p in pages.items() if p.kind in REAL_KINDS and k in cid]
    stories = {}
    for key in real:
        stories.setdefault(pages[key].full, []).append(key)
    rows["independent"].n = math.comb(len(real), 2) - sum(math.comb(len(v), 2) for v in stories.values())
    false_links = []
    made = [(NEAR, tuple(sorted(p)), None) for p in outcome.near]
    made += [(PARTIAL, (copy, source), values) for (copy, source), values in outcome.partial.items()]
    totals = {NEAR: Row("near-duplicate links", NEAR), PARTIAL: Row("partial-copy links", PARTIAL)}
    for how, (a, b), values in sorted(made, key=lambda m: (m[0], m[1])):
        truth = relation(pages[a], pages[b])
        kinds = {_row_kind(pages[k]) for k in (a, b)} - {None} or {"real-copy" if truth else "independent"}
        for kind in kinds:
            rows[kind].predicted += 1
            rows[kind].false += truth is None
        totals[how].predicted += 1
        totals[how].false += truth is None
        if truth is None:
            if kinds == {"independent"}:
                rows["independent"].linked += 1
            info = {"how": how, "kinds": sorted(kinds), **_link_info(pages, a, b, outcome, figures)}
            if values is not None:
                info["containment"], info["share"] = values
            else:
                info["links"] = [{"similarity": outcome.similarity.get(k), "key": k} for k in (a, b)]
            false_links.append(info)
    for how, total in totals.items():
        kinds = [r for r in rows.values() if r.expect == how]
        total.n = sum(r.n for r in kinds)
        total.found = sum(r.found for r in kinds)
        total.other = sum(r.other for r in kinds)
    both = Row("all links", "any")
    both.n = totals[NEAR].n + totals[PARTIAL].n
    both.found = totals[NEAR].found + totals[PARTIAL].found + totals[NEAR].other + totals[PARTIAL].other
    both.predicted = totals[NEAR].predicted + totals[PARTIAL].predicted
    both.false = totals[NEAR].false + totals[PARTIAL].false
    counts = {"pages": len(pages), "indexed": len(cid), "not extracted": len(outcome.not_extracted)}
    for page in pages.values():
        counts[f"pages: {page.kind}"] = counts.get(f"pages: {page.kind}", 0) + 1
    return Report(
        list(rows.values()),
        [*totals.values(), both],
        misses,
        false_links,
        other_way,
        directions,
        _closest(test_set, outcome, figures),
        counts,
    )


def _closest(test_set: TestSet, outcome: Outcome, figures: Figures, top: int = 8) -> list[dict]:
    """The negative pairs nearest to being linked: the labelled ones and every pair of distinct
    real articles sharing fingerprints, by the larger of fingerprint containment and share."""
    pages = {p.key: p for p in test_set.pages}
    candidates = [(pair.kind, pair.source, pair.copy) for pair in test_set.pairs if KINDS[pair.kind] == NONE]
    holders: dict[int, list[str]] = {}
    for key, page in pages.items():
        if page.kind in REAL_KINDS and key in outcome.texts:
            for fp in figures.fingerprints(key).tolist():
                holders.setdefault(fp, []).append(key)
    shared: dict[tuple[str, str], int] = {}
    for group in holders.values():
        for a, b in itertools.combinations(sorted(group), 2):
            shared[(a, b)] = shared.get((a, b), 0) + 1
    candidates += [
        ("independent", a, b)
        for (a, b), n in shared.items()
        if n >= MIN_SHARED and pages[a].full != pages[b].full
    ]
    result = []
    for kind, a, b in candidates:
        if a in outcome.texts and b in outcome.texts:
            first, second = sorted((pages[a], pages[b]), key=lambda p: (p.published, p.key))
            result.append(
                {
                    "kind": kind,
                    "source": _describe(first),
                    "copy": _describe(second),
                    **figures.pair(first.key, second.key),
                }
            )
    result.sort(key=lambda r: -max(r["fp_containment"], r["fp_share"], r["jaccard"]))
    return result[:top]


def _row_kind(page: Page) -> str | None:
    return {"roundup": "excerpt", "opinion": "quote", "original": None, "background": None}.get(
        page.kind, page.kind
    )


class Figures:
    """Exact and estimated overlap of two extracted texts, as the index's rules see them."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.hasher = MinHasher(SignatureParams())
        self.config = IndexConfig()
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _of(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if key not in self._cache:
            sequence = self.hasher.shingle_sequence(self.texts[key])
            signature = (self.hasher.signature_from_hashes(sequence) & 0xFF).astype(np.uint8)
            fps = winnow(sequence, self.config.window)[: self.config.max_fingerprints]
            self._cache[key] = (np.unique(sequence), signature, fps)
        return self._cache[key]

    def fingerprints(self, key: str) -> np.ndarray:
        return self._of(key)[2]

    def pair(self, source: str, copy: str) -> dict[str, float | int]:
        """Jaccard (exact, and estimated from 8-bit signatures as stored), containment of the
        source in the copy and share of the copy that is the source (exact 5-shingles, and on the
        stored fingerprints below both cut-offs, as ``partial.overlap``)."""
        if source not in self.texts or copy not in self.texts:
            return {}
        (sa, ga, fa), (sb, gb, fb) = self._of(source), self._of(copy)
        common = np.intersect1d(sa, sb, assume_unique=True).size
        cap = self.config.max_fingerprints
        limit = min(_cutoff(fa, cap), _cutoff(fb, cap))
        fa, fb = fa[fa <= limit], fb[fb <= limit]
        shared = np.intersect1d(fa, fb, assume_unique=True).size
        return {
            "jaccard": round(common / (sa.size + sb.size - common), 3),
            "est_jaccard": round(estimate_jaccard(ga, gb), 3),
            "containment": round(common / sa.size, 3),
            "share": round(common / sb.size, 3),
            "fp_shared": shared,
            "fp_containment": round(shared / fa.size, 3) if fa.size else 0.0,
            "fp_share": round(shared / fb.size, 3) if fb.size else 0.0,
            "words": [len(self.texts[source].split()), len(self.texts[copy].split())],
        }


def _cutoff(fps: np.ndarray, cap: int) -> int:
    """Largest fingerprint value a sample of the ``cap`` smallest is complete up to."""
    return int(fps[-1]) if fps.size >= cap else 0xFFFFFFFF


def _describe(page: Page) -> dict:
    return {"key": page.key, "url": page.url, "published": page.published, "note": page.note}


def _pair_info(pages: dict[str, Page], pair: Pair, outcome: Outcome, figures: Figures) -> dict:
    source, copy = pages[pair.source], pages[pair.copy]
    info = {"source": _describe(source), "copy": _describe(copy), **figures.pair(pair.source, pair.copy)}
    missing = [k for k in (pair.source, pair.copy) if k in outcome.not_extracted]
    if missing:
        info["not_extracted"] = missing
    elif copy.intended:
        kept = Figures({"a": copy.intended, "b": outcome.texts[copy.key]}).pair("a", "b")
        info["extraction_kept"] = kept["containment"]
    return info


def _link_info(pages: dict[str, Page], a: str, b: str, outcome: Outcome, figures: Figures) -> dict:
    first, second = sorted((pages[a], pages[b]), key=lambda p: (p.published, p.key))
    return {"source": _describe(first), "copy": _describe(second), **figures.pair(first.key, second.key)}


def _reason(info: dict) -> str:
    """A first diagnosis of a miss, from its figures and the index's thresholds."""
    if "not_extracted" in info:
        return "no article extracted from " + ", ".join(info["not_extracted"])
    if info.get("extraction_kept", 1.0) < 0.8:
        return f"extraction kept only {info['extraction_kept']:.0%} of the page's text"
    config = IndexConfig()
    if info["est_jaccard"] < config.near_duplicate <= info["jaccard"]:
        why = (
            f"Jaccard {info['jaccard']:.2f} estimated at {info['est_jaccard']:.2f} < {config.near_duplicate}"
        )
    else:
        why = f"Jaccard {info['jaccard']:.2f} < {config.near_duplicate}"
    if info["fp_shared"] < MIN_SHARED:
        return f"{why}; {info['fp_shared']} shared fingerprints < MIN_SHARED {MIN_SHARED}"
    return (
        f"{why}; fingerprint containment {info['fp_containment']:.2f} and share {info['fp_share']:.2f} "
        f"< partial {config.partial} (or the roundup rule not met)"
    )


# -- output --------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(report: Report) -> str:
    head = f"{'kind':<22} {'expect':<7} {'n':>6} {'found':>6} {'other':>6} {'linked':>6} {'links':>6} {'false':>6} "
    head += f"{'precision':>9} {'recall':>7} {'any':>7}"
    lines = [head, "-" * len(head)]
    for row in [*report.rows, None, *report.totals]:
        if row is None:
            lines.append("-" * len(head))
            continue
        negative = row.expect == NONE
        lines.append(
            f"{row.kind:<22} {row.expect:<7} {row.n:>6} {'-' if negative else row.found:>6} "
            f"{'-' if negative else row.other:>6} {row.linked if negative else '-':>6} {row.predicted:>6} "
            f"{row.false:>6} {_fmt(row.precision):>9} {_fmt(row.recall):>7} {_fmt(row.recall_any):>7}"
        )
    return "\n".join(lines)


def _figures_line(item: dict) -> str:
    if "jaccard" not in item:
        return ""
    words = item["words"]
    line = (
        f"J {item['jaccard']:.2f} (est. {item['est_jaccard']:.2f}), containment {item['containment']:.2f}, "
        f"share {item['share']:.2f}; fingerprints: {item['fp_shared']} shared, containment "
        f"{item['fp_containment']:.2f}, share {item['fp_share']:.2f}; words {words[0]} / {words[1]}"
    )
    if "extraction_kept" in item:
        line += f"; extraction kept {item['extraction_kept']:.0%}"
    return line


def _listing(title: str, items: list[dict]) -> list[str]:
    lines = [f"\n{title} ({len(items)})"]
    for item in items:
        label = item.get("kind") or "/".join(item["kinds"])
        how = (
            f" linked as {item['got']}" if "got" in item else f" {item['how']} link" if "how" in item else ""
        )
        lines.append(
            f"  {label}{how}: {item['source']['url']} ({item['source']['published']}, {item['source']['note']})"
        )
        lines.append(f"    -> {item['copy']['url']} ({item['copy']['published']}, {item['copy']['note']})")
        figures = _figures_line(item)
        if "containment" in item and "how" in item and item["how"] == PARTIAL:
            figures = f"index: containment {item['containment']:.2f} share {item['share']:.2f}; " + figures
        if figures:
            lines.append(f"    {figures}")
        for link in item.get("links", ()):
            if "similarity" in link:
                similarity = "canonical" if link["similarity"] is None else f"{link['similarity']:.2f}"
                lines.append(
                    f"    index: {link['key']} in the cluster, similarity to its canonical {similarity}"
                )
            else:
                lines.append(
                    f"    index link: {link['copy']} copy of {link['source']} "
                    f"(containment {link['containment']:.2f}, share {link['share']:.2f})"
                )
        if "reason" in item:
            lines.append(f"    why: {item['reason']}")
    return lines


def _code_state() -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(REPO),
                "status",
                "--porcelain",
                "--",
                "newsarchive/dedup",
                "newsarchive/extract.py",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return commit + (" + uncommitted changes in newsarchive/dedup" if dirty else "")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the test set (%(default)s)")
    parser.add_argument(
        "--size", type=int, default=DEFAULT_SIZE, help="source articles copies are made of (%(default)s)"
    )
    parser.add_argument(
        "--background", type=int, metavar="N", help="only N other real pages in the index (default: all)"
    )
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="corpora folder (%(default)s)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout instead of the text")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = f".venv/bin/python bench/dedup_quality.py --seed {args.seed} --size {args.size}"
    if args.background is not None:
        command += f" --background {args.background}"
    try:
        test_set = build(args.seed, args.size, args.background, args.corpora)
    except (OSError, ValueError) as error:
        print(f"dedup_quality: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="dedup-quality-") as tmp:
        outcome = run(test_set, Path(tmp))
    report = score(test_set, outcome)
    config = IndexConfig()
    if args.json:
        rows = [
            {**asdict(r), "precision": r.precision, "recall": r.recall, "recall_any": r.recall_any}
            for r in [*report.rows, *report.totals]
        ]
        print(
            json.dumps(
                {
                    "command": command,
                    "code": _code_state(),
                    "config": asdict(config),
                    "counts": report.counts,
                    "rows": rows,
                    "partial_directions": report.directions,
                    "closest_negatives": report.closest,
                    "misses": report.misses,
                    "other_way": report.other_way,
                    "false_links": report.false_links,
                    "seconds": {"extract": outcome.seconds_extract, "index": outcome.seconds_index},
                },
                indent=1,
            )
        )
        return 0
    print(f"command: {command}")
    print(f"code:    {_code_state()}")
    print(
        f"index:   near_duplicate {config.near_duplicate}, partial {config.partial}, window {config.window}, "
        f"max_fingerprints {config.max_fingerprints}, MIN_SHARED {MIN_SHARED}"
    )
    kinds = ", ".join(
        f"{k.removeprefix('pages: ')} {v}" for k, v in report.counts.items() if k.startswith("pages: ")
    )
    print(
        f"pages:   {report.counts['pages']} ({kinds}); {report.counts['indexed']} indexed, "
        f"{report.counts['not extracted']} without an extracted article"
    )
    print(f"time:    extraction {outcome.seconds_extract:.1f} s, index {outcome.seconds_index:.1f} s\n")
    print(table(report))
    print(
        "\nn: labelled pairs; found: linked as expected; other: linked the other way (near instead of\n"
        "partial or the reverse; not an error); linked: negative pairs linked; links: links the index\n"
        "made involving a page of that kind; false: of those, between pages sharing no text by\n"
        "construction; precision = 1 - false/links; recall = found/n; any = (found+other)/n;\n"
        "all links: found counts either kind of link."
    )
    counts = ", ".join(f"{how} {len(items)}" for how, items in report.directions.items())
    print(f"\npartial pairs found, by the direction of their links: {counts}")
    for title, items in (
        ("misses", report.misses),
        ("false links", report.false_links),
        ("partial pairs linked from the source's side only", report.directions["source -> copy"]),
        ("partial pairs linked both ways", report.directions["both ways"]),
        ("linked the other way", report.other_way),
        ("closest negatives (not linked unless listed under false links)", report.closest),
    ):
        print("\n".join(_listing(title, items)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
