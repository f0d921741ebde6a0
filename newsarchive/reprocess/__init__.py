"""Re-run extraction and near-duplicate detection over stored WARC files (``newsarchive
reprocess``): the ``reprocess`` spider hands their response records to the crawl's item
pipelines, each JSON line linked to its source record.

Modules: :mod:`~newsarchive.reprocess.inputs` (files, directories, ``s3://``),
:mod:`~newsarchive.reprocess.records` (one file's records, skips, failures),
:mod:`~newsarchive.reprocess.pages` (a record as the page a crawl would have seen),
:mod:`~newsarchive.reprocess.run` (the reader thread, the bound on pending items, progress),
:mod:`~newsarchive.reprocess.command` (the command).
"""

from __future__ import annotations

from newsarchive.reprocess.inputs import InputError, InputResolver, WarcInput
from newsarchive.reprocess.pages import PageBuilder
from newsarchive.reprocess.records import (
    SKIP_REASONS,
    FileDone,
    FileFailed,
    HttpResponseRecord,
    SkippedRecord,
    read_records,
)
from newsarchive.reprocess.run import ReprocessConfig, Reprocessor

__all__ = [
    "SKIP_REASONS",
    "FileDone",
    "FileFailed",
    "HttpResponseRecord",
    "InputError",
    "InputResolver",
    "PageBuilder",
    "ReprocessConfig",
    "Reprocessor",
    "SkippedRecord",
    "WarcInput",
    "read_records",
]
