"""An in-process emulator of Talynce's candidate REST API (``/api/v1``).

The gateway's Talynce adapter is tested and demonstrated against this over real HTTP, so it
follows the vendor's wire contract (envelopes, error codes, paging, talent-pool masking,
dedup by email) and adds knobs for latency, rate limiting and outages.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from emulators import Demo, DemoAccount
from emulators.base import ALL_METHODS, RequestLog, parse_json, run_standalone
from emulators.faults import (
    AfterServing,
    FaultProfile,
    RateLimiter,
    Reshaped,
    fault_admin_route,
    repeat_first_row,
    without_ids,
)
from emulators.seed import (
    PIPELINE_STATUSES,
    Application,
    Candidate,
    Job,
    seed_organization,
)

__all__ = [
    "LOCKED_FIELDS",
    "ApiError",
    "RecordedRequest",
    "TalynceEmulator",
    "TalynceOrg",
    "demo_emulator",
    "main",
]

_log = logging.getLogger(__name__)

LOCKED_FIELDS: Final = frozenset(
    {"email", "phone_number", "whatsapp_number", "current_ctc", "expected_ctc"}
)
"""Fields a masked (talent pool) candidate hides and refuses to update."""

_MAX_LIMIT: Final = 100
_DEFAULT_LIMIT: Final = 50
_EMAIL_RE: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIGITS_RE: Final = re.compile(r"[0-9]+")


class ApiError(Exception):
    """A Talynce error response, raised from anywhere in request handling."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def response(self) -> JSONResponse:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = dict(self.details)
        return JSONResponse({"error": error}, status_code=self.status, headers=self.headers)


def _invalid(field_name: str, message: str) -> ApiError:
    return ApiError(400, "validation_error", message, {"field": field_name})


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator saw it, for tests that assert on traffic and timing."""

    org: str | None
    method: str
    path: str
    query: dict[str, str]
    body: object | None
    status: int
    started: float
    finished: float


@dataclass
class TalynceOrg:
    """One tenant: its data, its pipeline, and the failure knobs tests turn."""

    name: str
    api_key: str
    latency: float = 0.0
    rate_limit: tuple[int, float] | None = None
    outage: bool = False
    faults: FaultProfile = field(default_factory=FaultProfile)
    organization_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    pipeline: tuple[str, ...] = PIPELINE_STATUSES
    jobs: list[Job] = field(default_factory=list)
    candidates: dict[str, Candidate] = field(default_factory=dict)
    _limiter: RateLimiter = field(
        default_factory=RateLimiter, init=False, repr=False, compare=False
    )

    @classmethod
    def seeded(
        cls,
        name: str,
        api_key: str,
        *,
        candidates: int = 100,
        jobs: int = 5,
        masked: int = 5,
        seed: int = 0,
    ) -> TalynceOrg:
        """An org filled with deterministic data; timestamps fall in the year before today."""
        anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        data = seed_organization(
            random.Random(seed), anchor=anchor, candidates=candidates, jobs=jobs, masked=masked
        )
        return cls(
            name=name,
            api_key=api_key,
            organization_id=data.organization_id,
            jobs=list(data.jobs),
            candidates={c.id: c for c in data.candidates},
        )

    def masked_ids(self) -> list[str]:
        """Ids of talent-pool masked candidates, in list order."""
        return [c.id for c in self.ordered_candidates() if c.talent_pool_status == "masked"]

    def ordered_candidates(self) -> list[Candidate]:
        return sorted(self.candidates.values(), key=lambda c: (c.created_at, c.id))

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)

    def find_by_email(self, email: str) -> Candidate | None:
        wanted = email.casefold()
        return next((c for c in self.candidates.values() if c.email.casefold() == wanted), None)

    def admit(self, now: float) -> int | None:
        """Count a request against the rate limit; the Retry-After seconds if it is over."""
        return self._limiter.admit(self.rate_limit, now)


@dataclass(frozen=True, slots=True)
class _Call:
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    body: object | None
    body_is_json: bool

    def json_object(self) -> dict[str, object]:
        if not self.body_is_json or not isinstance(self.body, dict):
            raise _invalid("body", "Request body must be a JSON object")
        return self.body


_Result = tuple[int, dict[str, object]]
_Handler = Callable[[TalynceOrg, _Call], _Result]


class TalynceEmulator(RequestLog[RecordedRequest]):
    """Serves several Talynce tenants from one ASGI app, keyed by API key."""

    def __init__(self, orgs: Iterable[TalynceOrg]) -> None:
        self.orgs: dict[str, TalynceOrg] = {}
        for org in orgs:
            if org.api_key in self.orgs:
                raise ValueError(f"duplicate Talynce API key for org {org.name!r}")
            self.orgs[org.api_key] = org
        super().__init__()
        self.app = Starlette(
            routes=[
                self._route("/api/v1/candidates", GET=_list_candidates, POST=_create_candidate),
                self._route(
                    "/api/v1/candidates/{candidate_id}",
                    GET=_get_candidate,
                    PATCH=_update_candidate,
                    PUT=_update_candidate,
                ),
                self._route("/api/v1/jobs", GET=_list_jobs),
                self._route("/api/v1/jobs/{job_id}", GET=_get_job),
                fault_admin_route(self.orgs.values),
                self._route("/{path:path}"),
            ]
        )

    def _route(self, path: str, **handlers: _Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, handlers)

        return Route(path, endpoint, methods=ALL_METHODS)

    async def _serve(self, request: Request, handlers: Mapping[str, _Handler]) -> Response:
        started = time.monotonic()
        raw = await request.body()
        body, body_is_json = parse_json(raw, _reject_constant)
        org = self._authenticate(request)
        try:
            response = await self._answer(request, org, handlers, body, body_is_json)
        except ApiError as exc:
            response = exc.response()
        except Exception:
            _log.exception("Talynce emulator failed on %s %s", request.method, request.url.path)
            response = ApiError(500, "internal_error", "An unexpected error occurred").response()
        record = RecordedRequest(
            org=org.name if org else None,
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            body=body if body_is_json else None,
            status=response.status_code,
            started=started,
            finished=time.monotonic(),
        )
        bisect.insort(self.requests, record, key=lambda r: r.started)
        return response

    def _authenticate(self, request: Request) -> TalynceOrg | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.orgs.get(token.strip())

    async def _answer(
        self,
        request: Request,
        org: TalynceOrg | None,
        handlers: Mapping[str, _Handler],
        body: object | None,
        body_is_json: bool,
    ) -> Response:
        if org is None:
            raise ApiError(401, "unauthorized", "Missing or invalid API key")
        faulted = await org.faults.apply()
        huge = faulted.rows if isinstance(faulted, Reshaped) and faulted.kind == "huge_rows" else 0
        if faulted is not None and not huge and not isinstance(faulted, AfterServing):
            return faulted
        retry_after = None if org.outage else org.admit(time.monotonic())
        if org.latency > 0:
            await asyncio.sleep(org.latency)
        if org.outage:
            raise ApiError(503, "internal_error", "Service temporarily unavailable")
        if retry_after is not None:
            raise ApiError(
                429,
                "rate_limit_exceeded",
                "Too many requests",
                headers={"Retry-After": str(retry_after)},
            )
        if not handlers:
            raise ApiError(404, "not_found", "Resource not found")
        handler = handlers.get(request.method)
        if handler is None:
            raise ApiError(
                405,
                "method_not_allowed",
                f"Method {request.method} is not allowed here",
                headers={"Allow": ", ".join(sorted(handlers))},
            )
        call = _Call(request.path_params, request.query_params, body, body_is_json)
        status, payload = handler(org, call)
        if isinstance(faulted, AfterServing):
            return faulted  # served (a write stored), and then its answer is lost
        if huge and isinstance(payload, dict):
            payload["data"] = repeat_first_row(payload.get("data"), huge)
        if isinstance(payload, dict) and "data" in payload:
            payload["data"] = without_ids(payload.get("data"), org.faults.idless)
        return JSONResponse(payload, status_code=status)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _list_candidates(org: TalynceOrg, call: _Call) -> _Result:
    limit, offset = _paging(call.query)
    search = call.query.get("search", "").strip().casefold()
    job_id = call.query.get("job_id", "").strip()
    rows = org.ordered_candidates()
    if search:
        rows = [c for c in rows if _matches(c, search)]
    if job_id:
        rows = [c for c in rows if any(a.job_id == job_id for a in c.applications)]
    page = rows[offset : offset + limit]
    return 200, {
        "data": [_candidate_json(c, with_applications=False) for c in page],
        "meta": {"total": len(rows), "limit": limit, "offset": offset},
    }


def _get_candidate(org: TalynceOrg, call: _Call) -> _Result:
    return 200, {"data": _candidate_json(_candidate_or_404(org, call))}


def _create_candidate(org: TalynceOrg, call: _Call) -> _Result:
    body = call.json_object()
    values = _validated_fields(body, required=("full_name", "email"))
    application = _validated_application(org, body)
    now = _now()
    existing = org.find_by_email(str(values["email"]))
    if existing is not None:
        if application is not None:
            _apply_application(org, existing, application, now, update_existing=False)
        return 200, {"data": _candidate_json(existing)}
    candidate = Candidate(
        id=str(uuid.uuid4()), full_name="", email="", created_at=now, updated_at=now
    )
    _assign(candidate, values)
    if candidate.source is None:
        candidate.source = "api"
    if application is not None:
        _apply_application(org, candidate, application, now, update_existing=False)
    org.candidates[candidate.id] = candidate
    return 201, {"data": _candidate_json(candidate)}


def _update_candidate(org: TalynceOrg, call: _Call) -> _Result:
    candidate = _candidate_or_404(org, call)
    body = call.json_object()
    touched = sorted(LOCKED_FIELDS.intersection(body))
    if candidate.talent_pool_status == "masked" and touched:
        raise ApiError(
            403,
            "talent_pool_reveal_required",
            "Reveal this talent pool candidate before changing contact or CTC fields",
            {"fields": touched},
        )
    values = _validated_fields(body)
    application = _validated_application(org, body)
    email = values.get("email")
    if isinstance(email, str):
        owner = org.find_by_email(email)
        if owner is not None and owner.id != candidate.id:
            raise _invalid("email", "email is already used by another candidate")
    now = _now()
    _assign(candidate, values)
    if application is not None:
        _apply_application(org, candidate, application, now, update_existing=True)
    candidate.updated_at = max(now, candidate.updated_at + timedelta(milliseconds=1))
    return 200, {"data": _candidate_json(candidate)}


def _list_jobs(org: TalynceOrg, call: _Call) -> _Result:
    """Jobs on the candidates list's conventions (`limit`, `offset`, `search` on the title):
    the vendor names the resource but documents none of its parameters or fields."""
    limit, offset = _paging(call.query)
    search = call.query.get("search", "").strip().casefold()
    rows = sorted(org.jobs, key=lambda j: (j.created_at, j.id))
    if search:
        rows = [j for j in rows if search in j.title.casefold()]
    return 200, {
        "data": [_job_json(org, j) for j in rows[offset : offset + limit]],
        "meta": {"total": len(rows), "limit": limit, "offset": offset},
    }


def _get_job(org: TalynceOrg, call: _Call) -> _Result:
    job = org.job(call.path_params["job_id"])
    if job is None:
        raise ApiError(404, "not_found", "Job not found")
    return 200, {"data": _job_json(org, job)}


def _job_json(org: TalynceOrg, job: Job) -> dict[str, object]:
    """A job with the org's pipeline statuses: an application's `status` is one of them, for
    whichever job it is on (Talynce validates it against the org's settings)."""
    return {
        "id": job.id,
        "title": job.title,
        "status": job.status,
        "department": job.department,
        "locations": list(job.locations),
        "pipeline_statuses": list(org.pipeline),
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at or job.created_at),
        "opened_at": _iso(job.opened_at),
        "closed_at": _iso(job.closed_at),
    }


def _candidate_or_404(org: TalynceOrg, call: _Call) -> Candidate:
    candidate = org.candidates.get(call.path_params["candidate_id"])
    if candidate is None:
        raise ApiError(404, "not_found", "Candidate not found")
    return candidate


def _paging(query: Mapping[str, str]) -> tuple[int, int]:
    limit = _query_int(query, "limit", _DEFAULT_LIMIT, 1, _MAX_LIMIT)
    offset = _query_int(query, "offset", 0, 0, None)
    return limit, offset


def _query_int(
    query: Mapping[str, str], name: str, default: int, low: int, high: int | None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not _DIGITS_RE.fullmatch(raw) or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _invalid(name, f"{name} must be an integer {bounds}")
    return int(raw)


def _matches(candidate: Candidate, needle: str) -> bool:
    if needle in candidate.full_name.casefold():
        return True
    return candidate.talent_pool_status != "masked" and needle in candidate.email.casefold()


def _check_name(name: str, value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(name, f"{name} must be a non-empty string")
    return value.strip()


def _check_email(name: str, value: object) -> object:
    if not isinstance(value, str) or not _EMAIL_RE.fullmatch(value):
        raise _invalid(name, f"{name} must be a valid email address")
    return value


def _check_text(name: str, value: object) -> object:
    if value is not None and not isinstance(value, str):
        raise _invalid(name, f"{name} must be a string or null")
    return value


def _check_skills(name: str, value: object) -> object:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(name, f"{name} must be an array of strings")
    return list(value)


def _check_number(name: str, value: object) -> object:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(name, f"{name} must be a number or null")
    return value


def _check_integer(name: str, value: object) -> object:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _invalid(name, f"{name} must be an integer or null")
    return value


def _check_boolean(name: str, value: object) -> object:
    if value is not None and not isinstance(value, bool):
        raise _invalid(name, f"{name} must be a boolean or null")
    return value


def _check_date(name: str, value: object) -> object:
    if value is None:
        return None
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    raise _invalid(name, f"{name} must be a date in YYYY-MM-DD format")


def _check_object(name: str, value: object) -> object:
    if value is not None and not isinstance(value, dict):
        raise _invalid(name, f"{name} must be an object")
    return value


_FIELDS: Final[tuple[tuple[str, Callable[[str, object], object]], ...]] = (
    ("full_name", _check_name),
    ("email", _check_email),
    ("phone_number", _check_text),
    ("whatsapp_number", _check_text),
    ("location", _check_text),
    ("preferred_location", _check_text),
    ("primary_skills", _check_skills),
    ("secondary_skills", _check_skills),
    ("total_experience_years", _check_number),
    ("current_company", _check_text),
    ("current_designation", _check_text),
    ("current_ctc", _check_number),
    ("expected_ctc", _check_number),
    ("notice_period_days", _check_integer),
    ("in_notice_period", _check_boolean),
    ("last_working_day", _check_date),
    ("resume_url", _check_text),
    ("resume_path", _check_text),
    ("source", _check_text),
    ("metadata", _check_object),
)
"""Writable candidate fields in documented order, which decides the first bad field reported."""


def _validated_fields(
    body: Mapping[str, object], *, required: tuple[str, ...] = ()
) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, check in _FIELDS:
        if name in body:
            values[name] = check(name, body[name])
        elif name in required:
            raise _invalid(name, f"{name} is required")
    return values


def _assign(candidate: Candidate, values: Mapping[str, object]) -> None:
    for name, value in values.items():
        setattr(candidate, name, value)


@dataclass(frozen=True, slots=True)
class _ApplicationInput:
    job_id: str
    status: str | None
    notes: str | None
    has_notes: bool


def _validated_application(org: TalynceOrg, body: Mapping[str, object]) -> _ApplicationInput | None:
    raw = body.get("application")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _invalid("application", "application must be an object")
    job_id = raw.get("job_id")
    if not isinstance(job_id, str) or org.job(job_id) is None:
        raise _invalid("application.job_id", "application.job_id must be a job of this org")
    status = raw.get("status")
    canonical: str | None = None
    if status is not None:
        if not isinstance(status, str):
            raise _invalid("application.status", "application.status must be a string")
        canonical = next((s for s in org.pipeline if s.casefold() == status.casefold()), None)
        if canonical is None:
            raise ApiError(
                400,
                "invalid_pipeline_status",
                f"{status!r} is not a pipeline status; expected one of {', '.join(org.pipeline)}",
                {"field": "application.status"},
            )
    notes = raw.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise _invalid("application.notes", "application.notes must be a string or null")
    return _ApplicationInput(job_id, canonical, notes, "notes" in raw)


def _apply_application(
    org: TalynceOrg,
    candidate: Candidate,
    change: _ApplicationInput,
    now: datetime,
    *,
    update_existing: bool,
) -> None:
    row = next((a for a in candidate.applications if a.job_id == change.job_id), None)
    if row is None:
        status = change.status or org.pipeline[0]
        candidate.applications.append(
            Application(
                id=str(uuid.uuid4()),
                candidate_id=candidate.id,
                job_id=change.job_id,
                organization_id=org.organization_id,
                status=status,
                created_at=now,
                updated_at=now,
                notes=change.notes,
                status_date=now,
                shortlisted_at=now if status == "Shortlisted" else None,
                metadata={},
            )
        )
        return
    if not update_existing:
        return
    if change.status is not None and change.status != row.status:
        row.status = change.status
        row.status_date = now
        if change.status == "Shortlisted" and row.shortlisted_at is None:
            row.shortlisted_at = now
    if change.has_notes:
        row.notes = change.notes
    row.updated_at = now


def _candidate_json(candidate: Candidate, *, with_applications: bool = True) -> dict[str, object]:
    masked = candidate.talent_pool_status == "masked"
    data: dict[str, object] = {
        "id": candidate.id,
        "full_name": candidate.full_name,
        "email": "" if masked else candidate.email,
        "phone_number": None if masked else candidate.phone_number,
        "whatsapp_number": None if masked else candidate.whatsapp_number,
        "location": candidate.location,
        "preferred_location": candidate.preferred_location,
        "primary_skills": list(candidate.primary_skills),
        "secondary_skills": list(candidate.secondary_skills),
        "skill_array": list(
            dict.fromkeys([*candidate.primary_skills, *candidate.secondary_skills])
        ),
        "total_experience_years": candidate.total_experience_years,
        "current_company": candidate.current_company,
        "current_designation": candidate.current_designation,
        "current_ctc": None if masked else candidate.current_ctc,
        "expected_ctc": None if masked else candidate.expected_ctc,
        "notice_period_days": candidate.notice_period_days,
        "in_notice_period": candidate.in_notice_period,
        "last_working_day": candidate.last_working_day,
        "resume_url": candidate.resume_url,
        "source": candidate.source,
        "screening_score": candidate.screening_score,
        "talent_pool_status": candidate.talent_pool_status,
        "metadata": candidate.metadata,
        "created_at": _iso(candidate.created_at),
        "updated_at": _iso(candidate.updated_at),
    }
    if with_applications:
        rows = sorted(candidate.applications, key=lambda a: (a.created_at, a.id))
        data["applications"] = [_application_json(row) for row in rows]
    return data


def _application_json(row: Application) -> dict[str, object]:
    return {
        "id": row.id,
        "candidate_id": row.candidate_id,
        "job_id": row.job_id,
        "organization_id": row.organization_id,
        "status": row.status,
        "screening_score": row.screening_score,
        "match_score": row.match_score,
        "notes": row.notes,
        "shortlisted_at": _iso(row.shortlisted_at),
        "screening_started_at": _iso(row.screening_started_at),
        "screening_completed_at": _iso(row.screening_completed_at),
        "status_date": _iso(row.status_date),
        "outreach_sent_at": _iso(row.outreach_sent_at),
        "interest_clicked_at": _iso(row.interest_clicked_at),
        "video_interview_invite_sent_at": _iso(row.video_interview_invite_sent_at),
        "metadata": row.metadata,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _now() -> datetime:
    """Millisecond precision, so a stored time and its serialised form sort identically."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def demo_emulator() -> TalynceEmulator:
    """The two-tenant setup the standalone server and the demo share."""
    return TalynceEmulator(
        [
            TalynceOrg.seeded("Acme Talent", "tly_demo_acme", seed=1),
            TalynceOrg.seeded("Globex Hiring", "tly_demo_globex", seed=2, candidates=60),
        ]
    )


def demo() -> Demo:
    emulator = demo_emulator()
    return Demo(
        emulator.app,
        tuple(
            DemoAccount(
                id=org.name.lower().replace(" ", "-"),
                name=f"{org.name} (Talynce demo)",
                path="/api/v1",
                credentials={"api_key": org.api_key},
            )
            for org in emulator.orgs.values()
        ),
        emulator,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run a standalone emulator with two seeded tenants."""

    def seeded() -> tuple[ASGIApp, list[str]]:
        emulator = demo_emulator()
        lines = [
            f"{org.name}: Authorization: Bearer {org.api_key} ({len(org.candidates)} candidates)"
            for org in emulator.orgs.values()
        ]
        return emulator.app, lines

    run_standalone(
        argv, name="Talynce", description=__doc__, port=8101, seeded=seeded, path="/api/v1"
    )


if __name__ == "__main__":
    main()
