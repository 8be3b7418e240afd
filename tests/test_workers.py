"""`serve --workers`: each worker listens on its own socket of the port (gateway.workers), so
the connections a client pool opens at once are spread over the workers."""

from __future__ import annotations

import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from uvicorn.config import STARTUP_FAILURE

from gateway.server import server_config
from gateway.workers import WorkerSockets, worker_sockets
from tests.conftest import Stack
from tests.servers import wait_until_healthy
from tests.test_cli import ROOT, free_port

SERVE = (sys.executable, "-m", "gateway", "serve")
CONNECTIONS = 32  # all on one of two workers by chance: 2 in 2**32


ESTABLISHED, LISTEN = "01", "0A"  # as /proc/net/tcp writes TCP states


def sockets_by_process(pids: list[int], port: int, state: str) -> Counter[int]:
    """Sockets of `port` (its side of a connection, or a listener) in `state`, by the process
    (of `pids`) holding each."""
    accepted = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                accepted.add(f"socket:[{fields[9]}]")
    holders: Counter[int] = Counter()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in accepted:
                    holders[pid] += 1
            except OSError:
                continue  # closed meanwhile
    return holders


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.fixture
def two_workers(
    shared_stack: Stack, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    config = tmp_path / "g.toml"
    config.write_text(
        f'[[accounts]]\nid = "acme"\nprovider = "talynce"\nbase_url = "{shared_stack.upstream}/api/v1"\napi_key_env = "W_ACME_KEY"\n'
    )
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*SERVE, "--config", str(config), "--workers", "2", "--port", str(port)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "W_ACME_KEY": shared_stack.orgs["acme"].api_key},
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, lambda: log.read_text("utf-8", "replace"), "serve")
        deadline = time.monotonic() + 30
        while len(sockets_by_process(children_of(process.pid), port, LISTEN)) < 2:
            assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
            time.sleep(0.1)  # until both workers listen
        yield process, port
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_connections_waiting_together_are_spread_over_the_workers(
    two_workers: tuple[subprocess.Popen[bytes], int],
) -> None:
    """A pool's connections opened while the workers are busy wait together. On one shared
    socket the first worker free accepted them all; on a socket per worker each connection
    already belongs to one worker's socket as it opens. (The workers are paused while the
    connections open: the busy moment, made certain.)"""
    process, port = two_workers
    workers = children_of(process.pid)
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        clients = [
            socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(CONNECTIONS)
        ]
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
    try:
        for sock in clients:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        for sock in clients:
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
        holders = sockets_by_process(workers, port, ESTABLISHED)
        assert sum(holders.values()) == CONNECTIONS
        assert len(holders) == 2, holders
    finally:
        for sock in clients:
            sock.close()


def test_each_worker_binds_its_own_socket_of_the_port() -> None:
    """What a worker unpickles is a socket of its own with SO_REUSEPORT; two of them listen on
    one port side by side."""
    port = free_port()
    shared = worker_sockets(server_config("gateway.app:app_from_environment", None, port=port))
    assert isinstance(shared, WorkerSockets) and list(shared) == []  # the supervisor holds none
    first, second = (pickle.loads(pickle.dumps(shared)) for _ in range(2))
    try:
        for [sock] in (first, second):
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert sock.getsockname() == ("127.0.0.1", port)
            sock.listen()
    finally:
        for sockets in (first, second):
            for sock in sockets:
                sock.close()


def test_a_port_another_process_listens_on_fails_the_start() -> None:
    """Another server on the port (without SO_REUSEPORT, as most) makes `serve --workers`
    exit with uvicorn's error instead of sharing that server's traffic."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(SystemExit):
            worker_sockets(server_config("gateway.app:app_from_environment", None, port=port))
    finally:
        taken.close()


def test_a_worker_that_cannot_bind_exits_as_a_failed_start() -> None:
    """The port taken between the supervisor's check and a worker's start: the worker exits
    with uvicorn's STARTUP_FAILURE, which stops the supervisor instead of restarting it."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        spawned = pickle.dumps(WorkerSockets("127.0.0.1", taken.getsockname()[1]))
        with pytest.raises(SystemExit) as exit_:
            pickle.loads(spawned)
        assert exit_.value.code == STARTUP_FAILURE
    finally:
        taken.close()
