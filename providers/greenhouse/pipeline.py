"""Harvest v3's hiring pipeline for the adapter: applications listed with every filter pushed
down, rejection reasons, and the actions (create, move, reject, unreject, note).

Applications carry ids only: the reject reason's and the source's names come from
`/v3/rejection_reasons` and `/v3/sources` (read once a minute per adapter, and only when a row
names one), and a row without `stage_name` gets it from `/v3/job_interview_stages?ids=` (per 50
stages). An action answered 204 without a body is read back with `GET /v3/applications?ids=`;
that read is no write, and each action is sent once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from providers.base import ApplicationPage, ApplicationQuery, Position
from providers.errors import FieldProblem, NotFound, Origin, ProviderError, Rejected
from providers.greenhouse.actions import (
    CREATE,
    MOVE,
    NOTE,
    REJECT,
    STATUS_FILTER,
    UNREJECT,
    VISIBILITY_WRITE,
    Refusals,
    harvest_note,
    harvest_reject_reason,
)
from providers.greenhouse.jobs import after, harvest_stage, updated_after_filter
from providers.greenhouse.mapping import DIGITS, harvest_application, id_chunks
from providers.model import (
    ApplicationRecord,
    ApplicationWriteResult,
    NewApplication,
    NoteVisibility,
    NoteWriteResult,
    RejectReason,
)
from providers.rows import gaps_after, kept, read_rows
from providers.upstream.http import path
from providers.wire import text_or_integer

if TYPE_CHECKING:
    from providers.upstream.http import Upstream
    from providers.upstream.transport import Reply

__all__ = ["HarvestPipeline"]

MAX_PER_PAGE = 500


class HarvestPipeline:
    """The pipeline half of `GreenhouseHarvestAdapter`, which provides the calls used here."""

    if TYPE_CHECKING:
        upstream: Upstream
        page_size: int

        def _context(self) -> Origin: ...

        async def _send(
            self, method: str, url: str, params: Mapping[str, str | int] | None, json: Any
        ) -> Reply: ...

        def _error(
            self, status: int, body: Any, *, write: bool, one: str | None = None
        ) -> ProviderError: ...

        async def _page(
            self, resource: str, params: Mapping[str, str | int]
        ) -> tuple[list[Any], str | None]: ...

        async def _all_pages(self, resource: str, params: Mapping[str, str | int]) -> list[Any]: ...

        async def _names_of(self, resource: str) -> dict[str, str]: ...

    # --- reading ----------------------------------------------------------------------------

    async def _applications(self, rows: Sequence[Any]) -> list[ApplicationRecord]:
        """Rows mapped, with stage, reason and source names read in a few batched calls."""
        records = [harvest_application(row) for row in rows]
        if None in records:
            raise self.upstream.bad_response("an application without ids")
        found = [record for record in records if record is not None]
        unnamed = [a.stage_id for a in found if a.stage_id and not a.stage]
        stages, reasons, sources = await asyncio.gather(
            self._stage_names(unnamed),
            self._names_of("rejection_reasons") if any(a.reject_reason for a in found) else _none(),
            self._names_of("sources") if any(_source_id(row) for row in rows) else _none(),
        )
        return [
            dataclasses.replace(
                record,
                stage=record.stage or stages.get(record.stage_id or ""),
                reject_reason=_named(record.reject_reason, reasons),
                source=sources.get(_source_id(row) or ""),
            )
            for record, row in zip(found, rows, strict=True)
        ]

    async def _stage_names(self, stage_ids: Sequence[str]) -> dict[str, str]:
        """Names of interview stages by id: `job_interview_stages?ids=` per 50, concurrently."""
        pages = await asyncio.gather(
            *(
                self._all_pages("job_interview_stages", {"ids": ",".join(c), "per_page": len(c)})
                for c in id_chunks(stage_ids)
            )
        )
        names: dict[str, str] = {}
        for row in (row for page in pages for row in page):
            stage = harvest_stage(row)
            if stage is not None and stage[1].name:
                names[stage[1].remote_id] = stage[1].name
        return names

    async def list_applications(
        self, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        """One `/v3/applications` page per call; every filter goes upstream (the job's interview
        stage as `job_interview_stage_ids`, since `stage_ids` names application-stage rows)."""
        wanted = (query.job_remote_id, query.candidate_remote_id, query.stage_remote_id)
        if any(i is not None and not DIGITS.match(i) for i in wanted):
            return ApplicationPage((), position, None)  # Harvest ids are numbers
        params: dict[str, str | int]
        if position.token is not None:
            params = {"cursor": position.token}
        else:
            params = {"per_page": min(MAX_PER_PAGE, max(self.page_size, limit + position.skip))}
            for name, value in (
                ("job_ids", query.job_remote_id),
                ("candidate_ids", query.candidate_remote_id),
                ("job_interview_stage_ids", query.stage_remote_id),
                ("status", query.status and STATUS_FILTER[query.status]),
            ):
                if value is not None:
                    params[name] = value
            if query.updated_after is not None:
                params["updated_at"] = updated_after_filter(query.updated_after)
        rows, cursor = await self._page("applications", params)
        readable, gaps = read_rows(rows, _readable)
        # Harvest filtered on `gt|`; this only drops a row its own clock put at the bound.
        readable, gaps = kept(
            readable, gaps, lambda row: after(_updated_at(row), query.updated_after)
        )
        records = await self._applications(readable[position.skip :])
        gaps = gaps_after(gaps, position.skip)
        return ApplicationPage(tuple(records), position, cursor, gaps=gaps)

    async def list_reject_reasons(self) -> list[RejectReason]:
        """Every `/v3/rejection_reasons` row, Greenhouse's default reasons included."""
        rows = await self._all_pages(
            "rejection_reasons", {"include_defaults": "true", "per_page": MAX_PER_PAGE}
        )
        reasons = [harvest_reject_reason(row) for row in rows]
        if None in reasons:
            raise self.upstream.bad_response("a rejection reason without an id")
        return [reason for reason in reasons if reason is not None]

    async def _application(self, remote_id: str) -> ApplicationRecord:
        rows = await self._all_pages("applications", {"ids": remote_id, "per_page": 1})
        found = [
            row for row in rows if isinstance(row, Mapping) and str(row.get("id")) == remote_id
        ]
        if not found:
            raise self.upstream.bad_response("no application on reading back the one just written")
        [record] = await self._applications(found[:1])
        return record

    # --- writing ----------------------------------------------------------------------------

    async def _act(
        self, url: str, body: Mapping[str, Any] | None, refusals: Refusals, *, one: str | None
    ) -> Any:
        """Sends one action POST once; its JSON answer, or None for an answer without a body."""
        response = await self._send("POST", url, None, body)
        if response.status_code in (400, 422):
            raise Rejected(refusals.problems(_json_or_none(self, response)), **self._context())
        if response.status_code >= 400:
            raise self._error(response.status_code, None, write=True, one=one)
        if response.status_code == 204 or not response.content:
            return None
        return self.upstream.json(response)

    async def _written(self, answer: Any, remote_id: str) -> ApplicationWriteResult:
        if isinstance(answer, Mapping) and answer.get("id") is not None:
            [record] = await self._applications([answer])
        else:
            record = await self._application(remote_id)
        return ApplicationWriteResult(record, created=False)

    def _refuse(self, code: str, message: str, *field: str) -> Rejected:
        return Rejected([FieldProblem(code, message, field)], **self._context())

    def _number(self, value: str, field: str, what: str) -> int:
        if not DIGITS.match(value):
            raise self._refuse("NOT_FOUND", f"no such {what} in this account", field)
        return int(value)

    def _target(self, application: ApplicationRecord) -> str:
        if not DIGITS.match(application.remote_id):
            raise NotFound("Greenhouse found no such application", **self._context())
        return application.remote_id

    async def _source_id(self, source: str) -> int:
        """The id of a source named by id or (case-insensitively) by name."""
        names = await self._names_of("sources")
        wanted = source.strip().casefold()
        for remote_id, name in names.items():
            if wanted in (remote_id, name.casefold()):
                return int(remote_id)
        raise self._refuse("NOT_FOUND", "no such source in this Greenhouse account", "source")

    async def create_application(self, new: NewApplication) -> ApplicationWriteResult:
        """`POST /v3/applications`; a stage other than the job's first goes as `initial_stage_id`,
        a source (id or name) as `source_id`."""
        body: dict[str, Any] = {
            "candidate_id": self._number(new.candidate_remote_id, "candidate_id", "candidate"),
            "job_id": self._number(new.job_remote_id, "job_id", "job"),
        }
        if new.stage_remote_id is not None:
            body["initial_stage_id"] = self._number(new.stage_remote_id, "stage_id", "stage")
        if new.source is not None and new.source.strip():
            body["source_id"] = await self._source_id(new.source)
        answer = await self._act("applications", body, CREATE, one=None)
        if not isinstance(answer, Mapping):
            raise self.upstream.bad_response("a created application without a body")
        [record] = await self._applications([answer])
        return ApplicationWriteResult(record, created=True)

    async def move_application(
        self, application: ApplicationRecord, stage_remote_id: str
    ) -> ApplicationWriteResult:
        """`POST /v3/applications/{id}/move` with `to_stage_id`: a stage of another job is
        refused by Greenhouse (INVALID_STAGE)."""
        remote_id = self._target(application)
        body = {"to_stage_id": self._number(stage_remote_id, "stage_id", "stage")}
        url = path("applications", remote_id, "move")
        return await self._written(await self._act(url, body, MOVE, one="application"), remote_id)

    async def reject_application(
        self, application: ApplicationRecord, reason_remote_id: str | None, note: str | None
    ) -> ApplicationWriteResult:
        """`POST /v3/applications/{id}/reject`: Greenhouse requires a reason; a note goes along."""
        remote_id = self._target(application)
        if reason_remote_id is None:
            raise self._refuse("REQUIRED", "Greenhouse needs a reject reason", "reason_id")
        body: dict[str, Any] = {
            "rejection_reason_id": self._number(reason_remote_id, "reason_id", "reject reason")
        }
        if note is not None and note.strip():
            body["notes"] = note
        url = path("applications", remote_id, "reject")
        answer = await self._act(url, body, REJECT, one="application")
        return await self._written(answer, remote_id)

    async def unreject_application(self, application: ApplicationRecord) -> ApplicationWriteResult:
        """`POST /v3/applications/{id}/unreject`; refused unless the application is rejected."""
        remote_id = self._target(application)
        url = path("applications", remote_id, "unreject")
        return await self._written(
            await self._act(url, None, UNREJECT, one="application"), remote_id
        )

    async def add_note(
        self, candidate_remote_id: str, body: str, visibility: NoteVisibility | None
    ) -> NoteWriteResult:
        """`POST /v3/notes`, a plain note; without a visibility Greenhouse's default applies."""
        if not body.strip():
            raise self._refuse("REQUIRED", "a note needs a body", "body")
        payload: dict[str, Any] = {
            "candidate_id": self._number(candidate_remote_id, "candidate_id", "candidate"),
            "body": body,
            "note_type": "NOTE",
        }
        if visibility is not None:
            payload["visibility"] = VISIBILITY_WRITE[visibility]
        answer = await self._act("notes", payload, NOTE, one=None)
        note = harvest_note(answer)
        if note is None:
            raise self.upstream.bad_response("a note that is not one")
        return NoteWriteResult(note, created=True)


def _named(reason: RejectReason | None, names: Mapping[str, str]) -> RejectReason | None:
    return reason and RejectReason(reason.remote_id, names.get(reason.remote_id))


def _updated_at(row: Any) -> str | None:
    return text_or_integer(row, "updated_at") if isinstance(row, Mapping) else None


def _readable(row: Any) -> Any:
    """The row itself when it maps to an application; None (left out of a listing) otherwise."""
    return row if harvest_application(row) is not None else None


def _source_id(row: Any) -> str | None:
    value = row.get("source_id") if isinstance(row, Mapping) else None
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _json_or_none(owner: HarvestPipeline, response: Reply) -> Any:
    try:
        return owner.upstream.json(response)
    except ProviderError:
        return None


async def _none() -> dict[str, str]:
    return {}
