"""The gateway under uvicorn in its own process (one worker), pointed at the bench emulator.

uvicorn picks uvloop and httptools when they are importable ("auto"); the announcement says
which it got, so a table is never read as uvloop figures when it ran on the stock loop.

    python -m bench.gateway_server --emulator-url http://127.0.0.1:PORT [--accounts 4]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
from collections.abc import Sequence

import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench import topology
from bench.processes import announce, exit_with_parent, listening_socket
from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig

__all__ = ["Served", "main", "settings_for"]


class Served:
    """Counts the answers the gateway started, by status, and serves them at /_bench/served.

    A generator that stops at its deadline (wrk) abandons requests in flight, which the gateway
    still completes, upstream calls and all. Dividing upstream calls and CPU by this server-side
    count keeps per-request figures exact; a counter per response costs well under a microsecond.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.by_status: dict[int, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/_bench/served":
            counts = {str(status): n for status, n in self.by_status.items()}
            await JSONResponse({"served": sum(self.by_status.values()), "by_status": counts})(
                scope, receive, send
            )
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                self.by_status[status] = self.by_status.get(status, 0) + 1
            await send(message)

        await self.app(scope, receive, counting)


def settings_for(
    emulator_url: str, accounts: int, max_concurrency: int, request_timeout: float
) -> Settings:
    """Accounts on the bench emulator's tenants; no rate budget, so the gateway never queues
    on its own account of a limit the emulator does not enforce."""
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
    )


def implementations() -> dict[str, str]:
    """What uvicorn's "auto" loop and http resolve to here."""
    has = importlib.util.find_spec
    return {
        "loop": "uvloop" if has("uvloop") else "asyncio",
        "http": "httptools" if has("httptools") else "h11",
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emulator-url", required=True)
    parser.add_argument("--accounts", type=int, default=topology.ORGS)
    parser.add_argument("--max-concurrency", type=int, default=8)
    parser.add_argument("--request-timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = settings_for(
        args.emulator_url, args.accounts, args.max_concurrency, args.request_timeout
    )
    sock = listening_socket()
    config = uvicorn.Config(
        Served(create_app(settings)),
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    exit_with_parent(server)
    announce({"port": sock.getsockname()[1], **implementations()})
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
