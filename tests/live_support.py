"""Helpers for the live-update tests: provider signatures computed here (not by the code under
test), a gateway served in the test's own event loop (so a test reads its in-memory bus), and
reading a bus with a deadline instead of sleeping."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.demo import running_server
from gateway.settings import Settings
from providers.base import AccountConfig
from providers.events import WebhookAccount
from store.events import BusEvent, EventBus, Refetch
from tests.conftest import SecretWatch

GH_SECRET, GH_OTHER_SECRET, MERGE_SECRET = "gh-hook-secret-1", "gh-hook-secret-2", "merge-org-key"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a webhook must never call the provider


def greenhouse_signature(body: bytes, secret: str) -> str:
    return "sha256 " + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def merge_signature(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def webhook_accounts() -> tuple[AccountConfig, ...]:
    """Accounts whose credentials are never used (nothing is fetched), but long and unique: the
    session's leak check looks for every configured secret in every response and log line."""
    harvest = {"api": "harvest", "user_id": "1"}
    client = {"client_id": "live-gh-client-id-7c1e", "client_secret": "live-gh-client-secret-7c1e"}
    merge = {"api_key": "live-merge-api-key-7c1e", "account_token": "live-merge-token-7c1e"}
    return (
        AccountConfig("gh", "GH", "greenhouse", NOWHERE, client, harvest),
        AccountConfig("gh2", "GH2", "greenhouse", NOWHERE, client, harvest),
        AccountConfig("mg", "MG", "merge", NOWHERE, merge),
        AccountConfig("mg2", "MG2", "merge", NOWHERE, merge),
        AccountConfig("tal", "TAL", "talynce", NOWHERE, {"api_key": "live-talynce-key-7c1e"}),
    )


def webhook_settings(**overrides: Any) -> Settings:
    hooks = {
        "gh": WebhookAccount("gh", GH_SECRET),
        "gh2": WebhookAccount("gh2", GH_OTHER_SECRET),
        "mg": WebhookAccount("mg", MERGE_SECRET, "linked-1"),
        "mg2": WebhookAccount("mg2", MERGE_SECRET, "linked-2"),
    }
    return Settings(webhook_accounts(), webhooks=hooks, **overrides)


@dataclass
class LiveGateway:
    url: str
    app: Starlette
    http: httpx.AsyncClient

    @property
    def bus(self) -> EventBus:
        bus: EventBus = self.app.state.events
        return bus

    async def post(self, account: str, raw: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.http.post(f"{self.url}/webhooks/{account}", content=raw, headers=headers)


@asynccontextmanager
async def live_gateway(settings: Settings) -> AsyncIterator[LiveGateway]:
    app = create_app(settings)
    watched = SecretWatch(app, settings.secrets())  # the session fails if one leaks anywhere
    async with running_server(watched) as port, httpx.AsyncClient(timeout=10) as http:
        try:
            yield LiveGateway(f"http://127.0.0.1:{port}", app, http)
        finally:
            await app.state.poller.aclose()
            await app.state.events.aclose()
            await app.state.accounts.aclose()
            await app.state.store.aclose()


TAKE_WITHIN = 10.0  # seconds: an event that has not come by then is not coming


async def take(stream: AsyncIterator[BusEvent | Refetch], count: int) -> list[BusEvent | Refetch]:
    """The next `count` items of a subscription, failing after `TAKE_WITHIN` seconds."""
    items: list[BusEvent | Refetch] = []
    async with asyncio.timeout(TAKE_WITHIN):
        while len(items) < count:
            items.append(await anext(stream))
    return items
