"""Publishing a WARC file to S3 against a plain boto3 ``upload_file`` of the same file.

    .venv/bin/python bench/s3_upload.py [--size-mb 1024] [--rounds 2]

Both go to the same moto server (server mode, a subprocess on 127.0.0.1 started by the bench:
tests/s3_server.py), one after the other, never at once, in alternating order each round; the
server is reset between uploads so that neither pays for the other's memory. Timed:

* ``plain``: ``client.upload_file(path, bucket, key)`` with boto3's default transfer settings
  (8 MiB parts, 10 threads);
* ``publish``: :meth:`SpoolPublisher.publish` with the project's defaults
  (``ARCHIVE_UPLOAD_PART_SIZE`` 16 MiB, ``ARCHIVE_UPLOAD_CONCURRENCY`` 4): the CRC32 pass over the
  file, the look-up of the key, the conditional upload with its full-object checksum, the
  read-back and comparison, the ledger row (``ARCHIVE_KEEP_LOCAL``: the file is kept for the
  next round);
* ``crc32``: the checksum pass alone, to show what verification costs.

The file is incompressible (random bytes, as gzip'd WARC records are) and lies in the page
cache for every measurement (it is read once before timing). Ratios are taken within a round
(publish / plain, MB/s); the table shows medians over rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from scrapy.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsarchive import settings as defaults
from newsarchive.layout import ArchiveLayout, S3Location
from newsarchive.storage.publisher import SpoolPublisher
from newsarchive.storage.s3 import LocalFile, Outcome, S3Store
from tests.s3_server import MotoServer

BUCKET = "bench"
MiB = 1024 * 1024


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        for _ in range(size // (16 * MiB)):
            out.write(os.urandom(16 * MiB))
        out.write(os.urandom(size % (16 * MiB)))
    LocalFile.read(path, 16 * MiB)  # into the page cache


def fresh_bucket(server: MotoServer) -> None:
    server.reset()
    server.client().create_bucket(Bucket=BUCKET)


def time_plain(server: MotoServer, path: Path) -> float:
    fresh_bucket(server)
    client = server.client()
    start = time.perf_counter()
    client.upload_file(str(path), BUCKET, "plain/" + path.name)
    elapsed = time.perf_counter() - start
    size = client.head_object(Bucket=BUCKET, Key="plain/" + path.name)["ContentLength"]
    assert size == path.stat().st_size, size
    return elapsed


def time_publish(server: MotoServer, spool: Path, path: Path) -> float:
    fresh_bucket(server)
    settings = Settings()
    settings.setmodule(defaults)
    settings.setdict(server.settings())
    layout = ArchiveLayout(spool, S3Location(BUCKET, "crawl"))
    publisher = SpoolPublisher(layout, S3Store.from_settings(settings, layout.remote), keep_local=True)
    try:
        start = time.perf_counter()
        result = publisher.publish(path)
        elapsed = time.perf_counter() - start
    finally:
        publisher.close()
    assert result.outcome is Outcome.UPLOADED, result
    return elapsed


def time_crc(path: Path) -> float:
    start = time.perf_counter()
    LocalFile.read(path, defaults.ARCHIVE_UPLOAD_PART_SIZE)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default: 1024)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    size = args.size_mb * MiB
    with tempfile.TemporaryDirectory(prefix="s3bench-") as tmp, MotoServer() as server:
        spool = Path(tmp) / "spool"
        path = spool / "warc" / "newsarchive-bench.warc.gz"
        path.parent.mkdir(parents=True)
        make_file(path, size)
        rows = []
        for round_ in range(args.rounds):
            order = ("plain", "publish") if round_ % 2 == 0 else ("publish", "plain")
            times = {}
            for name in order:
                times[name] = (
                    time_plain(server, path) if name == "plain" else time_publish(server, spool, path)
                )
            times["crc32"] = time_crc(path)
            rows.append(times)
            print(
                f"round {round_ + 1}: "
                + ", ".join(f"{k} {size / MiB / v:,.0f} MiB/s ({v:.1f} s)" for k, v in times.items())
                + f"; publish / plain {times['plain'] / times['publish']:.2f}",
                flush=True,
            )
    print(f"\n{args.size_mb} MiB file, {args.rounds} rounds, medians:\n")
    print("| upload | MiB/s | seconds |\n|---|---:|---:|")
    for name in ("plain", "publish", "crc32"):
        seconds = statistics.median(r[name] for r in rows)
        print(f"| {name} | {size / MiB / seconds:,.0f} | {seconds:.1f} |")
    ratio = statistics.median(r["plain"] / r["publish"] for r in rows)
    print(f"\npublish / plain boto3 upload_file (throughput, same run): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
