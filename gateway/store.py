"""Where a gateway keeps state: this process's memory (the default) or Redis, shared by replicas.

`[gateway] store = "redis://…"` (or `store_url_env`) makes every process that names the same
Redis behave as one gateway: idempotency keys, per-account rate budgets, Harvest OAuth tokens,
the response cache, read-ahead pages, registered persisted queries and the change-event bus
live there. One client per process, made here and closed by the app's lifespan; when Redis fails,
each piece falls back to process-local behaviour (`store.redis_link`), except the event bus,
which refuses events it cannot share. In memory mode the response cache (when `cache_ttl` > 0)
and the read-ahead pages are this process's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

from gateway.settings import Settings
from providers.base import AccountConfig, Provider
from providers.upstream.sharing import Sharing
from resolvers.accounts import Accounts
from resolvers.cache import CachedProvider
from resolvers.outcomes import OutcomeCodec
from resolvers.read_ahead import ReadAheadProvider
from store.budget import RedisRateBudget
from store.cache import CacheBackend, MemoryCacheBackend
from store.cache_redis import RedisCacheBackend
from store.documents import DocumentStore, MemoryDocumentStore, per_scope
from store.documents_redis import RedisDocumentStore
from store.events import EventBus, MemoryEventBus
from store.events_redis import RedisEventBus
from store.idempotency import IdempotencyStore, MemoryIdempotencyStore
from store.idempotency_redis import RedisIdempotencyStore
from store.redis_link import RedisLink, account_scope, connect
from store.tokens import RedisTokenCache
from store.write_behind import WriteBehind

__all__ = ["Store", "lookup_counter", "open_store"]

logger = logging.getLogger("gateway.store")

LEASE_MARGIN = 5.0


class Store:
    def __init__(
        self,
        settings: Settings,
        link: RedisLink | None,
        lookups: Counter | None = None,
    ) -> None:
        self.settings = settings
        self.link = link
        self._lookups = lookups
        self.sharing = (
            None
            if link is None
            else Sharing(
                budget=lambda account: RedisRateBudget(link, account),
                tokens=lambda account: RedisTokenCache(link, account),
            )
        )
        self.cache: CacheBackend | None = None
        if settings.cache_ttl > 0:
            self.cache = (
                MemoryCacheBackend(settings.cache_ttl)
                if link is None
                else RedisCacheBackend(link, settings.cache_ttl)
            )
        self.ahead: CacheBackend | None = None
        self.ahead_near: CacheBackend | None = None  # decoded copies of the shared pages
        self.ahead_writes: WriteBehind | None = None  # shared pages are sent after answering
        if settings.read_ahead:
            ttl = settings.read_ahead_ttl
            local = MemoryCacheBackend(ttl, settings.read_ahead_max_pages)
            if link is None:
                self.ahead = local
            else:
                self.ahead_writes = WriteBehind(RedisCacheBackend(link, ttl, space="ahead"))
                self.ahead = self.ahead_writes
                self.ahead_near = local

    @property
    def status(self) -> str:
        if self.link is None:
            return "memory"
        return "redis-unreachable" if self.link.down else "redis"

    def idempotency(self, accounts: Accounts) -> IdempotencyStore:
        ttl = self.settings.idempotency_ttl
        if self.link is None:
            return MemoryIdempotencyStore(ttl)
        # The owner's request cannot outlive its timeout; past the lease it is presumed gone.
        lease = 2 * self.settings.request_timeout + LEASE_MARGIN
        return RedisIdempotencyStore(self.link, OutcomeCodec(accounts), ttl, lease)

    def documents(self) -> DocumentStore:
        """Registered persisted queries: this process's, or every replica's through Redis; each
        client keeps its share of `persisted_queries_max`."""
        settings = self.settings
        limit = per_scope(settings.persisted_queries.max_documents, len(settings.clients))
        if self.link is None:
            return MemoryDocumentStore(limit)
        return RedisDocumentStore(self.link, limit)

    def events(self) -> EventBus:
        """The change-event bus: Redis's stream when the store is Redis (every replica sees
        every event, and reads every replica's event ids, sealed under a key derived from the
        cursor secret they share), else this process's memory."""
        settings = self.settings
        if self.link is None:
            return MemoryEventBus(
                window=settings.event_window,
                max_events=settings.event_window_max,
                dedupe_ttl=settings.event_dedupe_ttl,
                replay_max=settings.event_replay_max,
            )
        return RedisEventBus(
            self.link,
            secret=settings.cursor_secret,
            window=settings.event_window,
            max_events=settings.event_window_max,
            dedupe_ttl=settings.event_dedupe_ttl,
            replay_max=settings.event_replay_max,
        )

    def cached(self, account: AccountConfig, provider: Provider, read_ahead: int = 100) -> Provider:
        """The account's adapter behind the response cache, when the cache is on, and behind
        read-ahead of `read_ahead` rows per listing call, when that is on."""
        scope = account_scope(account)
        if self.cache is not None:
            provider = CachedProvider(provider, scope, self.cache, self._recorder(account))
        if self.ahead is not None:
            provider = ReadAheadProvider(provider, scope, self.ahead, read_ahead, self.ahead_near)
        return provider

    def _recorder(self, account: AccountConfig) -> Callable[[str, str], None] | None:
        counter = self._lookups
        if counter is None:
            return None
        return lambda operation, outcome: counter.labels(account.id, operation, outcome).inc()

    async def aclose(self) -> None:
        if self.ahead_writes is not None:
            await self.ahead_writes.aclose()
        if self.link is not None:
            await self.link.aclose()


def lookup_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "gateway_cache_lookups",
        "Response cache lookups by account, operation and outcome "
        "(hit, miss, coalesced: joined an identical call in flight, uncached: store unreachable)",
        ["account", "operation", "outcome"],
        registry=registry,
    )


def open_store(settings: Settings, registry: CollectorRegistry | None = None) -> Store:
    """The store the settings name; the cache lookup counter goes in `registry` when given."""
    lookups = None if registry is None or settings.cache_ttl <= 0 else lookup_counter(registry)
    if settings.store_url is None:
        return Store(settings, None, lookups)
    if not settings.cursor_secret_configured:
        logger.warning(
            "store is shared through Redis but [gateway] cursor_secret_env is not set: each "
            "process signs cursors and seals event ids with a key of its own, so a cursor or an "
            "eventId from one replica is refused by another; give every replica the same secret"
        )
    return Store(settings, RedisLink(connect(settings.store_url), settings.store_prefix), lookups)
