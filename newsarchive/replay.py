"""``newsarchive index`` and ``newsarchive replay``: the archive's CDXJ indexes, and pywb
serving the archive as one collection (its own ``warc/`` and ``indexes/``, no copies).

pywb binds to 127.0.0.1 unless ``--bind`` names another address: an archive holds whatever the
crawled sites sent, and a replay server open to the network serves it to anyone.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
import sys
from typing import TextIO

from newsarchive.layout import ArchiveLayout
from newsarchive.tools import find_tool
from newsarchive.warc.cdxj import index_name, write_index
from newsarchive.warc.reader import warc_files

logger = logging.getLogger(__name__)

COLLECTION = "archive"
LOCALHOST = "127.0.0.1"


def index_archive(layout: ArchiveLayout, *, rebuild: bool = False, out: TextIO = sys.stdout) -> int:
    """Write the missing (or, with ``rebuild``, every) CDXJ index of the archive's WARC files."""
    failed = 0
    warcs = warc_files([layout.warc_dir]) if layout.warc_dir.is_dir() else []
    for warc in warcs:
        index = layout.index_dir / index_name(warc)
        if index.exists() and not rebuild and index.stat().st_mtime >= warc.stat().st_mtime:
            continue
        try:
            write_index(warc, layout.index_dir)
        except Exception as exc:
            failed += 1
            print(f"{warc}: cannot index: {type(exc).__name__}: {exc}", file=out)
            continue
        print(f"indexed {warc.name} -> {index}", file=out)
    print(f"{len(warcs)} WARC files, {failed} could not be indexed; indexes in {layout.index_dir}", file=out)
    return 1 if failed else 0


def pywb_config(layout: ArchiveLayout, collection: str = COLLECTION) -> dict[str, object]:
    """A pywb configuration with one collection reading the archive in place."""
    return {
        "collections": {
            collection: {
                "index_paths": f"{layout.index_dir}/",
                "archive_paths": f"{layout.warc_dir}/",
            }
        },
        "enable_memento": True,
    }


def replay(
    layout: ArchiveLayout, *, port: int, bind: str = LOCALHOST, collection: str = COLLECTION
) -> subprocess.Popen[bytes]:
    """Start pywb over the archive (indexing WARC files that have no index yet); the caller
    waits for it. Raises ToolMissingError when pywb is not installed."""
    wayback = find_tool("wayback")
    if not _is_loopback(bind):
        logger.warning("Replay server bound to %s: the archive is served to the network", bind)
    index_archive(layout, out=sys.stderr)
    home = layout.state_dir / "pywb"
    home.mkdir(parents=True, exist_ok=True)
    # pywb reads config.yaml from its working directory; JSON is valid YAML.
    (home / "config.yaml").write_text(json.dumps(pywb_config(layout, collection), indent=1), encoding="utf-8")
    return subprocess.Popen([str(wayback), "--bind", bind, "--port", str(port)], cwd=home)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def replay_url(bind: str, port: int, collection: str = COLLECTION) -> str:
    host = f"[{bind}]" if ":" in bind else bind
    return f"http://{host}:{port}/{collection}/"


def run_replay(layout: ArchiveLayout, *, port: int, bind: str, collection: str = COLLECTION) -> int:
    """``newsarchive replay``: serve until interrupted."""
    if layout.remote is not None:
        print(
            f"newsarchive: replay reads a local archive; copy {layout.remote} first "
            f"(e.g. `aws s3 sync {layout.remote} ./archive`)",
            file=sys.stderr,
        )
        return 2
    server = replay(layout, port=port, bind=bind, collection=collection)
    print(f"Replaying {layout.root} at {replay_url(bind, port, collection)} (Ctrl-C stops)", flush=True)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        return server.wait()
