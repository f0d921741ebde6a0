"""`newsarchive report`: the demo web crawled for real, its report checked against the index and
rendered by headless Chromium."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from parsel import Selector

from newsarchive.dedup.backends import open_existing
from newsarchive.dedup.index import Cluster
from newsarchive.dedup.redis_index import DEFAULT_PREFIX
from newsarchive.report import write_report
from newsarchive.report.diff import diff_opcodes, tokens
from newsarchive.report.html import word_diff
from tests.test_demo_e2e import run_demo

pytestmark = pytest.mark.e2e

REPLAY = "http://127.0.0.1:8090/demo/"
CHROMIUM_HINT = "install it with: apt-get install -y --no-install-recommends chromium"


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo web crawled into a fresh archive, once for the module (its servers use fixed ports)."""
    path = tmp_path_factory.mktemp("report") / "archive"
    result = run_demo(path)
    assert result.returncode == 0, result.stderr[-3000:]
    return path


@pytest.fixture(scope="module")
def clusters(archive: Path) -> list[Cluster]:
    with open_existing("", state_dir=archive / "state", redis_prefix=DEFAULT_PREFIX) as index:
        return index.clusters(min_size=2)


@pytest.fixture(scope="module")
def lines(archive: Path) -> dict[str, dict]:
    """The archive's JSON lines by WARC record id."""
    records = [
        json.loads(line)
        for path in sorted((archive / "json").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    return {record["warc_record_id"]: record for record in records}


@pytest.fixture(scope="module")
def report(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(page, the line write_report printed); the replay URL given without its final slash."""
    out = tmp_path_factory.mktemp("page") / "report.html"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = write_report(str(archive), out, replay_url=REPLAY.rstrip("/"))
    assert status == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def page(report: tuple[Path, str]) -> Selector:
    return Selector(text=report[0].read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium; its absence fails the run in CI (CI=1), and is a skip with a hint elsewhere."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        message = f"these tests render the report in headless Chromium, which is missing; {CHROMIUM_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", *args],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    return result


# -- helpers ----------------------------------------------------------------------------------------


def totals(page: Selector) -> dict[str, int]:
    """The summary's figures by name."""
    return {
        item.css("dt::text").get(): int(item.css("dd b::text").get().replace(",", ""))
        for item in page.css("dl.totals > div")
    }


def replay(url: str, fetched_at: str) -> str:
    """What a pywb replay link must be: the collection, the 14-digit UTC time, the URL."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fetched_at), fetched_at
    return REPLAY + re.sub(r"\D", "", fetched_at) + "/" + url


def words(text: str) -> str:
    return " ".join(text.replace("¶", " ").split())


def png_rgb(data: bytes) -> np.ndarray:
    """The pixels of an 8-bit RGB(A), non-interlaced PNG (what Chromium writes), as (height, width, 3)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, bytearray()
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(bytes(idat))
    image = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 1:  # Sub: a running sum along the row, per channel
            row = np.cumsum(line.reshape(width, bpp), axis=0).reshape(stride) % 256
        elif kind == 2:  # Up
            row = (line + prev) % 256
        else:  # Average, Paeth: each byte depends on the one just decoded
            out, up = line.tolist(), prev.tolist()
            for i in range(stride):
                left = out[i - bpp] if i >= bpp else 0
                upleft = up[i - bpp] if i >= bpp else 0
                if kind == 3:
                    predicted = (left + up[i]) // 2
                else:
                    p = left + up[i] - upleft
                    pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - upleft)
                    predicted = left if pa <= pb and pa <= pc else up[i] if pb <= pc else upleft
                out[i] = (out[i] + predicted) & 255
            row = np.array(out, dtype=np.int32)
        image[y] = row
        prev = row
    return image.reshape(height, width, bpp)[:, :, :3]


# -- the report against the index and the JSON lines -------------------------------------------------


def test_every_cluster_of_the_index_is_a_story_largest_first(page: Selector, clusters: list[Cluster]) -> None:
    """Each cluster of the index is one story, with its original, copies and partial copies, by size."""
    stories = page.css("section.story")
    assert clusters and len(stories) == len(clusters)
    by_id = {f"s-{cluster.cluster_id}": cluster for cluster in clusters}
    assert set(stories.xpath("@id").getall()) == set(by_id)
    order = [(-c.size, c.canonical.fetched_at) for c in (by_id[story.attrib["id"]] for story in stories)]
    assert order == sorted(order)
    for story in stories:
        cluster = by_id[story.attrib["id"]]
        lists = story.css("ol.captures")
        urls = lists[0].css("li .url::text").getall()
        assert urls == [cluster.canonical.url, *(member.url for member in cluster.members)]
        assert lists[0].css("li")[0].attrib["class"] == "original"
        badges = lists[0].css("li .badge::text").getall()[1:]
        assert badges == ["exact" if m.exact else f"{m.similarity:.2f}" for m in cluster.members]
        partial = lists[1].css("li .url::text").getall() if len(lists) > 1 else []
        assert partial == [part.copy.url for part in cluster.partial_copies]


def test_summary_figures_match_the_index(
    page: Selector, clusters: list[Cluster], lines: dict[str, dict], report: tuple[Path, str]
) -> None:
    """Stories, copies, partial copies, sites and articles in the summary are the index's and the archive's."""
    figures = totals(page)
    copies = sum(len(cluster.members) for cluster in clusters)
    partial = sum(len(cluster.partial_copies) for cluster in clusters)
    sites = {m.site for c in clusters for m in (c.canonical, *c.members)}
    listed = {m.key for c in clusters for m in (c.canonical, *c.members, *(p.copy for p in c.partial_copies))}
    assert figures["Stories"] == len(clusters)
    assert figures["Copies"] == copies >= 5
    assert figures["Partial copies"] == partial >= 3
    assert figures["Sites"] == len(sites) >= 3
    assert figures["Articles"] == len(lines)
    assert "Without text" not in figures and "Unreadable lines" not in figures
    assert f"{len(lines) - len(listed & lines.keys())} in no story" in page.css("dl.totals").get()
    assert report[1].startswith(
        f"newsarchive report: {len(clusters)} stories, {copies} copies, {partial} partial"
    )
    republishers = page.css("table.republishers tbody tr")
    counts = [int(row.css("td::text").getall()[0]) for row in republishers]
    assert counts == sorted(counts, reverse=True) and sum(counts) == copies


def test_each_capture_has_its_pywb_replay_link(page: Selector, clusters: list[Cluster]) -> None:
    """Every original, copy and partial copy links to its replay: collection, 14-digit time, URL."""
    links = page.css("a.replay::attr(href)").getall()
    expected = [
        replay(member.url, member.fetched_at)
        for cluster in clusters
        for member in (cluster.canonical, *cluster.members, *(part.copy for part in cluster.partial_copies))
    ]
    assert sorted(links) == sorted(expected)


def test_copies_show_their_changed_words(
    page: Selector, clusters: list[Cluster], lines: dict[str, dict]
) -> None:
    """A copy's diff marks, in <del>, words of the original's text, and in <ins>, words of its own;
    the counts are the words that changed."""
    diffs = 0
    for cluster in clusters:
        story = page.css(f"section#s-{cluster.cluster_id}")
        original = words(lines[cluster.canonical.key]["text"])
        for member, item in zip(cluster.members, story.css("ol.captures")[0].css("li")[1:], strict=True):
            text = lines[member.key]["text"]
            if text == lines[cluster.canonical.key]["text"]:
                assert item.css(".note::text").get() == "identical text"
                continue
            diff = word_diff(lines[cluster.canonical.key]["text"], text)
            if not diff.added and not diff.removed:
                assert item.css(".note::text").get() == "same words, other spacing"
                continue
            diffs += 1
            deleted = [words(run) for run in item.css("details .text del::text").getall()]
            inserted = [words(run) for run in item.css("details .text ins::text").getall()]
            assert deleted or inserted
            assert all(run in original for run in deleted) and all(run in words(text) for run in inserted)
            summary = item.css("details summary")
            assert summary.css("ins::text").get() == f"+{diff.added}"
            assert summary.css("del::text").get() == f"−{diff.removed}"
    assert diffs >= 3


def test_the_word_diff_rebuilds_each_copy_from_its_original(
    clusters: list[Cluster], lines: dict[str, dict]
) -> None:
    """Applying the diff's operations to the original's words gives the copy's words, exactly."""
    pairs = [
        (lines[c.canonical.key]["text"], lines[m.key]["text"])
        for c in clusters
        for m in (*c.members, *(p.copy for p in c.partial_copies))
    ]
    assert len(pairs) >= 8
    for old, new in pairs:
        a, _ = tokens(old)
        b, _ = tokens(new)
        rebuilt: list[str] = []
        for tag, i1, i2, j1, j2 in diff_opcodes(a, b):
            if tag == "equal":
                assert a[i1:i2] == b[j1:j2]
            rebuilt += b[j1:j2]
        assert rebuilt == b


def test_partial_copies_show_the_passages_they_reproduce(
    page: Selector, clusters: list[Cluster], lines: dict[str, dict]
) -> None:
    """A roundup's entry quotes the passage of the story it reproduces, with the index's figures."""
    quoted = 0
    for cluster in clusters:
        items = page.css(f"section#s-{cluster.cluster_id} ol.captures")[1:]
        rows = items[0].css("li.partial") if items else []
        assert len(rows) == len(cluster.partial_copies)
        by_url = {m.url: m for m in (cluster.canonical, *cluster.members)}
        for part, row in zip(cluster.partial_copies, rows, strict=True):
            note = row.css("p.note::text").get()
            assert f"reproduces {part.containment:.0%} of " in note and f"{part.share:.0%} of its own" in note
            source = words(lines[by_url[part.source_url].key]["text"])
            page_text = words(lines[part.copy.key]["text"])
            for passage in row.css("details .text q"):
                text = words("".join(passage.xpath("text()").getall()))
                assert len(text.split()) >= 8 and text in source and text in page_text
                quoted += 1
    assert quoted >= 3


def test_the_page_loads_nothing_from_anywhere(page: Selector) -> None:
    """No src attribute, no stylesheet or remote font, and every link is in the page or a replay link."""
    assert page.xpath("//@src").getall() == []
    assert page.css("link").getall() == []
    assert all(href.startswith(("#", REPLAY)) for href in page.xpath("//@href").getall())
    style = "".join(page.css("style::text").getall())
    assert "url(" not in style and "@import" not in style
    (policy,) = page.css('meta[http-equiv="Content-Security-Policy"]::attr(content)').getall()
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy.split("script-src")[1]
    assert len(page.css("script")) == 1


def test_fewer_stories_with_a_larger_min_size(archive: Path, tmp_path: Path) -> None:
    """min_size=3 keeps the index's clusters of 3 or more, and those with partial copies."""
    with open_existing("", state_dir=archive / "state", redis_prefix=DEFAULT_PREFIX) as index:
        expected = index.clusters(min_size=3)
    out = tmp_path / "report.html"
    assert write_report(str(archive), out, min_size=3) == 0
    page = Selector(text=out.read_text(encoding="utf-8"))
    assert {s.attrib["id"] for s in page.css("section.story")} == {f"s-{c.cluster_id}" for c in expected}
    assert page.css("a.replay::attr(href)").get().startswith("http://127.0.0.1:8080/archive/2")


# -- untrusted texts, missing lines ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tampered(archive: Path, clusters: list[Cluster], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the archive whose texts, titles and URLs carry markup, with one copy's JSON line
    gone (as DEDUP_POLICY=drop leaves it) and one line torn."""
    copy = tmp_path_factory.mktemp("tampered") / "archive"
    shutil.copytree(archive, copy)
    cluster = clusters[0]
    victim, dropped = cluster.members[0].key, cluster.members[-1].key
    assert victim != dropped
    (path,) = sorted((copy / "json").glob("*.jsonl"))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in records:
        if record["warc_record_id"] == victim:
            record["text"] = "<script>document.title='pwned'</script> & " + record["text"]
            record["title"] = '"><img id=injected src=x onerror=alert(1)> <b>bold</b>'
            record["sitename"] = "<i>Site</i>"
    kept = [json.dumps(r) for r in records if r["warc_record_id"] != dropped]
    path.write_text("\n".join(kept) + '\n{"url": "http://torn\n', encoding="utf-8")
    with contextlib.closing(sqlite3.connect(copy / "state" / "dedup.sqlite")) as db, db:
        db.execute("UPDATE docs SET url = url || ? WHERE key = ?", ('?q="><script>x()</script>', victim))
    return copy


@pytest.fixture(scope="module")
def tampered_report(tampered: Path) -> Path:
    out = tampered.parent / "report.html"
    with contextlib.redirect_stdout(io.StringIO()):
        assert write_report(str(tampered), out, replay_url=REPLAY) == 0
    return out


def test_markup_in_texts_titles_and_urls_is_escaped(tampered_report: Path, clusters: list[Cluster]) -> None:
    """Texts, titles, site names and URLs are shown as text, never as markup, in elements and attributes."""
    html = tampered_report.read_text(encoding="utf-8")
    assert "<script>document" not in html and "<script>x()" not in html and "<img" not in html
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt; &amp;" in html
    assert "&quot;&gt;&lt;img id=injected" in html and "&lt;i&gt;Site&lt;/i&gt;" in html
    page = Selector(text=html)
    assert len(page.css("script")) == 1 and page.css("img, i, #injected").getall() == []
    victim = clusters[0].members[0]
    href = replay(victim.url + '?q="><script>x()</script>', victim.fetched_at)
    assert href in page.css("a.replay::attr(href)").getall()


def test_copies_without_a_json_line_and_torn_lines_are_counted(
    tampered_report: Path, clusters: list[Cluster]
) -> None:
    """A copy whose JSON line is missing stays in its story without a diff; a torn line is skipped."""
    page = Selector(text=tampered_report.read_text(encoding="utf-8"))
    figures = totals(page)
    assert figures["Without text"] == 1 and figures["Unreadable lines"] == 1
    assert figures["Stories"] == len(clusters)
    story = page.css(f"section#s-{clusters[0].cluster_id}")
    last = story.css("ol.captures")[0].css("li")[-1]
    assert last.css(".url::text").get() == clusters[0].members[-1].url
    assert "no JSON line" in last.css(".note::text").get() and last.css("details").getall() == []


# -- errors --------------------------------------------------------------------------------------


def test_missing_or_empty_archives_are_clear_errors(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No archive, an archive without JSON lines, or without index: status 1, one line, no page."""
    out = tmp_path / "report.html"
    assert write_report(str(tmp_path / "nowhere"), out) == 1
    assert "no archive at" in capsys.readouterr().err
    (tmp_path / "empty" / "json").mkdir(parents=True)
    assert write_report(str(tmp_path / "empty"), out) == 1
    assert "no JSON lines (*.jsonl) in" in capsys.readouterr().err
    shutil.copytree(archive / "json", tmp_path / "no-index" / "json")
    assert write_report(str(tmp_path / "no-index"), out) == 1
    err = capsys.readouterr().err
    assert err.startswith("newsarchive: no dedup index at") and "Traceback" not in err
    assert write_report(str(archive), out, replay_url="javascript:alert(1)//") == 2
    assert "--replay-url must be an http" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob(".report.html*")) == []


# -- in a browser ------------------------------------------------------------------------------------


def test_chromium_renders_every_story_and_runs_only_our_script(
    chromium: str, report: tuple[Path, str], clusters: list[Cluster], tmp_path: Path
) -> None:
    """Chromium's DOM of the page has every story, the diffs closed, and the filter the script shows."""
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", report[0].as_uri()).stdout.decode()
    page = Selector(text=dom)
    assert len(page.css("section.story")) == len(clusters)
    assert page.css("details").getall() and page.css("details[open]").getall() == []
    tools = page.css("p#tools")
    assert tools and "hidden" not in tools[0].attrib  # the script ran: its CSP hash is right
    assert page.css("input#filter")


def test_chromium_does_not_run_injected_markup(chromium: str, tampered_report: Path, tmp_path: Path) -> None:
    """The tampered archive's report keeps its title and gains no element from the texts."""
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", tampered_report.as_uri()).stdout.decode()
    page = Selector(text=dom)
    assert page.css("title::text").get().startswith("Syndication report")
    assert page.css("#injected, img, i").getall() == [] and len(page.css("script")) == 1


def test_chromium_screenshot_shows_the_styled_page(
    chromium: str, report: tuple[Path, str], tmp_path: Path
) -> None:
    """A 1280x2000 screenshot: text on a white page, and the inline style's green 'original' badges."""
    shot = tmp_path / "report.png"
    run_chromium(
        chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000", report[0].as_uri()
    )
    pixels = png_rgb(shot.read_bytes())
    assert pixels.shape == (2000, 1280, 3)
    assert (pixels[0, 0] == 255).all()  # the page's white background
    dark = (pixels.sum(axis=2) < 300).mean()
    assert 0.005 < dark < 0.5, dark  # text, not a blank or black page
    green = (np.abs(pixels - np.array([0x22, 0xAA, 0x66])).max(axis=2) < 40).sum()
    assert green > 100, green
