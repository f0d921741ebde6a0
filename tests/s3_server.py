"""An S3-compatible server on 127.0.0.1 for tests and benches: moto in server mode, run as a
subprocess so that a test can kill it mid-upload and start it again on the same port.

    with MotoServer() as s3:
        s3.client().create_bucket(Bucket="archive")
        ... -s AWS_ENDPOINT_URL={s3.endpoint} ...

moto keeps its state in memory: a restarted server has no buckets.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import BinaryIO

import boto3
from botocore.config import Config

START_TIMEOUT_S = 30.0
# Test credentials: fake, and long enough to be found if they leak into an output.
ACCESS_KEY = "AKIATESTNEWSARCHIVE01"
SECRET_KEY = "newsarchive-test-secret-8d1f0c5e2b9a47f6"
REGION = "us-east-1"


class MotoServerError(RuntimeError):
    """moto's server did not start; the message says why."""


class MotoServer:
    """One ``python -m moto.server`` process on a fixed port (chosen at the first start)."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, str]:
        """The Scrapy settings that point a crawl at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION_NAME": REGION,
        }

    def client(self, *, checksums: bool = True) -> object:
        """A boto3 client of this server that does not retry: tests see failures at once.
        ``checksums=False``: it sends no CRC32, as older SDKs and other tools do not."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(
                retries={"total_max_attempts": 1},
                connect_timeout=5,
                read_timeout=30,
                request_checksum_calculation="when_supported" if checksums else "when_required",
            ),
        )

    def start(self) -> MotoServer:
        if not self.port:
            self.port = _free_port()
        log = tempfile.TemporaryFile()  # not a pipe: a full pipe would stall the server
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                error = log.read().decode(errors="replace")
                raise MotoServerError(f"moto server exited at start on port {self.port}:\n{error[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                self._process, self._log = process, log
                return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        process.kill()
        process.wait()
        raise MotoServerError(f"moto server not answering on port {self.port} after {START_TIMEOUT_S} s")

    def stop(self) -> None:
        """Kill the server at once, as a crash or a network cut would look to a client."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def reset(self) -> None:
        """Forget every bucket and object."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
