"""Uploads to a real S3 protocol server (moto, over HTTP on 127.0.0.1): byte-for-byte,
never overwriting, verified, and nothing lost when the server goes away mid-upload."""

from __future__ import annotations

import base64
import os
import threading
import time
import zlib
from pathlib import Path

import pytest
from scrapy.settings import Settings

from newsarchive import settings as defaults
from newsarchive.layout import ArchiveLayout, S3Location
from newsarchive.storage.publisher import SpoolPublisher
from newsarchive.storage.s3 import LocalFile, ObjectConflictError, Outcome, S3Store
from tests.conftest import BUCKET
from tests.s3_server import MotoServer

MiB = 1024 * 1024


def store_settings(server: MotoServer, **overrides: object) -> Settings:
    settings = Settings()
    settings.setmodule(defaults)
    settings.setdict({**server.settings(), "ARCHIVE_UPLOAD_PART_SIZE": 5 * MiB, **overrides})
    settings.set("ARCHIVE_UPLOAD_RETRIES", overrides.get("ARCHIVE_UPLOAD_RETRIES", 1))
    return settings


def make_store(server: MotoServer, prefix: str = "crawl", **overrides: object) -> S3Store:
    return S3Store.from_settings(store_settings(server, **overrides), S3Location(BUCKET, prefix))


def versions(server: MotoServer, key: str) -> list[dict]:
    answer = server.client().list_object_versions(Bucket=BUCKET, Prefix=key)
    return [v for v in answer.get("Versions", []) if v["Key"] == key]


def body(server: MotoServer, key: str) -> bytes:
    return server.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def crc32_b64(path: Path) -> str:
    return base64.b64encode(zlib.crc32(path.read_bytes()).to_bytes(4, "big")).decode()


def spool_file(spool: Path, name: str, data: bytes, directory: str = "warc") -> Path:
    path = spool / directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_multipart_upload_is_byte_for_byte(s3, tmp_path):
    data = os.urandom(17 * MiB + 123)  # four parts of 5 MiB, the last one short
    path = spool_file(tmp_path, "a.warc.gz", data)
    store = make_store(s3)
    local = store.describe(path)
    assert local.part_size == 5 * MiB and local.composite_crc32 and local.composite_crc32.endswith("-4")
    assert store.upload(local, "crawl/warc/a.warc.gz") is Outcome.UPLOADED
    assert body(s3, "crawl/warc/a.warc.gz") == data
    head = s3.client().head_object(Bucket=BUCKET, Key="crawl/warc/a.warc.gz", ChecksumMode="ENABLED")
    assert head["ETag"].strip('"') == local.etag()  # it went up in 4 parts
    assert local.matches_crc32(head["ChecksumCRC32"]) and not LocalFile.read(path).matches_crc32(
        head["ChecksumCRC32"]
    )
    assert head["ContentType"] == "application/warc"


def test_small_file_is_one_put_with_its_checksum(s3, tmp_path):
    path = spool_file(tmp_path, "news.jsonl", b'{"url": "https://example.com/"}\n', "json")
    store = make_store(s3)
    assert store.upload(store.describe(path), "crawl/json/news.jsonl") is Outcome.UPLOADED
    assert body(s3, "crawl/json/news.jsonl") == path.read_bytes()
    assert store.head("crawl/json/news.jsonl").crc32 == LocalFile.read(path).crc32 == crc32_b64(path)


def test_an_identical_object_is_not_written_again(s3, tmp_path):
    path = spool_file(tmp_path, "a.warc.gz", os.urandom(6 * MiB))
    store = make_store(s3)
    store.upload(store.describe(path), "k")
    assert store.upload(store.describe(path), "k") is Outcome.ALREADY_STORED
    assert len(versions(s3, "k")) == 1


def test_another_object_under_the_key_is_never_overwritten(s3, tmp_path):
    s3.client().put_object(Bucket=BUCKET, Key="k", Body=b"someone else's crawl")
    path = spool_file(tmp_path, "a.warc.gz", b"ours")
    store = make_store(s3)
    with pytest.raises(ObjectConflictError, match="already exists with other content"):
        store.upload(store.describe(path), "k")
    assert body(s3, "k") == b"someone else's crawl"
    assert len(versions(s3, "k")) == 1


@pytest.mark.parametrize("size", [1000, 12 * MiB])
def test_an_object_stored_without_checksum_is_compared_by_etag(s3, tmp_path, size):
    """Stores that keep no CRC32 (and objects other tools wrote) are compared by MD5 ETag."""
    path = spool_file(tmp_path, "a.warc.gz", os.urandom(size))
    store = make_store(s3)
    local = store.describe(path)
    client = s3.client(checksums=False)
    if local.part_size:  # as the transfer would have: parts of the same size, no checksum
        upload = client.create_multipart_upload(Bucket=BUCKET, Key="k")
        data, parts = path.read_bytes(), []
        for number, start in enumerate(range(0, size, local.part_size), 1):
            part = client.upload_part(
                Bucket=BUCKET,
                Key="k",
                UploadId=upload["UploadId"],
                PartNumber=number,
                Body=data[start : start + local.part_size],
            )
            parts.append({"PartNumber": number, "ETag": part["ETag"]})
        client.complete_multipart_upload(
            Bucket=BUCKET, Key="k", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
        )
    else:
        client.put_object(Bucket=BUCKET, Key="k", Body=path.read_bytes())
    assert store.head("k").crc32 is None
    assert store.upload(local, "k") is Outcome.ALREADY_STORED
    path.write_bytes(os.urandom(size))
    with pytest.raises(ObjectConflictError, match="ETag"):
        store.upload(store.describe(path), "k")


def test_the_write_itself_is_conditional(s3, tmp_path):
    """Another writer between our look-up and our write: the store refuses ours (412), and
    the object found is compared instead of replaced."""
    store = make_store(s3)
    path = spool_file(tmp_path, "a.warc", b"ours")
    looked_up = []
    real_head = store.head

    def head_seeing_nothing_first(key: str):
        looked_up.append(key)
        return None if len(looked_up) == 1 else real_head(key)

    store.head = head_seeing_nothing_first  # type: ignore[method-assign]
    s3.client().put_object(Bucket=BUCKET, Key="k", Body=b"theirs")
    with pytest.raises(ObjectConflictError, match="written by someone else during our upload"):
        store.upload(store.describe(path), "k")
    assert body(s3, "k") == b"theirs"


def test_publisher_removes_the_file_once_verified(s3, tmp_path):
    layout = ArchiveLayout(tmp_path, S3Location(BUCKET, "crawl"))
    warc = spool_file(tmp_path, "a.warc.gz", b"x" * 1000)
    data = spool_file(tmp_path, "news.jsonl", b"{}\n", "json")
    publisher = SpoolPublisher(layout, make_store(s3))
    assert publisher.pending() == [warc, data]  # WARC files first: the JSON points into them
    results = [publisher.publish(p) for p in publisher.pending()]
    assert [(r.url, r.outcome) for r in results] == [
        (f"s3://{BUCKET}/crawl/warc/a.warc.gz", Outcome.UPLOADED),
        (f"s3://{BUCKET}/crawl/json/news.jsonl", Outcome.UPLOADED),
    ]
    assert not warc.exists() and not data.exists()
    assert publisher.pending() == []


def test_keep_local_keeps_the_file_and_does_not_upload_it_twice(s3, tmp_path):
    layout = ArchiveLayout(tmp_path, S3Location(BUCKET, ""))
    warc = spool_file(tmp_path, "a.warc.gz", b"x" * 1000)
    publisher = SpoolPublisher(layout, make_store(s3), keep_local=True)
    assert publisher.publish(warc).outcome is Outcome.UPLOADED
    assert warc.read_bytes() == b"x" * 1000
    publisher.close()
    assert SpoolPublisher(layout, make_store(s3), keep_local=True).pending() == []  # the ledger
    assert len(versions(s3, "warc/a.warc.gz")) == 1


def test_store_down_keeps_the_file_then_it_arrives_once(tmp_path):
    with MotoServer() as server:
        layout = ArchiveLayout(tmp_path / "spool", S3Location(BUCKET, "crawl"))
        warc = spool_file(layout.root, "a.warc.gz", os.urandom(MiB))
        publisher = SpoolPublisher(layout, make_store(server, ARCHIVE_UPLOAD_TIMEOUT=2))
        server.stop()
        failed = publisher.publish(warc)
        assert failed.outcome is None and "EndpointConnectionError" in (failed.error or "")
        assert warc.exists() and publisher.pending() == [warc]
        server.start()
        server.client().create_bucket(Bucket=BUCKET)
        server.client().put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        assert publisher.publish(warc).outcome is Outcome.UPLOADED
        assert len(versions(server, "crawl/warc/a.warc.gz")) == 1
        assert publisher.pending() == []


def test_server_killed_mid_multipart_upload(tmp_path):
    """The server dies while parts are going up: the file stays in the spool, whole; once a
    server is back the next attempt stores it, byte for byte."""
    with MotoServer() as server:
        server.client().create_bucket(Bucket=BUCKET)
        layout = ArchiveLayout(tmp_path / "spool", S3Location(BUCKET, "crawl"))
        data = os.urandom(60 * MiB)
        warc = spool_file(layout.root, "big.warc.gz", data)
        publisher = SpoolPublisher(
            layout, make_store(server, ARCHIVE_UPLOAD_CONCURRENCY=1, ARCHIVE_UPLOAD_TIMEOUT=2)
        )
        results = []
        upload = threading.Thread(target=lambda: results.append(publisher.publish(warc)))
        upload.start()
        watcher = server.client()
        deadline = time.monotonic() + 60
        while not watcher.list_multipart_uploads(Bucket=BUCKET).get("Uploads"):
            assert time.monotonic() < deadline and upload.is_alive(), "no multipart upload started"
            time.sleep(0.005)
        server.stop()
        upload.join(120)
        assert results and results[0].outcome is None, results
        assert warc.read_bytes() == data
        server.start()
        server.client().create_bucket(Bucket=BUCKET)
        assert publisher.publish(warc).outcome is Outcome.UPLOADED
        assert body(server, "crawl/warc/big.warc.gz") == data
        assert not warc.exists()


def test_spool_paths_never_become_keys_outside_the_prefix(tmp_path):
    layout = ArchiveLayout(tmp_path, S3Location(BUCKET, "crawl"))
    for outside in (
        tmp_path / "state" / "seen.sqlite",
        tmp_path / "warc" / ".." / ".." / "x",
        tmp_path / "x",
    ):
        with pytest.raises(ValueError, match="is not a file of"):
            layout.relative(outside)


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [("s3://b-1/a/b/", "b-1", "a/b"), ("s3://bucket", "bucket", ""), ("s3://bucket/", "bucket", "")],
)
def test_s3_uris(uri, bucket, prefix):
    assert S3Location.parse(uri) == S3Location(bucket, prefix)


@pytest.mark.parametrize(
    "uri", ["s3://key:secret@bucket/p", "s3://bucket/a/../b", "s3://bucket/a//b", "s3:///p", "s3://b/p?x=1"]
)
def test_bad_s3_uris_are_refused(uri):
    from newsarchive.exceptions import SettingsError

    with pytest.raises(SettingsError, match="ARCHIVE_URI"):
        S3Location.parse(uri)


def test_default_spool_is_a_directory_of_the_cache_named_safely(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    news, blogs = (
        ArchiveLayout.from_uri("s3://..my.bucket/news"),
        ArchiveLayout.from_uri("s3://..my.bucket/blogs"),
    )
    assert news.root.parent == blogs.root.parent == tmp_path / "newsarchive" / "spool"
    assert news.root != blogs.root and news.root.name.startswith("my.bucket-")
    assert ArchiveLayout.from_uri("s3://b/news", spool=str(tmp_path / "mine")).root == tmp_path / "mine"
