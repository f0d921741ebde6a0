"""The embedded index at a million documents: add and find speed, bytes on disk, memory.

    .venv/bin/python bench/lsh_scale.py [--docs 1000000] [--measure 10000] [--window 0]

``lsh_index.py`` compares the two backends over 100k documents added one by one; this fills
one SqliteIndex to ``--docs`` with ``add_many`` batches (the documents of ``lsh_index.make_docs``,
in chunks of 100k, each with the shingles of a text of its own so that the partial-copy
fingerprints and anchors are stored too), then measures at that size: ``--measure`` single
adds, 5,000 finds (half of them near copies of indexed documents), bytes per document by table
(SQLite's dbstat) and the process's peak resident memory. The fill rate is printed as the
index grows, so the cost of size shows.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from lsh_index import make_docs  # noqa: E402

from newsarchive.dedup import SignatureParams  # noqa: E402
from newsarchive.dedup.index import Document, IndexConfig, SqliteIndex  # noqa: E402

CHUNK = 100_000


def with_text(docs: list[Document], rng: np.random.Generator) -> list[Document]:
    """Each document with shingles: its own text (600-1,000 shingles) if it has none."""
    return [
        doc
        if doc.shingles is not None
        else replace(doc, shingles=rng.integers(0, 2**32, int(rng.integers(600, 1000)), dtype=np.uint32))
        for doc in docs
    ]


def chunk(i: int, n: int) -> list[Document]:
    docs = make_docs(n, np.random.default_rng(100 + i))
    return [replace(doc, key=f"{i}:{doc.key}") for doc in with_text(docs, np.random.default_rng(200 + i))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--measure", type=int, default=10_000)
    parser.add_argument(
        "--window", type=int, default=IndexConfig().window, help="DEDUP_WINDOW; 0: no partial copies"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dedup.sqlite"
        index = SqliteIndex(path, SignatureParams(), IndexConfig(window=args.window))
        filled = 0
        last: list[Document] = []
        while filled < args.docs:
            docs = chunk(filled // CHUNK, min(CHUNK, args.docs - filled))
            start = time.perf_counter()
            for i in range(0, len(docs), 1000):
                index.add_many(docs[i : i + 1000])
            filled += len(docs)
            last = docs
            print(
                f"{filled:>9,} documents: add_many {len(docs) / (time.perf_counter() - start):,.0f} docs/s",
                flush=True,
            )

        extra = chunk(10_000, args.measure)
        start = time.perf_counter()
        for doc in extra:
            index.add(doc)
        add_rate = len(extra) / (time.perf_counter() - start)

        rng = np.random.default_rng(2)
        probes = []
        for i, doc in enumerate(make_docs(5_000, np.random.default_rng(3))):
            if i % 2 == 0:  # a near copy of an indexed document
                signature = last[int(rng.integers(len(last)))].signature.copy()
                signature[rng.random(signature.size) < 0.4] = 0
                doc = replace(doc, signature=signature)
            probes.append(doc)
        times = []
        for doc in probes:
            t0 = time.perf_counter()
            index.find(doc)
            times.append(time.perf_counter() - t0)
        times.sort()
        index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = len(index)
        index.close()
        db = sqlite3.connect(path)
        tables = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"))
        db.close()
        total = path.stat().st_size
    print(f"at {count:,} documents (DEDUP_WINDOW {args.window}):")
    print(f"  add, one transaction each: {add_rate:,.0f} docs/s ({args.measure:,} adds)")
    print(
        f"  find: p50 {statistics.median(times) * 1e3:.3f} ms, p99 {times[int(len(times) * 0.99)] * 1e3:.3f} ms"
        f" ({len(times):,} finds; target p99 < 1 ms)"
    )
    print(f"  on disk: {total / count:,.0f} bytes per document (target < 300), {total / 2**20:,.0f} MiB")
    for name, size in tables.items():
        print(f"    {name:<28} {size / count:8,.0f} bytes per document")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"  peak resident memory of this process: {peak / 2**20:,.0f} MiB (documents generated included)")


if __name__ == "__main__":
    main()
