"""Emulators of each provider's documented API, for the demo and for tests over real HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp

__all__ = ["Demo", "DemoAccount"]


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """An account the demo configures against an emulator; `path` is appended to its URL."""

    id: str
    name: str
    path: str
    credentials: Mapping[str, str] = field(repr=False)
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Demo:
    """A seeded emulator app and the accounts that use it."""

    app: ASGIApp
    accounts: tuple[DemoAccount, ...]
    emulator: object = None
