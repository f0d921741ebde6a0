"""Credentials never reach the log: Scrapy's "Overridden settings" line masks them."""

from __future__ import annotations

import logging

from scrapy.settings import Settings

from newsarchive.redact import MASK, redact_secrets


def test_overridden_settings_line_masks_credentials(caplog):
    settings = Settings(
        {
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
            "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEJr//////////",
            "DEDUP_URI": "redis://:hunter2-long@dedup.internal:6379/0",
        }
    )
    redact_secrets(settings)
    values = {name: settings[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DEDUP_URI")}
    with caplog.at_level(logging.INFO, logger="scrapy.crawler"):
        logging.getLogger("scrapy.crawler").info("Overridden settings:\n%(settings)s", {"settings": values})
    (message,) = [r.getMessage() for r in caplog.records]
    for secret in ("AKIAEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG", "hunter2-long"):
        assert secret not in message
    assert "AWS_SECRET_ACCESS_KEY" in message and MASK in message
    assert "dedup.internal:6379" in message  # only the password goes


def test_other_loggers_and_short_values_untouched(caplog):
    redact_secrets(Settings({"AWS_SECRET_ACCESS_KEY": "abc"}))  # too short to mask safely
    with caplog.at_level(logging.INFO):
        logging.getLogger("scrapy.crawler").info("abc def")
    assert [r.getMessage() for r in caplog.records] == ["abc def"]
