"""The tests' web: two sites on 127.0.0.1 built from real pages, with every awkward case.

``news`` is an original news site (RSS, Atom, a sitemap index with a news sitemap and a
gzip'd urlset, robots.txt with a disallow and a ``Sitemap:`` line) whose articles arrive
plain, gzip-encoded, chunked, redirected, as windows-1252, as a PDF, cut short, too big,
dead, in a redirect loop, or with a cookie. ``blog`` has only a home page whose feed must
be discovered.
"""

from __future__ import annotations

import gzip
import html
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsarchive.demo.server import MultiSiteServer, Resource, Site

MAXSIZE = 1_000_000
"""DOWNLOAD_MAXSIZE the crawl tests run with; ``/articles/huge.html`` is over it."""

SECRET_COOKIE = "session=S3cr3tCookieValue"
DEAD_SERVER = "http://127.0.0.1:9"
"""Nothing listens there (the discard port): a server gone away."""

ARTICLES = {
    # path: what the page is (the feed entry title)
    "/articles/plain.html": "plain",
    "/articles/gzip.html": "gzip-encoded",
    "/articles/chunked.html": "chunked",
    "/old-url.html": "redirect to /articles/moved.html",
    "/articles/cp1252.html": "windows-1252",
    "/articles/missing.html": "dead link (404)",
    "/files/report.pdf": "a PDF",
    "/private/secret.html": "disallowed by robots.txt",
    "/loop/a": "redirect loop",
    "/articles/huge.html": "over DOWNLOAD_MAXSIZE",
    "/articles/cut.html": "connection closed mid-body",
    "/articles/cookie.html": "sets a cookie",
    "/articles/broken.html": "broken HTML (cut mid-tag, stray closing tags, NUL bytes)",
    "/articles/binary.html": "random bytes labelled text/html",
}
EXTRACTABLE = {
    "/articles/plain.html",
    "/articles/gzip.html",
    "/articles/chunked.html",
    "/articles/moved.html",
    "/articles/cp1252.html",
    "/articles/cookie.html",
    "/articles/atom-only.html",
    "/articles/news-sitemap.html",
    "/articles/gz-sitemap.html",
    "/2026/repost.html",
    "/articles/broken.html",
}
"""Final paths of the pages that must become JSON lines after feeds + sitemaps runs."""
CP1252_PHRASE = "Café owners paid £1,200 — “a fair price”, they said"


def aeb_pages(shared: Path, count: int) -> list[bytes]:
    """Real article pages of the AEB benchmark, smallest first (quick to extract)."""
    folder = shared / "corpora" / "aeb-article-extraction-benchmark" / "html"
    truth = json.loads((folder.parent / "ground-truth.json").read_text())
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(folder.glob("*.html.gz"))]
    pages = [p for p, key in zip(pages, sorted(truth), strict=True) if len(truth[key]["articleBody"]) > 1500]
    return sorted(pages, key=len)[:count]


def seed_page(shared: Path, name: str, template: str) -> tuple[str, str]:
    """(title, HTML) of a seed text in a simple template named ``template``."""
    text = (shared / "seeds" / name).read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    paragraphs = "".join(f"<p>{html.escape(p)}</p>\n" for p in body.split("\n") if p.strip())
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="description" content="{template} story"></head><body>'
        f'<header><nav><a href="/">{template} home</a> | <a href="/world">World</a></nav></header>'
        f"<main><article><h1>{html.escape(title)}</h1>{paragraphs}</article></main>"
        f"<footer>© {template}. All rights reserved.</footer></body></html>"
    )
    return title, page


def pdf_bytes() -> bytes:
    """A one-page PDF with correct cross-reference offsets."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        b"<< /Length 35 >>\nstream\nBT /F1 12 Tf 10 50 Td (Report) Tj ET\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _rss(items: list[tuple[str, str, datetime | None]]) -> bytes:
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>{{{{site:news}}}}{path}</link>"
        + (f"<pubDate>{date:%a, %d %b %Y %H:%M:%S} GMT</pubDate>" if date else "")
        + "</item>\n"
        for path, title, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>News</title>'
        f"<link>{{{{site:news}}}}/</link><description>Test news</description>\n{entries}</channel></rss>"
    ).encode()


def build_web(shared: Path) -> MultiSiteServer:
    """The two test sites (not started)."""
    now = datetime.now(UTC).replace(microsecond=0)
    pages = aeb_pages(shared, 9)
    plain, gzipped, chunked, moved, cookie, atom_only, news_sitemap, gz_sitemap, long_page = pages
    broken = (
        long_page[: len(long_page) // 2]
        + b'<div class="x" <p>unclosed <b>bold <table><td>'
        + b"</div>" * 20
        + b"\x00\x01"
    )
    repost_title, repost = seed_page(shared, "001_d361b31e3d4f5faf.txt", "Coastal Reads")
    cp1252 = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        "<title>Prices at the harbour café</title></head><body><article><h1>Prices at the harbour café</h1>"
        + "".join(f"<p>{CP1252_PHRASE}, in paragraph {i} of a long report on prices.</p>" for i in range(12))
        + "</article></body></html>"
    ).encode("cp1252")
    old = now - timedelta(days=4000)
    news = Site(
        "news",
        {
            "/robots.txt": Resource(
                b"User-agent: *\nDisallow: /private/\nSitemap: {{site:news}}/sitemap-index.xml\n",
                "text/plain",
            ),
            "/rss.xml": Resource(
                _rss([(path, title, now - timedelta(hours=1)) for path, title in ARTICLES.items()]),
                "application/rss+xml",
            ),
            "/atom.xml": Resource(
                (
                    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                    "<title>News (Atom)</title><id>urn:test:news</id>"
                    f"<updated>{now.isoformat()}</updated>"
                    '<entry><title>Bad link</title><link href="http://bad host/entry.html"/>'
                    f"<id>urn:test:0</id><updated>{now.isoformat()}</updated></entry>"
                    '<entry><title>Atom only</title><link href="{{site:news}}/articles/atom-only.html"/>'
                    f"<id>urn:test:1</id><updated>{now.isoformat()}</updated></entry>"
                    '<entry><title>Too old</title><link href="{{site:news}}/articles/too-old.html"/>'
                    f"<id>urn:test:2</id><updated>{old.isoformat()}</updated></entry>"
                    "</feed>"
                ).encode(),
                "application/atom+xml",
            ),
            "/empty.xml": Resource(_rss([]), "application/rss+xml"),
            "/broken.xml": Resource(
                b"<rss version='2.0'><channel><title>Broken &bogus; <item>", "application/rss+xml"
            ),
            "/sitemap-index.xml": Resource(
                (
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<sitemap><loc>{{{{site:news}}}}/news-sitemap.xml</loc><lastmod>{now.isoformat()}</lastmod></sitemap>"
                    f"<sitemap><loc>{{{{site:news}}}}/sitemap-2.xml.gz</loc><lastmod>{now.isoformat()}</lastmod></sitemap>"
                    "</sitemapindex>"
                ).encode(),
                "application/xml",
            ),
            "/news-sitemap.xml": Resource(
                (
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                    'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                    "<url><loc>http://bad host/listed.html</loc></url>"
                    "<url><loc>{{site:news}}/articles/news-sitemap.html</loc><news:news><news:publication>"
                    "<news:name>News</news:name><news:language>en</news:language></news:publication>"
                    f"<news:publication_date>{now.isoformat()}</news:publication_date>"
                    "<news:title>Listed in the news sitemap</news:title></news:news></url>"
                    "<url><loc>{{site:news}}/articles/plain.html</loc></url>"
                    "</urlset>"
                ).encode(),
                "application/xml",
            ),
            "/sitemap-2.xml.gz": Resource(
                (
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<url><loc>{{{{site:news}}}}/articles/gz-sitemap.html</loc><lastmod>{now.date()}</lastmod></url>"
                    f"<url><loc>{{{{site:news}}}}/articles/sitemap-too-old.html</loc><lastmod>{old.date()}</lastmod></url>"
                    "</urlset>"
                ).encode(),
                "application/x-gzip",
                gzip_file=True,
            ),
            "/articles/plain.html": Resource(plain),
            "/articles/gzip.html": Resource(gzipped, encoding="gzip"),
            "/articles/chunked.html": Resource(chunked, chunked=True),
            "/old-url.html": Resource(
                b"", status=301, headers=[("Location", "{{site:news}}/articles/moved.html")]
            ),
            "/articles/moved.html": Resource(moved, encoding="gzip"),
            "/articles/cp1252.html": Resource(cp1252, "text/html"),
            "/files/report.pdf": Resource(pdf_bytes(), "application/pdf"),
            "/private/secret.html": Resource(b"<p>never fetch me</p>"),
            "/loop/a": Resource(b"", status=302, headers=[("Location", "{{site:news}}/loop/b")]),
            "/loop/b": Resource(b"", status=302, headers=[("Location", "{{site:news}}/loop/a")]),
            "/articles/huge.html": Resource(
                b"<html><body>" + b"<p>filler text</p>" * (MAXSIZE // 10) + b"</body></html>"
            ),
            "/articles/cut.html": Resource(plain, cut_after=2000),
            "/articles/cookie.html": Resource(cookie, headers=[("Set-Cookie", f"{SECRET_COOKIE}; Path=/")]),
            "/articles/broken.html": Resource(broken),
            "/articles/binary.html": Resource(random.Random(0).randbytes(50_000)),
            "/articles/atom-only.html": Resource(atom_only),
            "/articles/news-sitemap.html": Resource(news_sitemap),
            "/articles/gz-sitemap.html": Resource(gz_sitemap, chunked=True, encoding="gzip"),
        },
    )
    blog = Site(
        "blog",
        {
            "/": Resource(
                b'<html><head><title>Coastal Reads</title><link rel="alternate" type="application/atom+xml" '
                b'href="/feed.atom"></head><body><p>A blog.</p></body></html>'
            ),
            "/feed.atom": Resource(
                (
                    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                    f"<title>Coastal Reads</title><id>urn:test:blog</id><updated>{now.isoformat()}</updated>"
                    f"<entry><title>{html.escape(repost_title)}</title>"
                    f'<link href="/2026/repost.html"/><id>urn:test:blog:1</id><updated>{now.isoformat()}</updated>'
                    "</entry></feed>"
                ).encode(),
                "application/atom+xml",
            ),
            "/2026/repost.html": Resource(repost.encode()),
        },
    )
    return MultiSiteServer([news, blog])


def bytes_sent(web: MultiSiteServer) -> dict[str, bytes]:
    """The body each URL of the web answers with, as sent (gzip-encoded where it is sent so)."""
    sent = {}
    for name, site in web.sites.items():
        for path, resource in site.resources.items():
            binary = resource.content_type == "application/pdf" or path.endswith("binary.html")
            body = resource.body if binary else web.expand(resource.body)
            gzipped = resource.encoding == "gzip" or resource.gzip_file
            sent[web.url(name, path)] = gzip.compress(body, mtime=0) if gzipped else body
    return sent


def sources_yaml(web: MultiSiteServer) -> str:
    """The sources file for the test web (feeds and sitemaps of both sites)."""
    news, blog = web.url("news", ""), web.url("blog", "")
    return f"""\
sources:
  - name: news
    feeds: ["{news}/rss.xml", "{news}/atom.xml", "{news}/broken.xml", "{news}/empty.xml", "{news}/gone-feed.xml", "{DEAD_SERVER}/feed.xml"]
    sitemaps: ["{news}/robots.txt"]
    max_age: 30d
  - name: blog
    feeds: ["{blog}/"]
"""
