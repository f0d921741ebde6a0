"""Partial copies: excerpts and embeds linked to their source; quotes and boilerplate not."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from newsarchive.dedup import MinHasher, SignatureParams, partial, text_fingerprint, winnow
from newsarchive.dedup.index import Document, IndexConfig, IndexMismatchError, SqliteIndex

SITES = Path(__file__).resolve().parents[1] / "newsarchive/demo/sites"
ROUNDUP = "aggregator/roundup/2026-11-14.html"
ROUNDUP_SOURCES = (
    "herald/news/2026/11/council-budget-vote.html",
    "herald/news/2026/11/harbour-bridge-closure.html",
    "gazette/articles/old-harbour-bridge-to-shut-for-repairs.html",
    "gazette/articles/market-hall-reopens.html",
    "herald/news/2026/11/storm-floods-coastal-road.html",
)
"""The demo roundup of 14 November and the five stories it excerpts (the storm story last)."""


@pytest.fixture(scope="module")
def hasher() -> MinHasher:
    return MinHasher(SignatureParams())


@pytest.fixture(scope="module")
def demo_pages() -> dict[str, tuple[str, str | None]]:
    """``{path in expected.json: (article text, publication date)}`` for every demo article page."""
    from newsarchive.extract import ArticleExtractor, ExtractConfig

    extractor = ArticleExtractor(ExtractConfig())
    pages = {}
    for file in sorted(SITES.glob("*/*/**/*.html")):
        path = file.relative_to(SITES).as_posix()
        if path.startswith("herald/private/"):
            continue
        if path.startswith("copyblog/posts/"):
            path = path.removesuffix("index.html")
        data = file.read_bytes()
        html = data.decode("windows-1252" if b"windows-1252" in data[:400] else "utf-8")
        result = extractor.extract(html, f"http://{path}")
        if result and result["text"]:
            pages[path] = (result["text"], result["date"])
    return pages


@pytest.fixture(scope="module")
def aeb(shared: Path) -> list[tuple[str, str]]:
    """(url, text) of the AEB corpus's real articles, longest first."""
    truth = json.loads((shared / "corpora/aeb-article-extraction-benchmark/ground-truth.json").read_text())
    return sorted(((v["url"], v["articleBody"]) for v in truth.values()), key=lambda t: -len(t[1]))


def doc(hasher: MinHasher, key: str, url: str, text: str, day: str, published: str | None = None) -> Document:
    shingles = hasher.shingle_sequence(text)
    return Document(
        key,
        url,
        partial.site_of(url),
        None,
        f"{day}T09:00:00Z",
        text_fingerprint(text),
        hasher.signature_from_hashes(shingles),
        published,
        shingles,
    )


def demo_url(path: str) -> str:
    site, _, rest = path.partition("/")
    return f"http://{site}.demo/{rest}"


# -- winnowing ----------------------------------------------------------------------------------


def test_a_shared_passage_of_n_windows_gives_n_shared_fingerprints():
    rng = np.random.default_rng(7)
    window = 12
    for _ in range(200):
        passage = rng.integers(0, 2**32, size=int(rng.integers(window, 8 * window)), dtype=np.uint32)
        a = np.concatenate([rng.integers(0, 2**32, size=int(rng.integers(0, 300)), dtype=np.uint32), passage])
        b = np.concatenate(
            [
                rng.integers(0, 2**32, size=int(rng.integers(0, 300)), dtype=np.uint32),
                passage,
                rng.integers(0, 2**32, size=int(rng.integers(0, 300)), dtype=np.uint32),
            ]
        )
        shared = np.intersect1d(winnow(a, window), winnow(b, window)).size
        assert shared >= passage.size // window


def test_winnow_keeps_about_two_in_window_plus_one_and_handles_short_input():
    rng = np.random.default_rng(1)
    sequence = rng.integers(0, 2**32, size=20_000, dtype=np.uint32)
    density = winnow(sequence, 12).size / sequence.size
    assert 2 / 13 * 0.9 < density < 2 / 13 * 1.1
    assert winnow(np.array([5, 3, 9], dtype=np.uint32), 12).tolist() == [3]
    assert winnow(np.empty(0, dtype=np.uint32), 12).size == 0
    with pytest.raises(ValueError, match="window"):
        winnow(sequence, 0)


def test_anchors_are_local_too():
    """Three fingerprints in a row that two texts share give them a shared anchor: the inverted
    index (anchors only) finds every pair that the rules could link."""
    rng = np.random.default_rng(3)
    kept = anchored = 0
    for _ in range(300):
        passage = rng.integers(0, 2**32, size=int(rng.integers(36, 120)), dtype=np.uint32)
        a = np.concatenate([rng.integers(0, 2**32, size=int(rng.integers(0, 400)), dtype=np.uint32), passage])
        b = np.concatenate([passage, rng.integers(0, 2**32, size=int(rng.integers(0, 400)), dtype=np.uint32)])
        (fa, aa), (fb, ab) = partial.fingerprints(a, 12, 10_000), partial.fingerprints(b, 12, 10_000)
        assert np.isin(aa, fa).all()
        kept, anchored = kept + fa.size, anchored + aa.size
        if np.intersect1d(fa, fb).size >= partial.MIN_SHARED + 2:
            assert np.intersect1d(aa, ab).size >= 1
    assert 0.4 < anchored / kept < 0.65  # about half: the index holds half the postings


def test_site_of_groups_hosts_of_one_domain_and_keeps_ports_apart():
    assert (
        partial.site_of("https://www.bbc.co.uk/news/1")
        == partial.site_of("http://m.bbc.co.uk/2")
        == "bbc.co.uk"
    )
    assert partial.site_of("http://127.0.0.1:8741/a") != partial.site_of("http://127.0.0.1:8742/a")
    assert partial.site_of("https://user:secret@Example.COM/x") == "example.com"


# -- the demo web --------------------------------------------------------------------------------


@pytest.mark.parametrize("order", range(6))
def test_demo_excerpts_and_embed_are_linked_to_their_sources_in_any_order(
    tmp_path, hasher, demo_pages, order
):
    """Every planted excerpt links the roundup to the story it quotes, whichever came first; the
    roundups are not linked to one another although they quote the same stories."""
    expected = json.loads((SITES / "expected.json").read_text())
    paths = sorted(demo_pages)
    random.Random(order).shuffle(paths)
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        for i, path in enumerate(paths):
            text, published = demo_pages[path]
            index.add(doc(hasher, path, demo_url(path), text, f"2026-11-{21 + i // 10}", published))
        cluster_of = index.lookup(paths)
        found = {
            (part.copy.key, cluster.cluster_id)
            for cluster in index.clusters(min_size=1)
            for part in cluster.partial_copies
        }
    planted = {
        (c["copy"], cluster_of[c["original"]])
        for c in expected["copies"]
        if c["kind"] in ("excerpt", "embedded") and cluster_of[c["copy"]] != cluster_of[c["original"]]
    }
    assert len(planted) >= 12  # 18 planted, some twice in one roundup (a story and its copy)
    assert found == planted


def test_a_late_source_completes_a_roundup_and_links_from_both_sides(tmp_path, hasher, demo_pages):
    """The roundup of 14 November is three quarters excerpts of five stories. Archived with four
    of them, it is not yet "mostly earlier texts" and links nothing; the fifth, published before
    it though archived after it, completes it: the roundup is then linked to all five."""
    roundup, sources, late = ROUNDUP, ROUNDUP_SOURCES[:4], ROUNDUP_SOURCES[4]
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        for path in sources:
            index.add(doc(hasher, path, demo_url(path), demo_pages[path][0], "2026-11-20"))
        first = index.add(doc(hasher, roundup, demo_url(roundup), demo_pages[roundup][0], "2026-11-21"))
        last = index.add(doc(hasher, late, demo_url(late), demo_pages[late][0], "2026-11-22", "2026-11-13"))
        linked = {
            cluster.canonical.key: part
            for cluster in index.clusters(min_size=1)
            for part in cluster.partial_copies
        }
    assert first.partial == ()
    (link,) = last.partial
    assert (link.url, link.relation, link.cluster_id) == (demo_url(roundup), "copied_by", first.cluster_id)
    # Two of the story's paragraphs: a small part of the story, a quarter of the roundup.
    assert 0.1 < link.containment < 0.35 and 0.15 < link.share < 0.4
    assert set(linked) == {*sources, late}
    assert all(part.copy.key == roundup for part in linked.values())


# -- real texts: excerpts and embeds linked, quotes and boilerplate not ----------------------------


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n") if len(p.split()) >= 12]


def test_real_excerpt_embed_quote_and_boilerplate(tmp_path, hasher, aeb):
    (url_a, article), (_, other), (_, third) = aeb[10], aeb[11], aeb[12]
    paras = paragraphs(article)
    assert len(paras) >= 6
    excerpt = "Today's reads, picked by our editors.\n" + "\n".join(paras[:2]) + "\nRead the full story."
    embed = "\n".join([*paragraphs(other)[:3], article, *paragraphs(third)[:3]])
    quote = "\n".join([*paragraphs(other)[:8], f"As one report put it: “{paras[3]}”", *paragraphs(third)[:6]])
    about = (
        "About Example Corp: Example Corp builds software for newsrooms and archives in twelve countries, "
        "with offices in Berlin, Lagos and Lima. Its tools are used by more than four hundred publishers "
        "and libraries to keep what they publish."
    )
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        source = index.add(doc(hasher, "a", url_a, article, "2026-11-01"))
        press_1 = index.add(
            doc(
                hasher, "p1", "https://press-one.example/1", paragraphs(other)[0] + "\n" + about, "2026-11-01"
            )
        )
        got = {
            name: index.add(doc(hasher, name, f"https://{name}.example/story", text, "2026-11-02"))
            for name, text in (
                ("excerpt", excerpt),
                ("embed", embed),
                ("quote", quote),
                ("press", paragraphs(third)[0] + "\n" + about),
            )
        }
    (excerpt_link,) = got["excerpt"].partial
    assert (excerpt_link.url, excerpt_link.relation) == (url_a, "copy_of")
    assert excerpt_link.cluster_id == source.cluster_id
    assert excerpt_link.share >= 0.6 and excerpt_link.containment < 0.5
    embed_links = [p for p in got["embed"].partial if p.url == url_a]
    assert got["embed"].cluster_id == source.cluster_id or (
        len(embed_links) == 1 and embed_links[0].containment >= 0.9
    )
    assert got["quote"].partial == () and got["quote"].duplicate_of is None
    assert got["press"].partial == () and press_1.partial == ()


def test_a_passage_held_by_many_pages_is_boilerplate(tmp_path, hasher, aeb):
    """A disclaimer on more than MAX_HOLDERS pages links none of them, however long it is."""
    disclaimer = " ".join(paragraphs(aeb[0][1])[:3])
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        matches = [
            index.add(
                doc(hasher, f"k{i}", f"https://site{i}.example/a", f"{text}\n{disclaimer}", "2026-11-01")
            )
            for i, (_, text) in enumerate(aeb[1 : partial.MAX_HOLDERS + 3])
        ]
        clusters = index.clusters(min_size=1)
    assert len({m.cluster_id for m in matches}) == len(matches)
    # Below the limit the shared disclaimer is evidence, and it is judged (and refused: it is a
    # small part of both texts); past the limit it is not even looked at.
    assert all(m.partial == () for m in matches)
    assert all(c.partial_copies == () for c in clusters)


def test_same_site_passages_are_not_partial_copies(tmp_path, hasher, demo_pages):
    source, roundup = (
        "herald/news/2026/11/storm-floods-coastal-road.html",
        "aggregator/roundup/2026-11-14.html",
    )
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        index.add(doc(hasher, "s", "https://one.example/story", demo_pages[source][0], "2026-11-01"))
        same = index.add(
            doc(hasher, "r1", "https://www.one.example/roundup", demo_pages[roundup][0], "2026-11-02")
        )
        other = index.add(
            doc(hasher, "r2", "https://two.example/roundup", demo_pages[roundup][0] + " x", "2026-11-02")
        )
    assert same.partial == ()
    assert other.duplicate_of == "https://www.one.example/roundup"  # the two roundups: near-duplicates


# -- storage ------------------------------------------------------------------------------------


def test_window_zero_stores_no_passages_and_links_nothing(tmp_path, hasher, demo_pages):
    config = IndexConfig(window=0)
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), config) as index:
        for path in (
            "herald/news/2026/11/storm-floods-coastal-road.html",
            "aggregator/roundup/2026-11-14.html",
        ):
            assert (
                index.add(doc(hasher, path, demo_url(path), demo_pages[path][0], "2026-11-01")).partial == ()
            )
    assert sqlite3.connect(tmp_path / "dedup.sqlite").execute("SELECT COUNT(*) FROM passages").fetchone() == (
        0,
    )
    with pytest.raises(IndexMismatchError, match="window: ours 12, stored 0"):
        SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig())


def test_an_index_is_read_back_with_the_passage_settings_it_was_built_with(tmp_path, hasher, demo_pages):
    """SqliteIndex.open_existing (what ``newsarchive clusters`` opens) takes the stored window and
    fingerprint cap, not the defaults: an index built with partial copies off is read back."""
    path = "herald/news/2026/11/storm-floods-coastal-road.html"
    with SqliteIndex(
        tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig(window=0, max_fingerprints=64)
    ) as index:
        index.add(doc(hasher, path, demo_url(path), demo_pages[path][0], "2026-11-01"))
    with SqliteIndex.open_existing(tmp_path / "dedup.sqlite") as index:
        assert (index.config.window, index.config.max_fingerprints) == (0, 64)
        assert [cluster.canonical.key for cluster in index.clusters(min_size=1)] == [path]


def test_forget_takes_passages_and_links_with_the_documents(tmp_path, hasher, demo_pages):
    roundup, sources, oldest = ROUNDUP, ROUNDUP_SOURCES[:4], ROUNDUP_SOURCES[4]
    db_path = tmp_path / "dedup.sqlite"
    with SqliteIndex(db_path, SignatureParams(), IndexConfig()) as index:
        index.add(doc(hasher, oldest, demo_url(oldest), demo_pages[oldest][0], "2026-11-01"))
        for path in sources:
            index.add(doc(hasher, path, demo_url(path), demo_pages[path][0], "2026-11-04"))
        index.add(doc(hasher, roundup, demo_url(roundup), demo_pages[roundup][0], "2026-11-05"))
        assert len([c for c in index.clusters(min_size=1) if c.partial_copies]) == 5
        assert index.forget_older_than("2026-11-03") == 1
        linked = {c.canonical.key for c in index.clusters(min_size=1) if c.partial_copies}
    assert linked == set(sources)
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT COUNT(*) FROM partial_links").fetchone() == (4,)
    stored = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    kept = sum(
        partial.anchors_from_mask(np.frombuffer(blob, "<u4"), mask).size
        for blob, mask in db.execute("SELECT passages, anchors FROM docs")
    )
    db.close()
    assert stored == kept > 0


# -- stories, not pages -----------------------------------------------------------------------------


def test_an_exact_repost_archived_first_does_not_hide_the_source(tmp_path, hasher, aeb):
    """The repost is the cluster's first text, but its story is as old as the source: an excerpt
    published the source's day is linked one way, to that story."""
    url, article = aeb[20]
    excerpt = "Our pick of the day.\n" + "\n".join(paragraphs(article)[:3])
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        repost = index.add(doc(hasher, "v", "https://repost.example/x", article, "2026-11-02", "2026-11-02"))
        source = index.add(doc(hasher, "s", url, article, "2026-11-03", "2026-11-01"))
        got = index.add(doc(hasher, "e", "https://roundup.example/y", excerpt, "2026-11-03", "2026-11-01"))
        (cluster,) = [c for c in index.clusters() if c.partial_copies]
    assert source.cluster_id == repost.cluster_id == cluster.cluster_id
    (link,) = got.partial
    assert (link.relation, link.cluster_id) == ("copy_of", source.cluster_id)
    assert link.share >= 0.8
    assert [p.copy.url for p in cluster.partial_copies] == ["https://roundup.example/y"]


def test_a_late_repost_is_not_a_copy_of_a_page_that_embedded_its_story(tmp_path, hasher, aeb):
    (url, article), fillers = aeb[20], [text for _, text in aeb[30:33]]
    page = "\n".join([*paragraphs(fillers[0])[:4], article, *paragraphs(fillers[1])[:4]])
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        index.add(doc(hasher, "s", url, article, "2026-11-01", "2026-11-01"))
        embed = index.add(doc(hasher, "p", "https://live.example/p", page, "2026-11-02", "2026-11-02"))
        late = index.add(doc(hasher, "r", "https://repost.example/r", article, "2026-11-04", "2026-11-04"))
    assert [(p.url, p.relation) for p in embed.partial] in ([(url, "copy_of")], [])
    assert late.duplicate_of == url and late.partial == ()


def test_a_story_quoted_by_many_sites_is_not_boilerplate(tmp_path, hasher, aeb):
    """Sixty verbatim copies of one story are one story: an excerpt of it is still linked."""
    url, article = aeb[20]
    excerpt = "Our pick of the day.\n" + "\n".join(paragraphs(article)[:3])
    with SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        source = index.add(doc(hasher, "s", url, article, "2026-11-01", "2026-11-01"))
        for i in range(partial.MAX_HOLDERS + 10):
            edited = article.replace(".", f" ({i}).", 3)  # near, not exact: each is in the index
            index.add(doc(hasher, f"c{i}", f"https://copy{i}.example/x", edited, "2026-11-02"))
        got = index.add(doc(hasher, "e", "https://roundup.example/y", excerpt, "2026-11-03"))
    assert [(p.relation, p.cluster_id) for p in got.partial] == [("copy_of", source.cluster_id)]
