"""``newsarchive clusters``: the story clusters of an archive's index, for people or for programs."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from newsarchive.dedup.backends import open_existing
from newsarchive.dedup.index import IndexMismatchError
from newsarchive.dedup.redis_index import DEFAULT_PREFIX, IndexNotFoundError, IndexUnavailableError
from newsarchive.exceptions import SettingsError
from newsarchive.layout import ArchiveLayout

if TYPE_CHECKING:
    from newsarchive.dedup.index import Cluster


def print_clusters(
    archive: str,
    *,
    as_json: bool,
    min_size: int,
    dedup_uri: str = "",
    redis_prefix: str = DEFAULT_PREFIX,
    spool: str = "",
    out: TextIO = sys.stdout,
) -> int:
    """List the clusters of the dedup index, largest first: ``archive``'s SQLite file, or the one
    ``dedup_uri`` (``DEDUP_URI``) names; 1 when there is none, its server cannot be reached or it
    was built by another version, 2 for a setting it cannot use."""
    try:
        state_dir = ArchiveLayout.from_uri(archive, spool=spool).state_dir
        with open_existing(dedup_uri, state_dir=state_dir, redis_prefix=redis_prefix) as index:
            clusters = index.clusters(min_size=min_size)
    except (FileNotFoundError, IndexNotFoundError, IndexUnavailableError, IndexMismatchError) as exc:
        print(f"newsarchive: {exc}", file=sys.stderr)
        return 1
    except SettingsError as exc:
        print(f"newsarchive: {exc}", file=sys.stderr)
        return 2
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
