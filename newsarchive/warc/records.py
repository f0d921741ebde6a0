"""Build WARC records (warcio) from HTTP exchanges: pure functions, no files, no Scrapy.

What a response record holds, and where it departs from the wire (see docs/output.md):

* the body exactly as received, still content-encoded (``Content-Encoding`` kept);
* chunked framing is already gone when the body reaches us, so ``Transfer-Encoding`` is
  renamed ``X-Crawler-Transfer-Encoding`` and ``Content-Length`` always equals the stored
  body (a different value the server sent is kept as ``X-Crawler-Content-Length``);
* header names as the download handler gives them (title-cased), every repeated value kept;
* a synthesised reason phrase, and ``HTTP/1.1`` for any protocol that is not HTTP/1.0 or 1.1;
* ``Cookie`` / ``Set-Cookie`` dropped unless kept on purpose; ``Authorization`` and
  ``Proxy-Authorization`` always dropped; user:password never in a target URI.

A ``revisit`` record (:meth:`RecordFactory.revisit`) is the same response without its payload,
naming the earlier record that holds the identical bytes.
"""

from __future__ import annotations

import http
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

WARC_VERSION = "1.0"
COOKIE_HEADERS = frozenset({"cookie", "set-cookie", "set-cookie2"})
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
HTTP1_PROTOCOLS = ("HTTP/1.0", "HTTP/1.1")

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request and its response as the crawler saw them."""

    url: str
    method: str
    request_headers: Headers
    status: int
    response_headers: Headers
    body: bytes
    """Response body as received: de-chunked, still content-encoded."""
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None
    truncated: str | None = None
    """WARC-Truncated reason ('length', 'time', 'disconnect', 'unspecified') or None."""
    date: str | None = None
    """WARC-Date (ISO 8601 UTC); None means now."""


@dataclass(frozen=True)
class Capture:
    """A response record as a revisit record names it."""

    uri: str
    """Its WARC-Target-URI."""
    date: str
    """Its WARC-Date."""
    record_id: str
    """Its WARC-Record-ID."""


@dataclass(frozen=True)
class HeaderPolicy:
    """Which sensitive headers a record may keep."""

    keep_cookies: bool = False

    def allows(self, name: str) -> bool:
        lower = name.lower()
        if lower in CREDENTIAL_HEADERS:
            return False
        return self.keep_cookies or lower not in COOKIE_HEADERS


class RecordFactory:
    """Makes warcio records with consistent digests, ids, dates and header policy."""

    def __init__(self, policy: HeaderPolicy | None = None) -> None:
        self.policy = policy or HeaderPolicy()
        self._builder = RecordBuilder(warc_version=WARC_VERSION)

    def exchange(self, exchange: HttpExchange) -> tuple[ArcWarcRecord, ArcWarcRecord]:
        """Request and response records of one exchange, linked by WARC-Concurrent-To."""
        uri = target_uri(exchange.url)
        date = exchange.date or self._builder.curr_warc_date()
        response = self._builder.create_warc_record(
            uri,
            "response",
            payload=io.BytesIO(exchange.body),
            length=len(exchange.body),
            warc_headers_dict=self._response_warc_headers(exchange, date),
            http_headers=self._http_response(exchange),
        )
        return self._request(exchange, uri, date, response), response

    def revisit(
        self, exchange: HttpExchange, *, payload_digest: str, original: Capture
    ) -> tuple[ArcWarcRecord, ArcWarcRecord]:
        """Request and ``revisit`` records of an exchange whose payload ``original`` already
        holds: identical-payload-digest profile, the status line and headers of this
        exchange, no payload, and the three ``WARC-Refers-To*`` headers that lead to it."""
        uri = target_uri(exchange.url)
        date = exchange.date or self._builder.curr_warc_date()
        headers = self._response_warc_headers(exchange, date)
        headers["WARC-Refers-To"] = original.record_id
        revisit = self._builder.create_revisit_record(
            uri,
            payload_digest,
            original.uri,
            original.date,
            http_headers=self._http_response(exchange),
            warc_headers_dict=headers,
        )
        return self._request(exchange, uri, date, revisit), revisit

    def _response_warc_headers(self, exchange: HttpExchange, date: str) -> dict[str, str]:
        headers = {"WARC-Date": date}
        if exchange.ip_address:
            headers["WARC-IP-Address"] = exchange.ip_address
        if exchange.truncated:
            headers["WARC-Truncated"] = exchange.truncated
        return headers

    def _http_response(self, exchange: HttpExchange) -> StatusAndHeaders:
        return StatusAndHeaders(
            status_line(exchange.status),
            self.response_headers(exchange.response_headers, len(exchange.body)),
            protocol=http1_protocol(exchange.protocol),
        )

    def _request(self, exchange: HttpExchange, uri: str, date: str, response: ArcWarcRecord) -> ArcWarcRecord:
        return self._builder.create_warc_record(
            uri,
            "request",
            payload=io.BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            },
            http_headers=StatusAndHeaders(
                f"{exchange.method} {request_target(exchange.url)} {http1_protocol(exchange.protocol)}",
                self.request_headers(exchange.url, exchange.request_headers),
                is_http_request=True,
            ),
        )

    def response_headers(self, headers: Headers, stored_length: int) -> list[tuple[str, str]]:
        """Headers honest about the stored body: no chunked framing, a matching length."""
        out: list[tuple[str, str]] = []
        sent_length: str | None = None
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length":
                sent_length = value.strip()
            elif lower == "transfer-encoding":
                out.append(("X-Crawler-Transfer-Encoding", value))
            elif self.policy.allows(name):
                out.append((name, value))
        if sent_length is not None and sent_length != str(stored_length):
            out.append(("X-Crawler-Content-Length", sent_length))
        out.append(("Content-Length", str(stored_length)))
        return out

    def request_headers(self, url: str, headers: Headers) -> list[tuple[str, str]]:
        """The request as sent: Host first (the wire has it, Scrapy's headers do not)."""
        out = [("Host", host_header(url))]
        out.extend(
            (name, value) for name, value in headers if name.lower() != "host" and self.policy.allows(name)
        )
        return out

    def warcinfo(self, filename: str, info: dict[str, str]) -> ArcWarcRecord:
        """The record opening each file: who made it, with what, under which policy."""
        return self._builder.create_warcinfo_record(filename, info)

    def conversion(
        self,
        uri: str,
        payload: bytes,
        *,
        refers_to: str,
        content_type: str,
    ) -> ArcWarcRecord:
        """A derived version of a response (here: the extracted article), pointing back to it."""
        return self._builder.create_warc_record(
            target_uri(uri),
            "conversion",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Refers-To": refers_to},
        )


def status_line(status: int) -> str:
    """``200 OK``: Scrapy drops the reason phrase, so it is synthesised from the code."""
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def http1_protocol(protocol: str | None) -> str:
    """HTTP/1.0 or HTTP/1.1: replay tools refuse other status-line protocols (e.g. HTTP/2)."""
    return protocol if protocol in HTTP1_PROTOCOLS else "HTTP/1.1"


def request_target(url: str) -> str:
    """Path and query of ``url``, as on the request line."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def host_header(url: str) -> str:
    """The Host header a client sends for ``url``: host, plus the port when not the default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def target_uri(url: str) -> str:
    """``url`` as requested: no ``user:password@`` (credentials never reach an archive) and no
    ``#fragment`` (never sent)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc and not parts.fragment and not url.endswith("#"):
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1], fragment=""))


def flatten_headers(items: Iterable[tuple[bytes | str, Iterable[bytes | str]]]) -> list[tuple[str, str]]:
    """(name, [values]) pairs (Scrapy's ``Headers.items()``) as one (name, value) per value."""
    return [(_text(name), _text(value)) for name, values in items for value in values]


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
