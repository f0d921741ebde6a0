"""Dates as feeds and sitemaps write them (W3C datetime / RFC 3339), as aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_REDUCED = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def parse_w3c_date(value: str | None) -> datetime | None:
    """``2026``, ``2026-11``, ``2026-11-20``, ``2026-11-20T08:15:00Z``… in UTC; None if unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if match := _REDUCED.match(value):
        try:
            return datetime(int(match[1]), int(match[2] or 1), 1, tzinfo=UTC)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
