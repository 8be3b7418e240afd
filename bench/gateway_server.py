"""The gateway under uvicorn in its own process, pointed at the bench emulator.

One worker by default, served in this process. With `--workers N` this process is uvicorn's
supervisor (the same `Multiprocess` that `python -m gateway serve --workers N` runs through
`uvicorn.run`): it binds the one loopback socket and spawns N worker processes that share it,
each building the app through `worker_app`. `--store-url redis://…` is `[gateway] store`.

uvicorn picks uvloop and httptools when they are importable ("auto"); the announcement says
which it got, so a table is never read as uvloop figures when it ran on the stock loop.

    python -m bench.gateway_server --emulator-url http://127.0.0.1:PORT [--accounts 4]
        [--workers N] [--store-url redis://127.0.0.1:P/0] [--served-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import mmap
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.supervisors.multiprocess import Multiprocess

from bench import topology
from bench.processes import announce, exit_with_parent, listening_socket
from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig

__all__ = ["Served", "Tally", "main", "read_tallies", "settings_for", "worker_app"]

_WORKER_ENV = "BENCH_GATEWAY_WORKER"
"""The supervisor's arguments, as JSON, for `worker_app` in each spawned worker."""
_TALLY = struct.Struct("<Q")
_TALLY_SUFFIX = ".served"


class Tally:
    """This process's count of answers, in an 8-byte shared-memory file named by its pid.

    Each uvicorn worker has its own memory, and an HTTP route reaches only the worker that
    accepts the connection; the harness reads every worker's file instead (`read_tallies`).
    A store into a mapped page costs the worker well under a microsecond.
    """

    def __init__(self, directory: Path) -> None:
        path = directory / f"{os.getpid()}{_TALLY_SUFFIX}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, _TALLY.size)
            self._map = mmap.mmap(fd, _TALLY.size)
        finally:
            os.close(fd)

    def set(self, count: int) -> None:
        _TALLY.pack_into(self._map, 0, count)


def read_tallies(directory: Path) -> dict[int, int]:
    """Answers counted so far, by worker pid (a worker that exited keeps its file)."""
    counts = {}
    for path in directory.glob(f"*{_TALLY_SUFFIX}"):
        data = path.read_bytes()
        if len(data) == _TALLY.size:
            counts[int(path.name.removesuffix(_TALLY_SUFFIX))] = _TALLY.unpack(data)[0]
    return counts


class Served:
    """Counts the answers the gateway started, by status, and serves them at /_bench/served.

    A generator that stops at its deadline (wrk) abandons requests in flight, which the gateway
    still completes, upstream calls and all. Dividing upstream calls and CPU by this server-side
    count keeps per-request figures exact; a counter per response costs well under a microsecond.
    With a `tally` the total also goes to shared memory, which is what the harness reads (with
    several workers, /_bench/served answers for whichever worker took the connection).
    """

    def __init__(self, app: ASGIApp, tally: Tally | None = None) -> None:
        self.app = app
        self.tally = tally
        self.total = 0
        self.by_status: dict[int, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/_bench/served":
            counts = {str(status): n for status, n in self.by_status.items()}
            body = {"pid": os.getpid(), "served": self.total, "by_status": counts}
            await JSONResponse(body)(scope, receive, send)
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                self.by_status[status] = self.by_status.get(status, 0) + 1
                self.total += 1
                if self.tally is not None:
                    self.tally.set(self.total)
            await send(message)

        await self.app(scope, receive, counting)


def settings_for(
    emulator_url: str,
    accounts: int,
    max_concurrency: int,
    request_timeout: float,
    store_url: str | None = None,
    read_ahead: bool = False,
) -> Settings:
    """Accounts on the bench emulator's tenants; no rate budget, so the gateway never queues
    on its own account of a limit the emulator does not enforce. The cursor secret is fixed, so
    every worker reads the cursors any other worker wrote (scenario E pages across them)."""
    return Settings(
        tuple(
            AccountConfig(
                id=topology.account_id(i),
                name=topology.org_name(i),
                provider="talynce",
                base_url=f"{emulator_url}/api/v1",
                credentials={"api_key": topology.api_key(i)},
                max_concurrency=max_concurrency,
                rate_limit=None,
            )
            for i in range(accounts)
        ),
        cursor_secret=b"bench-cursor-secret",
        request_timeout=request_timeout,
        store_url=store_url,
        read_ahead=read_ahead,
    )


def implementations() -> dict[str, str]:
    """What uvicorn's "auto" loop and http resolve to here."""
    has = importlib.util.find_spec
    return {
        "loop": "uvloop" if has("uvloop") else "asyncio",
        "http": "httptools" if has("httptools") else "h11",
    }


def _app(args: argparse.Namespace) -> Served:
    settings = settings_for(
        args.emulator_url,
        args.accounts,
        args.max_concurrency,
        args.request_timeout,
        args.store_url,
        args.read_ahead,
    )
    tally = Tally(Path(args.served_dir)) if args.served_dir else None
    return Served(create_app(settings), tally)


def worker_app() -> Served:
    """uvicorn's factory in each spawned worker: the supervisor's arguments come by environment.

    The worker also stops when the supervisor dies, even by SIGKILL (PR_SET_PDEATHSIG)."""
    logging.basicConfig(level=logging.WARNING)
    exit_with_parent()
    return _app(argparse.Namespace(**json.loads(os.environ[_WORKER_ENV])))


def _config(app: ASGIApp | str, **extra: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        **extra,  # type: ignore[arg-type]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emulator-url", required=True)
    parser.add_argument("--accounts", type=int, default=topology.ORGS)
    parser.add_argument("--max-concurrency", type=int, default=8)
    parser.add_argument("--request-timeout", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--store-url", help="[gateway] store; memory when absent")
    parser.add_argument("--served-dir", help="where each worker keeps its count of answers")
    parser.add_argument("--read-ahead", action="store_true", help="[gateway] read_ahead = true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sock = listening_socket()
    info = {"port": sock.getsockname()[1], "workers": args.workers, **implementations()}
    if args.workers <= 1:
        server = uvicorn.Server(_config(_app(args)))
        exit_with_parent(server)
        announce(info)
        server.run(sockets=[sock])
        return
    os.environ[_WORKER_ENV] = json.dumps(vars(args))
    config = _config("bench.gateway_server:worker_app", factory=True, workers=args.workers)
    supervisor = Multiprocess(config, sockets=[sock])  # SIGTERM stops it and its workers
    exit_with_parent()
    announce(info)
    supervisor.run()


if __name__ == "__main__":
    main()
