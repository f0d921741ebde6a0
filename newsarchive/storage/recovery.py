"""Close the files a killed crawl left ``.open``: keep every complete record (WARC) or line
(JSON), cut what follows, and give the file its final name so it is published like any other.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from newsarchive.layout import ArchiveLayout
from newsarchive.storage.openfiles import OPEN_SUFFIX, abandoned_files
from newsarchive.warc.salvage import CHUNK, CompletePrefix, complete_prefix

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    """One abandoned file and what was kept of it."""

    path: Path  # its final name
    kept: int  # complete records or lines
    kept_bytes: int
    cut_bytes: int
    problem: str | None
    removed: bool  # nothing was complete: the file was deleted

    def describe(self) -> str:
        if self.removed:
            return f"{self.path}: removed, no complete record in {self.cut_bytes} bytes ({self.problem})"
        cut = (
            f", cut {self.cut_bytes} bytes at offset {self.kept_bytes}: {self.problem}"
            if self.cut_bytes
            else ""
        )
        return f"{self.path}: kept {self.kept} complete records ({self.kept_bytes} bytes){cut}"


def recover_abandoned(layout: ArchiveLayout) -> list[Recovered]:
    """Recover every abandoned ``.open`` file of the archive's ``warc/`` and ``json/``."""
    recovered = []
    for directory, salvage in ((layout.warc_dir, _warc_prefix), (layout.json_dir, _jsonl_prefix)):
        with abandoned_files(directory) as files:
            for path, file in files:
                result = _recover(path, file, salvage(path, file))
                log = logger.warning if result.cut_bytes else logger.info
                log("Recovered a file a stopped crawl left open: %s", result.describe())
                recovered.append(result)
    return recovered


def _recover(path: Path, file: BinaryIO, prefix: CompletePrefix) -> Recovered:
    size = os.fstat(file.fileno()).st_size
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    removed = prefix.records == 0
    if removed:
        path.unlink()
    else:
        if prefix.length < size:
            file.truncate(prefix.length)
        os.fsync(file.fileno())
        path.rename(final)
    return Recovered(final, prefix.records, prefix.length, size - prefix.length, prefix.problem, removed)


def _warc_prefix(path: Path, file: BinaryIO) -> CompletePrefix:
    file.seek(0)
    gzipped = path.name.removesuffix(OPEN_SUFFIX).endswith(".gz")
    return complete_prefix(file, gzipped=gzipped)


def _jsonl_prefix(path: Path, file: BinaryIO) -> CompletePrefix:
    """Lines up to the last newline: a JSON line is written whole or torn at its end."""
    file.seek(0)
    lines = length = position = 0
    while data := file.read(CHUNK):
        newlines = data.count(b"\n")
        if newlines:
            lines += newlines
            length = position + data.rindex(b"\n") + 1
        position += len(data)
    problem = (
        f"JSON line cut short ({position - length} bytes without a newline)" if position > length else None
    )
    return CompletePrefix(lines, length, problem)
