"""``newsarchive clusters``: the story clusters of an archive, for people or for programs."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TextIO
from urllib.parse import urlsplit

from newsarchive.dedup.index import Cluster, SqliteIndex
from newsarchive.layout import ArchiveLayout


def print_clusters(archive: str, *, as_json: bool, min_size: int, out: TextIO = sys.stdout) -> int:
    """List the clusters of ``archive``'s dedup index, largest first; 1 when there is no index."""
    path = ArchiveLayout.from_uri(archive).state_dir / "dedup.sqlite"
    try:
        with SqliteIndex.open_existing(path) as index:
            clusters = index.clusters(min_size=min_size)
    except FileNotFoundError as exc:
        print(f"newsarchive: {exc}", file=sys.stderr)
        return 1
    if as_json:
        json.dump([_as_dict(c) for c in clusters], out, ensure_ascii=False, indent=1)
        out.write("\n")
        return 0
    for cluster in clusters:
        head = cluster.canonical
        out.write(f"{cluster.size} copies  {head.title or '(no title)'}\n")
        out.write(f"  original  {_site(head.url)}  {head.fetched_at}  {head.url}\n")
        for copy in cluster.members:
            similarity = "exact" if copy.exact else f"{copy.similarity:.2f}"
            out.write(f"  {similarity:>8}  {_site(copy.url)}  {copy.fetched_at}  {copy.url}\n")
        for part in cluster.partial_copies:
            copy = part.copy
            out.write(
                f"  partial   {_site(copy.url)}  {copy.fetched_at}  {copy.url}  "
                f"(reproduces {part.containment:.0%} of it; {part.share:.0%} of its own text)\n"
            )
    out.write(f"{len(clusters)} clusters of {min_size} or more articles, or with partial copies\n")
    return 0


def _site(url: str) -> str:
    """Host and port: sites on one host (a test web, a platform) stay apart."""
    return urlsplit(url).netloc or "-"


def _as_dict(cluster: Cluster) -> dict[str, object]:
    canonical = asdict(cluster.canonical)
    for key in ("similarity", "exact"):
        canonical.pop(key)
    return {
        "cluster_id": cluster.cluster_id,
        "size": cluster.size,
        "canonical": canonical,
        "copies": [asdict(member) for member in cluster.members],
        "partial_copies": [
            {
                **{
                    key: value
                    for key, value in asdict(part.copy).items()
                    if key not in ("similarity", "exact")
                },
                "source_url": part.source_url,
                "containment": part.containment,
                "share": part.share,
            }
            for part in cluster.partial_copies
        ],
    }
