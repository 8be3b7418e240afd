"""The embedded demo: bundled provider emulators on loopback, seeded, and accounts using them.

It is what `make run` starts, so GraphiQL answers real queries on a fresh machine with no
configuration and no outside network.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from gateway.settings import Settings
from providers.base import AccountConfig
from providers.emulators.talynce import TalynceEmulator, demo_emulator

__all__ = ["DemoEnvironment", "demo_environment", "running_server"]


@asynccontextmanager
async def running_server(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[int]:
    """Serves `app` with uvicorn in this event loop; yields the bound port."""
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
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
    talynce: TalynceEmulator


@asynccontextmanager
async def demo_environment() -> AsyncIterator[DemoEnvironment]:
    talynce = demo_emulator()
    async with running_server(talynce.app) as port:
        accounts = tuple(
            AccountConfig(
                id=org.name.lower().replace(" ", "-"),
                name=f"{org.name} (Talynce demo)",
                provider="talynce",
                base_url=f"http://127.0.0.1:{port}/api/v1",
                credentials={"api_key": org.api_key},
            )
            for org in talynce.orgs.values()
        )
        yield DemoEnvironment(Settings(accounts, source="demo"), talynce)
