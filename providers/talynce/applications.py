"""Talynce applications (`candidate_jobs` rows): their wire mapping and the filters kept here.

Talynce has no applications resource. A candidate's rows come only with `GET /candidates/{id}`
(`applications[]`), and a candidate update's `application {job_id, status, notes}` creates the
row for that job or, when the candidate has one there, changes it: a row is addressed by its
candidate and job, so a candidate has at most one per job. An application's `status` is one of
the org's pipeline statuses and is its stage too (the stage id is the status name, as the job's
`pipeline_statuses[]` lists it). Documented fields are read; `status_date` ("entered current
status") is the rejection time of a rejected row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from providers.base import ApplicationQuery
from providers.model import ApplicationRecord, ApplicationStatus, JobRef
from providers.wire import instant, text, text_or_integer

__all__ = [
    "CREATE_INPUTS",
    "MOVE_INPUTS",
    "application_record",
    "application_records",
    "application_status",
    "keeper",
    "locally_filtered",
    "updated_after",
]

HIRED = frozenset({"hired", "joined"})
REJECTED = frozenset({"rejected"})
ACTIVE = frozenset(
    {"applied", "sourced", "screening", "shortlisted", "interview", "interviewing", "offered"}
)

# Talynce's field names in an application write → the action's input field names.
CREATE_INPUTS = {
    "application": ("job_id",),
    "application.job_id": ("job_id",),
    "application.status": ("stage_id",),
}
MOVE_INPUTS = {
    "application": ("id",),
    "application.job_id": ("id",),  # the job the application is on, not the client's input
    "application.status": ("stage_id",),
}


def application_status(raw: str | None) -> ApplicationStatus:
    key = (raw or "").strip().lower()
    if key in HIRED:
        return ApplicationStatus.HIRED
    if key in REJECTED:
        return ApplicationStatus.REJECTED
    if key in ACTIVE:
        return ApplicationStatus.ACTIVE
    return ApplicationStatus.OTHER


def application_record(raw: Mapping[str, Any], candidate_id: str) -> ApplicationRecord:
    status = text(raw, "status")
    job_id = text(raw, "job_id")
    kind = application_status(status)
    return ApplicationRecord(
        remote_id=str(raw.get("id")),
        candidate_remote_id=text(raw, "candidate_id") or candidate_id,
        job=JobRef(remote_id=job_id) if job_id else None,
        status=kind,
        raw_status=status,
        stage=status,
        stage_id=status,
        applied_at=text(raw, "created_at"),
        notes=text(raw, "notes"),
        created_at=text(raw, "created_at"),
        updated_at=text(raw, "updated_at"),
        rejected_at=text(raw, "status_date") if kind is ApplicationStatus.REJECTED else None,
        remote_data=dict(raw),
    )


def application_records(raw: Any, candidate_id: str) -> tuple[ApplicationRecord, ...] | None:
    """A candidate's `applications[]`; None when the answer carried no list at all."""
    if not isinstance(raw, list):
        return None
    return tuple(
        application_record(a, candidate_id)
        for a in raw
        if isinstance(a, Mapping) and text_or_integer(a, "id") is not None
    )


def updated_after(value: str | None, after: datetime) -> bool:
    """Whether a row's `updated_at` is strictly after `after`; an unreadable one is not."""
    moment = instant(value)
    bound = after if after.tzinfo is not None else after.replace(tzinfo=UTC)
    return moment is not None and moment > bound


def locally_filtered(query: ApplicationQuery) -> bool:
    """Whether a filter besides the candidate and job the rows were read by must be applied
    here: Talynce filters applications by none of them."""
    return (query.status, query.stage_remote_id, query.updated_after) != (None, None, None)


def keeper(query: ApplicationQuery) -> Callable[[ApplicationRecord], bool]:
    """Whether a row holds every filter of `query`. A stage compares without case, as Talynce
    matches a status against its pipeline."""
    stage = query.stage_remote_id.casefold() if query.stage_remote_id is not None else None

    def keep(row: ApplicationRecord) -> bool:
        if query.candidate_remote_id is not None and (
            row.candidate_remote_id != query.candidate_remote_id
        ):
            return False
        if query.job_remote_id is not None and (
            row.job is None or row.job.remote_id != query.job_remote_id
        ):
            return False
        if query.status is not None and row.status != query.status:
            return False
        if stage is not None and (row.stage_id or "").casefold() != stage:
            return False
        after = query.updated_after
        return after is None or updated_after(row.updated_at, after)

    return keep
