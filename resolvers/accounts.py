"""The accounts a gateway serves, each with its live adapter, in configuration order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from providers.base import AccountConfig, Capability, Provider
from resolvers.errors import UnknownAccount

__all__ = ["Accounts", "ServedAccount"]


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class ServedAccount:
    """One configured account (`AccountConfig`) and its built adapter; compared by identity, as
    each is built once."""

    config: AccountConfig
    provider: Provider

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def provider_name(self) -> str:
        return self.config.provider

    def can(self, capability: Capability) -> bool:
        return capability in self.provider.capabilities

    def breaker_state(self) -> str:
        """ "closed", "half-open" or "open" as of now: an open breaker past its cooldown reads
        half-open with no call needed, so readiness comes back without traffic. Looks through
        wrappers (the response cache keeps the adapter as `inner`) to the adapter's `upstream`;
        an adapter with no breaker reads closed."""
        provider: object = self.provider
        while (inner := getattr(provider, "inner", None)) is not None:
            provider = inner
        breaker = getattr(getattr(provider, "upstream", None), "breaker", None)
        return str(breaker.state) if breaker is not None else "closed"


class Accounts:
    """Looks accounts up by id; an unknown id reads exactly like one the caller may not see."""

    def __init__(self, accounts: Sequence[ServedAccount]) -> None:
        self._by_id = {account.id: account for account in accounts}

    def __iter__(self) -> Iterator[ServedAccount]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def visible(self, ids: frozenset[str] | None) -> Accounts:
        """The accounts a caller may see; every other account reads as not existing."""
        if ids is None:
            return self
        return Accounts([account for account in self if account.id in ids])

    def get(self, account_id: str) -> ServedAccount | None:
        return self._by_id.get(account_id)

    def require(self, account_id: str, *, field: str = "account") -> ServedAccount:
        account = self._by_id.get(account_id)
        if account is None:
            raise UnknownAccount(f"no account {account_id!r}", field=(field,))
        return account

    def select(self, ids: Sequence[str] | None, *, field: str = "accounts") -> list[ServedAccount]:
        """The named accounts in configuration order, or all of them when none are named."""
        if ids is None:
            return list(self)
        wanted = {self.require(account_id, field=field).id for account_id in ids}
        return [account for account in self if account.id in wanted]

    async def aclose(self) -> None:
        await asyncio.gather(*(account.provider.aclose() for account in self))
