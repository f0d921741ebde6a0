"""The syndication report (``newsarchive report``): which stories travelled to which sites, what
each copy changed, and where to replay every capture; one static HTML page.

:mod:`~newsarchive.report.data` joins the dedup index's clusters to the JSON lines,
:mod:`~newsarchive.report.html` renders them, :mod:`~newsarchive.report.command` is the command.
"""

from __future__ import annotations

from newsarchive.report.command import write_report
from newsarchive.report.data import Capture, Copy, PartialCopy, ReportData, Story, load_report
from newsarchive.report.html import DEFAULT_REPLAY_URL, render

__all__ = [
    "DEFAULT_REPLAY_URL",
    "Capture",
    "Copy",
    "PartialCopy",
    "ReportData",
    "Story",
    "load_report",
    "render",
    "write_report",
]
