"""A real `redis-server` for tests (Debian's package; `.ci/run` installs it), on a free port.

No persistence (`--save ''`, `--appendonly no`), so a stopped server restarts empty, which is
what a crashed Redis without persistence does. Tests that need Redis skip, with the reason,
when the binary is absent.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REDIS_SERVER = Path("/usr/bin/redis-server")
MISSING = "redis-server is not installed (apt-get install redis-server; .ci/run does it)"


def redis_binary() -> str | None:
    if REDIS_SERVER.exists():
        return str(REDIS_SERVER)
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    binary: str
    port: int = field(default_factory=free_port)
    password: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self._answers_as(self.process.pid):
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def _answers_as(self, pid: int) -> bool:
        """Whether the server on our port is the process we started: with tests running in
        parallel, another worker's server may hold a port that was free a moment ago."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            if self.password:
                sock.sendall(f"AUTH {self.password}\r\n".encode())
                sock.recv(64)
            sock.sendall(b"INFO server\r\n")
            reply = b""
            while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        return f"process_id:{pid}\r\n".encode() in reply

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def running_redis(*, password: str | None = None) -> Iterator[RedisServer]:
    binary = redis_binary()
    if binary is None:
        pytest.skip(MISSING)
    for attempt in range(5):  # a free port may be taken before redis-server binds it
        server = RedisServer(binary, password=password)
        try:
            server.start()
            break
        except RuntimeError:
            if attempt == 4:
                raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One server for the session; tests keep apart by key prefix (`unique_prefix`)."""
    with running_redis() as server:
        yield server


def unique_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"
