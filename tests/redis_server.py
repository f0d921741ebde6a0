"""A real ``redis-server`` on 127.0.0.1 for tests and benches: no persistence, stopped at exit.

    with RedisServer(tmp_dir) as server:
        RedisIndex(server.url, ...)

The port is found by binding port 0 and releasing it; redis-server cannot report a port of its
own choosing (``--port 0`` turns TCP off), so should another process take the port first, the
server fails to bind, and the start is retried on a new port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

START_TIMEOUT_S = 10.0
ATTEMPTS = 5


class RedisServerError(RuntimeError):
    """redis-server is missing or did not start; the message says why and how to fix it."""


class RedisServer:
    """One ``redis-server`` process, ``--save "" --appendonly no --dir DIRECTORY``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisServerError(
                "redis-server is not installed (not on PATH): the Redis dedup tests run against a real "
                "server. Install it with `apt-get install -y redis-server` (`make test` does this)."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(ATTEMPTS):
            self.port = _free_port()
            log = self.directory / f"redis-{self.port}.log"
            arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            arguments += ["--dir", str(self.directory), "--daemonize", "no", "--logfile", str(log)]
            process = subprocess.Popen(
                [binary, *arguments],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            if self._wait_ready(process):
                self._process = process
                return self
            process.kill()
            process.wait()
            text = log.read_text(errors="replace") if log.exists() else ""
            if "Address already in use" not in text:
                raise RedisServerError(f"redis-server did not start on port {self.port}:\n{text[-2000:]}")
        raise RedisServerError(f"redis-server found no free port in {ATTEMPTS} attempts")

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                # Ours, not another server that took the port first.
                if f"process_id:{process.pid}\r\n".encode() in self.command(b"INFO", b"server"):
                    return True
            except OSError:
                pass
            time.sleep(0.01)
        return False

    def command(self, *words: bytes) -> bytes:
        """Send one inline command, return the raw reply line (for PING, FLUSHALL...)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(b" ".join(words) + b"\r\n")
            reply = b""
            while not _complete(reply):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                reply += chunk
            return reply

    def flush(self) -> None:
        """Empty every database."""
        reply = self.command(b"FLUSHALL")
        if reply != b"+OK\r\n":
            raise RedisServerError(f"FLUSHALL answered {reply!r}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _complete(reply: bytes) -> bool:
    """A whole simple reply (``+OK``, ``-ERR``) or bulk string (``$N`` and N bytes) has arrived."""
    line, crlf, rest = reply.partition(b"\r\n")
    if not crlf:
        return False
    if line.startswith(b"$") and line != b"$-1":
        return len(rest) >= int(line[1:]) + 2
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
