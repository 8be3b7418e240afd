"""The embedded demo: bundled provider emulators on loopback, seeded, and accounts using them.

It is what `make run` starts, so GraphiQL answers real queries on a fresh machine with no
configuration and no outside network.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from emulators import Demo
from emulators.registry import DEMOS
from gateway.settings import Settings
from providers.base import AccountConfig

__all__ = ["DemoEnvironment", "demo_environment", "running_server"]


@asynccontextmanager
async def running_server(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[int]:
    """Serves `app` with uvicorn in this event loop; yields the bound port."""
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", log_config=None
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"server on {host}:{port} did not start")
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


@dataclass(frozen=True, slots=True)
class DemoEnvironment:
    settings: Settings
    demos: dict[str, Demo]


@asynccontextmanager
async def demo_environment() -> AsyncIterator[DemoEnvironment]:
    """Starts every registered provider's demo emulator, each on its own loopback port."""
    demos = {provider: make() for provider, make in DEMOS.items()}
    async with AsyncExitStack() as stack:
        ports = {
            provider: await stack.enter_async_context(running_server(demo.app))
            for provider, demo in demos.items()
        }
        accounts = tuple(
            AccountConfig(
                id=account.id,
                name=account.name,
                provider=provider,
                base_url=f"http://127.0.0.1:{ports[provider]}{account.path}",
                credentials=account.credentials,
                options=account.options,
            )
            for provider, demo in demos.items()
            for account in demo.accounts
        )
        yield DemoEnvironment(Settings(accounts, source="demo"), demos)
