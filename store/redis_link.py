"""The one Redis client a gateway process shares its state through, and what happens without it.

Every piece of shared state (rate budgets, OAuth tokens, idempotency keys, the response cache)
calls Redis through `RedisLink.run`. When Redis fails, `run` raises `StoreDown` and each piece
falls back to process-local behaviour; the link warns once per outage (not once per call), and
then leaves Redis alone for `pause` seconds so a dead server costs requests nothing but a
branch. Log lines name the error's class only: a message could carry the server's address, and
the URL (which may hold a password) is never known here at all.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from providers.base import AccountConfig

__all__ = ["REDIS_TIMEOUT", "RedisLink", "StoreDown", "account_scope", "connect"]

REDIS_TIMEOUT = 1.0  # seconds; Redis answers in well under a millisecond when it is healthy
log = logging.getLogger("gateway.store")
T = TypeVar("T")


class StoreDown(Exception):
    """Redis is unreachable, or was moments ago: use the process-local fallback."""


def account_scope(account: AccountConfig) -> str:
    """A key segment naming one account *and* the upstream tenant it points at.

    The digest of provider, base URL and credentials keeps two deployments (or an edited
    config) that reuse an account id for another tenant from sharing entries, while two
    processes configured alike share everything. It is a one-way digest; no secret is in a key.
    """
    material = "\x00".join(
        [account.provider, account.base_url]
        + [f"{name}={value}" for name, value in sorted(account.credentials.items())]
    )
    return f"{account.id}:{hashlib.sha256(material.encode()).hexdigest()[:16]}"


class RedisLink:
    def __init__(self, client: Redis, prefix: str, *, pause: float = 1.0) -> None:
        self.client = client
        self.prefix = prefix
        self.pause = pause
        self._paused_until = 0.0
        self._down_since: float | None = None

    def key(self, purpose: str, *parts: str) -> str:
        """`<prefix>:<purpose>:<parts…>`; account ids hold no ':' so segments never blur."""
        return ":".join((self.prefix, purpose, *parts))

    @property
    def down(self) -> bool:
        return self._down_since is not None

    async def run(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """Runs one Redis operation, or raises `StoreDown` (at once while paused)."""
        if time.monotonic() < self._paused_until:
            raise StoreDown
        try:
            result = await operation(self.client)
        except (RedisError, OSError) as error:
            self._failed(error)
            raise StoreDown from None
        if self._down_since is not None:
            outage = time.monotonic() - self._down_since
            self._down_since = None
            log.info("shared store (Redis) is reachable again after %.1f s", outage)
        return result

    def _failed(self, error: BaseException) -> None:
        now = time.monotonic()
        self._paused_until = now + self.pause
        if self._down_since is None:
            self._down_since = now
            log.warning(
                "shared store (Redis) failed (%s); serving without it: per-process rate "
                "budgets, tokens and idempotency keys, no response cache, until it is back",
                type(error).__name__,
            )

    async def aclose(self) -> None:
        await self.client.aclose()


def connect(url: str) -> Redis:
    """A client for `url`; it connects lazily, on first use, in whatever loop uses it."""
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
        # One immediate retry on a fresh connection rides over a restarted server's stale
        # sockets; more would only delay the fallback. Every script is safe to send twice.
        retry=Retry(NoBackoff(), 1),
    )
