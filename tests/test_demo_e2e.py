"""`make demo`: the demo web is crawled into an archive, every story copy becomes an article."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from newsarchive.demo.server import DEMO_PORTS, SITES_DIR
from tests.conftest import REPO
from tests.records import response_urls

pytestmark = pytest.mark.e2e


def demo_url(path: str) -> str:
    site, _, rest = path.partition("/")
    return f"http://127.0.0.1:{DEMO_PORTS[site]}/{rest}"


def run_demo(archive: Path, *settings: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "newsarchive",
        "demo",
        "--archive",
        str(archive),
        "-s",
        "EXTRACT_WORKERS=1",
    ]
    for setting in settings:
        command += ["-s", setting]
    return subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_demo_yaml_points_at_the_demo_web() -> None:
    """config/demo.yaml names every demo site, on the ports the demo server uses."""
    config = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    urls = [u for s in config["sources"] for key in ("feeds", "sitemaps", "urls") for u in s.get(key, [])]
    ports = [int(m[1]) for u in urls if (m := re.match(r"http://127\.0\.0\.1:(\d+)/", u))]
    assert len(ports) == len(urls) and set(ports) == set(DEMO_PORTS.values())


def test_demo_crawls_every_copy_and_reruns_quietly(tmp_path: Path) -> None:
    """The demo archives and extracts every original and copy; a rerun fetches no article again."""
    archive = tmp_path / "archive"
    first = run_demo(archive)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Crawl finished" in first.stdout and "newsarchive replay" in first.stdout
    records = int(re.search(r"WARC: (\d+) records", first.stdout)[1])  # type: ignore[index]
    assert records > 60
    expected = json.loads((SITES_DIR / "expected.json").read_text())
    lines = [
        json.loads(line) for f in (archive / "json").glob("*.jsonl") for line in f.read_text().splitlines()
    ]
    extracted = {line["url"] for line in lines}
    for copy in expected["copies"]:
        assert demo_url(copy["copy"]) in extracted
        if copy["original"].startswith("herald/"):
            assert demo_url(copy["original"]) in extracted
    second = run_demo(archive)
    assert second.returncode == 0
    assert re.search(
        r"Articles: 0 extracted this run, \d+ pages without article, (\d+) skipped", second.stdout
    )
    assert int(re.search(r"(\d+) skipped as already archived", second.stdout)[1]) >= len(extracted)  # type: ignore[index]


def json_lines(archive: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for f in sorted((archive / "json").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


def test_demo_copies_share_a_cluster_with_their_original(tmp_path: Path) -> None:
    """Verbatim and lightly edited copies join their original's cluster; one of each cluster is
    its first capture; the independent report stays apart. DEDUP_POLICY=drop leaves the copies out
    of the JSON and keeps them in the WARC."""
    archive = tmp_path / "archive"
    assert run_demo(archive).returncode == 0
    by_url = {line["url"]: line for line in json_lines(archive)}
    expected = json.loads((SITES_DIR / "expected.json").read_text())
    for copy in expected["copies"]:
        if copy["kind"] not in ("verbatim", "edited"):
            continue
        original, duplicate = by_url[demo_url(copy["original"])], by_url[demo_url(copy["copy"])]
        assert original["cluster_id"] == duplicate["cluster_id"], copy
        first = [line for line in by_url.values() if line["cluster_id"] == original["cluster_id"]]
        assert sum(line["duplicate_of"] is None for line in first) == 1
        assert all(line["similarity"] is None or line["similarity"] >= 0.3 for line in first)
    for pair in expected["independent"]:
        assert by_url[demo_url(pair["a"])]["cluster_id"] != by_url[demo_url(pair["b"])]["cluster_id"], pair

    listed = subprocess.run(
        [sys.executable, "-m", "newsarchive", "clusters", str(archive), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    clusters = {c["cluster_id"]: c for c in json.loads(listed.stdout)}
    bridge = clusters[by_url[demo_url("herald/news/2026/11/harbour-bridge-closure.html")]["cluster_id"]]
    urls = {bridge["canonical"]["url"], *(copy["url"] for copy in bridge["copies"])}
    assert {demo_url(c["copy"]) for c in expected["copies"] if "bridge" in c["original"]} & urls
    assert bridge["size"] == len(urls) >= 3
    table = subprocess.run(
        [sys.executable, "-m", "newsarchive", "clusters", str(archive)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (
        f"{len(clusters)} clusters of 2 or more articles, or with partial copies" in table
        and bridge["canonical"]["url"] in table
    )
    assert "partial   " in table

    # Excerpts in the aggregator's roundups are partial copies of their sources' clusters, wherever
    # the crawl happened to put them; the embedded article is a near-duplicate or a partial copy.
    for copy in expected["copies"]:
        if copy["kind"] not in ("excerpt", "embedded"):
            continue
        source = clusters[by_url[demo_url(copy["original"])]["cluster_id"]]
        partial = {part["url"]: part for part in source["partial_copies"]}
        members = {source["canonical"]["url"], *(member["url"] for member in source["copies"])}
        url = demo_url(copy["copy"])
        if copy["kind"] == "embedded" and url in members:
            continue
        assert url in partial, copy
        assert 0 < partial[url]["containment"] <= 1 and 0 < partial[url]["share"] <= 1
    linked = {url for c in clusters.values() for url in (p["url"] for p in c["partial_copies"])}
    assert linked <= {demo_url(c["copy"]) for c in expected["copies"]}, "a partial link nobody planted"
    roundup = by_url[demo_url("aggregator/roundup/2026-11-14.html")]
    assert isinstance(roundup["partial_copies"], list)
    for line in by_url.values():
        for link in line["partial_copies"]:
            assert link["relation"] in ("copy_of", "copied_by")
            assert link["url"] in by_url and link["cluster_id"] == by_url[link["url"]]["cluster_id"]

    dropped = tmp_path / "dropped"
    assert run_demo(dropped, "DEDUP_POLICY=drop").returncode == 0
    kept = json_lines(dropped)
    assert kept and all(line["duplicate_of"] is None for line in kept)
    assert len(kept) < len(by_url)
    warc = [url for path in sorted((dropped / "warc").iterdir()) for url in response_urls(path)]
    assert all(url in warc for url in by_url)
