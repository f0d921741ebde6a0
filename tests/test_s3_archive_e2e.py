"""Real crawls into ``ARCHIVE_URI=s3://…`` on moto's S3 server: the same archive as a local
directory, nothing lost when the store is down or the crawl is killed, no secret anywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.demo.server import MultiSiteServer, Resource, Site
from tests.conftest import BUCKET, REPO, crawl_command, run_crawl, start_crawl_process
from tests.records import read_records, response_urls, warcio_check
from tests.s3_server import ACCESS_KEY, SECRET_KEY, MotoServer
from tests.test_shutdown_e2e import finish, wait_for
from tests.web import aeb_pages

pytestmark = pytest.mark.e2e

ARTICLES = 8
SESSION_TOKEN = "newsarchive-test-session-token-5f2c9e"


@pytest.fixture(scope="module")
def web(shared: Path):
    """Real article pages; each answers after ``delay`` so that a crawl can be stopped midway."""
    pages = aeb_pages(shared, ARTICLES)
    site = Site("news", {f"/a/{i}.html": Resource(page, delay=0.3) for i, page in enumerate(pages)})
    with MultiSiteServer([site]) as server:
        yield server


def url_list(web: MultiSiteServer, tmp_path: Path) -> str:
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(web.url("news", f"/a/{i}.html") + "\n" for i in range(ARTICLES)))
    return f"file={urls}"


def s3_settings(server: MotoServer, spool: Path, prefix: str = "crawl", **more: object) -> dict[str, object]:
    return {
        "ARCHIVE_URI": f"s3://{BUCKET}/{prefix}",
        "ARCHIVE_SPOOL": spool,
        "ARCHIVE_UPLOAD_RETRIES": 1,
        "ARCHIVE_UPLOAD_TIMEOUT": 5,
        **server.settings(),
        **more,
    }


def download(server: MotoServer, prefix: str, into: Path) -> dict[str, list[Path]]:
    """Every object under ``prefix/``, saved under ``into`` by directory (warc, json)."""
    client = server.client()
    found: dict[str, list[Path]] = {}
    for item in client.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/").get("Contents", []):
        relative = item["Key"].removeprefix(f"{prefix}/")
        path = into / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
        found.setdefault(relative.split("/")[0], []).append(path)
    return found


UPLOADED = ("warc", "indexes", "json")


def spooled(spool: Path) -> list[Path]:
    return sorted(p for name in UPLOADED if (spool / name).is_dir() for p in (spool / name).iterdir())


def json_lines(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for_json_line(process: subprocess.Popen[str], spool: Path) -> list[str]:
    """Read the crawl's log until an article is scraped and its line is in the open JSON file
    (the log line comes before the feed writes it)."""
    lines = []
    while True:
        lines += wait_for(process, "Scraped from")
        if any(p.stat().st_size for p in (spool / "json").glob("*.jsonl.open")):
            return lines


def upload_command(archive: str, settings: dict[str, object]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "newsarchive", "upload", archive]
    for name, value in settings.items():
        if name != "ARCHIVE_URI":
            command += ["-s", f"{name}={value}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def test_s3_archive_is_the_local_archive(web, s3, tmp_path):
    """One crawl to a directory, one to the store: the same files, records and JSON lines;
    the spool is empty afterwards and the JSON offsets resolve in the stored WARC files."""
    local = run_crawl("urls", tmp_path / "local", url_list(web, tmp_path))
    spool = tmp_path / "spool"
    remote = run_crawl("urls", spool, url_list(web, tmp_path), settings=s3_settings(s3, spool))
    assert local.returncode == remote.returncode == 0, remote.log[-3000:]

    stored = download(s3, "crawl", tmp_path / "stored")
    assert sorted(stored) == sorted(UPLOADED)
    assert spooled(spool) == []
    assert remote.stat("newsarchive/storage/uploaded") == sum(map(len, stored.values())) == 3
    assert [p.name for p in stored["indexes"]] == [p.name + ".cdxj" for p in stored["warc"]]
    assert [len(p.read_text().splitlines()) for p in stored["indexes"]] == [
        len(p.read_text().splitlines()) for p in sorted((tmp_path / "local" / "indexes").iterdir())
    ]
    assert remote.stat("newsarchive/storage/pending") == 0
    assert warcio_check(*stored["warc"]).returncode == 0

    local_warcs = sorted((tmp_path / "local" / "warc").iterdir())
    assert [r.type for f in stored["warc"] for r in read_records(f)] == [
        r.type for f in local_warcs for r in read_records(f)
    ]
    assert sorted(response_urls(*stored["warc"])) == sorted(response_urls(*local_warcs))
    lines = json_lines(stored["json"])
    local_lines = json_lines(sorted((tmp_path / "local" / "json").iterdir()))
    assert sorted((x["url"], x["text"]) for x in lines) == sorted((x["url"], x["text"]) for x in local_lines)
    for line in lines:
        data = (tmp_path / "stored" / "warc" / line["warc_filename"]).read_bytes()
        record = data[line["warc_offset"] : line["warc_offset"] + line["warc_length"]]
        (tmp_path / "one.warc.gz").write_bytes(record)
        (response,) = read_records(tmp_path / "one.warc.gz")
        assert response.headers["WARC-Target-URI"] == line["url"]


def test_rotated_files_are_uploaded_during_the_crawl(web, s3, tmp_path):
    spool = tmp_path / "spool"
    crawl = run_crawl(
        "urls", spool, url_list(web, tmp_path), settings=s3_settings(s3, spool, WARC_MAX_SIZE=40000)
    )
    assert crawl.returncode == 0, crawl.log[-3000:]
    stored = download(s3, "crawl", tmp_path / "stored")
    assert len(stored["warc"]) == crawl.stat("newsarchive/warc/files") >= 3
    assert crawl.stat("newsarchive/storage/uploaded") == 2 * len(stored["warc"]) + 1  # with indexes
    assert warcio_check(*stored["warc"]).returncode == 0
    assert len({url for url in response_urls(*stored["warc"]) if "/a/" in url}) == ARTICLES
    assert spooled(spool) == []


def test_store_down_the_crawl_goes_on_and_the_next_run_sends_it(web, tmp_path):
    with MotoServer() as server:
        spool = tmp_path / "spool"
        settings = s3_settings(server, spool)
        server.stop()
        crawl = run_crawl("urls", spool, url_list(web, tmp_path), settings=settings)
        assert crawl.returncode == 0 and crawl.stats["finish_reason"] == "finished", crawl.log[-3000:]
        assert crawl.stat("newsarchive/extract/articles") == ARTICLES
        assert crawl.stat("newsarchive/storage/failed") == crawl.stat("newsarchive/storage/pending") == 3
        assert "stays in the spool" in crawl.log
        kept = spooled(spool)
        assert len(kept) == 3 and warcio_check(*(p for p in kept if p.parent.name == "warc")).returncode == 0
        kept_copy = []
        for path in sorted(kept, key=lambda p: UPLOADED.index(p.parent.name)):  # as downloaded
            kept_copy.append(tmp_path / "copy" / path.name)
            kept_copy[-1].parent.mkdir(exist_ok=True)
            kept_copy[-1].write_bytes(path.read_bytes())

        server.start()
        server.client().create_bucket(Bucket=BUCKET)
        server.client().put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        rerun = run_crawl("urls", spool, url_list(web, tmp_path), settings=settings)
        assert rerun.returncode == 0, rerun.log[-3000:]
        assert rerun.stat("newsarchive/seen/skipped") == ARTICLES  # nothing new to crawl...
        assert rerun.stat("newsarchive/storage/uploaded") == 3  # ...but the spool is sent
        assert spooled(spool) == []
        versions = server.client().list_object_versions(Bucket=BUCKET).get("Versions", [])
        assert sorted(v["Key"].split("/")[1] for v in versions) == sorted(UPLOADED)  # each once
        stored = download(server, "crawl", tmp_path / "stored")
        assert [p.read_bytes() for name in UPLOADED for p in stored[name]] == [
            p.read_bytes() for p in kept_copy
        ]
        again = upload_command(str(settings["ARCHIVE_URI"]), settings)
        assert again.returncode == 0 and "0 of 0 files" in again.stdout, again.stdout + again.stderr


def killed_crawl(web, s3, tmp_path) -> tuple[Path, dict[str, object]]:
    """A crawl into the store killed (SIGKILL, whole process group) once a JSON line is written;
    its spool and settings."""
    spool = tmp_path / "spool"
    settings = s3_settings(s3, spool, LOG_LEVEL="DEBUG", CONCURRENT_REQUESTS=1, DOWNLOAD_DELAY=0.5)
    process = start_crawl_process(crawl_command("urls", spool, url_list(web, tmp_path), settings=settings))
    lines = wait_for_json_line(process, spool)
    os.killpg(process.pid, signal.SIGKILL)
    finish(process, lines)
    return spool, settings


def test_upload_command_recovers_and_sends_what_a_killed_crawl_left(web, s3, tmp_path):
    spool, settings = killed_crawl(web, s3, tmp_path)
    done = upload_command(str(settings["ARCHIVE_URI"]), settings)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("recovered ") == 2, done.stdout
    assert "3 of 3 files" in done.stdout, done.stdout  # the WARC file, its index, the JSON
    stored = download(s3, "crawl", tmp_path / "stored")
    assert warcio_check(*stored["warc"]).returncode == 0 and json_lines(stored["json"])
    assert spooled(spool) == []


def test_killed_crawl_is_recovered_and_uploaded_by_the_next_run(web, s3, tmp_path):
    spool, settings = killed_crawl(web, s3, tmp_path)
    left_open = sorted(p.name for p in spooled(spool) if p.name.endswith(".open"))
    assert any(".warc.gz" in name for name in left_open) and any(".jsonl" in name for name in left_open)

    rerun = run_crawl("urls", spool, url_list(web, tmp_path), settings=settings)
    assert rerun.returncode == 0, rerun.log[-3000:]
    assert rerun.stat("newsarchive/storage/recovered_files") == 2
    assert "Recovered a file a stopped crawl left open" in rerun.log
    assert spooled(spool) == []
    stored = download(s3, "crawl", tmp_path / "stored")
    assert len(stored["warc"]) == 2 and len(stored["json"]) == 2  # the killed run's, the rerun's
    assert warcio_check(*stored["warc"]).returncode == 0
    articles = [url for url in response_urls(*stored["warc"]) if "/a/" in url]
    assert len(set(articles)) == ARTICLES
    # Pages in extraction at the kill are fetched again: every article has its line.
    assert {line["url"] for line in json_lines(stored["json"])} == set(articles)


def test_sigterm_json_reaches_the_store(web, s3, tmp_path):
    spool = tmp_path / "spool"
    settings = s3_settings(s3, spool, LOG_LEVEL="DEBUG", CONCURRENT_REQUESTS=1, DOWNLOAD_DELAY=0.5)
    process = start_crawl_process(crawl_command("urls", spool, url_list(web, tmp_path), settings=settings))
    lines = wait_for(process, "Scraped from", count=2)
    process.send_signal(signal.SIGTERM)
    log = finish(process, lines)
    assert "Spider closed (shutdown)" in log
    stored = download(s3, "crawl", tmp_path / "stored")
    assert 2 <= len(json_lines(stored["json"])) < ARTICLES
    assert warcio_check(*stored["warc"]).returncode == 0
    assert spooled(spool) == []


def test_no_secret_in_any_output(web, s3, tmp_path):
    spool = tmp_path / "spool"
    settings = s3_settings(s3, spool, AWS_SESSION_TOKEN=SESSION_TOKEN, LOG_LEVEL="DEBUG")
    crawl = run_crawl("urls", spool, url_list(web, tmp_path), settings=settings)
    assert crawl.returncode == 0, crawl.log[-3000:]
    assert "AWS_SECRET_ACCESS_KEY" in crawl.log  # the setting is named, its value masked
    stored = download(s3, "crawl", tmp_path / "stored")
    outputs = {"log": crawl.log.encode()}
    outputs |= {str(p): p.read_bytes() for paths in stored.values() for p in paths}
    outputs |= {str(p): p.read_bytes() for p in spool.rglob("*") if p.is_file()}
    for secret in (SECRET_KEY, SESSION_TOKEN, ACCESS_KEY):
        leaks = [where for where, data in outputs.items() if secret.encode() in data]
        assert not leaks, f"{secret} found in {leaks}"


def test_demo_writes_to_the_store(s3, tmp_path):
    command = [sys.executable, "-m", "newsarchive", "demo", "--archive", f"s3://{BUCKET}/demo"]
    for name, value in {**s3.settings(), "EXTRACT_WORKERS": 1, "ARCHIVE_SPOOL": tmp_path / "spool"}.items():
        command += ["-s", f"{name}={value}"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    stored = download(s3, "demo", tmp_path / "stored")
    assert f"files in s3://{BUCKET}/demo/warc" in done.stdout
    assert f"s3://{BUCKET}/demo/json/" in done.stdout
    assert len(json_lines(stored["json"])) >= 5 and warcio_check(*stored["warc"]).returncode == 0
    assert spooled(tmp_path / "spool") == []
