"""``newsarchive report``: the syndication report of an archive, one static HTML page."""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from newsarchive.dedup.index import IndexMismatchError
from newsarchive.dedup.redis_index import DEFAULT_PREFIX, IndexNotFoundError, IndexUnavailableError
from newsarchive.exceptions import SettingsError
from newsarchive.layout import ArchiveLayout
from newsarchive.report.data import load_report
from newsarchive.report.html import DEFAULT_REPLAY_URL, render

if TYPE_CHECKING:
    from pathlib import Path


def write_report(
    archive: str,
    out: Path,
    *,
    replay_url: str = DEFAULT_REPLAY_URL,
    min_size: int = 2,
    spool: str = "",
    dedup_uri: str = "",
    redis_prefix: str = DEFAULT_PREFIX,
) -> int:
    """Write the report of ``archive`` (its JSON lines, and the index ``dedup_uri`` names or its
    ``state/dedup.sqlite``) to ``out`` and print one line about it. 1 when there is no archive,
    index or JSON line, the index cannot be read or ``out`` cannot be written; 2 for a bad argument.

    The page is written next to ``out`` and renamed over it when complete: a failed run leaves
    the previous report, never half of one.
    """
    if min_size < 1:
        return _fail(f"--min-size must be 1 or more, got {min_size}", 2)
    if urlsplit(replay_url).scheme not in ("http", "https"):
        return _fail(
            f"--replay-url must be an http:// or https:// URL (pywb's collection), got {replay_url!r}", 2
        )
    replay_url = replay_url if replay_url.endswith("/") else replay_url + "/"
    try:
        layout = ArchiveLayout.from_uri(archive, spool=spool)
        data = load_report(layout, dedup_uri=dedup_uri, redis_prefix=redis_prefix, min_size=min_size)
    except (OSError, IndexNotFoundError, IndexUnavailableError, IndexMismatchError) as exc:
        return _fail(str(exc), 1)  # OSError: FileNotFoundError (no archive, index, lines) or unreadable
    except sqlite3.DatabaseError as exc:
        return _fail(f"cannot read the dedup index of {archive}: {exc}", 1)
    except SettingsError as exc:
        return _fail(str(exc), 2)
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(partial, "w", encoding="utf-8") as page:
            render(data, page, replay_url=replay_url)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        return _fail(f"cannot write the report to {out}: {exc}", 1)
    print(
        f"newsarchive report: {len(data.stories)} stories, {data.copies} copies, "
        f"{data.partial_copies} partial copies on {len(data.sites)} sites, of {data.articles} articles "
        f"({data.unlisted} in no story); {out} ({out.stat().st_size / 1e3:,.0f} kB)"
    )
    return 0


def _fail(message: str, status: int) -> int:
    print(f"newsarchive: {message}", file=sys.stderr)
    return status
