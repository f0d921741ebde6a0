"""Stat keys: every newsarchive stat is ``newsarchive/<component>/<name>`` (docs/stats.md)."""

from __future__ import annotations

PREFIX = "newsarchive"


def stat_key(component: str, *names: str) -> str:
    """``stat_key("warc", "records")`` → ``"newsarchive/warc/records"``."""
    return "/".join((PREFIX, component, *names))
