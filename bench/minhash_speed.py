"""MinHash signatures: speed against rensa and datasketch, accuracy, and the shingle choice.

Three sections (all by default; ``--only speed|accuracy|shingles`` for one):

- speed      docs/s of newsarchive's MinHasher against rensa's ``RMinHash`` (per document),
             datasketch's ``MinHash.update`` (per shingle) and ``update_batch``, and the floor:
             newsarchive's own normalise + tokenize + one hash per shingle, no MinHash. The
             texts are the real article bodies of ../shared/corpora (AEB ``articleBody``, Fundus
             ``body_text``; 439 texts, mean 5.1 KB), repeated. Implementations take turns,
             ``--rounds`` times; medians shown, ratios from the same run.
- accuracy   mean absolute error of estimated against exact Jaccard on near-duplicate pairs
             (each real text against a seeded light edit of itself: 5-20 % of words replaced or
             deleted, a paragraph moved half of the time), for ours (also stored with 16, 8, 4,
             2, 1 bits a value) and datasketch, on the same shingles.
- shingles   exact Jaccard and containment for word and char k-shingles (k = 3..7) on the
             labelled pairs of ../shared/corpora/news-reposts-real (text extracted with
             ``ArticleExtractor`` as the pipeline does), the seeds 000/001/004, and the closest
             pairs among the 439 AEB/Fundus texts (none of which may be linked).

bench/MINHASH.md records a run and the defaults chosen from it.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsarchive.dedup import (  # noqa: E402
    MinHasher,
    SignatureParams,
    containment,
    estimate_jaccard,
    jaccard,
    normalize,
)
from newsarchive.dedup._edits import light_edit  # noqa: E402

SHARED = REPO.parent / "shared"
CORPORA = SHARED / "corpora"
REPOSTS = CORPORA / "news-reposts-real"


# -- real texts ---------------------------------------------------------------------------------


def corpus_texts() -> list[tuple[str, str]]:
    """(id, text) of every AEB ground-truth body and Fundus body_text: real articles."""
    out = []
    aeb = json.loads((CORPORA / "aeb-article-extraction-benchmark/ground-truth.json").read_text())
    for key, value in aeb.items():
        if value.get("articleBody"):
            out.append((f"aeb:{key[:12]} {value.get('url', '')}", value["articleBody"]))
    with open(CORPORA / "fundus-parser-test-data/index.jsonl", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("body_text"):
                out.append((f"fundus:{record['html']} {record.get('url', '')}", record["body_text"]))
    return out


def labelled_pair_texts() -> list[tuple[dict, str, str]]:
    """(label, text a, text b) for news-reposts-real/pairs.jsonl, texts as its README says."""
    from newsarchive.extract import ArticleExtractor, ExtractConfig

    extractor = ArticleExtractor(ExtractConfig())
    urls = {
        v["file"]: url
        for url, v in json.loads((REPOSTS / "trafilatura-evaldata-subset.json").read_text()).items()
        if url.startswith("http")
    }
    aeb = json.loads((CORPORA / "aeb-article-extraction-benchmark/ground-truth.json").read_text())
    fundus = {}
    with open(CORPORA / "fundus-parser-test-data/index.jsonl", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            fundus[record["html"]] = record["body_text"]

    def text(path: str) -> str:
        if path.startswith("../aeb-article-extraction-benchmark/"):
            return aeb[Path(path).name.removesuffix(".html.gz")]["articleBody"]
        if path.startswith("../fundus-parser-test-data/"):
            return fundus[path.removeprefix("../fundus-parser-test-data/")]
        name = Path(path).name
        html = (REPOSTS / path).read_bytes().decode("utf-8")
        result = extractor.extract(html, urls.get(name, f"https://example.invalid/{name}"))
        if result is None:
            raise SystemExit(f"no article extracted from {path}")
        return result["text"]

    out = []
    with open(REPOSTS / "pairs.jsonl", encoding="utf-8") as lines:
        for line in lines:
            label = json.loads(line)
            out.append((label, text(label["a"]), text(label["b"])))
    return out


def seed_texts() -> dict[str, str]:
    return {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted((SHARED / "seeds").glob("*.txt"))}


def string_shingles(text: str, params: SignatureParams) -> list[str]:
    """The same shingles as MinHasher, as Python strings (what rensa and datasketch consume)."""
    k = params.shingle_size
    if params.shingle_kind == "char":
        norm = normalize(text)
        return [norm[i : i + k] for i in range(max(len(norm) - k + 1, 1))] if norm else []
    words = normalize(text).split()
    if not words:
        return []
    return [" ".join(words[i : i + k]) for i in range(max(len(words) - k + 1, 1))]


# -- speed --------------------------------------------------------------------------------------


def bench_speed(args: argparse.Namespace) -> None:
    import rensa
    from datasketch import MinHash

    params = SignatureParams(num_perm=128)
    hasher = MinHasher(params)
    texts = [t for _, t in corpus_texts()]
    docs = texts * args.repeat
    few = docs[: args.slow_docs]
    print(
        f"{len(docs)} docs ({len(texts)} real texts x {args.repeat}), mean {statistics.mean(map(len, docs)):.0f}"
        f" chars; {params.num_perm} permutations, {params.shingle_kind} {params.shingle_size}-shingles;"
        f" {args.rounds} rounds, median shown"
    )

    def ours(batch: Sequence[str]) -> None:
        for text in batch:
            hasher.signature(text)

    def ours_batch(batch: Sequence[str]) -> None:
        hasher.signatures(batch)

    def floor(batch: Sequence[str]) -> None:
        # Everything signature() does except MinHash: normalise, tokenize, one hash per shingle.
        for text in batch:
            hasher.shingle_sequence(text)

    def rensa_per_doc(batch: Sequence[str]) -> None:
        for text in batch:
            m = rensa.RMinHash(params.num_perm, params.seed)
            m.update(string_shingles(text, params))
            m.digest()

    def datasketch_batch(batch: Sequence[str]) -> None:
        for text in batch:
            m = MinHash(num_perm=params.num_perm, seed=params.seed)
            m.update_batch([s.encode() for s in string_shingles(text, params)])

    def datasketch_update(batch: Sequence[str]) -> None:
        for text in batch:
            m = MinHash(num_perm=params.num_perm, seed=params.seed)
            for s in string_shingles(text, params):
                m.update(s.encode())

    def python_tokenize(batch: Sequence[str]) -> None:
        for text in batch:
            string_shingles(text, params)

    runs: list[tuple[str, Callable[[Sequence[str]], None], Sequence[str]]] = [
        ("floor: normalise + tokenize + hash each shingle once (no MinHash)", floor, docs),
        ("newsarchive MinHasher.signature, per document", ours, docs),
        ("newsarchive MinHasher.signatures, one call for all", ours_batch, docs),
        ("rensa RMinHash per document (shingle strings from normalize())", rensa_per_doc, docs),
        ("  (of which: normalize + shingle strings in Python)", python_tokenize, docs),
        ("datasketch MinHash.update_batch", datasketch_batch, docs[: args.slow_docs * 5]),
        ("datasketch MinHash.update per shingle", datasketch_update, few),
    ]
    rates: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    hasher.signatures(docs[:50])  # warm-up: lookup tables, powers
    for _ in range(args.rounds):
        for name, fn, batch in runs:
            start = time.perf_counter()
            fn(batch)
            rates[name].append(len(batch) / (time.perf_counter() - start))
    med = {name: statistics.median(values) for name, values in rates.items()}
    width = max(map(len, med))
    print(f"\n{'implementation':<{width}}  {'docs/s':>8}  (min-max over rounds)")
    for name, _, batch in runs:
        lo, hi = min(rates[name]), max(rates[name])
        print(f"{name:<{width}}  {med[name]:8.0f}  ({lo:.0f}-{hi:.0f}, {len(batch)} docs)")
    ours_rate = med[runs[1][0]]
    batch_rate = med[runs[2][0]]
    print(
        f"\nratio ours/rensa   {ours_rate / med[runs[3][0]]:.2f}  (batch {batch_rate / med[runs[3][0]]:.2f};"
        " target > 1)"
    )
    print(
        f"ratio ours/floor   {ours_rate / med[runs[0][0]]:.2f}  (batch {batch_rate / med[runs[0][0]]:.2f}; target >= 0.5)"
    )


# -- accuracy -----------------------------------------------------------------------------------


def _mask(sig: np.ndarray, bits: int) -> np.ndarray:
    return sig & np.uint32((1 << bits) - 1)


def _estimate_bits(a: np.ndarray, b: np.ndarray, bits: int) -> float:
    if bits >= 32:
        return estimate_jaccard(a, b)
    agree = float(np.mean(_mask(a, bits) == _mask(b, bits)))
    chance = 2.0**-bits
    return max(0.0, (agree - chance) / (1 - chance))


def bench_accuracy(args: argparse.Namespace) -> None:
    from datasketch import MinHash

    params = SignatureParams(num_perm=128)
    hasher = MinHasher(params)
    rng = random.Random(20240601)
    texts = [t for _, t in corpus_texts() if len(t) >= 1000]
    rng.shuffle(texts)
    texts = texts[: args.pairs]
    bits_list = (32, 16, 8, 4, 2, 1)
    errors: dict[str, list[float]] = {f"ours, {b} bits": [] for b in bits_list}
    errors["datasketch"] = []
    errors["ours, seed 2 (other permutations)"] = []
    other = MinHasher(SignatureParams(num_perm=128, seed=2))
    exacts = []
    for text in texts:
        edited = light_edit(text, rng)
        sa, sb = set(string_shingles(text, params)), set(string_shingles(edited, params))
        exact = len(sa & sb) / len(sa | sb)
        exacts.append(exact)
        ha, hb = hasher.signature(text), hasher.signature(edited)
        for bits in bits_list:
            errors[f"ours, {bits} bits"].append(abs(_estimate_bits(ha, hb, bits) - exact))
        errors["ours, seed 2 (other permutations)"].append(
            abs(estimate_jaccard(other.signature(text), other.signature(edited)) - exact)
        )
        ma, mb = MinHash(num_perm=128, seed=1), MinHash(num_perm=128, seed=1)
        ma.update_batch([s.encode() for s in sa])
        mb.update_batch([s.encode() for s in sb])
        errors["datasketch"].append(abs(ma.jaccard(mb) - exact))
    print(
        f"{len(texts)} near-duplicate pairs (real text vs light edit), exact word-5 Jaccard"
        f" {min(exacts):.2f}-{max(exacts):.2f} (median {statistics.median(exacts):.2f}); 128 permutations"
    )
    print(f"{'estimator':<36} {'MAE':>6} {'p95 err':>8} {'max err':>8} {'bytes/sig':>9}")
    for name, errs in errors.items():
        bits = int(name.split()[1]) if name.startswith("ours, ") and name.split()[1].isdigit() else 32
        print(
            f"{name:<36} {statistics.mean(errs):6.4f} {np.percentile(errs, 95):8.4f} {max(errs):8.4f}"
            f" {128 * bits // 8:9d}"
        )


# -- shingle choice -----------------------------------------------------------------------------


def _pair_scores(hasher: MinHasher, a: str, b: str) -> tuple[float, float]:
    ha, hb = hasher.shingle_hashes(a), hasher.shingle_hashes(b)
    return jaccard(ha, hb), max(containment(ha, hb), containment(hb, ha))


def bench_shingles(args: argparse.Namespace) -> None:
    configs = [(kind, k) for kind in ("word", "char") for k in range(3, 8)]
    hashers = {c: MinHasher(SignatureParams(shingle_kind=c[0], shingle_size=c[1])) for c in configs}
    labelled = labelled_pair_texts()
    seeds = seed_texts()
    rows: list[tuple[str, bool, str, str]] = [
        (f"{label['relation']} ({Path(label['a']).name[:22]})", label["near_duplicate"], a, b)
        for label, a, b in labelled
    ]
    for x, y in (("000", "001"), ("000", "004"), ("001", "004")):
        rows.append((f"seeds {x} vs {y}", False, seeds[x], seeds[y]))
    header = "".join(f" {kind[0]}{k:<2}J   C  " for kind, k in configs)
    print(
        "J = exact Jaccard, C = containment of the smaller set in the larger, per shingling (w = word, c = char)"
    )
    print(f"{'pair':<52} dup {header}")
    scores: dict[tuple[str, int], dict[str, list[tuple[float, float]]]] = {
        c: {"pos": [], "neg": [], "hard": []} for c in configs
    }
    for name, positive, a, b in rows:
        cells = []
        for c in configs:
            j, cont = _pair_scores(hashers[c], a, b)
            scores[c]["pos" if positive else "neg"].append((j, cont))
            if positive and j < 0.99:
                scores[c]["hard"].append((j, cont))
            cells.append(f"{j:4.2f} {cont:4.2f} ")
        print(f"{name[:52]:<52} {'yes' if positive else 'no ':3} {' '.join(cells)}")

    # Closest pairs among the AEB/Fundus texts: independent reports of one event must stay apart.
    corpus = corpus_texts()
    known_dup = {("fundus:de/Taz_2023_04_28.html.gz", "fundus:de/Taz_2024_10_23.html.gz")}
    print(f"\nclosest pairs among the {len(corpus)} AEB/Fundus texts (known re-capture pairs excluded: taz)")
    worst: dict[tuple[str, int], tuple[float, float, str]] = {}
    for c in configs:
        sets = [hashers[c].shingle_hashes(t) for _, t in corpus]
        best_j = best_c = (0.0, "")
        for i in range(len(sets)):
            for j in range(i + 1, len(sets)):
                ids = (corpus[i][0].split()[0], corpus[j][0].split()[0])
                if ids in known_dup or ids[::-1] in known_dup:
                    continue
                jac = jaccard(sets[i], sets[j])
                small, large = (sets[i], sets[j]) if len(sets[i]) <= len(sets[j]) else (sets[j], sets[i])
                con = containment(small, large) if len(small) >= 20 else 0.0
                if jac > best_j[0]:
                    best_j = (jac, f"{corpus[i][0][:60]} | {corpus[j][0][:60]}")
                if con > best_c[0]:
                    best_c = (con, f"{corpus[i][0][:60]} | {corpus[j][0][:60]}")
        worst[c] = (best_j[0], best_c[0], best_j[1] if best_j[0] >= best_c[0] else best_c[1])
        print(
            f"  {c[0]}{c[1]}: max J {best_j[0]:.3f} ({best_j[1]}); max C (smaller set >= 20) {best_c[0]:.3f} ({best_c[1]})"
        )

    print("\nmargins (positives that are not exact copies vs every negative, incl. the closest corpus pair)")
    print(
        f"{'shingles':<8} {'min J pos':>9} {'max J neg':>9} {'J gap':>6}  {'min C pos':>9} {'max C neg':>9} {'C gap':>6}"
    )
    for c in configs:
        pos_j = min(j for j, _ in scores[c]["hard"])
        pos_c = min(cont for _, cont in scores[c]["hard"])
        neg_j = max([j for j, _ in scores[c]["neg"]] + [worst[c][0]])
        neg_c = max([cont for _, cont in scores[c]["neg"]] + [worst[c][1]])
        print(
            f"{c[0]}{c[1]:<7} {pos_j:9.3f} {neg_j:9.3f} {pos_j - neg_j:6.3f}  {pos_c:9.3f} {neg_c:9.3f} {pos_c - neg_c:6.3f}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("speed", "accuracy", "shingles"), help="run one section")
    parser.add_argument("--repeat", type=int, default=3, help="each real text this many times (speed)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every implementation (speed)")
    parser.add_argument(
        "--slow-docs", type=int, default=60, help="docs for datasketch update() (x5 update_batch)"
    )
    parser.add_argument("--pairs", type=int, default=300, help="near-duplicate pairs (accuracy)")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    sections = {"speed": bench_speed, "accuracy": bench_accuracy, "shingles": bench_shingles}
    for name, fn in sections.items():
        if args.only in (None, name):
            print(f"\n== {name}")
            fn(args)


if __name__ == "__main__":
    main()
