"""SIGTERM, as an orchestrator sends it: writes in flight are answered once, and open
subscriptions do not keep the process alive until it is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from emulators.talynce import TalynceEmulator
from tests.conftest import make_orgs
from tests.servers import serve_in_thread, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
CREATE = """
mutation { createCandidate(input: {account: "acme", firstName: "Ada", lastName: "Held",
  emails: [{value: "ada.held@example.com", type: PERSONAL}]}) { created candidate { id } } }
"""


def holding_writes(app: ASGIApp, arrived: threading.Event, release: threading.Event) -> ASGIApp:
    """`app`, with each POST held (after signalling `arrived`) until `release` is set."""

    async def held(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            arrived.set()
            await asyncio.to_thread(release.wait, 30)
        await app(scope, receive, send)

    return held


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    """Until the server's log has `text` (it notices a signal at its next tick, not at once)."""
    deadline = time.monotonic() + 30
    while text not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def open_stream(url: str, opened: threading.Event) -> Callable[[], bytes]:
    """Reads an SSE subscription until the server ends it; `opened` is set once its head is in."""

    def read() -> bytes:
        with httpx.stream(
            "POST",
            f"{url}/graphql",
            json={"query": "subscription { candidateChanged { kind } }"},
            headers={"accept": "text/event-stream"},
            timeout=httpx.Timeout(5, read=60),
        ) as response:
            assert response.status_code == 200
            opened.set()
            received = b""
            try:
                for chunk in response.iter_bytes():
                    received += chunk
            except httpx.RemoteProtocolError:
                pass  # the stream cut where the server went away: the client reconnects
            return received

    return read


def test_sigterm_answers_the_write_in_flight_and_ends_open_streams(tmp_path: Path) -> None:
    orgs = make_orgs()
    emulator = TalynceEmulator(orgs.values())
    arrived, release, opened = threading.Event(), threading.Event(), threading.Event()
    with (
        serve_in_thread(holding_writes(emulator.app, arrived, release)) as upstream,
        ThreadPoolExecutor(2) as pool,
    ):
        config = tmp_path / "gateway.toml"
        config.write_text(
            f'[[accounts]]\nid = "acme"\nprovider = "talynce"\n'
            f'base_url = "{upstream}/api/v1"\napi_key_env = "SHUTDOWN_ACME_KEY"\n'
        )
        port = free_port()
        command = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
        log = tmp_path / "gateway.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*command, "--port", str(port), "--log-format", "json"],
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "SHUTDOWN_ACME_KEY": orgs["acme"].api_key},
            )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, process, log.read_text)
            stream: Future[bytes] = pool.submit(open_stream(url, opened))
            assert opened.wait(30)
            write = pool.submit(httpx.post, f"{url}/graphql", json={"query": CREATE}, timeout=30)
            assert arrived.wait(30)
            process.send_signal(signal.SIGTERM)
            wait_for_line(log, "Shutting down", process)
            release.set()
            answer = write.result(timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["createCandidate"]["created"] is True
            stream.result(timeout=30)
            # uvicorn ends by raising the signal it caught again, as the default handler would.
            assert process.wait(timeout=20) in (0, -signal.SIGTERM), log.read_text()
        finally:
            release.set()
            if process.poll() is None:
                process.kill()
                process.wait()
    stored = [r for r in emulator.requests if r.method == "POST" and r.status < 300]
    assert len(stored) == 1
