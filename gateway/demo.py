"""The embedded demo: bundled provider emulators on loopback, seeded, and accounts using them.

It is what `make run` starts, so GraphiQL answers real queries on a fresh machine with no
configuration and no outside network.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from emulators import Demo
from emulators.registry import DEMOS
from emulators.webhooks import WebhookOutbox, WebhookTarget
from gateway.settings import Settings
from providers.base import AccountConfig
from providers.events import WebhookAccount

__all__ = ["DemoEnvironment", "demo_environment", "running_server"]

DEMO_POLL_INTERVAL = 2.0  # seconds: Talynce changes show up quickly in a demo


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
    """The demo's settings and emulators. Every account whose emulator sends webhooks has a
    fresh secret in `settings.webhooks`; `send_webhooks_to(gateway)` makes those emulators sign
    and send each change to the gateway's `/webhooks/{account}` (no keys for the user)."""

    settings: Settings
    demos: dict[str, Demo]

    def send_webhooks_to(self, gateway_url: str) -> None:
        for demo in self.demos.values():
            if not hasattr(demo.emulator, "webhooks"):
                continue
            targets: dict[str, list[WebhookTarget]] = {}
            for account in demo.accounts:
                hook = self.settings.webhooks.get(account.id)
                if hook is not None and account.webhook_tenant is not None:
                    url = f"{gateway_url.rstrip('/')}/webhooks/{account.id}"
                    targets.setdefault(account.webhook_tenant, []).append(
                        WebhookTarget(url, hook.secret)
                    )
            demo.emulator.webhooks = WebhookOutbox(targets)

    async def aclose(self) -> None:
        for demo in self.demos.values():
            outbox = getattr(demo.emulator, "webhooks", None)
            if isinstance(outbox, WebhookOutbox):
                await outbox.aclose()


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
        webhooks = {
            account.id: WebhookAccount(
                account.id, secrets.token_urlsafe(24), account.webhook_origin
            )
            for demo in demos.values()
            for account in demo.accounts
            if account.webhook_tenant is not None
        }
        settings = Settings(
            accounts, source="demo", webhooks=webhooks, poll_interval=DEMO_POLL_INTERVAL
        )
        environment = DemoEnvironment(settings, demos)
        try:
            yield environment
        finally:
            await environment.aclose()
