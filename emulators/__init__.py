"""Emulators of each provider's documented API, for the demo and for tests over real HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp

__all__ = ["Demo", "DemoAccount"]


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """An account the demo configures against an emulator; `path` is appended to its URL.

    `webhook_tenant` is the key the emulator's webhook outbox knows the account's data by (a
    Greenhouse organisation's name, a Merge account token), None for an emulator that sends no
    webhooks; `webhook_origin` is the provider's id of the account in its deliveries, if any.
    """

    id: str
    name: str
    path: str
    credentials: Mapping[str, str] = field(repr=False)
    options: Mapping[str, object] = field(default_factory=dict)
    webhook_tenant: str | None = None
    webhook_origin: str | None = None


@dataclass(frozen=True, slots=True)
class Demo:
    """A seeded emulator app and the accounts that use it."""

    app: ASGIApp
    accounts: tuple[DemoAccount, ...]
    emulator: object = None
