"""The archiving tools newsarchive runs but does not import: pywb (``wayback``) and ``wacz``.

Their pins clash with ours, so they live in a virtualenv of their own, ``.archive-tools``
(``make tools``), and run as subprocesses. They are looked up in ``$NEWSARCHIVE_TOOLS`` (a
``bin`` directory), then in ``.archive-tools/bin`` of the current directory and of the
repository, then on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from newsarchive.exceptions import NewsarchiveError

TOOLS_VENV = ".archive-tools"
REPOSITORY = Path(__file__).resolve().parents[1]


class ToolMissingError(NewsarchiveError):
    """A tool newsarchive runs is not installed; the message says how to install it."""


def find_tool(name: str) -> Path:
    candidates = []
    if os.environ.get("NEWSARCHIVE_TOOLS"):
        candidates.append(Path(os.environ["NEWSARCHIVE_TOOLS"]) / name)
    candidates += [Path.cwd() / TOOLS_VENV / "bin" / name, REPOSITORY / TOOLS_VENV / "bin" / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ToolMissingError(
        f"{name} not found (looked in $NEWSARCHIVE_TOOLS, ./{TOOLS_VENV}/bin, {REPOSITORY / TOOLS_VENV}/bin "
        f"and PATH): run `make tools` in the repository, which installs pywb and wacz in {TOOLS_VENV}/"
    )
