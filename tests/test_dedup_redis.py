"""The Redis near-duplicate index against a real redis-server: SqliteIndex's answers, atomically."""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import multiprocessing
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import redis

from newsarchive.cli import main
from newsarchive.dedup import SignatureParams, estimate_jaccard, text_fingerprint
from newsarchive.dedup import redis_index as redis_index_module
from newsarchive.dedup.backends import open_index
from newsarchive.dedup.index import (
    Document,
    DuplicateKeyError,
    IndexConfig,
    IndexMismatchError,
    Match,
    SqliteIndex,
)
from newsarchive.dedup.redis_index import (
    IndexNotFoundError,
    IndexUnavailableError,
    RedisIndex,
    mask_url,
)
from newsarchive.demo.server import SITES_DIR, MultiSiteServer, demo_sites
from newsarchive.exceptions import SettingsError
from tests import test_dedup_index as sqlite_tests
from tests import test_dedup_partial as partial_tests
from tests import test_dedup_quality as quality_tests
from tests.conftest import REPO, run_crawl
from tests.test_dedup_index import LINKED_RELATIONS, add_demo, demo_url, make_doc

# The SQLite index's fixtures: the same real texts for both backends.
hasher = sqlite_tests.hasher
extractor = sqlite_tests.extractor
demo = sqlite_tests.demo
expected = sqlite_tests.expected
seeds = sqlite_tests.seeds
# The partial-copy tests' fixtures: pages with passages.
demo_pages = partial_tests.demo_pages
aeb = partial_tests.aeb

sys.path.insert(0, str(REPO / "bench"))
from lsh_index import make_docs  # noqa: E402

DEAD_URL = "redis://reader:s3cret-pw@127.0.0.1:9/0"
"""Nothing listens on the discard port; the password must never show."""


def sqlite(tmp_path: Path, **config) -> SqliteIndex:
    return SqliteIndex(tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig(**config))


def redis_index(url: str, prefix: str = "test:dedup", params: SignatureParams | None = None, **config):
    return RedisIndex(url, params or SignatureParams(), IndexConfig(**config), prefix=prefix)


def keys_of(url: str, prefix: str) -> set[str]:
    with redis.Redis.from_url(url) as client:
        return {key.decode() for key in client.scan_iter(f"{prefix}:*")}


def band_entries(url: str, prefix: str) -> int:
    with redis.Redis.from_url(url) as client:
        return sum(client.hlen(key) for key in client.scan_iter(f"{prefix}:b:*"))


class Both:
    """A SqliteIndex and a RedisIndex given the same calls: every Redis answer must be the SQLite
    one, which is returned (so that a test written for SqliteIndex keeps its own assertions)."""

    prefixes = itertools.count()

    def __init__(self, url: str, path: Path, params: SignatureParams, config: IndexConfig | None = None):
        self.sqlite = SqliteIndex(path, params, config)
        self.redis = RedisIndex(url, params, config, prefix=f"both:{next(self.prefixes)}")
        self.partial_links = 0

    def _same(self, name: str, *args):
        theirs = getattr(self.sqlite, name)(*args)
        ours = getattr(self.redis, name)(*args)
        assert ours == theirs, f"{name}: Redis answered\n{ours}\nSQLite answered\n{theirs}"
        return theirs

    def add(self, doc: Document) -> Match:
        match = self._same("add", doc)
        self.partial_links += len(match.partial)
        return match

    def add_many(self, docs: list[Document]) -> list[Match]:
        matches = self._same("add_many", docs)
        self.partial_links += sum(len(match.partial) for match in matches)
        return matches

    def find(self, doc: Document) -> Match:
        return self._same("find", doc)

    def lookup(self, keys) -> dict[str, str]:
        return self._same("lookup", list(keys))

    def clusters(self, min_size: int = 2):
        return self._same("clusters", min_size)

    def forget_older_than(self, cutoff: str) -> int:
        return self._same("forget_older_than", cutoff)

    def __len__(self) -> int:
        return self._same("__len__")

    def close(self) -> None:
        self.sqlite.close()
        self.redis.close()

    def __enter__(self) -> Both:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- same answers as SqliteIndex ------------------------------------------------------------------


def test_demo_web_gets_the_same_matches_clusters_and_lookups_as_sqlite(tmp_path, redis_url, hasher, demo):
    """Every Match, cluster, lookup and find of the demo web is what SqliteIndex answers."""
    with sqlite(tmp_path) as embedded, redis_index(redis_url) as shared:
        ours, theirs = add_demo(shared, hasher, demo), add_demo(embedded, hasher, demo)
        assert ours == theirs
        assert sum(m.duplicate_of is not None for m in ours.values()) == 6  # the non-trivial part
        assert len(shared) == len(embedded) == 15
        assert shared.clusters() == embedded.clusters()
        assert [c.size for c in shared.clusters()] == [3, 3, 2, 2]
        assert shared.clusters(min_size=1) == embedded.clusters(min_size=1)
        assert shared.clusters(min_size=3) == embedded.clusters(min_size=3)
        keys = [*demo, "not-indexed"]
        assert shared.lookup(keys) == embedded.lookup(keys)
        assert shared.lookup([]) == {}
        for path, text in demo.items():
            again = make_doc(hasher, "again", demo_url(path) + "?again", text)
            assert shared.find(again) == embedded.find(again)
        assert len(shared) == 15  # find adds nothing


@pytest.mark.parametrize("bits", [8, 16, 32])
def test_real_repost_pairs_get_the_same_answers_as_sqlite(tmp_path, redis_url, hasher, labelled_pairs, bits):
    """All first texts, then all second texts of news-reposts-real: the same Matches, with the
    b-bit estimate (and its chance correction) computed in Lua for 8, 16 and 32 bits."""

    def run(index) -> list[Match]:
        docs = [
            make_doc(
                hasher, f"{side}{i}", f"http://{side}.test/{i}", pair[1 + (side == "b")], f"2026-11-0{d}"
            )
            for d, side in ((1, "a"), (2, "b"))
            for i, pair in enumerate(labelled_pairs)
        ]
        return [index.add(doc) for doc in docs]

    with sqlite(tmp_path, storage_bits=bits) as embedded, redis_index(redis_url, storage_bits=bits) as shared:
        ours, theirs = run(shared), run(embedded)
        assert ours == theirs
        assert shared.clusters() == embedded.clusters()
    second = ours[len(labelled_pairs) :]
    linked = [i for i, (label, _, _) in enumerate(labelled_pairs) if label["relation"] in LINKED_RELATIONS]
    assert all(second[i].duplicate_of == f"http://a.test/{i}" for i in linked)
    assert len(linked) == 8


def test_seeds_and_synthetic_copies_get_the_same_answers_as_sqlite(tmp_path, redis_url, hasher, seeds):
    """The ../shared seeds and 3,000 synthetic documents (10 % near copies, 2 % exact) mixed:
    single adds, then batches, then finds; answers, clusters and lookups equal SqliteIndex's."""
    docs = [make_doc(hasher, k, f"http://seed.test/{k}", t) for k, t in seeds.items()]
    docs += make_docs(3000, np.random.default_rng(5))
    with sqlite(tmp_path) as embedded, redis_index(redis_url) as shared:
        head, tail = docs[:1500], docs[1500:]
        assert [shared.add(d) for d in head] == [embedded.add(d) for d in head]
        batches = [tail[i : i + 100] for i in range(0, len(tail), 100)]
        ours = [m for batch in batches for m in shared.add_many(batch)]
        assert ours == [m for batch in batches for m in embedded.add_many(batch)]
        assert sum(m.duplicate_of is not None for m in ours) > 100
        probes = make_docs(300, np.random.default_rng(6))
        assert [shared.find(p) for p in probes] == [embedded.find(p) for p in probes]
        assert shared.clusters() == embedded.clusters()
        keys = [d.key for d in docs[::7]]
        assert shared.lookup(keys) == embedded.lookup(keys)


def _tie(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A query Q and two stored signatures A, B equally similar to it (78 of 128 values equal),
    not similar to each other; B differs from Q in bands 0-5, so A is met first, B later."""
    q = rng.integers(0, 2**32, 128, dtype=np.uint32)
    a, b = q.copy(), q.copy()
    a[40:90] ^= 0x5A5A5A5A  # low bits differ too: no agreement by chance on the stored 8 bits
    b[np.r_[0:12, 90:128]] ^= 0x5A5A5A5A
    return q, a, b


def _stored(signature: np.ndarray) -> np.ndarray:
    """What an index keeps of a signature: its low 8 bits."""
    return signature.astype(np.uint8)


def _synthetic(key: str, signature: np.ndarray) -> Document:
    return Document(
        key, f"http://{key}.test/", None, None, "2026-11-14", key.encode().ljust(16, b"."), signature
    )


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_equal_similarity_goes_to_the_oldest_candidate(tmp_path, redis_url, backend):
    """Two candidates at the same estimated Jaccard: the one added first wins, though the band
    keys meet the other one first (SqliteIndex's rule; both backends checked)."""
    q, a, b = _tie(np.random.default_rng(3))
    assert (
        estimate_jaccard(q, _stored(a))
        == estimate_jaccard(q, _stored(b))
        >= 0.3
        > estimate_jaccard(a, _stored(b))
    )
    with sqlite(tmp_path) if backend == "sqlite" else redis_index(redis_url) as index:
        older = index.add(_synthetic("b", b))
        index.add(_synthetic("a", a))
        assert index.add(_synthetic("q", q)).cluster_id == older.cluster_id


def test_a_similarity_exactly_at_the_threshold_is_a_near_duplicate(redis_url):
    """Lua computes the estimate to the last bit: a threshold equal to the estimate links, the
    next float above it does not."""
    q, a, _ = _tie(np.random.default_rng(4))
    similarity = estimate_jaccard(q, _stored(a))
    for prefix, threshold, linked in (
        ("at", similarity, True),
        ("above", float(np.nextafter(similarity, 1.0)), False),
    ):
        with redis_index(redis_url, prefix, near_duplicate=threshold) as index:
            index.add(_synthetic("a", a))
            match = index.add(_synthetic("q", q))
        assert (match.duplicate_of is not None) == linked
        if linked:
            assert match.similarity == similarity


# -- partial copies: the same as SqliteIndex ------------------------------------------------------

PARTIAL_SCENARIOS = [
    *(
        pytest.param(
            functools.partial(
                partial_tests.test_demo_excerpts_and_embed_are_linked_to_their_sources_in_any_order,
                order=order,
            ),
            id=f"demo-order-{order}",
        )
        for order in range(6)
    ),
    *(
        pytest.param(test, id=test.__name__.removeprefix("test_"))
        for test in (
            partial_tests.test_a_late_source_completes_a_roundup_and_links_from_both_sides,
            partial_tests.test_real_excerpt_embed_quote_and_boilerplate,
            partial_tests.test_a_passage_held_by_many_pages_is_boilerplate,
            partial_tests.test_same_site_passages_are_not_partial_copies,
            partial_tests.test_an_exact_repost_archived_first_does_not_hide_the_source,
            partial_tests.test_a_late_repost_is_not_a_copy_of_a_page_that_embedded_its_story,
            partial_tests.test_a_story_quoted_by_many_sites_is_not_boilerplate,
        )
    ),
]


@pytest.mark.parametrize("scenario", PARTIAL_SCENARIOS)
def test_partial_copy_scenarios_get_the_same_answers_as_sqlite(
    scenario, tmp_path, redis_url, hasher, demo_pages, aeb, monkeypatch
):
    """Each partial-copy test of test_dedup_partial.py run on both backends at once: every Match
    (its partial links included), cluster and lookup is the same, and the test's own assertions
    (excerpts, embeds and roundups linked; quotes, boilerplate and same-site passages not) hold."""
    monkeypatch.setattr(partial_tests, "SqliteIndex", functools.partial(Both, redis_url))
    fixtures = {"tmp_path": tmp_path, "hasher": hasher, "demo_pages": demo_pages, "aeb": aeb}
    test = scenario.func if isinstance(scenario, functools.partial) else scenario
    scenario(**{name: fixtures[name] for name in inspect.signature(test).parameters if name in fixtures})


@pytest.mark.parametrize("batch", [4, 100])
def test_demo_pages_in_batches_get_the_same_partial_copies_as_sqlite(
    tmp_path, redis_url, hasher, demo_pages, batch
):
    """The demo pages, roundups and embed included, in three orders and in add_many batches: the
    same Matches and clusters as SQLite, whose batches run one document after the other."""
    found = 0
    for order in range(3):
        paths = sorted(demo_pages)
        random.Random(order).shuffle(paths)
        docs = [
            partial_tests.doc(
                hasher,
                p,
                partial_tests.demo_url(p),
                demo_pages[p][0],
                f"2026-11-{21 + i // 10}",
                demo_pages[p][1],
            )
            for i, p in enumerate(paths)
        ]
        with Both(redis_url, tmp_path / f"{order}.sqlite", SignatureParams(), IndexConfig()) as index:
            for start in range(0, len(docs), batch):
                index.add_many(docs[start : start + batch])
            index.clusters()
            found += sum(len(cluster.partial_copies) for cluster in index.clusters(min_size=1))
    assert found >= 3 * 12  # the planted excerpts and the embed, each order


@pytest.mark.parametrize("order", ["a first", "b first"])
def test_real_repost_pairs_with_passages_get_the_same_answers_as_sqlite(
    tmp_path, redis_url, hasher, labelled_pairs, order
):
    """news-reposts-real with passages, either text of each pair first: the same Matches and
    clusters on both backends; the 9 real copies are linked and nothing else is."""
    docs = []
    for i, (label, a, b) in enumerate(labelled_pairs):
        pair = [(f"{i}a", quality_tests._url(label, "a"), a), (f"{i}b", quality_tests._url(label, "b"), b)]
        docs += pair if order == "a first" else pair[::-1]
    with Both(redis_url, tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        for n, (key, url, text) in enumerate(docs):
            index.add(quality_tests.make_doc(hasher, key, url, text, n))
        links = quality_tests.linked_pairs(index)
    positives = [i for i, (label, _, _) in enumerate(labelled_pairs) if label["near_duplicate"]]
    assert set(links) == {frozenset((f"{i}a", f"{i}b")) for i in positives} and len(positives) == 9


@pytest.fixture(scope="module", params=[(1, 24), (2, 30)], ids=["seed1", "seed2"])
def quality_docs(request, shared, hasher) -> list[Document]:
    """bench/dedup_quality.py's test set (``build(seed, size, background=0)``), extracted, shuffled
    and dated as its ``run`` does: reposts, roundups, embeds, quotes, boilerplate, real pages."""
    from newsarchive.extract import ArticleExtractor, ExtractConfig

    bench = quality_tests._bench()
    seed, size = request.param
    test_set = bench.build(seed=seed, size=size, background=0, corpora=shared / "corpora")
    extractor = ArticleExtractor(ExtractConfig())
    texts = {}
    for page in test_set.pages:
        fields = extractor.extract(bench.read_html(page.html_path) if page.html_path else page.html, page.url)
        if fields is not None and fields["text"].strip():
            texts[page.key] = fields["text"]
    order = [page for page in test_set.pages if page.key in texts]
    random.Random(f"order-{seed}").shuffle(order)
    docs = []
    for n, page in enumerate(order):
        shingles = hasher.shingle_sequence(texts[page.key])
        docs.append(
            Document(
                key=page.key,
                url=page.url,
                site=page.site,
                title=None,
                fetched_at=f"2026-11-20T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
                fingerprint=text_fingerprint(texts[page.key]),
                signature=hasher.signature_from_hashes(shingles),
                published=page.published,
                shingles=shingles,
            )
        )
    return docs


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_the_quality_test_set_gets_the_same_answers_as_sqlite(tmp_path, redis_url, quality_docs, batch):
    """The bench's test set one by one, in batches of 7 and in one batch: the same Matches (with
    their partial links), clusters and lookups on both backends, a document of a batch being
    judged as if the later ones (their passages, twins and dates) were not there yet."""
    with Both(redis_url, tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        for start in range(0, len(quality_docs), batch):
            if batch == 1:
                index.add(quality_docs[start])
            else:
                index.add_many(quality_docs[start : start + batch])
        index.clusters()
        clusters = index.clusters(min_size=1)
        index.lookup(doc.key for doc in quality_docs)
    assert index.partial_links >= 15
    assert sum(len(cluster.partial_copies) for cluster in clusters) >= 10


def test_a_batch_judges_each_document_before_the_later_ones_joined_their_stories(
    tmp_path, redis_url, hasher, demo_pages
):
    """Four sources archived after the roundup quoting them, then in one batch a late source of it
    and exact copies of three of the four published earlier: judged before those copies joined
    their stories (one after the other in SQLite, in one script call on Redis), the late source
    does not complete the roundup; judged after them, it does."""
    doc, url = partial_tests.doc, partial_tests.demo_url
    roundup, sources = partial_tests.ROUNDUP, partial_tests.ROUNDUP_SOURCES[:4]
    late = partial_tests.ROUNDUP_SOURCES[4]
    outcome = {}
    for copies_first in (False, True):
        with Both(redis_url, tmp_path / f"{copies_first}.sqlite", SignatureParams(), IndexConfig()) as index:
            for path in sources:
                index.add(doc(hasher, path, url(path), demo_pages[path][0], "2026-11-25"))
            index.add(doc(hasher, roundup, url(roundup), demo_pages[roundup][0], "2026-11-21"))
            source = doc(hasher, late, url(late), demo_pages[late][0], "2026-11-22", "2026-11-13")
            copies = [
                doc(hasher, f"again-{p}", url(p) + "?again", demo_pages[p][0], "2026-11-22", "2026-11-10")
                for p in sources[:3]
            ]
            matches = index.add_many([*copies, source] if copies_first else [source, *copies])
            outcome[copies_first] = matches[-1 if copies_first else 0].partial
            index.clusters(min_size=1)
    assert outcome[False] == ()
    assert [(link.url, link.relation) for link in outcome[True]] == [(url(roundup), "copied_by")]


# -- partial copies: storage -----------------------------------------------------------------------


def test_an_add_with_no_partial_copy_around_it_is_one_round_trip(redis_url, hasher, aeb, monkeypatch):
    """Adding unrelated articles with passages costs one round trip each, the add script (which
    reads the holders and indexes the anchors); an excerpt of one of them adds the reverse-link
    check and the link's script: three."""
    sent: list[bytes] = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(connection, command, check_health=True):
        sent.append(command)
        return send(connection, command, check_health)

    articles = aeb[40:50]
    with redis_index(redis_url) as index:
        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
        for i, (url, text) in enumerate(articles):
            assert index.add(partial_tests.doc(hasher, f"a{i}", url, text, "2026-11-01")).partial == ()
        assert len(sent) == len(articles)
        excerpt = "Our pick of the day.\n" + "\n".join(partial_tests.paragraphs(articles[0][1])[:3])
        sent.clear()
        match = index.add(partial_tests.doc(hasher, "e", "https://roundup.example/y", excerpt, "2026-11-02"))
        assert len(sent) == 3
    assert [(link.url, link.relation) for link in match.partial] == [(articles[0][0], "copy_of")]


def test_an_anchor_held_by_many_documents_moves_to_a_hash_of_its_own(redis_url, hasher, aeb):
    """Sixty near copies of one story: the anchors they share leave the small hashes (whose
    values stay within Redis's 64-byte listpack limit) for one hash each, by cluster; forgetting
    them all removes every posting and link key."""
    url, article = aeb[20]
    excerpt = "Our pick of the day.\n" + "\n".join(partial_tests.paragraphs(article)[:3])
    with redis_index(redis_url) as index, redis.Redis.from_url(redis_url) as client:
        index.add(partial_tests.doc(hasher, "s", url, article, "2026-11-01", "2026-11-01"))
        for i in range(60):
            edited = article.replace(".", f" ({i}).", 3)
            index.add(partial_tests.doc(hasher, f"c{i}", f"https://copy{i}.example/x", edited, "2026-11-02"))
        got = index.add(partial_tests.doc(hasher, "e", "https://roundup.example/y", excerpt, "2026-11-03"))
        assert [link.relation for link in got.partial] == ["copy_of"]
        big = list(client.scan_iter("test:dedup:pc:*"))
        assert len(big) > 20
        # The story (canonical 1) with up to its 61 documents; for some, the excerpt's story too.
        assert {client.hlen(key) for key in big} == {1, 2}
        assert max(len(client.hget(key, "1").split(b",")) for key in big) == 61
        values = [v for key in client.scan_iter("test:dedup:p:*") for v in client.hvals(key)]
        assert b"*" in values and max(map(len, values)) <= 64
        assert client.smembers("test:dedup:linked") == {b"1", b"62"}  # the excerpt, its source
        assert index.forget_older_than("2026-12-01") == 62
    assert keys_of(redis_url, "test:dedup") - {"test:dedup:meta", "test:dedup:id"} == {
        key for key in keys_of(redis_url, "test:dedup") if key.startswith("test:dedup:call:")
    }


@pytest.mark.parametrize("chunk", [1000, 3])
def test_forget_with_partial_links_matches_sqlite_and_cleans_every_key(
    tmp_path, redis_url, hasher, demo_pages, monkeypatch, chunk
):
    """The demo pages with passages, fetched over a month and forgotten in steps: the same counts,
    clusters and partial copies as SQLite after each step, the same answers for pages added
    later; forgetting everything leaves no posting, link or other key behind."""
    monkeypatch.setattr(redis_index_module, "FORGET_CHUNK", chunk)
    paths = sorted(demo_pages)
    random.Random(7).shuffle(paths)
    docs = [
        partial_tests.doc(
            hasher,
            p,
            partial_tests.demo_url(p),
            demo_pages[p][0],
            f"2026-11-{(i * 7) % 27 + 1:02d}",
            demo_pages[p][1],
        )
        for i, p in enumerate(paths)
    ]
    with Both(redis_url, tmp_path / "dedup.sqlite", SignatureParams(), IndexConfig()) as index:
        index.add_many(docs)
        linked = sum(len(c.partial_copies) for c in index.clusters(min_size=1))
        assert linked >= 12
        for cutoff in ("2026-11-05", "2026-11-12", "2026-11-20", "2026-11-20"):
            index.forget_older_than(cutoff)
            index.clusters(min_size=1)
            index.clusters()
            index.lookup(paths)
        assert 0 < sum(len(c.partial_copies) for c in index.clusters(min_size=1)) < linked
        later = [
            partial_tests.doc(
                hasher, f"later-{p}", partial_tests.demo_url(p) + "?later", demo_pages[p][0], "2026-12-01"
            )
            for p in paths
        ]
        index.add_many(later[::2])
        for doc in later[1::2]:
            index.add(doc)
        index.clusters(min_size=1)
        assert index.forget_older_than("2027-01-01") > 0
        assert len(index) == 0
    assert keys_of(redis_url, index.redis.prefix) - {
        f"{index.redis.prefix}:meta",
        f"{index.redis.prefix}:id",
    } == {
        key for key in keys_of(redis_url, index.redis.prefix) if key.startswith(f"{index.redis.prefix}:call:")
    }


def test_a_retried_call_with_passages_is_answered_with_its_partial_copies(
    redis_url, hasher, aeb, monkeypatch
):
    """A retried add call of a source and its excerpt gets the same Matches, partial link
    included, and indexes no anchor twice."""
    url, article = aeb[20]
    excerpt = "Our pick of the day.\n" + "\n".join(partial_tests.paragraphs(article)[:3])
    docs = [
        partial_tests.doc(hasher, "s", url, article, "2026-11-01"),
        partial_tests.doc(hasher, "e", "https://roundup.example/y", excerpt, "2026-11-01"),
    ]
    with redis_index(redis_url) as index, redis.Redis.from_url(redis_url) as client:
        monkeypatch.setattr(redis_index_module, "_call_token", lambda: "first")
        first = index.add_many(docs)
        postings = sorted(v for key in client.scan_iter("test:dedup:p:*") for v in client.hvals(key))
        assert index.add_many(docs) == first
        assert sorted(v for key in client.scan_iter("test:dedup:p:*") for v in client.hvals(key)) == postings
    assert [(link.url, link.relation) for link in first[1].partial] == [(url, "copy_of")]
    assert first[0].partial == ()  # the excerpt came after it


# -- storage --------------------------------------------------------------------------------------


def test_an_exact_copy_writes_no_band_keys_and_signatures_keep_eight_bits(redis_url, hasher, demo):
    """The fast path stores no band keys; a record holds the low 8 bits of each value."""
    path = "herald/news/2026/11/harbour-bridge-closure.html"
    text = demo[path]
    with redis_index(redis_url) as index:
        first = index.add(make_doc(hasher, "a", demo_url(path), text))
        assert band_entries(redis_url, "test:dedup") == 20
        again = index.add(make_doc(hasher, "b", demo_url(path) + "?amp", "  " + text.upper()))
        assert again == Match(first.cluster_id, demo_url(path), 1.0, True)
        assert band_entries(redis_url, "test:dedup") == 20
        with redis.Redis.from_url(redis_url) as client:
            record = redis_index_module._parse(1, client.get("test:dedup:d:1"))
    assert record.signature == (hasher.signature(text) & 0xFF).astype(np.uint8).tobytes()
    assert (record.key, record.url, record.canonical) == ("a", demo_url(path), 0)


def test_clusters_survive_close_and_reopen_by_another_client(redis_url, hasher, demo):
    """What one client added, another one (another crawler) sees and extends."""
    original = "herald/news/2026/11/storm-floods-coastal-road.html"
    copy = "copyblog/posts/storm-imogen-cuts-off-saltmarsh/"
    with redis_index(redis_url) as index:
        first = index.add(make_doc(hasher, original, demo_url(original), demo[original], "2026-11-10"))
    with redis_index(redis_url) as index:
        second = index.add(make_doc(hasher, copy, demo_url(copy), demo[copy], "2026-11-11"))
        assert len(index) == 2 and [c.size for c in index.clusters()] == [2]
    assert second.cluster_id == first.cluster_id == text_fingerprint(demo[original]).hex()
    assert second.duplicate_of == demo_url(original)


def test_reopening_with_other_settings_is_a_clear_error(redis_url, hasher, demo):
    """Other signature parameters or LSH layout under one prefix are refused, naming each
    difference; the threshold may change; another prefix is another index."""
    text = next(iter(demo.values()))
    with redis_index(redis_url) as index:
        index.add(make_doc(hasher, "k", "http://a.test/", text))
    with pytest.raises(IndexMismatchError) as error:
        redis_index(redis_url, params=SignatureParams(seed=2), bands=10, rows=4)
    message = str(error.value)
    assert "redis://127.0.0.1:" in message and "'test:dedup'" in message
    assert "signature parameter seed: ours 2, stored 1" in message
    assert "index setting bands: ours 10, stored 20" in message
    assert "index setting rows: ours 4, stored 2" in message
    assert "DEDUP_REDIS_PREFIX" in message
    with pytest.raises(IndexMismatchError, match="index setting storage_bits: ours 16, stored 8"):
        redis_index(redis_url, storage_bits=16)
    with redis_index(redis_url, near_duplicate=0.5) as index:
        assert len(index) == 1
    with redis_index(redis_url, "other:prefix", storage_bits=16) as index:
        assert len(index) == 0


def test_config_is_checked_before_connecting():
    """Bands x rows beyond the signature and an empty prefix are refused without a server."""
    with pytest.raises(ValueError, match=r"DEDUP_BANDS x DEDUP_ROWS \(33 x 4 = 132\)"):
        redis_index(DEAD_URL, bands=33, rows=4)
    with pytest.raises(ValueError, match="DEDUP_REDIS_PREFIX must be a non-empty string"):
        redis_index(DEAD_URL, prefix="")


def test_add_rejects_empty_text_and_wrong_signature_length(redis_url, hasher):
    """The document checks of SqliteIndex, with its messages."""
    with redis_index(redis_url) as index:
        with pytest.raises(ValueError, match="empty"):
            index.add(make_doc(hasher, "k1", "http://a.test/1", "  ...  "))
        doc = make_doc(hasher, "k2", "http://a.test/2", "some words " * 50)
        with pytest.raises(ValueError, match=r"shape \(64,\), expected \(128,\)"):
            index.add(Document(**{**doc.__dict__, "signature": doc.signature[:64]}))
        assert len(index) == 0


# -- batches, retries, scripts ---------------------------------------------------------------------


def test_add_many_in_one_call_gives_what_add_gives_one_by_one(redis_url, hasher, demo):
    """A batch sees its own earlier documents; a known or repeated key fails the whole batch."""
    order = sorted(demo, key=lambda p: (not p.startswith("herald/"), not p.startswith("gazette/"), p))
    docs = [make_doc(hasher, p, demo_url(p), demo[p]) for p in order]
    with redis_index(redis_url, "one") as index:
        one_by_one = [index.add(doc) for doc in docs]
    with redis_index(redis_url, "batch") as index:
        batch = index.add_many(docs)
        assert index.add_many([]) == []
        assert index.find(docs[-1]) == batch[-1]
        assert index.find(docs[0]) == Match(batch[0].cluster_id, docs[0].url, 1.0, True)
        fresh = make_doc(hasher, "new", "http://n.test/", "fresh words " * 40)
        with pytest.raises(DuplicateKeyError, match=re.escape(repr(docs[0].key))):
            index.add_many([fresh, docs[0]])
        with pytest.raises(DuplicateKeyError, match="'new'"):
            index.add_many([fresh, fresh])
        assert len(index) == len(docs)  # the failed batches left nothing behind
    assert batch == one_by_one
    assert sum(m.duplicate_of is not None for m in batch) == 6


def test_a_retried_call_is_answered_not_done_again(redis_url, hasher, demo, monkeypatch):
    """redis-py resends a script call whose reply was lost: the same call token gets the first
    answers back, and nothing is added twice; a new call with a known key is refused."""
    original, copy = (
        "herald/news/2026/11/hospital-new-wing.html",
        "editblog/stories/estuary-wing-opens-at-callan-general.html",
    )
    docs = [make_doc(hasher, p, demo_url(p), demo[p]) for p in (original, copy)]
    with redis_index(redis_url) as index:
        monkeypatch.setattr(redis_index_module, "_call_token", lambda: "first")
        first = index.add_many(docs)
        assert index.add_many(docs) == first
        assert len(index) == 2 and first[1].duplicate_of == demo_url(original)
        monkeypatch.setattr(redis_index_module, "_call_token", lambda: "second")
        with pytest.raises(DuplicateKeyError):
            index.add(docs[1])


def test_scripts_are_reloaded_after_a_script_flush(redis_server, redis_url, hasher, demo):
    """After SCRIPT FLUSH (what a server restart does), the next call loads the script again."""
    texts = list(demo.items())
    with redis_index(redis_url) as index:
        index.add(make_doc(hasher, "a", demo_url(texts[0][0]), texts[0][1]))
        assert redis_server.command(b"SCRIPT", b"FLUSH") == b"+OK\r\n"
        again = index.add(make_doc(hasher, "b", demo_url(texts[0][0]), texts[0][1]))
        assert again.exact and index.lookup(["a", "b"]) == {"a": again.cluster_id, "b": again.cluster_id}
        assert redis_server.command(b"SCRIPT", b"FLUSH") == b"+OK\r\n"
        assert index.forget_older_than("2000-01-01") == 0


# -- forgetting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1000, 3])
def test_forget_older_than_matches_sqlite_and_cleans_every_key(
    tmp_path, redis_url, hasher, demo, monkeypatch, chunk
):
    """The demo web fetched over a month, forgotten in steps: the same counts, survivors and
    later answers as SqliteIndex (in script calls of 1000 or 3 documents); forgetting all leaves
    no document, band, fingerprint, time or cluster key behind."""
    monkeypatch.setattr(redis_index_module, "FORGET_CHUNK", chunk)
    order = sorted(demo, key=lambda p: (not p.startswith("herald/"), not p.startswith("gazette/"), p))
    # Copies fetched late keep their (early) canonical; copies fetched early go before it.
    dates = [f"2026-11-{(i * 7) % 27 + 1:02d}T09:00:00Z" for i in range(len(order))]
    docs = [make_doc(hasher, p, demo_url(p), demo[p], d) for p, d in zip(order, dates, strict=True)]
    with sqlite(tmp_path) as embedded, redis_index(redis_url) as shared:
        assert shared.add_many(docs) == embedded.add_many(docs)
        for cutoff in ("2026-11-05", "2026-11-10T09:00:00Z", "2026-11-20", "2026-11-20"):
            assert shared.forget_older_than(cutoff) == embedded.forget_older_than(cutoff)
            assert len(shared) == len(embedded)
            assert shared.clusters(min_size=1) == embedded.clusters(min_size=1)
            assert shared.lookup(demo) == embedded.lookup(demo)
        # The storm story (fetched on the 9th) is kept for its copy fetched on the 24th.
        assert [c.canonical.fetched_at < "2026-11-20" for c in shared.clusters(min_size=1)].count(True) == 1
        later = [make_doc(hasher, f"later-{p}", demo_url(p) + "?later", demo[p], "2026-12-01") for p in order]
        assert shared.add_many(later) == embedded.add_many(later)
        assert shared.forget_older_than("2027-01-01") == embedded.forget_older_than("2027-01-01") > 0
        assert len(shared) == 0
    assert keys_of(redis_url, "test:dedup") - {"test:dedup:meta", "test:dedup:id"} <= {
        key for key in keys_of(redis_url, "test:dedup") if key.startswith("test:dedup:call:")
    }


def test_forget_keeps_a_canonical_while_a_newer_copy_is_kept(redis_url, hasher, demo):
    """A canonical older than the cutoff stays while its cluster has a newer copy; it goes with it."""
    original = "herald/news/2026/11/school-robotics-contest.html"
    copy = "copyblog/posts/saltmarsh-pupils-robotics-champions/"
    with redis_index(redis_url) as index:
        first = index.add(make_doc(hasher, original, demo_url(original), demo[original], "2026-11-01"))
        index.add(make_doc(hasher, copy, demo_url(copy), demo[copy], "2026-11-15"))
        assert index.forget_older_than("2026-11-10") == 0
        again = index.add(make_doc(hasher, "recapture", demo_url(copy), demo[copy], "2026-11-16"))
        assert (again.cluster_id, again.duplicate_of) == (first.cluster_id, demo_url(original))
        assert index.forget_older_than("2026-12-01") == 3
        assert len(index) == 0


# -- the race ----------------------------------------------------------------------------------------


class _SplitIndex(RedisIndex):
    """Test only: decides with one call and inserts with another, as a non-atomic index does
    (datasketch's query, then insert); every worker decides before any inserts."""

    barrier = None

    def add_many(self, docs):
        decided = [added.canonical for added in self._run("find", docs)]
        self.barrier.wait(timeout=60)
        return [added.match for added in self._run("insert", docs, decided)]


def _race_worker(url: str, split: bool, jobs, barrier, results) -> None:
    while (job := jobs.get(timeout=120)) is not None:
        prefix, doc = job
        index = (_SplitIndex if split else RedisIndex)(url, SignatureParams(), IndexConfig(), prefix=prefix)
        index.barrier = barrier
        try:
            barrier.wait(timeout=60)
            match = index.add(doc)
            results.put((doc.key, match.cluster_id, match.duplicate_of))
        finally:
            index.close()


def _copies(hasher, text: str, story: int) -> list[Document]:
    """Four near-identical copies of one story: the text, an exact twin (same fingerprint),
    one wrapped in a site's boilerplate, one without its last sentence."""
    shorter = text[: text.rstrip(". \n").rfind(".") + 1] or text
    variants = [
        text,
        "  " + text.upper() + " ",
        f"Reposted from the Herald. {text} Share this story!",
        shorter,
    ]
    return [
        make_doc(hasher, f"s{story}v{i}", f"http://copy{i}.test/{story}", variant, f"2026-11-{i + 10}")
        for i, variant in enumerate(variants)
    ]


def _race(redis_url: str, hasher, demo, rounds: int, split: bool) -> list[list[tuple[str, str, str | None]]]:
    """``rounds`` rounds of 4 processes adding the 4 copies of a new story at once (a fresh
    prefix each round: creating the index races too); the results of each round."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    queues = [context.Queue() for _ in range(4)]
    workers = [
        context.Process(target=_race_worker, args=(redis_url, split, queue, barrier, results))
        for queue in queues
    ]
    for worker in workers:
        worker.start()
    texts = list(demo.values())
    outcomes = []
    try:
        for round_ in range(rounds):
            docs = _copies(hasher, texts[round_ % len(texts)], round_)
            for i, queue in enumerate(queues):
                queue.put((f"race:{split}:{round_}", docs[(i + round_) % 4]))
            outcomes.append(sorted(results.get(timeout=120) for _ in queues))
    finally:
        for queue in queues:
            queue.put(None)
        for worker in workers:
            worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0] * 4
    return outcomes


def test_the_copies_of_one_story_are_near_duplicates(tmp_path, hasher, demo):
    """The race's four copies of each story, added one after the other, make one cluster of 4."""
    for story, text in enumerate(demo.values()):
        with SqliteIndex(tmp_path / f"{story}.sqlite", SignatureParams(), IndexConfig()) as index:
            matches = [index.add(doc) for doc in _copies(hasher, text, story)]
        assert len({m.cluster_id for m in matches}) == 1
        assert [m.duplicate_of is None for m in matches] == [True, False, False, False]


def test_four_processes_adding_copies_at_once_end_in_one_cluster(redis_url, hasher, demo):
    """20 rounds of 4 processes adding 4 copies of a new story at the same moment: each round
    ends with one cluster and one canonical."""
    outcomes = _race(redis_url, hasher, demo, rounds=20, split=False)
    for round_, outcome in enumerate(outcomes):
        assert len({cluster for _, cluster, _ in outcome}) == 1, outcome
        assert sum(duplicate_of is None for _, _, duplicate_of in outcome) == 1, outcome
        with redis_index(redis_url, f"race:False:{round_}") as index:
            (cluster,) = index.clusters()
            assert cluster.size == 4 and cluster.cluster_id == outcome[0][1]


def test_the_race_test_catches_a_non_atomic_index(redis_url, hasher, demo):
    """The same race against an index that queries and inserts in two round trips: every round
    ends with several canonicals (deterministic: all workers decide before any inserts)."""
    for outcome in _race(redis_url, hasher, demo, rounds=2, split=True):
        assert sum(duplicate_of is None for _, _, duplicate_of in outcome) > 1, outcome
        assert len({cluster for _, cluster, _ in outcome}) > 1, outcome


# -- connection -----------------------------------------------------------------------------------


def test_masked_urls_hide_passwords_only():
    """The password (in the user part or the query) becomes ***; nothing else changes."""
    assert mask_url(DEAD_URL) == "redis://reader:***@127.0.0.1:9/0"
    assert mask_url("redis://:pw@host:6379") == "redis://:***@host:6379"
    assert mask_url("rediss://user@host/1") == "rediss://user@host/1"
    assert mask_url("unix:///run/redis.sock?db=2&password=pw") == "unix:///run/redis.sock?db=2&password=***"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_an_unreachable_server_is_a_clear_error_naming_the_masked_url():
    """No server: IndexUnavailableError from the index, a SettingsError naming DEDUP_URI from
    the factory; the password shows in neither."""
    with pytest.raises(IndexUnavailableError) as error:
        redis_index(DEAD_URL)
    assert "redis://reader:***@127.0.0.1:9/0" in str(error.value)
    assert "s3cret" not in str(error.value)
    with pytest.raises(SettingsError) as error:
        open_index(
            DEAD_URL, SignatureParams(), IndexConfig(), state_dir=Path("/nonexistent"), redis_prefix="p"
        )
    assert str(error.value).startswith("DEDUP_URI: the dedup index at redis://reader:***@127.0.0.1:9/0 ")
    assert "Connection refused" in str(error.value)
    assert "s3cret" not in str(error.value)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:6379/", "sqlite:///tmp/x", "/tmp/dedup.sqlite"])
def test_a_dedup_uri_of_another_kind_is_refused_naming_the_setting(tmp_path, uri):
    """Only empty (the archive's SQLite file) and Redis URLs are DEDUP_URI values."""
    with pytest.raises(SettingsError, match=r"DEDUP_URI=.*unsupported scheme"):
        open_index(uri, SignatureParams(), IndexConfig(), state_dir=tmp_path, redis_prefix="p")


def test_the_factory_opens_sqlite_by_default_and_redis_for_a_redis_url(tmp_path, redis_url):
    """Empty DEDUP_URI: state/dedup.sqlite; redis://: a RedisIndex under the given prefix."""
    with open_index(
        "", SignatureParams(), IndexConfig(), state_dir=tmp_path / "state", redis_prefix="p"
    ) as index:
        assert isinstance(index, SqliteIndex) and (tmp_path / "state" / "dedup.sqlite").is_file()
    with open_index(
        redis_url, SignatureParams(), IndexConfig(), state_dir=tmp_path, redis_prefix="p"
    ) as index:
        assert isinstance(index, RedisIndex) and index.prefix == "p"
    assert "p:meta" in keys_of(redis_url, "p")


# -- newsarchive clusters -------------------------------------------------------------------------


def test_the_clusters_command_lists_a_redis_index_as_it_lists_the_sqlite_file(
    tmp_path, redis_url, hasher, demo_pages, capsys, monkeypatch
):
    """``newsarchive clusters -s DEDUP_URI=redis://… -s DEDUP_REDIS_PREFIX=…`` prints, as JSON and
    as a table, what it prints for the archive's SQLite file fed the same pages (partial copies
    included); both indexes are opened with the settings stored in them (not the defaults)."""
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "newsarchive.settings")
    archive = tmp_path / "archive"
    (archive / "state").mkdir(parents=True)
    config = IndexConfig(bands=16, window=10, max_fingerprints=100)
    paths = sorted(demo_pages)
    docs = [
        partial_tests.doc(
            hasher, p, partial_tests.demo_url(p), demo_pages[p][0], "2026-11-21", demo_pages[p][1]
        )
        for p in paths
    ]
    with Both(redis_url, archive / "state" / "dedup.sqlite", SignatureParams(), config) as index:
        index.add_many(docs)
        prefix = index.redis.prefix
    printed = {}
    for backend, settings in (
        ("sqlite", []),
        ("redis", ["-s", f"DEDUP_URI={redis_url}", "-s", f"DEDUP_REDIS_PREFIX={prefix}"]),
    ):
        for form in ("--json", "--min-size=1"):
            assert main(["clusters", str(archive), form, *settings]) == 0
            printed[backend, form] = capsys.readouterr().out
    assert printed["redis", "--json"] == printed["sqlite", "--json"]
    assert printed["redis", "--min-size=1"] == printed["sqlite", "--min-size=1"]
    listed = json.loads(printed["redis", "--json"])
    assert sum(len(cluster["partial_copies"]) for cluster in listed) >= 12
    assert printed["redis", "--min-size=1"].count("  partial   ") >= 12


def test_the_clusters_command_names_a_missing_or_unreachable_redis_index(redis_url, capsys, monkeypatch):
    """No index under the prefix, or no server: exit status 1 and a message naming the URL
    (password masked) and the prefix."""
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "newsarchive.settings")
    assert main(["clusters", "-s", f"DEDUP_URI={redis_url}", "-s", "DEDUP_REDIS_PREFIX=nothing:here"]) == 1
    assert f"no dedup index at {redis_url} under the prefix 'nothing:here'" in capsys.readouterr().err
    with pytest.raises(IndexNotFoundError):
        RedisIndex.open_existing(redis_url, "nothing:here")
    assert main(["clusters", "-s", f"DEDUP_URI={DEAD_URL}"]) == 1
    message = capsys.readouterr().err
    assert "redis://reader:***@127.0.0.1:9/0" in message and "s3cret" not in message
    assert keys_of(redis_url, "nothing:here") == set()


# -- crawls ---------------------------------------------------------------------------------------


def _json_lines(archive: Path) -> dict[str, dict]:
    lines = [
        json.loads(line) for f in (archive / "json").glob("*.jsonl") for line in f.read_text().splitlines()
    ]
    return {line["url"]: line for line in lines}


@pytest.mark.e2e
def test_two_crawls_into_two_archives_share_one_redis_index(tmp_path, redis_url):
    """One crawl archives the originals, another (another archive) the copies: with one
    DEDUP_URI the copies are marked duplicate_of the originals, and no SQLite index is made."""
    copies = [
        c
        for c in json.loads((SITES_DIR / "expected.json").read_text())["copies"]
        if c["kind"] in ("verbatim", "edited")
    ]
    settings = {"DEDUP_URI": redis_url, "DEDUP_REDIS_PREFIX": "e2e:shared"}
    with MultiSiteServer(demo_sites()) as web:

        def url(path: str) -> str:
            site, _, rest = path.partition("/")
            return web.url(site, "/" + rest)

        originals = sorted({c["original"] for c in copies})
        first = run_crawl("urls", tmp_path / "a", "urls=" + ",".join(map(url, originals)), settings=settings)
        assert first.returncode == 0, first.log[-3000:]
        second = run_crawl(
            "urls",
            tmp_path / "b",
            "urls=" + ",".join(sorted({url(c["copy"]) for c in copies})),
            settings=settings,
        )
        assert second.returncode == 0, second.log[-3000:]
        first_lines, second_lines = _json_lines(tmp_path / "a"), _json_lines(tmp_path / "b")
        assert all(first_lines[url(p)]["duplicate_of"] is None for p in originals)
        for copy in copies:
            line, original = second_lines[url(copy["copy"])], first_lines[url(copy["original"])]
            assert line["duplicate_of"] == url(copy["original"]), copy
            assert line["cluster_id"] == original["cluster_id"], copy
            assert line["similarity"] >= 0.3
    assert second.stat("newsarchive/dedup/near_duplicates") + second.stat("newsarchive/dedup/exact") == len(
        copies
    )
    assert not list(tmp_path.rglob("dedup.sqlite"))


@pytest.mark.e2e
def test_an_unreachable_dedup_server_stops_the_crawl_naming_it(tmp_path):
    """DEDUP_URI pointing nowhere: exit status 1 before any request, the masked URL in the log."""
    run = run_crawl(
        "urls", tmp_path / "a", "urls=http://127.0.0.1:9/never.html", settings={"DEDUP_URI": DEAD_URL}
    )
    assert run.returncode == 1
    assert "SettingsError: DEDUP_URI: the dedup index at redis://reader:***@127.0.0.1:9/0" in run.log
    assert "s3cret" not in run.log
    assert "Crawled (" not in run.log
