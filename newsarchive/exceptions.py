"""Errors newsarchive raises on purpose.

::

    NewsarchiveError
     ├── ConfigError        a sources file is missing, malformed or invalid
     ├── SettingsError      a newsarchive setting has a value it cannot work with
     ├── WarcWriteError     a WARC record could not be written (the file was rolled back)
 └── StorageError       a file could not be stored in, or verified against, the archive's store
      └── ObjectConflictError  (newsarchive.storage.s3) another object already has its key
"""

from __future__ import annotations


class NewsarchiveError(Exception):
    """Base of every error newsarchive raises on purpose."""


class ConfigError(NewsarchiveError):
    """A sources file is missing, malformed or invalid; the message names file, source and key."""


class SettingsError(NewsarchiveError):
    """A setting has an unusable value: the crawl does not start (rather than run without
    archiving or extracting, as NotConfigured would make it)."""


class WarcWriteError(NewsarchiveError):
    """A WARC record could not be written; the file was cut back to its last complete record."""


class StorageError(NewsarchiveError):
    """A file could not be uploaded to, or verified in, the archive's store; it stays in the spool."""
