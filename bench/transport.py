"""Client CPU per upstream call: `httpx.AsyncClient` against `LeanClient`
(`providers.upstream.transport`).

The gateway's CPU per request is mostly its upstream calls (24 per benchmark request), so this
measures one call alone: the same GET, with the same concurrency and keep-alive, through each
client, on asyncio and on uvloop. The server is uvicorn in a child process answering a fixed
JSON body the size of a candidate, so its CPU is not counted; the figure is this process's
CPU time (`time.process_time`, all threads) over the timed requests, divided by their number.

    python -m bench.transport [--requests 4000] [--concurrency 8] [--body 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
import uvloop
from starlette.types import Receive, Scope, Send

from bench.processes import Children, announce, exit_with_parent, listening_socket
from providers.upstream.http import QueryParams
from providers.upstream.transport import ConnectionPool, LeanClient, Sender

__all__ = ["Figure", "main", "measure"]

_LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
_PATH = "api/v1/candidates/c-0042"
_PARAMS: QueryParams = {"include": "applications"}


@dataclass(frozen=True, slots=True)
class Figure:
    client: str
    loop: str
    requests: int
    cpu_us: float
    per_second: float


def _app(body: bytes) -> Callable[[Scope, Receive, Send], object]:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def serve(size: int) -> None:
    """The child: a fixed JSON answer of about `size` bytes for every request."""
    body = json.dumps({"data": {"id": "c-0042", "notes": "x" * max(0, size - 40)}}).encode()
    sock = listening_socket()
    config = uvicorn.Config(
        _app(body), log_level="warning", access_log=False, lifespan="off", loop="uvloop"
    )
    server = uvicorn.Server(config)
    exit_with_parent(server)
    announce({"port": sock.getsockname()[1]})
    server.run(sockets=[sock])


def _httpx(base: str, concurrency: int) -> Sender:
    return httpx.AsyncClient(
        base_url=base,
        timeout=httpx.Timeout(10.0),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        follow_redirects=False,
    )


def _lean(base: str, concurrency: int) -> Sender:
    return LeanClient(base, ConnectionPool(max_connections=concurrency, timeout=10.0))


_CLIENTS: dict[str, Callable[[str, int], Sender]] = {"httpx": _httpx, "lean": _lean}


async def _run(client: Sender, requests: int, concurrency: int) -> None:
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            response = await client.request("GET", _PATH, params=_PARAMS)
            if response.status_code != 200:
                raise RuntimeError(f"the server answered {response.status_code}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _timed(kind: str, base: str, requests: int, concurrency: int) -> tuple[float, float]:
    client = _CLIENTS[kind](base, concurrency)
    try:
        await _run(client, max(concurrency, requests // 10), concurrency)
        cpu, wall = time.process_time(), time.perf_counter()
        await _run(client, requests, concurrency)
        return time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await client.aclose()


def measure(base: str, requests: int, concurrency: int) -> list[Figure]:
    """Each client on each loop, in turn, against the server at `base`."""
    figures = []
    for loop, factory in _LOOPS.items():
        for kind in _CLIENTS:
            with asyncio.Runner(loop_factory=factory) as runner:
                cpu, wall = runner.run(_timed(kind, base, requests, concurrency))
            figures.append(Figure(kind, loop, requests, cpu / requests * 1e6, requests / wall))
    return figures


def report(figures: Sequence[Figure]) -> str:
    lines = [f"{'client':<8}{'loop':<9}{'requests':>9}{'cpu µs/req':>12}{'req/s':>9}"]
    for f in figures:
        lines.append(
            f"{f.client:<8}{f.loop:<9}{f.requests:>9}{f.cpu_us:>12.1f}{f.per_second:>9.0f}"
        )
    by = {(f.client, f.loop): f.cpu_us for f in figures}
    for loop in _LOOPS:
        if ("httpx", loop) in by and ("lean", loop) in by:
            ratio = by["httpx", loop] / by["lean", loop]
            lines.append(f"{loop}: lean uses 1/{ratio:.1f} of httpx's client CPU per request")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--body", type=int, default=1500, help="answer size in bytes")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.body)
        return
    with tempfile.TemporaryDirectory() as logs, Children(Path(logs)) as children:
        server = children.server("server", "bench.transport", ["--serve", "--body", str(args.body)])
        base = server.url + "/"
        print(f"{args.concurrency} connections, {args.body}-byte answers, server pid {server.pid}")
        print(report(measure(base, args.requests, args.concurrency)))


if __name__ == "__main__":
    main()
