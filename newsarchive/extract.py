"""Article extraction with trafilatura: HTML text in, article fields (or None) out.

Extraction is CPU-bound (tens of milliseconds a page, seconds for a pathological one), so a
crawl runs it in worker processes (:class:`ExtractionPool`) with a per-page time limit; the
same :class:`ArticleExtractor` also runs in-process for tests and re-processing.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

FOCUS_CHOICES = ("balanced", "precision", "recall")
LANGUAGE_SAMPLE = 2000
"""Characters of the article text given to the language detector."""
_WARM_UP_PAGE = (
    "<html><head><title>Warm-up</title><meta name='date' content='2026-01-01'></head><body><article>"
    + "<p>This paragraph only loads the extraction models before the first real page arrives.</p>" * 8
    + "</article></body></html>"
)


@dataclass(frozen=True)
class ExtractConfig:
    """Every ``EXTRACT_*`` setting, read and checked once."""

    workers: int = 0
    """Worker processes; 0 means one per CPU core."""
    timeout: float = 30.0
    """Seconds one page may take before its worker is killed and the page counted as failed."""
    focus: str = "balanced"
    """trafilatura's trade-off: 'balanced', 'precision' or 'recall'."""
    target_language: str | None = None
    """ISO 639-1 code: pages detected in another language yield no article. None keeps all."""
    min_text_length: int = 250
    """Pages whose extracted text is shorter (index pages, stubs) yield no article."""

    def __post_init__(self) -> None:
        if self.focus not in FOCUS_CHOICES:
            raise ValueError(f"EXTRACT_FOCUS must be one of {', '.join(FOCUS_CHOICES)}, got {self.focus!r}")
        if self.timeout <= 0:
            raise ValueError(f"EXTRACT_TIMEOUT must be positive, got {self.timeout}")
        if self.target_language is not None and not re.fullmatch(r"[a-z]{2}", self.target_language):
            raise ValueError(
                f"EXTRACT_TARGET_LANGUAGE must be a lower-case ISO 639-1 code such as 'en', got {self.target_language!r}"
            )
        if self.min_text_length < 1:
            raise ValueError(f"EXTRACT_MIN_TEXT_LENGTH must be at least 1, got {self.min_text_length}")
        if self.workers < 0:
            raise ValueError(f"EXTRACT_WORKERS must be 0 (one per core) or more, got {self.workers}")

    @property
    def pool_size(self) -> int:
        return self.workers or os.cpu_count() or 1


class ArticleExtractor:
    """trafilatura with its options built once (building them per page costs as much as a parse)."""

    def __init__(self, config: ExtractConfig) -> None:
        # Imported here, not at the top: the crawler process only needs ExtractConfig, and
        # importing trafilatura there would cost it start-up time for nothing.
        from trafilatura.settings import Extractor

        self._options = Extractor(
            output_format="txt",
            with_metadata=True,
            comments=False,
            precision=config.focus == "precision",
            recall=config.focus == "recall",
            lang=config.target_language,
        )
        self._min_text_length = config.min_text_length

    def extract(self, html: str, url: str) -> dict[str, Any] | None:
        """Article fields of ``html`` fetched from ``url``, or None when it holds no article."""
        from trafilatura import bare_extraction
        from trafilatura.utils import language_classifier
        from trafilatura.xml import xmltotxt

        self._options.url = self._options.source = url
        document = bare_extraction(html, options=self._options)
        if document is None or document.body is None:
            return None
        text = xmltotxt(document.body, False).strip()
        if len(text) < self._min_text_length:
            return None
        return {
            "canonical_url": document.url if document.url and document.url != url else None,
            "title": document.title,
            "author": document.author,
            "date": document.date,
            "sitename": document.sitename,
            "hostname": urlsplit(url).hostname,
            # A prefix is enough: on the AEB pages 2,000 characters agree with the whole text
            # every time, at half the cost.
            "language": document.language or language_classifier(text[:LANGUAGE_SAMPLE], ""),
            "description": document.description,
            "categories": list(document.categories or []),
            "tags": list(document.tags or []),
            "text": text,
        }


_worker_extractor: ArticleExtractor | None = None


def init_worker(config: ExtractConfig) -> None:
    """Pool initializer: one warmed-up extractor per worker; trafilatura's per-page log quiet."""
    global _worker_extractor
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    _worker_extractor = ArticleExtractor(config)
    _worker_extractor.extract(_WARM_UP_PAGE, "http://warm-up.invalid/")


def warm_up() -> None:
    """Load what trafilatura, htmldate and py3langid load on first use (about a second), so
    that it is done before the first real page, and only once where workers are forked."""
    ArticleExtractor(ExtractConfig()).extract(_WARM_UP_PAGE, "http://warm-up.invalid/")


def pool_context() -> multiprocessing.context.BaseContext:
    """How extraction workers start: never by forking the crawler itself (its reactor,
    threads, open files and sockets), but from a fork server that has imported and warmed up
    trafilatura once, so that a worker (the first ones, or one replacing a timed-out worker)
    starts in milliseconds; by spawning where there is no fork server (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["newsarchive._forkserver_preload"])
    return context


def extract_in_worker(html: str, url: str) -> tuple[dict[str, Any] | None, float]:
    """Runs in a pool worker set up by :func:`init_worker`; also returns the CPU seconds spent."""
    assert _worker_extractor is not None, "init_worker() was not run in this process"
    started = time.process_time()
    fields = _worker_extractor.extract(html, url)
    return fields, time.process_time() - started
