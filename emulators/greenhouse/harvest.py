"""The emulator's Harvest v3 routes (`/v3`): candidate, application and job lists paged by an
opaque cursor that carries the filters, and candidate create and update."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from starlette.datastructures import QueryParams

from emulators.greenhouse.calls import (
    DIGITS,
    Call,
    Result,
    id_list,
    iso,
    now_ms,
    typed_body_entries,
)
from emulators.greenhouse.errors import HarvestError, unprocessable
from emulators.greenhouse.store import (
    ADDRESS_TYPES,
    EMAIL_TYPES,
    FIRST_STAGE,
    HARVEST_PHONE_TYPES,
    WEBSITE_TYPES,
    GhApplication,
    GhCandidate,
    GhJob,
    GhJobStage,
)

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "date_filter",
    "harvest_application_row",
    "ids_filter",
    "list_page",
    "list_request",
]

MAX_PER_PAGE: Final = 500
DEFAULT_PER_PAGE: Final = 100
_DATE_FILTER = re.compile(r"^(gte|lte|gt|lt)\|(.+)$")


def _encode_cursor(state: Mapping[str, object]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise unprocessable({"cursor": "is invalid"}) from None
    if not isinstance(state, dict) or not isinstance(state.get("f"), dict):
        raise unprocessable({"cursor": "is invalid"})
    return state


@dataclass(frozen=True, slots=True)
class _Listing:
    filters: dict[str, str]
    per_page: int
    after: int


def list_request(query: QueryParams, allowed: frozenset[str]) -> _Listing:
    """The filters, page size and position of a list request, from its params or its cursor."""
    if "cursor" in query:
        if len(query.multi_items()) > 1:
            raise unprocessable("When passing a cursor, do not include other query params.")
        state = _decode_cursor(query["cursor"])
        return _Listing(
            {str(k): str(v) for k, v in state["f"].items()}, int(state["p"]), int(state["a"])
        )
    unknown = sorted(set(query) - allowed - {"per_page"})
    if unknown:
        raise unprocessable(*({name: "is not a permitted parameter"} for name in unknown))
    raw = query.get("per_page", str(DEFAULT_PER_PAGE))
    if not DIGITS.match(raw) or int(raw) < 1:
        raise unprocessable({"per_page": f"`{raw}` must be a positive integer"})
    if int(raw) > MAX_PER_PAGE:
        raise unprocessable({"per_page": f"`{raw}` number is greater than: {MAX_PER_PAGE}"})
    return _Listing({k: v for k, v in query.items() if k != "per_page"}, int(raw), 0)


def list_page(
    call: Call, listing: _Listing, rows: Sequence[Any], render: Callable[[Any], object]
) -> Result:
    """A bare JSON array of the rows after the position; `Link: rel="next"` when more remain."""
    rest = [row for row in rows if row.id > listing.after]
    page = rest[: listing.per_page]
    headers: dict[str, str] = {}
    if len(rest) > len(page):
        cursor = _encode_cursor({"f": listing.filters, "p": listing.per_page, "a": page[-1].id})
        url = call.request.url.replace(query=f"cursor={cursor}")
        headers["Link"] = f'<{url}>; rel="next"'
    return 200, [render(row) for row in page], headers


def ids_filter(filters: Mapping[str, str], name: str) -> set[int] | None:
    if name not in filters:
        return None
    return set(id_list(filters[name], name, lambda m: unprocessable({name: m})))


def date_filter(filters: Mapping[str, str], name: str) -> Callable[[datetime], bool]:
    raw = filters.get(name)
    if raw is None:
        return lambda moment: True
    match = _DATE_FILTER.match(raw)
    try:
        bound = datetime.fromisoformat(match.group(2)) if match else None
    except ValueError:
        bound = None
    if match is None or bound is None:
        raise unprocessable({name: "must look like gte|2024-01-01T00:00:00Z (gte, lte, gt or lt)"})
    bound = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
    compare = {
        "gte": datetime.__ge__,
        "lte": datetime.__le__,
        "gt": datetime.__gt__,
        "lt": datetime.__lt__,
    }
    test = compare[match.group(1)]
    return lambda moment: bool(test(moment, bound))


def _harvest_candidate(candidate: GhCandidate) -> dict[str, object]:
    return {
        "id": candidate.id,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        "preferred_name": None,
        "company": candidate.company,
        "title": candidate.title,
        "created_at": iso(candidate.created_at),
        "updated_at": iso(candidate.updated_at),
        "last_activity_at": iso(candidate.updated_at),
        "private": candidate.private,
        "can_email": candidate.can_email,
        "time_zone": None,
        "addresses": [dict(a) for a in candidate.addresses],
        "email_addresses": [dict(e) for e in candidate.email_addresses],
        "phone_numbers": [dict(p) for p in candidate.phone_numbers],
        "website_addresses": [dict(w) for w in candidate.website_addresses],
        "social_media_addresses": [dict(s) for s in candidate.social_media_addresses],
        "tags": list(candidate.tags),
        "linked_user_ids": [],
        "custom_fields": {},
    }


def harvest_application_row(application: GhApplication) -> dict[str, object]:
    """An application as v3 sends it: flat ids, the plan stage (`job_interview_stage_id`) and its
    name, and `stage_id`, the id of the application's current `/v3/application_stages` row."""
    return {
        "id": application.id,
        "candidate_id": application.candidate_id,
        "job_id": application.job_id,
        "prospect": application.prospect,
        "prospective_job_ids": list(application.prospective_job_ids),
        "job_post_id": None,
        "job_interview_stage_id": application.job_interview_stage_id,
        "stage_id": application.stage_entry,
        "stage_name": application.stage_name,
        "status": application.status,
        "rejected_at": iso(application.rejected_at),
        "rejection_reason_id": application.rejection_reason_id,
        "last_activity_at": iso(application.updated_at),
        "created_at": iso(application.created_at),
        "updated_at": iso(application.updated_at),
        "source_id": application.source_id,
        "referrer_id": None,
        "recruiter_id": None,
        "coordinator_id": None,
        "needs_decision": False,
        "answers": [],
        "custom_fields": {},
    }


_CANDIDATE_FILTERS: Final = frozenset({"ids", "email", "tag", "created_at", "updated_at"})
# fmt: off
_APPLICATION_FILTERS: Final = frozenset({
    "ids", "candidate_ids", "job_ids", "stage_ids", "job_interview_stage_ids", "status",
    "stage_name", "created_at", "updated_at",
})
# fmt: on
_APPLICATION_STATUS_FILTER: Final = {
    "active": "in_process",
    "rejected": "rejected",
    "hired": "hired",
    "converted": "converted",
}


def harvest_candidates(call: Call) -> Result:
    listing = list_request(call.query, _CANDIDATE_FILTERS)
    f = listing.filters
    ids = ids_filter(f, "ids")
    email = f.get("email", "").strip().casefold()
    created, updated = date_filter(f, "created_at"), date_filter(f, "updated_at")
    rows = [
        c
        for c in sorted(call.org.candidates.values(), key=lambda c: c.id)
        if (ids is None or c.id in ids)
        and (not email or any(e["value"].casefold() == email for e in c.email_addresses))
        and ("tag" not in f or f["tag"] in c.tags)
        and created(c.created_at)
        and updated(c.updated_at)
    ]
    return list_page(call, listing, rows, _harvest_candidate)


def harvest_applications(call: Call) -> Result:
    listing = list_request(call.query, _APPLICATION_FILTERS)
    f = listing.filters
    ids, candidates, jobs, entries, stages = (
        ids_filter(f, name)
        for name in ("ids", "candidate_ids", "job_ids", "stage_ids", "job_interview_stage_ids")
    )
    status = f.get("status")
    if status is not None and status not in _APPLICATION_STATUS_FILTER:
        raise unprocessable({"status": f"must be one of {', '.join(_APPLICATION_STATUS_FILTER)}"})
    created, updated = date_filter(f, "created_at"), date_filter(f, "updated_at")
    rows = [
        a
        for a in sorted(call.org.applications.values(), key=lambda a: a.id)
        if (ids is None or a.id in ids)
        and (candidates is None or a.candidate_id in candidates)
        and (jobs is None or a.job_id in jobs)
        and (entries is None or a.stage_entry in entries)
        and (stages is None or a.job_interview_stage_id in stages)
        and ("stage_name" not in f or a.stage_name == f["stage_name"])
        and (status is None or a.status == _APPLICATION_STATUS_FILTER[status])
        and created(a.created_at)
        and updated(a.updated_at)
    ]
    return list_page(call, listing, rows, harvest_application_row)


_JOB_FILTERS: Final = frozenset(
    {"ids", "status", "department_id", "office_id", "created_at", "updated_at"}
)
_JOB_STATUSES: Final = ("open", "draft", "closed")


def _harvest_job(job: GhJob) -> dict[str, object]:
    return {
        "id": job.id,
        "name": job.name,
        "requisition_id": None,
        "status": job.status,
        "confidential": False,
        "is_template": False,
        "copied_from_id": None,
        "department_id": job.department_id,
        "office_ids": list(job.office_ids),
        "opened_at": iso(job.opened_at),
        "closed_at": iso(job.closed_at),
        "created_at": iso(job.created_at),
        "updated_at": iso(job.last_update),
        "notes": None,
        "custom_fields": {},
    }


def _one_id(filters: Mapping[str, str], name: str) -> int | None:
    raw = filters.get(name)
    if raw is not None and not DIGITS.match(raw):
        raise unprocessable({name: "must be an integer"})
    return None if raw is None else int(raw)


def harvest_jobs(call: Call) -> Result:
    """`/v3/jobs`: `ids`, `status`, singular `department_id` / `office_id`, date filters; no
    filter on the name (Harvest v3 documents none)."""
    listing = list_request(call.query, _JOB_FILTERS)
    f = listing.filters
    ids = ids_filter(f, "ids")
    status = f.get("status")
    if status is not None and status not in _JOB_STATUSES:
        raise unprocessable({"status": f"must be one of {', '.join(_JOB_STATUSES)}"})
    department, office = _one_id(f, "department_id"), _one_id(f, "office_id")
    created, updated = date_filter(f, "created_at"), date_filter(f, "updated_at")
    rows = [
        j
        for j in sorted(call.org.jobs.values(), key=lambda j: j.id)
        if (ids is None or j.id in ids)
        and (status is None or j.status == status)
        and (department is None or j.department_id == department)
        and (office is None or office in j.office_ids)
        and created(j.created_at)
        and updated(j.last_update)
    ]
    return list_page(call, listing, rows, _harvest_job)


def harvest_departments(call: Call) -> Result:
    listing = list_request(call.query, frozenset({"ids"}))
    ids = ids_filter(listing.filters, "ids")
    rows = sorted(call.org.departments.values(), key=lambda d: d.id)
    rows = [d for d in rows if ids is None or d.id in ids]
    return list_page(
        call,
        listing,
        rows,
        lambda d: {"id": d.id, "name": d.name, "parent_id": None, "external_id": None},
    )


def harvest_offices(call: Call) -> Result:
    listing = list_request(call.query, frozenset({"ids"}))
    ids = ids_filter(listing.filters, "ids")
    rows = sorted(call.org.offices.values(), key=lambda o: o.id)
    rows = [o for o in rows if ids is None or o.id in ids]
    return list_page(
        call,
        listing,
        rows,
        lambda o: {"id": o.id, "name": o.name, "parent_id": None, "external_id": None},
    )


def harvest_job_interview_stages(call: Call) -> Result:
    """`/v3/job_interview_stages`: every job's plan, or those of `job_ids` (at most 50)."""
    listing = list_request(call.query, frozenset({"ids", "job_ids"}))
    ids, jobs = ids_filter(listing.filters, "ids"), ids_filter(listing.filters, "job_ids")
    rows = [
        s
        for s in sorted(call.org.job_stages.values(), key=lambda s: s.id)
        if (ids is None or s.id in ids) and (jobs is None or s.job_id in jobs)
    ]

    def render(stage: GhJobStage) -> dict[str, object]:
        job = call.org.jobs.get(stage.job_id)
        moment = iso(job.created_at) if job else None
        return {
            "id": stage.id,
            "job_id": stage.job_id,
            "name": stage.name,
            "sort_order": stage.sort_order,
            "active": True,
            "created_at": moment,
            "updated_at": moment,
        }

    return list_page(call, listing, rows, render)


# fmt: off
_WRITABLE: Final = frozenset({
    "first_name", "last_name", "preferred_name", "company", "title", "email_addresses",
    "phone_numbers", "addresses", "website_addresses", "social_media_addresses", "tags",
})
# fmt: on
_CONTACT_TYPES: Final[Mapping[str, Sequence[str] | None]] = {
    "email_addresses": EMAIL_TYPES,
    "phone_numbers": HARVEST_PHONE_TYPES,
    "addresses": ADDRESS_TYPES,
    "website_addresses": WEBSITE_TYPES,
    "social_media_addresses": None,
}


def _harvest_invalid(name: str, message: str) -> HarvestError:
    return unprocessable({name: message})


def _harvest_values(body: object, allowed: frozenset[str], *, creating: bool) -> dict[str, object]:
    """Validated candidate fields of a POST or PATCH body, in storage shape."""
    if not isinstance(body, dict):
        raise HarvestError(400, "Bad Request", ["Request body must be a JSON object"])
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise unprocessable(*({name: "is not a permitted field"} for name in unknown))
    values: dict[str, object] = {}
    for name in ("first_name", "last_name"):
        if name in body or creating:
            value = body.get(name)
            if not isinstance(value, str) or not value.strip():
                raise _harvest_invalid(name, "is required")
            values[name] = value.strip()
    for name in ("company", "title", "preferred_name"):
        if name in body:
            value = body[name]
            if value is not None and not isinstance(value, str):
                raise _harvest_invalid(name, "must be a string or null")
            values[name] = value
    for name, types in _CONTACT_TYPES.items():
        if name in body:
            values[name] = typed_body_entries(body, name, "value", types, _harvest_invalid)
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise _harvest_invalid("tags", "must be an array of tag names")
        values["tags"] = list(dict.fromkeys(tags))
    return values


def harvest_create(call: Call) -> Result:
    org, body = call.org, call.json_body(lambda m: HarvestError(400, "Bad Request", [m]))
    values = _harvest_values(body, _WRITABLE | {"application"}, creating=True)
    raw_application = body.get("application") if isinstance(body, dict) else None
    job_id: int | None = None
    if raw_application is not None:
        job = raw_application.get("job_id") if isinstance(raw_application, dict) else None
        if not isinstance(job, int) or isinstance(job, bool) or job not in org.jobs:
            raise _harvest_invalid("application.job_id", "must be the id of a job")
        job_id = job
    now = now_ms()
    candidate = GhCandidate(
        id=org.next_id(org.candidates, 0),
        first_name="",
        last_name="",
        created_at=now,
        updated_at=now,
    )
    for name, value in values.items():
        setattr(candidate, name, value)
    org.candidates[candidate.id] = candidate
    if job_id is not None:
        application = GhApplication(
            org.next_id(org.applications, 0),
            candidate.id,
            job_id,
            "in_process",
            FIRST_STAGE,
            now,
            now,
        )
        org.add_application(application)
    return 201, _harvest_candidate(candidate), {}


def harvest_update(call: Call) -> Result:
    raw_id = call.request.path_params["candidate_id"]
    candidate = call.org.candidates.get(int(raw_id)) if DIGITS.match(raw_id) else None
    if candidate is None:
        raise HarvestError(404, "Resource not found")
    body = call.json_body(lambda m: HarvestError(400, "Bad Request", [m]))
    values = _harvest_values(body, _WRITABLE | {"is_private", "can_email"}, creating=False)
    if isinstance(body, dict):
        for flag, attribute in (("is_private", "private"), ("can_email", "can_email")):
            if flag in body:
                if not isinstance(body[flag], bool):
                    raise _harvest_invalid(flag, "must be a boolean")
                setattr(candidate, attribute, body[flag])
    for name, value in values.items():
        setattr(candidate, name, value)
    candidate.updated_at = max(now_ms(), candidate.updated_at + timedelta(milliseconds=1))
    return 200, _harvest_candidate(candidate), {}
