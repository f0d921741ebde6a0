"""Files being written carry an ``.open`` suffix and an exclusive ``flock`` for as long as
their writer lives.

The lock is what tells a crawl's ``.open`` file from one a killed process left behind: the
kernel drops it when its holder dies, however it dies. Creating a file and locking it are
two steps, so both happen under a shared lock on the directory itself, which the recovery
takes exclusively while it looks for abandoned files: a file is never claimed in the instant
between its creation and its lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

OPEN_SUFFIX = ".open"


@contextlib.contextmanager
def _directory_lock(directory: Path, operation: int) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)


def create_open_file(directory: Path, name: str) -> BinaryIO | None:
    """Create ``directory/name.open`` unbuffered and locked; None when it, or ``name`` itself,
    exists already (another crawl's file: never appended to, nor later renamed over)."""
    directory.mkdir(parents=True, exist_ok=True)
    with _directory_lock(directory, fcntl.LOCK_SH):
        if (directory / name).exists():  # a rename is atomic: one of the two names exists
            return None
        try:
            file = open(directory / (name + OPEN_SUFFIX), "xb", buffering=0)
        except FileExistsError:
            return None
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    return file


def close_open_file(file: BinaryIO, path: Path) -> Path:
    """fsync and close ``file`` (``path`` + ``.open``), then give it its final name."""
    try:
        os.fsync(file.fileno())
    finally:
        file.close()
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    path.rename(final)
    return final


@contextlib.contextmanager
def abandoned_files(directory: Path) -> Iterator[list[tuple[Path, BinaryIO]]]:
    """The ``.open`` files of ``directory`` no living process holds, opened for update and
    locked by us until the block ends (their final names are given by the caller)."""
    if not directory.is_dir():
        yield []
        return
    claimed: list[tuple[Path, BinaryIO]] = []
    try:
        with _directory_lock(directory, fcntl.LOCK_EX):
            for path in sorted(directory.glob("*" + OPEN_SUFFIX)):
                file = open(path, "r+b")
                try:
                    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    file.close()  # a living crawl's file
                    continue
                claimed.append((path, file))
        yield claimed
    finally:
        for _, file in claimed:
            file.close()
