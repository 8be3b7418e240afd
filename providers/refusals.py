"""Pipeline methods for an adapter whose provider offers none of them.

The gateway asks an adapter only for what it declares in `capabilities`, so these are reached
only by a caller that skipped that check; they still answer with a typed refusal naming the
account, never an empty list. An adapter overrides what its provider can do and declares the
matching capability.
"""

from __future__ import annotations

from providers.base import ApplicationPage, ApplicationQuery, Position
from providers.errors import Origin, UnsupportedByProvider
from providers.model import (
    ApplicationRecord,
    ApplicationWriteResult,
    NewApplication,
    NoteVisibility,
    NoteWriteResult,
    RejectReason,
)

__all__ = ["RefusesPipeline"]


class RefusesPipeline:
    name: str

    def _context(self) -> Origin:
        raise NotImplementedError

    def _refusal(self, what: str) -> UnsupportedByProvider:
        context = self._context()
        return UnsupportedByProvider(
            f"account {context['account']!r} ({self.name}) cannot {what}", **context
        )

    async def list_applications(
        self, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        raise self._refusal("list applications")

    async def list_reject_reasons(self) -> list[RejectReason]:
        raise self._refusal("list reject reasons")

    async def create_application(self, new: NewApplication) -> ApplicationWriteResult:
        raise self._refusal("create applications")

    async def move_application(
        self, application: ApplicationRecord, stage_remote_id: str
    ) -> ApplicationWriteResult:
        raise self._refusal("move applications")

    async def reject_application(
        self, application: ApplicationRecord, reason_remote_id: str | None, note: str | None
    ) -> ApplicationWriteResult:
        raise self._refusal("reject applications")

    async def unreject_application(self, application: ApplicationRecord) -> ApplicationWriteResult:
        raise self._refusal("unreject applications")

    async def add_note(
        self, candidate_remote_id: str, body: str, visibility: NoteVisibility | None
    ) -> NoteWriteResult:
        raise self._refusal("add notes")
