"""The MinHash signature layer on real texts: ../shared seeds, corpora and labelled repost pairs."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from newsarchive.dedup import (
    ALGORITHM,
    EMPTY_VALUE,
    MinHasher,
    SignatureParams,
    containment,
    estimate_containment,
    estimate_jaccard,
    jaccard,
    normalize,
    signature_from_bytes,
    signature_to_bytes,
    text_fingerprint,
)
from newsarchive.dedup._edits import light_edit

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hasher() -> MinHasher:
    return MinHasher(SignatureParams())


@pytest.fixture(scope="module")
def seeds(shared: Path) -> dict[str, str]:
    return {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted((shared / "seeds").glob("*.txt"))}


@pytest.fixture(scope="module")
def articles(shared: Path) -> list[str]:
    """Real article bodies (AEB ground truth, then Fundus), at least 1,000 characters each."""
    corpora = shared / "corpora"
    aeb = json.loads((corpora / "aeb-article-extraction-benchmark/ground-truth.json").read_text())
    texts = [v["articleBody"] for v in aeb.values() if v.get("articleBody")]
    with open(corpora / "fundus-parser-test-data/index.jsonl", encoding="utf-8") as lines:
        texts += [json.loads(line).get("body_text") or "" for line in lines]
    return [t for t in texts if len(t) >= 1000]


# -- normalize and fingerprint ------------------------------------------------------------------


def test_normalize_folds_quotes_width_case_punctuation_and_spaces() -> None:
    """Curly and straight quotes, full-width letters, case, NBSP/tabs and punctuation all vanish."""
    curly = "\u201cIran\u2019s\u201d  ＳＵＰＲＥＭＥ\u00a0Leader,\tsays:  STRASSE\u2026 "
    straight = '"Iran\'s" supreme leader says Straße...'
    assert normalize(curly) == normalize(straight) == "iran s supreme leader says strasse"


def test_normalize_is_idempotent_on_real_text(seeds: dict[str, str]) -> None:
    """The normalised seeds keep only lower-case words separated by single spaces."""
    for text in seeds.values():
        norm = normalize(text)
        assert normalize(norm) == norm
        assert "  " not in norm and norm == norm.strip()
        assert all(word.isalnum() for word in norm.split(" "))
        assert norm == norm.casefold()
        assert len(norm.split()) > 300


def test_fingerprint_ignores_trivial_differences(seeds: dict[str, str]) -> None:
    """Case, spacing, punctuation and quote style do not change the fingerprint; a word does."""
    text = seeds["001"]
    variant = text.upper().replace("\n", "\n\n   ").replace("\u2019", "'").replace(",", " ,")
    assert variant != text
    assert text_fingerprint(variant) == text_fingerprint(text)
    assert len(text_fingerprint(text)) == 16
    assert text_fingerprint(text.replace("Tehran", "Teheran", 1)) != text_fingerprint(text)
    assert text_fingerprint(seeds["000"]) != text_fingerprint(text)


# -- signatures ---------------------------------------------------------------------------------


def test_signature_is_deterministic_across_processes(seeds: dict[str, str], hasher: MinHasher) -> None:
    """Another interpreter (other PYTHONHASHSEED) computes the same bytes; another seed does not."""
    code = (
        "import sys; from newsarchive.dedup import MinHasher, SignatureParams, signature_to_bytes;"
        "text = open(sys.argv[1], encoding='utf-8').read();"
        "print(signature_to_bytes(MinHasher(SignatureParams()).signature(text)).hex())"
    )
    path = next(p for p in (Path(__file__).parents[2] / "shared/seeds").glob("001_*.txt"))
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    ours = hasher.signature(seeds["001"])
    assert out == signature_to_bytes(ours).hex()
    assert np.array_equal(MinHasher(SignatureParams()).signature(seeds["001"]), ours)
    other_seed = MinHasher(SignatureParams(seed=2)).signature(seeds["001"])
    assert np.count_nonzero(other_seed == ours) < 5
    assert ours.dtype == np.uint32 and ours.shape == (128,)


def test_estimates_agree_with_exact_jaccard_like_datasketch(articles: list[str], hasher: MinHasher) -> None:
    """200 real texts vs light edits (word-5 J 0.1-1): our MAE < 0.04 and within 0.015 of datasketch's."""
    from datasketch import MinHash

    rng = random.Random(7)
    ours, theirs = [], []
    for text in rng.sample(articles, 200):
        edited = light_edit(text, rng)
        a, b = hasher.shingle_hashes(text), hasher.shingle_hashes(edited)
        exact = jaccard(a, b)
        ours.append(abs(estimate_jaccard(hasher.signature(text), hasher.signature(edited)) - exact))
        words_a, words_b = normalize(text).split(), normalize(edited).split()
        sets = [{" ".join(w[i : i + 5]).encode() for i in range(len(w) - 4)} for w in (words_a, words_b)]
        assert abs(len(sets[0] & sets[1]) / len(sets[0] | sets[1]) - exact) < 1e-3  # same shingles
        minhashes = [MinHash(num_perm=128, seed=1), MinHash(num_perm=128, seed=1)]
        for m, shingles in zip(minhashes, sets, strict=True):
            m.update_batch(list(shingles))
        theirs.append(abs(minhashes[0].jaccard(minhashes[1]) - exact))
    mae_ours, mae_theirs = float(np.mean(ours)), float(np.mean(theirs))
    assert mae_ours < 0.04
    assert abs(mae_ours - mae_theirs) < 0.015


def test_labelled_real_pairs(labelled_pairs: list[tuple[dict, str, str]], hasher: MinHasher) -> None:
    """Each news-reposts-real pair: estimate near exact; the defaults separate positives from negatives."""
    assert len(labelled_pairs) == 11
    for label, a, b in labelled_pairs:
        ha, hb = hasher.shingle_hashes(a), hasher.shingle_hashes(b)
        exact = jaccard(ha, hb)
        contained = max(containment(ha, hb), containment(hb, ha))
        estimate = estimate_jaccard(hasher.signature(a), hasher.signature(b))
        assert abs(estimate - exact) < 0.13, label["relation"]
        if label["near_duplicate"]:
            assert exact >= 0.35 and contained >= 0.6, label
        else:
            assert exact < 0.2 and contained < 0.35, label


def test_identical_text_estimates_one_and_unrelated_near_zero(articles: list[str], hasher: MinHasher) -> None:
    """A text against itself estimates 1.0; distinct real articles estimate near 0."""
    sigs = hasher.signatures(articles[:40])
    assert estimate_jaccard(sigs[0], hasher.signature(articles[0])) == 1.0
    for i in range(0, 40, 2):
        assert estimate_jaccard(sigs[i], sigs[i + 1]) < 0.05


def test_batch_signatures_equal_single_ones(articles: list[str], hasher: MinHasher) -> None:
    """signatures() gives row for row what signature() gives, empty and short texts included."""
    texts = [*articles[:30], "", "Breaking news", articles[30][:200], "!!!"]
    batch = hasher.signatures(texts)
    assert batch.shape == (len(texts), 128)
    for row, text in zip(batch, texts, strict=True):
        assert np.array_equal(row, hasher.signature(text))


def test_seeds_are_pairwise_dissimilar(seeds: dict[str, str], hasher: MinHasher) -> None:
    """The reworded copy (000), the BBC repost (001) and the independent report (004): not linked."""
    for x, y in (("000", "001"), ("000", "004"), ("001", "004")):
        ha, hb = hasher.shingle_hashes(seeds[x]), hasher.shingle_hashes(seeds[y])
        assert jaccard(ha, hb) < 0.15, (x, y)
        assert max(containment(ha, hb), containment(hb, ha)) < 0.3, (x, y)
        assert estimate_jaccard(hasher.signature(seeds[x]), hasher.signature(seeds[y])) < 0.2, (x, y)


def test_containment_finds_an_excerpt(articles: list[str], hasher: MinHasher) -> None:
    """The first half of an article is contained in it; the article is half in the excerpt."""
    text = max(articles[:50], key=len)
    excerpt = text[: len(text) // 2].rsplit(" ", 1)[0]
    part, whole = hasher.shingle_hashes(excerpt), hasher.shingle_hashes(text)
    assert containment(part, whole) > 0.99
    assert 0.4 < containment(whole, part) < 0.6
    assert jaccard(part, whole) == pytest.approx(containment(whole, part), abs=0.01)
    estimated = estimate_containment(hasher.signature(excerpt), hasher.signature(text), len(part), len(whole))
    assert estimated > 0.85


def test_empty_and_short_texts(hasher: MinHasher) -> None:
    """Empty text: the EMPTY signature, similar to nothing. Short text: one shingle, still matched."""
    for text in ("", "   ", "!!! … ¿?"):
        sig = hasher.signature(text)
        assert sig.shape == (128,) and np.all(sig == EMPTY_VALUE)
        assert hasher.is_empty(sig)
        assert estimate_jaccard(sig, sig) == 0.0
        assert hasher.shingle_hashes(text).size == 0
    short = hasher.signature("Breaking news")
    assert not hasher.is_empty(short)
    assert hasher.shingle_hashes("Breaking news").size == 1
    assert estimate_jaccard(short, hasher.signature("BREAKING   news!")) == 1.0
    assert estimate_jaccard(short, hasher.signature("Breaking story")) == 0.0
    assert jaccard(hasher.shingle_hashes(""), hasher.shingle_hashes("Breaking news")) == 0.0


def test_char_shingles(seeds: dict[str, str]) -> None:
    """Char k-grams: n - k + 1 of them; a different shingling gives a different signature."""
    char3 = MinHasher(SignatureParams(shingle_kind="char", shingle_size=3))
    assert char3.shingle_hashes("abcdefg").size == 5
    assert char3.shingle_hashes("ab").size == 1
    assert not np.array_equal(char3.signature(seeds["001"]), MinHasher().signature(seeds["001"]))
    # Char shingles see more overlap between the reworded copy and the repost than words do.
    a, b = char3.shingle_hashes(seeds["000"]), char3.shingle_hashes(seeds["001"])
    assert jaccard(a, b) > 0.4


# -- storage and parameters ---------------------------------------------------------------------


def test_serialization_round_trip(articles: list[str], hasher: MinHasher) -> None:
    """32 bits round-trip exactly; 16 and 8 bits keep the estimate close at a half and a quarter of the size."""
    rng = random.Random(3)
    text = articles[5]
    a, b = hasher.signature(text), hasher.signature(light_edit(text, rng))
    data = signature_to_bytes(a)
    assert len(data) == 512
    assert np.array_equal(signature_from_bytes(data, 128), a)
    full = estimate_jaccard(a, b)
    for bits, size in ((16, 256), (8, 128)):
        stored_a = signature_from_bytes(signature_to_bytes(a, bits=bits), 128, bits=bits)
        stored_b = signature_from_bytes(signature_to_bytes(b, bits=bits), 128, bits=bits)
        assert len(signature_to_bytes(a, bits=bits)) == size
        assert abs(estimate_jaccard(stored_a, stored_b) - full) < 0.03
        assert abs(estimate_jaccard(stored_a, b) - full) < 0.03  # a fresh signature against a stored one
        assert estimate_jaccard(stored_a, a) == 1.0
    with pytest.raises(ValueError, match="512 bytes, got 256"):
        signature_from_bytes(data[:256], 128)
    with pytest.raises(ValueError, match="bits must be one of"):
        signature_to_bytes(a, bits=12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_perm": 0}, r"DEDUP_NUM_PERM \(num_perm\) must be between 1 and 4096, got 0"),
        ({"num_perm": "128"}, r"DEDUP_NUM_PERM \(num_perm\) must be an integer, got '128'"),
        ({"shingle_size": 0}, r"DEDUP_SHINGLE_SIZE \(shingle_size\) must be between 1"),
        ({"shingle_size": True}, r"DEDUP_SHINGLE_SIZE \(shingle_size\) must be an integer"),
        (
            {"shingle_kind": "words"},
            r"DEDUP_SHINGLE_KIND \(shingle_kind\) must be one of 'word', 'char', got 'words'",
        ),
        ({"seed": -1}, r"DEDUP_SEED \(seed\) must be between 0 and"),
    ],
)
def test_params_validation(kwargs: dict, message: str) -> None:
    """Each bad value is refused with a message naming its setting."""
    with pytest.raises(ValueError, match=message):
        SignatureParams(**kwargs)


def test_params_stored_and_compared() -> None:
    """as_dict/from_dict round-trip; other parameters or another algorithm are detected."""
    params = SignatureParams(num_perm=64, seed=9)
    stored = json.loads(json.dumps(params.as_dict()))
    assert stored["algorithm"] == ALGORITHM
    assert SignatureParams.from_dict(stored) == params
    assert params.differences(stored) == {}
    assert SignatureParams().differences(stored) == {"num_perm": (128, 64), "seed": (1, 9)}
    with pytest.raises(ValueError, match="rebuild the index"):
        SignatureParams.from_dict({**stored, "algorithm": "datasketch"})
    with pytest.raises(ValueError, match="unknown signature parameter"):
        SignatureParams.from_dict({**stored, "bands": 16})


def test_fingerprint_and_shingles_equal_the_two_calls(hasher, seeds):
    for text in [*seeds.values(), "", "Ünïcode — “quotes” and ＦＵＬＬ width"]:
        fingerprint, shingles = hasher.fingerprint_and_shingles(text)
        assert fingerprint == text_fingerprint(text)
        assert np.array_equal(shingles, hasher.shingle_sequence(text))
