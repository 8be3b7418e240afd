"""Real servers for tests: uvicorn in a background thread, each with its own event loop."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import httpx
import uvicorn
from starlette.types import ASGIApp


@contextmanager
def serve_in_thread(
    app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "off"
) -> Iterator[str]:
    """Serves `app` on a free loopback port; yields its base URL and stops it on exit."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan=lifespan,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    if not server.started:
        raise RuntimeError("test server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_until_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    log: Callable[[], str],
    what: str = "the server",
    timeout: float = 30,
) -> None:
    """Returns once the server `process` runs answers `/healthz` at `url`; fails with its log
    when it exits first or `timeout` seconds pass (a loaded machine starts it slowly)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, log()
        assert time.monotonic() < deadline, f"{what} did not start:\n{log()}"
        time.sleep(0.1)
