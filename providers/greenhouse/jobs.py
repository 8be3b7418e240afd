"""Harvest v3 jobs on the wire: a job row, its interview stages, and the `updated_at` filter.

A v3 job names its department and offices by id only (`department_id`, `office_ids`); the
adapter resolves the names from `/v3/departments` and `/v3/offices`, so mapping takes those maps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from providers.model import JobRecord, JobStage, JobStatus
from providers.wire import text_or_integer

__all__ = [
    "HARVEST_JOB_STATUS",
    "after",
    "harvest_job",
    "harvest_stage",
    "job_reference_ids",
    "updated_after_filter",
]

HARVEST_JOB_STATUS = {
    "open": JobStatus.OPEN,
    "closed": JobStatus.CLOSED,
    "draft": JobStatus.DRAFT,
}
"""Harvest v3's job states (its `status` filter takes exactly these)."""


def _ids(raw: Mapping[str, Any], key: str) -> list[str]:
    value = raw.get(key)
    items = value if isinstance(value, list) else []
    return [text for item in items if (text := text_or_integer({"v": item}, "v"))]


def job_reference_ids(raw: Any) -> tuple[list[str], list[str]]:
    """The department and office ids a job row names."""
    if not isinstance(raw, Mapping):
        return [], []
    department = text_or_integer(raw, "department_id")
    return ([department] if department else []), _ids(raw, "office_ids")


def harvest_stage(raw: Any) -> tuple[str, JobStage] | None:
    """(job id, stage) from one `/v3/job_interview_stages` row; None without both ids."""
    if not isinstance(raw, Mapping):
        return None
    remote_id, job_id = text_or_integer(raw, "id"), text_or_integer(raw, "job_id")
    if remote_id is None or job_id is None:
        return None
    order = raw.get("sort_order")
    return job_id, JobStage(
        remote_id=remote_id,
        name=text_or_integer(raw, "name"),
        order=order if isinstance(order, int) and not isinstance(order, bool) else None,
    )


def harvest_job(
    raw: Any,
    departments: Mapping[str, str],
    offices: Mapping[str, str],
    stages: Mapping[str, Iterable[JobStage]] | None,
) -> JobRecord | None:
    """Maps one Harvest v3 job; None without an id. Ids missing from the name maps are left out;
    `stages` None means they were not read (the record's stages stay None)."""
    remote_id = text_or_integer(raw, "id") if isinstance(raw, Mapping) else None
    if remote_id is None:
        return None
    department_ids, office_ids = job_reference_ids(raw)
    status = text_or_integer(raw, "status")
    found = None
    if stages is not None:
        found = tuple(
            sorted(stages.get(remote_id, ()), key=lambda s: (s.order is None, s.order or 0))
        )
    return JobRecord(
        remote_id=remote_id,
        name=text_or_integer(raw, "name"),
        status=HARVEST_JOB_STATUS.get((status or "").lower(), JobStatus.OTHER),
        raw_status=status,
        departments=tuple(departments[i] for i in department_ids if i in departments),
        offices=tuple(offices[i] for i in office_ids if i in offices),
        created_at=text_or_integer(raw, "created_at"),
        updated_at=text_or_integer(raw, "updated_at"),
        opened_at=text_or_integer(raw, "opened_at"),
        closed_at=text_or_integer(raw, "closed_at"),
        stages=found,
        remote_data=dict(raw),
    )


def updated_after_filter(moment: datetime) -> str:
    """Harvest v3's pipe filter for "updated strictly after": `gt|<ISO 8601 in UTC>`."""
    text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return f"gt|{text}"


def after(updated_at: str | None, moment: datetime | None) -> bool:
    """Whether a row's `updated_at` is strictly after `moment`; a row whose time cannot be read
    is kept, since Harvest already filtered it."""
    if moment is None or updated_at is None:
        return True
    try:
        when = datetime.fromisoformat(updated_at)
    except ValueError:
        return True
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when > moment
