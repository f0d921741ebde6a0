"""The dedup stage against extraction, per article: is near-duplicate detection under 10 %?

    .venv/bin/python bench/dedup_stage.py [--background 50000] [--rounds 3]

The 439 real pages of the AEB and Fundus corpora (../shared/corpora) are extracted with the
pipeline's extractor (trafilatura, one core, warmed up), then put through what DedupPipeline does
for each article (shingle hashes, MinHash signature, text fingerprint, and SqliteIndex.add with
its LSH look-up, partial-copy fingerprints and the write transaction) into an index that already
holds ``--background`` documents. The background texts are made of the corpus's own words in
random order, so their band keys and passage fingerprints are spread as real ones are. Both are
timed in this process, one after the other, in each round; the ratio is the figure.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsarchive.dedup import MinHasher, SignatureParams, partial, text_fingerprint  # noqa: E402
from newsarchive.dedup.index import Document, IndexConfig, SqliteIndex  # noqa: E402
from newsarchive.extract import ArticleExtractor, ExtractConfig  # noqa: E402

CORPORA = REPO.parent / "shared" / "corpora"
PATTERNS = ("aeb-article-extraction-benchmark/html/*.html.gz", "fundus-parser-test-data/*/*.html.gz")


def pages() -> list[tuple[str, str]]:
    result = []
    for pattern in PATTERNS:
        for file in sorted(CORPORA.glob(pattern)):
            html = gzip.decompress(file.read_bytes()).decode("utf-8", errors="replace")
            result.append((f"https://{file.parent.name}.example/{file.name.removesuffix('.html.gz')}", html))
    return result


def document(hasher: MinHasher, key: str, url: str, text: str, fetched_at: str) -> Document:
    """What DedupPipeline._add builds from an article."""
    shingles = hasher.shingle_sequence(text)
    return Document(
        key=key,
        url=url,
        site=partial.site_of(url),
        title=None,
        fetched_at=fetched_at,
        fingerprint=text_fingerprint(text),
        signature=hasher.signature_from_hashes(shingles),
        published=None,
        shingles=shingles,
    )


def background(index: SqliteIndex, hasher: MinHasher, texts: list[str], count: int) -> None:
    words = np.array(" ".join(texts).split())
    rng = np.random.default_rng(5)
    batch = []
    for i in range(count):
        text = " ".join(words[rng.integers(0, words.size, int(rng.integers(300, 1200)))])
        batch.append(
            document(hasher, f"bg{i}", f"https://bg{i % 997}.example/{i}", text, "2026-10-01T00:00:00Z")
        )
        if len(batch) == 1000:
            index.add_many(batch)
            batch.clear()
    if batch:
        index.add_many(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--background", type=int, default=50_000, help="documents already in the index")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    corpus = pages()
    extractor = ArticleExtractor(ExtractConfig())
    hasher = MinHasher(SignatureParams())
    for url, html in corpus[:20]:  # warm-up: trafilatura's first calls load its models
        extractor.extract(html, url)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "background.sqlite"
        for round_ in range(args.rounds):
            start = time.perf_counter()
            extracted = [(url, extractor.extract(html, url)) for url, html in corpus]
            extract_s = time.perf_counter() - start
            texts = [(url, result["text"]) for url, result in extracted if result and result["text"]]
            if round_ == 0:
                begin = time.perf_counter()
                with SqliteIndex(base, SignatureParams(), IndexConfig()) as index:
                    background(index, hasher, [t for _, t in texts], args.background)
                print(f"background: {args.background} documents in {time.perf_counter() - begin:.0f} s")
            path = Path(tmp) / f"round{round_}.sqlite"
            shutil.copyfile(base, path)  # each round meets the same index, not its own earlier texts
            per_article = []
            with SqliteIndex(path, SignatureParams(), IndexConfig()) as index:
                for i, (url, text) in enumerate(texts):
                    start = time.perf_counter()
                    index.add(document(hasher, f"r{i}", url, text, "2026-11-21T10:00:00Z"))
                    per_article.append(time.perf_counter() - start)
            path.unlink()
            dedup_s = sum(per_article)
            rows.append(
                (extract_s / len(texts), dedup_s / len(texts), statistics.quantiles(per_article, n=100))
            )
            print(
                f"round {round_ + 1}: {len(texts)} articles, extraction {1000 * extract_s / len(texts):.1f} ms, "
                f"dedup {1000 * dedup_s / len(texts):.2f} ms an article "
                f"(p50 {1000 * rows[-1][2][49]:.2f}, p99 {1000 * rows[-1][2][98]:.2f}): "
                f"ratio {dedup_s / extract_s:.3f}"
            )
    ratio = statistics.median(dedup / extract for extract, dedup, _ in rows)
    print(f"dedup stage / extraction, median of {args.rounds} rounds: {ratio:.3f} (target < 0.10)")


if __name__ == "__main__":
    main()
