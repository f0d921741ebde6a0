"""CDXJ indexes of WARC files, written by cdxj-indexer, as pywb and replayweb.page read them.

One index per WARC file, ``indexes/<warc file name>.cdxj``, sorted, naming the WARC file by its
base name (pywb finds it in the collection's ``archive_paths``). Only ``response`` and
``revisit`` records are indexed: request records mixed into an index have confused pywb, and
our ``conversion`` records (the article JSON) would replay as captures of the article's URL.
"""

from __future__ import annotations

import os
from pathlib import Path

from cdxj_indexer.main import CDXJIndexer

INDEXED_RECORDS = "response,revisit"
SUFFIX = ".cdxj"


def index_name(warc: Path) -> str:
    return warc.name + SUFFIX


def is_warc(path: Path) -> bool:
    return path.name.endswith((".warc.gz", ".warc"))


def write_index(warc: Path, directory: Path) -> Path:
    """Index ``warc`` into ``directory``; the index appears whole (written aside, then renamed)."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / index_name(warc)
    partial = final.with_name(final.name + ".open")
    try:
        CDXJIndexer(str(partial), [str(warc)], records=INDEXED_RECORDS, sort=True).process_all()
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return final
