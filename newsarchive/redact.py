"""Keep credentials out of the log.

Scrapy logs every setting that differs from its default when a crawler starts ("Overridden
settings"), which would print ``AWS_SECRET_ACCESS_KEY`` or a Redis password given with ``-s``.
The add-on registers their values here; a filter on that logger replaces them with ``***``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

SECRET_SETTINGS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
URL_SETTINGS = ("DEDUP_URI",)  # URLs that may carry a password (redis://:password@host)
LOGGERS = ("scrapy.crawler",)
MASK = "***"


class SecretsFilter(logging.Filter):
    """Rewrites a record whose message contains a registered secret."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in sorted(self.secrets, key=len, reverse=True):
            redacted = redacted.replace(secret, MASK)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = SecretsFilter()


def secrets_of(settings: BaseSettings) -> set[str]:
    values = {str(settings[name]) for name in SECRET_SETTINGS if settings.get(name)}
    for name in URL_SETTINGS:
        if settings.get(name):
            parts = urlsplit(str(settings[name]))
            values |= {parts.password} if parts.password else set()
    return {value for value in values if len(value) >= 4}  # "***" everywhere helps no one


def redact_secrets(settings: BaseSettings) -> None:
    """Mask the credentials ``settings`` holds in what Scrapy logs about its settings."""
    _FILTER.secrets |= secrets_of(settings)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
