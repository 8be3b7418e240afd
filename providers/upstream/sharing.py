"""Where an adapter being built finds the state it shares with other gateway processes.

Adapters build their own `Upstream` (and Harvest its token source), so the gateway offers a
shared rate budget and token cache per account for the duration of the build, through a
context variable: `with shared_with(sharing): spec.build(config, client)`. Outside such a
block, or with `None`, everything is process-local, which is what tests and the embedded
default get.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from providers.base import AccountConfig
from providers.upstream.resilience import Budget

__all__ = ["Sharing", "TokenCache", "shared_budget", "shared_tokens", "shared_with"]


class TokenCache(Protocol):
    """An account's access token, kept where every process can reuse it. Best effort: a cache
    that cannot be reached loads nothing and saves nothing."""

    async def load(self) -> tuple[str, float] | None:
        """The token and the seconds until it should be replaced, if one is kept."""
        ...

    async def save(self, value: str, seconds: float) -> None: ...

    async def drop(self, value: str) -> None:
        """Forgets `value`, a token the provider refused, if it is still the one kept."""
        ...


@dataclass(frozen=True, slots=True)
class Sharing:
    budget: Callable[[AccountConfig], Budget]
    tokens: Callable[[AccountConfig], TokenCache]


_sharing: contextvars.ContextVar[Sharing | None] = contextvars.ContextVar("sharing", default=None)


@contextmanager
def shared_with(sharing: Sharing | None) -> Iterator[None]:
    token = _sharing.set(sharing)
    try:
        yield
    finally:
        _sharing.reset(token)


def shared_budget(account: AccountConfig) -> Budget | None:
    sharing = _sharing.get()
    return None if sharing is None else sharing.budget(account)


def shared_tokens(account: AccountConfig) -> TokenCache | None:
    sharing = _sharing.get()
    return None if sharing is None else sharing.tokens(account)
