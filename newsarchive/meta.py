"""``request.meta`` keys that spiders and newsarchive components share."""

from __future__ import annotations

ARTICLE = "newsarchive_article"
"""True on article requests: the ones a later run skips once archived."""
SOURCE = "newsarchive_source"
"""Name of the configured source a request comes from."""
HINTS = "newsarchive_hints"
"""Title/date a feed or news sitemap gave for an article, used when the page lacks them."""
DISCOVERED = "newsarchive_discovered"
"""True on feed requests found by autodiscovery (no second round of discovery)."""
WARC_LOCATION = "newsarchive_warc"
"""Location (dict) of the response record, set once the response is archived."""
WIRE_LENGTH = "newsarchive_wire_length"
"""Length of the response body as received, before content decoding."""
