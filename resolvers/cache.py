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
    ApplicationPage,
    ApplicationQuery,
    CandidatePage,
    CandidateQuery,
    JobPage,
    JobQuery,
    Position,
    Provider,
)
from providers.model import (
    ApplicationRecord,
    ApplicationWriteResult,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    JobRecord,
    NewApplication,
    NoteVisibility,
    NoteWriteResult,
    RejectReason,
    WriteResult,
)
from store.cache import CacheBackend, Kind, Miss
from store.single_flight import SingleFlight

__all__ = ["CachedProvider"]

Lookup = Callable[[str, str], None]  # (operation, outcome: hit|miss|coalesced|uncached)
V = TypeVar("V")


def _name(*parts: object) -> str:
    """A fixed-length entry name for arguments; JSON first, so ('a', 'b') never equals ('ab',)."""
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


class CachedProvider:
    def __init__(
        self, inner: Provider, scope: str, backend: CacheBackend, lookup: Lookup | None = None
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self._scope = scope
        self._backend = backend
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

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage:
        return await self.inner.list_jobs(query, position, limit)  # not cached (yet)

    async def get_jobs(self, remote_ids: Sequence[str]) -> list[JobRecord]:
        return await self.inner.get_jobs(remote_ids)

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

    async def list_applications(
        self, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        return await self.inner.list_applications(query, position, limit)  # not cached (yet)

    async def list_reject_reasons(self) -> list[RejectReason]:
        return await self.inner.list_reject_reasons()

    async def _writing(self, write: Awaitable[V]) -> V:
        try:
            return await write
        finally:  # even a failed write may have happened (an unknown outcome): forget
            await self._backend.renew(self._scope)

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult:
        return await self._writing(self.inner.create_candidate(draft))

    async def update_candidate(self, remote_id: str, patch: CandidatePatch) -> WriteResult:
        return await self._writing(self.inner.update_candidate(remote_id, patch))

    async def create_application(self, new: NewApplication) -> ApplicationWriteResult:
        return await self._writing(self.inner.create_application(new))

    async def move_application(
        self, application: ApplicationRecord, stage_remote_id: str
    ) -> ApplicationWriteResult:
        return await self._writing(self.inner.move_application(application, stage_remote_id))

    async def reject_application(
        self, application: ApplicationRecord, reason_remote_id: str | None, note: str | None
    ) -> ApplicationWriteResult:
        return await self._writing(
            self.inner.reject_application(application, reason_remote_id, note)
        )

    async def unreject_application(self, application: ApplicationRecord) -> ApplicationWriteResult:
        return await self._writing(self.inner.unreject_application(application))

    async def add_note(
        self, candidate_remote_id: str, body: str, visibility: NoteVisibility | None
    ) -> NoteWriteResult:
        return await self._writing(self.inner.add_note(candidate_remote_id, body, visibility))

    async def aclose(self) -> None:
        await self.inner.aclose()
