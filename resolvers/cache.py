"""A response cache in front of an account's adapter: repeat reads within `ttl` skip the provider.

`CachedProvider` wraps any `Provider` and keeps its protocol. Entries are per account scope
(account id plus a digest of its upstream tenant; never shared between accounts) and per
*generation*: every create or update through the gateway starts a new generation for that
account, so everything it cached before the write is unreachable at once, in every process
sharing the backend, and a read that was in flight during the write can only fill the old
generation. Coarse (one write forgets the account's cached reads), but free of races.

- `list_candidates`: one entry per (query, position, limit).
- `get_candidates` / `applications_for`: one entry per candidate id, so overlapping batches
  share entries; ids the provider did not return are remembered as absent.
- Concurrent identical misses in this process make one upstream call (`SingleFlight`);
  other processes make their own.

Backends (`store.cache`): `MemoryCacheBackend` (this process, objects as they are) and
`store.cache_redis.RedisCacheBackend` (shared, JSON). A backend that cannot be reached
returns no generation, and the wrapper then reads straight through, uncached.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from providers.base import (
    CandidatePage,
    CandidateQuery,
    Position,
    Provider,
)
from providers.model import (
    ApplicationRecord,
    CandidateRecord,
)
from resolvers.forwarding import RenewingWrapper
from store.cache import CacheBackend, Kind, Miss
from store.single_flight import SingleFlight

__all__ = ["CachedProvider"]

Lookup = Callable[[str, str], None]  # (operation, outcome: hit|miss|coalesced|uncached)
V = TypeVar("V")


def _name(*parts: object) -> str:
    """A fixed-length entry name for arguments; JSON first, so ('a', 'b') never equals ('ab',)."""
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


class CachedProvider(RenewingWrapper):
    def __init__(
        self, inner: Provider, scope: str, backend: CacheBackend, lookup: Lookup | None = None
    ) -> None:
        super().__init__(inner, scope, backend)
        self._lookup = lookup or (lambda operation, outcome: None)
        self._flights = SingleFlight()

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        after = None if query.updated_after is None else query.updated_after.isoformat()
        name = _name(query.search, query.job_remote_id, after, position.token, position.skip, limit)
        generation = await self._backend.generation(self._scope)
        if generation is None:
            self._lookup("list_candidates", "uncached")
            return await self._flights.run(
                ("list", name), lambda: self.inner.list_candidates(query, position, limit)
            )
        [found] = await self._backend.read(self._scope, generation, "list", [name])
        if isinstance(found, CandidatePage):
            self._lookup("list_candidates", "hit")
            return found

        async def fetch() -> CandidatePage:
            page = await self.inner.list_candidates(query, position, limit)
            await self._backend.write(self._scope, generation, "list", {name: page})
            return page

        return await self._flight("list_candidates", (generation, "list", name), fetch)

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        found = await self._per_id("get_candidates", "candidate", remote_ids, self._fetch_records)
        return [record for record in found.values() if isinstance(record, CandidateRecord)]

    async def _fetch_records(self, ids: list[str]) -> dict[str, object]:
        records = await self.inner.get_candidates(ids)
        return {i: None for i in ids} | {record.remote_id: record for record in records}

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        found = await self._per_id("applications_for", "applications", remote_ids, self._fetch_apps)
        return {i: list(apps) for i, apps in found.items() if isinstance(apps, list | tuple)}

    async def _fetch_apps(self, ids: list[str]) -> dict[str, object]:
        found = await self.inner.applications_for(ids)
        return {i: [] for i in ids} | dict(found)

    async def _per_id(
        self,
        operation: str,
        kind: Kind,
        remote_ids: Sequence[str],
        fetch: Callable[[list[str]], Awaitable[dict[str, object]]],
    ) -> dict[str, object]:
        """Cached values for the ids (and whatever else the provider answered) by remote id."""
        ids = list(dict.fromkeys(remote_ids))
        generation = await self._backend.generation(self._scope)
        if generation is None:
            self._lookup(operation, "uncached")
            return await self._flights.run((kind, tuple(sorted(ids))), lambda: fetch(ids))
        names = {i: _name(i) for i in ids}
        cached = await self._backend.read(self._scope, generation, kind, list(names.values()))
        answer = {i: v for i, v in zip(ids, cached, strict=True) if v is not Miss.MISS}
        for _ in answer:
            self._lookup(operation, "hit")
        missing = [i for i in ids if i not in answer]
        if not missing:
            return answer

        async def fill() -> dict[str, object]:
            fetched = await fetch(missing)
            entries = {_name(i): value for i, value in fetched.items()}
            await self._backend.write(self._scope, generation, kind, entries)
            return fetched

        key = (generation, kind, tuple(sorted(missing)))
        return answer | await self._flight(operation, key, fill, count=len(missing))

    async def _flight(
        self,
        operation: str,
        key: tuple[object, ...],
        call: Callable[[], Awaitable[V]],
        *,
        count: int = 1,
    ) -> V:
        outcome = "coalesced" if key in self._flights else "miss"
        for _ in range(count):
            self._lookup(operation, outcome)
        return await self._flights.run(key, call)
