"""The response cache's storage, behind one protocol: this process's memory or Redis.

`CacheBackend` is what `resolvers.cache.CachedProvider` reads and writes; `MemoryCacheBackend`
(here) keeps objects as they are, `store.cache_redis.RedisCacheBackend` keeps JSON shared by
every process. Entries live in a scope's *generation*; renewing it forgets the scope at once.
"""

from __future__ import annotations

import enum
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

__all__ = ["CacheBackend", "Kind", "MemoryCacheBackend", "Miss"]

Kind = Literal["list", "candidate", "applications", "ahead"]
"""`ahead`: a listing page read ahead (`resolvers.read_ahead`), its rows kept for later pages."""


class Miss(enum.Enum):
    MISS = "MISS"


class CacheBackend(Protocol):
    async def generation(self, scope: str) -> str | None:
        """The scope's current generation; None when the backend cannot be used now."""
        ...

    async def renew(self, scope: str) -> None:
        """Starts a new generation: every entry of the scope is forgotten."""
        ...

    async def read(
        self, scope: str, generation: str, kind: Kind, names: Sequence[str]
    ) -> list[object]:
        """One value per name, `Miss.MISS` where there is none."""
        ...

    async def write(
        self, scope: str, generation: str, kind: Kind, entries: Mapping[str, object]
    ) -> None: ...


class MemoryCacheBackend:
    """This process's cache: objects kept as they are (records are frozen), LRU-bounded by
    `max_entries`, each entry kept for `ttl` seconds."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str, str, str], tuple[float, object]] = OrderedDict()
        self._generations: dict[str, int] = {}

    async def generation(self, scope: str) -> str | None:
        return str(self._generations.get(scope, 0))

    async def renew(self, scope: str) -> None:
        self._generations[scope] = self._generations.get(scope, 0) + 1

    async def read(
        self, scope: str, generation: str, kind: Kind, names: Sequence[str]
    ) -> list[object]:
        now = time.monotonic()
        found: list[object] = []
        for name in names:
            key = (scope, generation, kind, name)
            entry = self._entries.get(key)
            if entry is None or entry[0] <= now:
                self._entries.pop(key, None)
                found.append(Miss.MISS)
            else:
                self._entries.move_to_end(key)
                found.append(entry[1])
        return found

    async def write(
        self, scope: str, generation: str, kind: Kind, entries: Mapping[str, object]
    ) -> None:
        expires = time.monotonic() + self.ttl
        for name, value in entries.items():
            key = (scope, generation, kind, name)
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
