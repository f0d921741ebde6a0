"""``newsarchive wacz``: package an archive as one WACZ file that replayweb.page opens, with a
``pages.jsonl`` listing the articles (title, URL, date, text) so that they show up as pages
and in its full-text search. The ``wacz`` tool (py-wacz, in the tools virtualenv) writes and
validates the package; we give it the WARC files and the page list.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from newsarchive.layout import ArchiveLayout
from newsarchive.tools import find_tool
from newsarchive.warc.reader import warc_files

PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages", "hasText": True}


def pages(layout: ArchiveLayout) -> Iterator[dict[str, object]]:
    """One page per article JSON line, first capture of a URL only (replayweb.page lists
    each page once)."""
    seen: set[str] = set()
    for path in sorted(layout.json_dir.glob("*.jsonl")) if layout.json_dir.is_dir() else []:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                article = json.loads(line)
                if article["url"] in seen:
                    continue
                seen.add(article["url"])
                yield {
                    "id": article["warc_record_id"].strip("<>").removeprefix("urn:uuid:"),
                    "url": article["url"],
                    "ts": article["fetched_at"],
                    "title": article.get("title") or article["url"],
                    "text": article.get("text") or "",
                }


def write_pages(layout: ArchiveLayout, out: Path) -> int:
    count = 0
    with out.open("w", encoding="utf-8") as file:
        file.write(json.dumps(PAGES_HEADER) + "\n")
        for page in pages(layout):
            file.write(json.dumps(page, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_wacz(
    layout: ArchiveLayout, output: Path, *, title: str | None = None, out: TextIO = sys.stdout
) -> int:
    """Create ``output`` and validate it with ``wacz validate``; 0 when both succeed."""
    warcs = warc_files([layout.warc_dir]) if layout.warc_dir.is_dir() else []
    if not warcs:
        print(f"newsarchive: no WARC files in {layout.warc_dir}", file=sys.stderr)
        return 1
    wacz = find_tool("wacz")
    with tempfile.TemporaryDirectory(prefix="newsarchive-wacz-") as tmp:
        page_list = Path(tmp) / "pages.jsonl"
        count = write_pages(layout, page_list)
        command = [str(wacz), "create", "-o", str(output), "-p", str(page_list)]
        command += ["--title", title or f"newsarchive: {layout.uri}", *map(str, warcs)]
        created = subprocess.run(command, capture_output=True, text=True, check=False)
    if created.returncode != 0:
        print(f"newsarchive: wacz create failed:\n{created.stdout}{created.stderr}", file=sys.stderr)
        return 1
    checked = subprocess.run(
        [str(wacz), "validate", "-f", str(output)], capture_output=True, text=True, check=False
    )
    if checked.returncode != 0:
        print(f"newsarchive: {output} does not validate:\n{checked.stdout}{checked.stderr}", file=sys.stderr)
        return 1
    print(f"{output}: {len(warcs)} WARC files, {count} article pages; wacz validate passed", file=out)
    return 0
