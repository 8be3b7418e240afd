"""What an adapter shares with other gateway processes: a rate budget and a token cache.

The gateway passes a `Sharing` to `ProviderSpec.build(config, client, sharing)`; the adapter
hands it to its `Upstream` (which takes the account's budget from it) and Harvest's token
source reads its cache through that `Upstream`. `None` means everything is process-local,
which is what tests and the embedded default get. The implementations live in `store/`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from providers.base import AccountConfig
from providers.upstream.resilience import Budget

__all__ = ["Sharing", "TokenCache"]


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
