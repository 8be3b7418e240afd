"""The part every adapter wrapper kept in a store shares: reads pass through, and every write
starts a new generation of the account's stored entries.

`CachedProvider` (response cache) and `ReadAheadProvider` (kept listing pages) override the reads
they keep; a write through either forgets everything the account's scope holds, in every process
sharing the backend, even when the write failed (its outcome may be unknown).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
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
from store.cache import CacheBackend

__all__ = ["RenewingWrapper"]

V = TypeVar("V")


class RenewingWrapper:
    def __init__(self, inner: Provider, scope: str, backend: CacheBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self._scope = scope
        self._backend = backend

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        return await self.inner.list_candidates(query, position, limit)

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage:
        return await self.inner.list_jobs(query, position, limit)

    async def list_applications(
        self, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        return await self.inner.list_applications(query, position, limit)

    async def get_jobs(self, remote_ids: Sequence[str]) -> list[JobRecord]:
        return await self.inner.get_jobs(remote_ids)

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        return await self.inner.get_candidates(remote_ids)

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        return await self.inner.applications_for(remote_ids)

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
