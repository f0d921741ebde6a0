"""A small web of sites on 127.0.0.1, one port per site: the demo, and the tests' web.

Each site maps paths to :class:`Resource` objects (a body plus how to send it: plain,
gzip-encoded, chunked, cut short...). ``{{site:NAME}}`` in a text body becomes that site's
``http://127.0.0.1:PORT``, so the sites can link to each other on any ports. Every request
is logged with the bytes sent back, so tests can compare an archive with the wire.
"""

from __future__ import annotations

import gzip
import mimetypes
import re
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

SITES_DIR = Path(__file__).parent / "sites"
DEMO_PORTS = {"herald": 8741, "copyblog": 8742, "editblog": 8743, "aggregator": 8744, "gazette": 8745}
"""Fixed ports of the demo web; config/demo.yaml points at them."""

_PLACEHOLDER = re.compile(rb"\{\{site:([A-Za-z0-9_-]+)\}\}")
_TEXT_TYPES = ("text/", "application/xml", "application/rss+xml", "application/atom+xml", "application/json")
_TYPES = {".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml"}


@dataclass
class Resource:
    """What one path answers."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    encoding: str | None = None
    """'gzip' to send the body gzip-encoded (Content-Encoding), None to send it as is."""
    gzip_file: bool = False
    """Serve the (placeholder-expanded) body gzip-compressed as a file, like ``sitemap.xml.gz``."""
    chunked: bool = False
    """Send with Transfer-Encoding: chunked instead of Content-Length."""
    cut_after: int | None = None
    """Announce the full length, send only this many body bytes, then close the connection."""
    delay: float = 0.0
    """Seconds to wait before answering (a slow site)."""


@dataclass
class LoggedRequest:
    """A request a site received, and the body bytes it sent back (as on the wire, de-chunked)."""

    method: str
    path: str
    headers: dict[str, str]
    status: int
    sent_body: bytes


class Site:
    """A named set of resources."""

    def __init__(self, name: str, resources: dict[str, Resource] | None = None) -> None:
        self.name = name
        self.resources = dict(resources or {})
        self.requests: list[LoggedRequest] = []
        self.port = 0

    @classmethod
    def from_directory(cls, name: str, directory: Path) -> Site:
        """Every file under ``directory``; ``dir/index.html`` also answers ``dir/``."""
        site = cls(name)
        for path in sorted(directory.rglob("*")):
            if not path.is_file():
                continue
            rel = "/" + path.relative_to(directory).as_posix()
            resource = Resource(path.read_bytes(), _content_type(path))
            site.resources[rel] = resource
            if path.name == "index.html":
                site.resources[rel[: -len("index.html")]] = resource
        return site

    def paths_requested(self) -> list[str]:
        return [r.path for r in self.requests]


class MultiSiteServer:
    """Serves each site on its own port of 127.0.0.1, from a background thread each."""

    def __init__(
        self, sites: list[Site], ports: dict[str, int] | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.sites = {site.name: site for site in sites}
        self.host = host
        self._ports = ports or {}
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

    def url(self, site: str, path: str = "/") -> str:
        return f"http://{self.host}:{self.sites[site].port}{path}"

    def expand(self, body: bytes) -> bytes:
        """Replace ``{{site:NAME}}`` with the site's base URL."""
        return _PLACEHOLDER.sub(lambda m: self.url(m[1].decode(), "").encode(), body)

    def start(self) -> MultiSiteServer:
        for site in self.sites.values():
            server = ThreadingHTTPServer((self.host, self._ports.get(site.name, 0)), _handler(self, site))
            server.daemon_threads = True
            site.port = server.server_address[1]
            thread = threading.Thread(target=server.serve_forever, name=f"site-{site.name}", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> MultiSiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def demo_sites() -> list[Site]:
    """The bundled demo web (newsarchive/demo/sites)."""
    return [Site.from_directory(name, SITES_DIR / name) for name in DEMO_PORTS]


def _content_type(path: Path) -> str:
    guessed = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if guessed.startswith("text/") and path.suffix == ".html":
        # A page may declare another charset in its <meta>: do not contradict it.
        declared = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", path.read_bytes()[:2048], re.I)
        return f"text/html; charset={declared[1].decode() if declared else 'utf-8'}"
    return guessed


def _handler(web: MultiSiteServer, site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "newsarchive-demo"

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            path = urlsplit(self.path).path
            resource = site.resources.get(path) or Resource(b"<h1>Not found</h1>", status=404)
            if resource.delay:
                time.sleep(resource.delay)
            body = resource.body
            if resource.content_type.startswith(_TEXT_TYPES) or resource.gzip_file:
                body = web.expand(body)
            if resource.encoding == "gzip" or resource.gzip_file:
                body = gzip.compress(body, mtime=0)
            self.send_response(resource.status, HTTPStatus(resource.status).phrase)
            self.send_header("Content-Type", resource.content_type)
            if resource.encoding:
                self.send_header("Content-Encoding", resource.encoding)
            for name, value in resource.headers:
                self.send_header(name, web.expand(value.encode()).decode())
            if resource.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            if resource.cut_after is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            sent = b"" if head else body[: resource.cut_after] if resource.cut_after is not None else body
            site.requests.append(
                LoggedRequest(self.command, self.path, dict(self.headers), resource.status, sent)
            )
            if head:
                return
            if resource.chunked:
                for start in range(0, len(sent), 1000):
                    chunk = sent[start : start + 1000]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(sent)
            if resource.cut_after is not None:
                self.wfile.flush()
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass  # the request log above is the record; keep test and demo output clean

    return Handler
