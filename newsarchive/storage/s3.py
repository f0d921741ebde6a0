"""Upload archive files to S3 or any S3-compatible store, never overwriting, always verified.

* boto3's transfer manager does the work (multipart past ``ARCHIVE_UPLOAD_PART_SIZE``, parts
  in parallel, botocore's retries and timeouts);
* every write is conditional (``If-None-Match: *`` on the PutObject or the
  CompleteMultipartUpload), and a key is looked up before: an object already stored is
  compared, never replaced;
* each part (or the single PUT) carries its CRC32, which the store checks on arrival; after
  the upload the object's size and CRC32 are read back and compared with the file's, computed
  here: the whole file's CRC32 for a single PUT, S3's composite checksum (the CRC32 of the
  parts' CRC32s) for a multipart upload. Stores that keep no checksum are compared by their
  MD5 ETag. (A full-object checksum sent with the upload halves the throughput on moto:
  bench/README.md.)
"""

from __future__ import annotations

import base64
import hashlib
import logging
import zlib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from s3transfer.utils import ChunksizeAdjuster

from newsarchive import __version__
from newsarchive.exceptions import SettingsError, StorageError
from newsarchive.layout import S3Location

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

MiB = 1024 * 1024
_CHUNK = 8 * MiB
CONTENT_TYPES = {
    ".warc.gz": "application/warc",
    ".warc": "application/warc",
    ".jsonl": "application/x-ndjson",
}
TRANSFER_ERRORS = (BotoCoreError, ClientError, Boto3Error, OSError)
"""What an upload raises when the network, the store or the disk fails."""


class ObjectConflictError(StorageError):
    """Another object already has this key: it is left as it is and the local file kept."""


@dataclass(frozen=True)
class UploadConfig:
    """The ``ARCHIVE_UPLOAD_*`` settings."""

    part_size: int
    concurrency: int
    retries: int
    connect_timeout: float
    read_timeout: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> UploadConfig:
        config = cls(
            part_size=settings.getint("ARCHIVE_UPLOAD_PART_SIZE"),
            concurrency=settings.getint("ARCHIVE_UPLOAD_CONCURRENCY"),
            retries=settings.getint("ARCHIVE_UPLOAD_RETRIES"),
            connect_timeout=settings.getfloat("ARCHIVE_UPLOAD_TIMEOUT"),
            read_timeout=settings.getfloat("ARCHIVE_UPLOAD_TIMEOUT"),
        )
        if config.part_size < 5 * MiB:
            raise SettingsError(
                f"ARCHIVE_UPLOAD_PART_SIZE must be at least 5 MiB (S3's minimum), got {config.part_size}"
            )
        if config.concurrency < 1 or config.retries < 0 or config.read_timeout <= 0:
            raise SettingsError(
                "ARCHIVE_UPLOAD_CONCURRENCY must be >= 1, ARCHIVE_UPLOAD_RETRIES >= 0 and "
                f"ARCHIVE_UPLOAD_TIMEOUT > 0; got {config.concurrency}, {config.retries}, {config.read_timeout}"
            )
        return config


@dataclass(frozen=True)
class LocalFile:
    """A file's size and the checksums the store will report for it, read in one pass."""

    path: Path
    size: int
    part_size: int  # 0: uploaded in one PUT
    crc32: str  # base64 of the big-endian CRC32 of the whole file, as S3 gives it
    composite_crc32: str | None  # multipart: CRC32 of the parts' CRC32s, "<base64>-<parts>"

    @classmethod
    def read(cls, path: Path, part_size: int = 0) -> LocalFile:
        """``part_size``: the transfer's multipart threshold and part size (0: one PUT)."""
        size = path.stat().st_size
        if part_size and size >= part_size:
            part_size = ChunksizeAdjuster().adjust_chunksize(part_size, size)  # as s3transfer will
        else:
            part_size = 0
        whole, crc, filled = 0, 0, 0
        parts: list[int] = []  # each part's CRC32
        with path.open("rb") as stream:
            while data := stream.read(min(_CHUNK, part_size - filled) if part_size else _CHUNK):
                whole = zlib.crc32(data, whole)
                if part_size:
                    crc, filled = zlib.crc32(data, crc), filled + len(data)
                    if filled == part_size:
                        parts.append(crc)
                        crc, filled = 0, 0
        if filled:
            parts.append(crc)
        composite = None
        if part_size:
            digest = zlib.crc32(b"".join(crc.to_bytes(4, "big") for crc in parts))
            composite = f"{_b64(digest)}-{len(parts)}"
        return cls(path, size, part_size, _b64(whole), composite)

    def matches_crc32(self, stored: str) -> bool:
        """True for the checksum a store gives this file (moto leaves out the "-<parts>")."""
        if self.composite_crc32 is None:
            return stored == self.crc32
        return stored in (self.composite_crc32, self.composite_crc32.partition("-")[0])

    def etag(self) -> str:
        """The ETag S3 gives this file unencrypted: its MD5, or the MD5 of its parts' MD5s."""
        digests = []
        with self.path.open("rb") as stream:
            while data := stream.read(self.part_size or self.size or 1):
                digests.append(hashlib.md5(data, usedforsecurity=False).digest())
        if not self.part_size:
            return (digests[0] if digests else hashlib.md5(b"", usedforsecurity=False).digest()).hex()
        return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def _b64(crc: int) -> str:
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    crc32: str | None
    etag: str


class Outcome(Enum):
    UPLOADED = "uploaded"
    ALREADY_STORED = "already stored"  # an earlier attempt got there (e.g. killed before cleanup)


class S3Store:
    """One bucket and prefix; :meth:`upload` is safe to call from any thread."""

    def __init__(self, client: object, location: S3Location, config: UploadConfig) -> None:
        self.client = client
        self.location = location
        self.config = config
        self._transfer = TransferConfig(
            multipart_threshold=config.part_size,
            multipart_chunksize=config.part_size,
            max_concurrency=config.concurrency,
        )
        events = client.meta.events  # type: ignore[attr-defined]
        for operation in ("PutObject", "CompleteMultipartUpload"):
            events.register(f"before-parameter-build.s3.{operation}", _if_none_match)

    @classmethod
    def from_settings(cls, settings: BaseSettings, location: S3Location) -> S3Store:
        """Credentials from Scrapy's ``AWS_*`` settings when set, else boto3's chain (env,
        profile, instance role); ``AWS_ENDPOINT_URL`` for MinIO, Ceph, R2 and the like."""
        config = UploadConfig.from_settings(settings)
        quiet_sdk_debug_logs()
        session = boto3.session.Session(
            aws_access_key_id=settings.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=settings.get("AWS_SECRET_ACCESS_KEY") or None,
            aws_session_token=settings.get("AWS_SESSION_TOKEN") or None,
            region_name=settings.get("AWS_REGION_NAME") or None,
        )
        options: dict[str, object] = {}
        for option, setting in (
            ("endpoint_url", "AWS_ENDPOINT_URL"),
            ("use_ssl", "AWS_USE_SSL"),
            ("verify", "AWS_VERIFY"),
        ):
            if settings.get(setting) not in (None, ""):
                options[option] = settings.getbool(setting) if option == "use_ssl" else settings.get(setting)
        client = session.client(
            "s3",
            config=Config(
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                retries={"max_attempts": config.retries, "mode": "standard"},
                max_pool_connections=max(10, config.concurrency * 2),
                user_agent_extra=f"newsarchive/{__version__}",
            ),
            **options,
        )
        return cls(client, location, config)

    def head(self, key: str) -> StoredObject | None:
        try:
            answer = self.client.head_object(  # type: ignore[attr-defined]
                Bucket=self.location.bucket, Key=key, ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return StoredObject(
            key, answer["ContentLength"], answer.get("ChecksumCRC32"), answer.get("ETag", "").strip('"')
        )

    def keys(self, directory: str) -> list[str]:
        """The keys under ``prefix/directory/``, sorted."""
        pages = self.client.get_paginator("list_objects_v2").paginate(  # type: ignore[attr-defined]
            Bucket=self.location.bucket, Prefix=f"{self.location.key(PurePosixPath(directory))}/"
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))

    def describe(self, path: Path) -> LocalFile:
        """``path``'s size and the checksums this store will report for it."""
        return LocalFile.read(path, self.config.part_size)

    def upload(self, local: LocalFile, key: str) -> Outcome:
        """Store ``local`` under ``key`` unless an identical object is there already.

        Raises ObjectConflictError when a different object holds the key, StorageError when
        the upload fails or does not verify, and whatever TRANSFER_ERRORS the transfer raises.
        """
        existing = self.head(key)
        if existing is not None:
            self._check_identical(local, existing, "already exists with other content")
            return Outcome.ALREADY_STORED
        extra = {"ChecksumAlgorithm": "CRC32"}
        content_type = next((t for s, t in CONTENT_TYPES.items() if local.path.name.endswith(s)), None)
        if content_type:
            extra["ContentType"] = content_type
        try:
            self.client.upload_file(  # type: ignore[attr-defined]
                str(local.path), self.location.bucket, key, ExtraArgs=extra, Config=self._transfer
            )
        except Boto3Error as exc:
            if _error_code(exc) not in ("PreconditionFailed", "412"):
                raise
            # Another process stored the key between our look-up and our write.
            stored = self.head(key)
            if stored is None:
                raise
            self._check_identical(local, stored, "was written by someone else during our upload")
            return Outcome.ALREADY_STORED
        stored = self.head(key)
        if stored is None:
            raise StorageError(f"s3://{self.location.bucket}/{key}: missing right after its upload")
        self._check_identical(
            local, stored, "does not match the file after its upload", conflict=StorageError
        )
        return Outcome.UPLOADED

    def _check_identical(
        self,
        local: LocalFile,
        stored: StoredObject,
        what: str,
        conflict: type[StorageError] = ObjectConflictError,
    ) -> None:
        where = f"s3://{self.location.bucket}/{stored.key}"
        if stored.size != local.size:
            raise conflict(f"{where} {what}: {stored.size} bytes, {local.path} has {local.size}")
        if stored.crc32 is not None:
            if not local.matches_crc32(stored.crc32):
                mine = local.composite_crc32 or local.crc32
                raise conflict(f"{where} {what}: CRC32 {stored.crc32}, {local.path} has {mine}")
            return
        if stored.etag != local.etag():
            raise conflict(
                f"{where} {what}: the store keeps no CRC32 and its ETag {stored.etag} is not the MD5 "
                f"of {local.path} (an encrypted bucket, or other content)"
            )


def quiet_sdk_debug_logs() -> None:
    """botocore's DEBUG records print request headers, the session token among them: the SDK
    logs from INFO up, whatever LOG_LEVEL says."""
    for name in ("boto3", "botocore", "s3transfer", "urllib3"):
        sdk_logger = logging.getLogger(name)
        if sdk_logger.getEffectiveLevel() < logging.INFO:
            sdk_logger.setLevel(logging.INFO)


def _if_none_match(params: dict[str, object], **_: object) -> None:
    """Make every object write conditional: an existing key fails with 412, never replaced."""
    params["IfNoneMatch"] = "*"


def _error_code(exc: BaseException) -> str | None:
    """The S3 error code of ``exc`` or of the ClientError it wraps (boto3 wraps transfers)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            return str(seen.response.get("Error", {}).get("Code"))
        seen = seen.__cause__ or seen.__context__
    return None
