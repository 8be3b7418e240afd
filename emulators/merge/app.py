"""An in-process emulator of Merge's ATS API (``/api/ats/v1``), several linked accounts at once.

It follows Merge's OpenAPI shapes (checked by a test against merge-ats-openapi.yml) and the
current API's additions (`PATCH /candidates/{id}`, `expand`): bearer API key plus
`X-Account-Token`, cursor pages `{next, previous, results}`, writes wrapped in
`{"model", "remote_user_id"}` answered with `warnings`/`errors`, 401/404/400/429 as Merge sends
them. Knobs per linked account add latency, rate limiting, outages and fault profiles.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import logging
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

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
from emulators.merge.pipeline import check_activity, check_application, check_stage_change
from emulators.merge.seed import (
    ANCHOR,
    Activity,
    Application,
    Candidate,
    Group,
    Job,
    Offer,
    Stage,
    new_id,
    seed_linked_account,
)
from emulators.merge.webhooks import deliveries as webhook_deliveries
from emulators.merge.webhooks import linked_account_id
from emulators.merge.webhooks import snapshot as webhook_snapshot
from emulators.merge.writes import CREATABLE, Write, apply_write, check_write, parse_time
from emulators.webhooks import Snapshot, WebhookOutbox

__all__ = [
    "PREFIX",
    "ApiError",
    "LinkedAccount",
    "MergeEmulator",
    "RecordedRequest",
    "demo",
    "demo_emulator",
    "main",
]

_log = logging.getLogger(__name__)

PREFIX: Final = "/api/ats/v1"
_MAX_PAGE: Final = 100
_FIELD_MAPPINGS: Final[dict[str, dict[str, str]]] = {
    "organization_defined_targets": {},
    "linked_account_defined_targets": {},
}


class ApiError(Exception):
    """A Merge error response, raised from anywhere in request handling."""

    def __init__(
        self, status: int, body: Mapping[str, object], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse(dict(self.body), status_code=self.status, headers=self.headers)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator saw it (never its credentials) and what it answered."""

    account: str | None
    method: str
    path: str
    route: str
    query: dict[str, str]
    body: object | None
    status: int
    response: object | None
    started: float
    finished: float


@dataclass
class LinkedAccount:
    """One end user's linked ATS: its data, what its integration accepts, and failure knobs.

    `required_fields` are model fields a create must carry (MISSING_REQUIRED_FIELD otherwise);
    `unrecognized_fields` are ones the integration ignores with an UNRECOGNIZED_FIELD warning;
    `unique_emails` refuses a second candidate with a known address (DUPLICATE_MODEL_EXISTS).
    """

    name: str
    account_token: str
    integration: str = "Greenhouse"
    required_fields: tuple[str, ...] = ("first_name", "last_name")
    unrecognized_fields: frozenset[str] = frozenset()
    unique_emails: bool = True
    latency: float = 0.0
    rate_limit: tuple[int, float] | None = None
    outage: bool = False
    faults: FaultProfile = field(default_factory=FaultProfile)
    seed: int = 0
    remote_users: list[str] = field(default_factory=list)
    departments: dict[str, Group] = field(default_factory=dict)
    offices: dict[str, Group] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)
    candidates: dict[str, Candidate] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    reject_reasons: dict[str, Group] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    _limiter: RateLimiter = field(
        default_factory=RateLimiter, init=False, repr=False, compare=False
    )
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:{self.account_token}:writes")

    @classmethod
    def seeded(
        cls,
        name: str,
        account_token: str,
        *,
        candidates: int = 60,
        jobs: int = 4,
        seed: int = 0,
        **settings: Any,
    ) -> LinkedAccount:
        domain = re.sub(r"[^a-z0-9]+", "", name.lower()) + ".example"
        data = seed_linked_account(
            random.Random(seed), candidates=candidates, jobs=jobs, email_domain=domain
        )
        return cls(
            name=name,
            account_token=account_token,
            seed=seed,
            remote_users=list(data.remote_users),
            departments={d.id: d for d in data.departments},
            offices={o.id: o for o in data.offices},
            jobs={j.id: j for j in data.jobs},
            stages={s.id: s for s in data.stages},
            candidates={c.id: c for c in data.candidates},
            applications={a.id: a for a in data.applications},
            offers={o.id: o for o in data.offers},
            reject_reasons={r.id: r for r in data.reject_reasons},
            **settings,
        )

    def ordered_candidates(self) -> list[Candidate]:
        """Candidates in Merge's list order: oldest first, ties by id."""
        return sorted(self.candidates.values(), key=lambda c: (c.created_at, c.id))

    def applications_of(self, candidate_id: str) -> list[Application]:
        rows = [a for a in self.applications.values() if a.candidate_id == candidate_id]
        return sorted(rows, key=lambda a: (a.created_at, a.id))

    def new_id(self) -> str:
        return new_id(self._rng)

    def admit(self, now: float) -> int | None:
        """Count a request against the rate limit; the Retry-After seconds if it is over."""
        return self._limiter.admit(self.rate_limit, now)


@dataclass(frozen=True, slots=True)
class _Call:
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    body: object | None

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() == "true"

    def expand(self) -> frozenset[str]:
        return frozenset(p for p in self.query.get("expand", "").split(",") if p)


_Result = tuple[int, dict[str, object]]
_Handler = Callable[["LinkedAccount", _Call], _Result]


class MergeEmulator(RequestLog[RecordedRequest]):
    """Serves several linked accounts of one Merge organisation, keyed by account token."""

    def __init__(self, api_key: str, accounts: Iterable[LinkedAccount]) -> None:
        self.api_key = api_key
        self.accounts: dict[str, LinkedAccount] = {}
        for account in accounts:
            if account.account_token in self.accounts:
                raise ValueError(f"duplicate account token for linked account {account.name!r}")
            self.accounts[account.account_token] = account
        self.webhooks: WebhookOutbox | None = None  # off; targets are keyed by account token
        super().__init__()
        self.app = Starlette(
            routes=[
                self._route("/candidates", GET=_list_candidates, POST=_create_candidate),
                self._route("/candidates/meta/post", GET=_candidate_meta),
                self._route("/candidates/{id}", GET=_get_candidate, PATCH=_update_candidate),
                self._route("/applications", GET=_list_applications, POST=_create_application),
                self._route("/applications/{id}", GET=_get_application),
                self._route("/applications/{id}/change-stage", POST=_change_stage),
                self._route("/reject-reasons", GET=_list_reject_reasons),
                self._route("/activities", POST=_create_activity),
                self._route("/jobs", GET=_list_jobs),
                self._route("/jobs/{id}", GET=_get_job),
                self._route("/job-interview-stages", GET=_list_stages),
                fault_admin_route(self.accounts.values),
                self._route("/{path:path}"),
            ]
        )

    def _route(self, template: str, **handlers: _Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, template, handlers)

        return Route(PREFIX + template, endpoint, methods=ALL_METHODS)

    async def _serve(
        self, request: Request, template: str, handlers: Mapping[str, _Handler]
    ) -> Response:
        started = time.monotonic()
        raw = await request.body()
        body: object | None = None
        account = self.accounts.get(request.headers.get("x-account-token", ""))
        served: Response | None = None
        try:
            body, readable = parse_json(raw)
            if raw and not readable:
                raise ApiError(400, {"detail": "JSON parse error."})
            faulted = await self._faulted(request, account)
            kind = faulted.kind if isinstance(faulted, Reshaped) else None
            if faulted is not None and kind is None and not isinstance(faulted, AfterServing):
                return faulted
            if kind == "endless_next":
                # Recorded like any page, so tests can count how often it was followed.
                status, headers = 200, None
                payload: dict[str, object] = {
                    "next": secrets.token_urlsafe(12),
                    "previous": None,
                    "results": [],
                }
            else:
                status, payload, headers = await self._answer(request, account, handlers, body)
            if kind == "huge_rows" and isinstance(faulted, Reshaped):
                payload["results"] = repeat_first_row(payload.get("results"), faulted.rows)
            if account is not None and "results" in payload:
                payload["results"] = without_ids(payload["results"], account.faults.idless)
            if isinstance(faulted, AfterServing):  # served (a write stored), then its answer lost
                status, payload, headers, served = faulted.status_code, {}, None, faulted
        except ApiError as error:
            status, payload, headers = error.status, dict(error.body), error.headers
        except Exception:
            _log.exception("Merge emulator failed on %s %s", request.method, request.url.path)
            status, payload, headers = 500, {"detail": "Internal server error."}, None
        record = RecordedRequest(
            account=account.name if account else None,
            method=request.method,
            path=request.url.path,
            route=template,
            query=dict(request.query_params),
            body=body,
            status=status,
            response=payload,
            started=started,
            finished=time.monotonic(),
        )
        bisect.insort(self.requests, record, key=lambda r: r.started)
        return served or JSONResponse(payload, status_code=status, headers=headers)

    async def _faulted(self, request: Request, account: LinkedAccount | None) -> Response | None:
        """A fault the account's profile calls for, once the caller is known to be authorised."""
        if account is None or not self._authorised(request):
            return None
        return await account.faults.apply()

    def _authorised(self, request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and key.strip() == self.api_key

    async def _answer(
        self,
        request: Request,
        account: LinkedAccount | None,
        handlers: Mapping[str, _Handler],
        body: object | None,
    ) -> tuple[int, dict[str, object], Mapping[str, str] | None]:
        if not self._authorised(request):
            raise ApiError(401, {"detail": "Invalid API key."})
        if account is None:
            raise ApiError(401, {"detail": "Invalid account token."})
        retry_after = None if account.outage else account.admit(time.monotonic())
        if account.latency > 0:
            await asyncio.sleep(account.latency)
        if account.outage:
            raise ApiError(503, {"detail": "Service temporarily unavailable."})
        if retry_after is not None:
            raise ApiError(
                429,
                {"detail": f"Request was throttled. Expected available in {retry_after} seconds."},
                {"Retry-After": str(retry_after)},
            )
        handler = handlers.get(request.method)
        if handler is None:
            if not handlers:
                raise ApiError(404, {"detail": "Not found."})
            raise ApiError(
                405,
                {"detail": f'Method "{request.method}" not allowed.'},
                {"Allow": ", ".join(sorted(handlers))},
            )
        before = self._before_write(account, request.method)
        status, payload = handler(account, _Call(request.path_params, request.query_params, body))
        if before is not None and status < 300 and self.webhooks is not None:
            targets = self.webhooks.targets[account.account_token]
            self.webhooks.enqueue(webhook_deliveries(account, before, targets))
        return status, payload, None

    def _before_write(self, account: LinkedAccount, method: str) -> Snapshot | None:
        hooks = self.webhooks
        if (
            hooks is None
            or method in ("GET", "HEAD")
            or not hooks.targets.get(account.account_token)
        ):
            return None
        return webhook_snapshot(account)


# --- paging ------------------------------------------------------------------------------------

_Key = tuple[datetime, str]


def _cursor(key: _Key, reverse: bool) -> str:
    raw = f"r={int(reverse)}&p={key[0].isoformat()}&o={key[1]}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[_Key, bool]:
    try:
        fields = dict(
            part.split("=", 1) for part in base64.urlsafe_b64decode(cursor).decode().split("&")
        )
        return (datetime.fromisoformat(fields["p"]), fields["o"]), fields["r"] == "1"
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError):
        raise ApiError(404, {"detail": "Invalid cursor"}) from None


def _page_size(query: Mapping[str, str]) -> int:
    """Django REST's cursor paging: an unreadable size falls back to the default, a big one caps."""
    raw = query.get("page_size", "")
    if not raw.isdigit() or int(raw) < 1:
        return _MAX_PAGE
    return min(int(raw), _MAX_PAGE)


def _paginate(
    rows: Sequence[Any],
    keys: Sequence[_Key],
    query: Mapping[str, str],
    show: Callable[[Any], object],
) -> _Result:
    """Cursor pages over rows sorted by `keys`; a cursor names a row, so inserts never shift it."""
    size = _page_size(query)
    cursor = query.get("cursor")
    start, end = 0, min(size, len(rows))
    if cursor:
        key, reverse = _decode_cursor(cursor)
        if reverse:
            end = bisect.bisect_left(keys, key)
            start = max(0, end - size)
        else:
            start = bisect.bisect_right(keys, key)
            end = min(len(rows), start + size)
    page = list(rows[start:end])
    return 200, {
        "next": _cursor(keys[end - 1], False) if page and end < len(rows) else None,
        "previous": _cursor(keys[start], True) if page and start > 0 else None,
        "results": [show(row) for row in page],
    }


# --- reads -------------------------------------------------------------------------------------


def _modified_after(query: Mapping[str, str]) -> datetime | None:
    """`modified_after`, read as Merge's Django filters read a datetime (400 when unreadable)."""
    raw = query.get("modified_after")
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(400, {"modified_after": ["Enter a valid date/time."]}) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _current(rows: list[Any], query: Mapping[str, str], changed: Callable[[Any], datetime]) -> Any:
    """Rows not deleted at the source (unless `include_deleted_data`), changed at or after
    `modified_after`: Merge does not say whether its bound is inclusive, and the emulator takes
    the reading that makes a client check it."""
    if query.get("include_deleted_data", "").lower() != "true":
        rows = [row for row in rows if not row.remote_was_deleted]
    after = _modified_after(query)
    return rows if after is None else [row for row in rows if changed(row) >= after]


def _list_candidates(account: LinkedAccount, call: _Call) -> _Result:
    query = call.query
    rows = _current(account.ordered_candidates(), query, lambda c: c.modified_at)
    wanted = {e.strip().casefold() for e in query.get("email_addresses", "").split(",")} - {""}
    if wanted:
        rows = [
            c for c in rows if any(str(e["value"]).casefold() in wanted for e in c.email_addresses)
        ]
    for name in ("first_name", "last_name", "remote_id"):
        if name in query:
            rows = [c for c in rows if getattr(c, name) == query[name]]
    if tags := {t for t in query.get("tags", "").split(",") if t}:
        rows = [c for c in rows if tags & set(c.tags)]
    keys = [(c.created_at, c.id) for c in rows]
    return _paginate(rows, keys, query, lambda c: _candidate_json(account, c, call))


def _get_candidate(account: LinkedAccount, call: _Call) -> _Result:
    return 200, _candidate_json(account, _candidate_or_404(account, call), call)


def _list_applications(account: LinkedAccount, call: _Call) -> _Result:
    ordered = sorted(account.applications.values(), key=lambda a: (a.created_at, a.id))
    rows = _current(ordered, call.query, lambda a: a.changed_at)
    for name, attribute in (
        ("candidate_id", "candidate_id"),
        ("job_id", "job_id"),
        ("current_stage_id", "stage_id"),
        ("reject_reason_id", "reject_reason_id"),
        ("source", "source"),
        ("remote_id", "remote_id"),
    ):
        if name in call.query:
            rows = [a for a in rows if getattr(a, attribute) == call.query[name]]
    keys = [(a.created_at, a.id) for a in rows]
    return _paginate(rows, keys, call.query, lambda a: _application_json(account, a, call))


def _application_or_404(account: LinkedAccount, call: _Call) -> Application:
    application = account.applications.get(call.path_params["id"])
    if application is None:
        raise ApiError(404, {"detail": "Not found."})
    return application


def _get_application(account: LinkedAccount, call: _Call) -> _Result:
    return 200, _application_json(account, _application_or_404(account, call), call)


def _list_reject_reasons(account: LinkedAccount, call: _Call) -> _Result:
    """Reasons in the ATS's own order, keyed by that place as stages are."""
    placed = [
        (ANCHOR + timedelta(seconds=n), r) for n, r in enumerate(account.reject_reasons.values())
    ]
    keys = [(at, r.id) for at, r in placed]
    return _paginate([r for _, r in placed], keys, call.query, _reject_reason_json)


def _list_jobs(account: LinkedAccount, call: _Call) -> _Result:
    ordered = sorted(account.jobs.values(), key=lambda j: (j.created_at, j.id))
    rows = _current(ordered, call.query, lambda j: j.changed_at)
    for name in ("status", "remote_id"):
        if name in call.query:
            rows = [j for j in rows if getattr(j, name) == call.query[name]]
    keys = [(j.created_at, j.id) for j in rows]
    return _paginate(rows, keys, call.query, lambda j: _job_json(j, account, call))


def _get_job(account: LinkedAccount, call: _Call) -> _Result:
    job = account.jobs.get(call.path_params["id"])
    if job is None:
        raise ApiError(404, {"detail": "Not found."})
    return 200, _job_json(job, account, call)


def _list_stages(account: LinkedAccount, call: _Call) -> _Result:
    """Stages in the order they were seeded (each job's pipeline order), keyed by that place."""
    placed = [(ANCHOR + timedelta(seconds=n), s) for n, s in enumerate(account.stages.values())]
    if "job_id" in call.query:
        placed = [(at, s) for at, s in placed if s.job_id == call.query["job_id"]]
    keys = [(at, s.id) for at, s in placed]
    return _paginate([s for _, s in placed], keys, call.query, _stage_json)


def _candidate_meta(account: LinkedAccount, call: _Call) -> _Result:
    model = {
        "type": "object",
        "properties": {name: {} for name in sorted(CREATABLE - account.unrecognized_fields)},
        "required": list(account.required_fields),
    }
    return 200, {
        "request_schema": {
            "type": "object",
            "properties": {"model": model, "remote_user_id": {"type": "string"}},
            "required": ["model", "remote_user_id"],
        },
        "status": {"linked_account_status": "COMPLETE", "can_make_request": True},
        "has_conditional_params": False,
        "has_required_linked_account_params": False,
    }


def _candidate_or_404(account: LinkedAccount, call: _Call) -> Candidate:
    candidate = account.candidates.get(call.path_params["id"])
    if candidate is None:
        raise ApiError(404, {"detail": "Not found."})
    return candidate


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _remote_data(call: _Call, path: str, data: Mapping[str, object]) -> list[object] | None:
    return [{"path": path, "data": dict(data)}] if call.flag("include_remote_data") else None


def _contacts(entries: list[dict[str, object]], moment: datetime) -> list[dict[str, object]]:
    stamp = _iso(moment)
    return [{**entry, "created_at": stamp, "modified_at": stamp} for entry in entries]


def _candidate_json(account: LinkedAccount, c: Candidate, call: _Call) -> dict[str, object]:
    applications: list[object] = [a.id for a in account.applications_of(c.id)]
    if "applications" in call.expand():
        plain = _Call({}, {}, None)
        applications = [_application_json(account, a, plain) for a in account.applications_of(c.id)]
    return {
        "id": c.id,
        "remote_id": c.remote_id,
        "created_at": _iso(c.created_at),
        "modified_at": _iso(c.modified_at),
        "first_name": c.first_name,
        "last_name": c.last_name,
        "company": c.company,
        "title": c.title,
        "remote_created_at": _iso(c.created_at),
        "remote_updated_at": _iso(c.modified_at),
        "last_interaction_at": _iso(c.last_interaction_at),
        "is_private": c.is_private,
        "can_email": c.can_email,
        "locations": list(c.locations),
        "phone_numbers": _contacts(c.phone_numbers, c.modified_at),
        "email_addresses": _contacts(c.email_addresses, c.modified_at),
        "urls": _contacts(c.urls, c.modified_at),
        "tags": list(c.tags),
        "applications": applications,
        "attachments": list(c.attachments),
        "remote_was_deleted": c.remote_was_deleted,
        "field_mappings": _FIELD_MAPPINGS,
        "remote_data": _remote_data(
            call, f"/candidates/{c.remote_id}", {"first_name": c.first_name, "id": c.remote_id}
        ),
    }


def _application_json(account: LinkedAccount, a: Application, call: _Call) -> dict[str, object]:
    expand = call.expand()
    candidate: object = a.candidate_id
    if "candidate" in expand and a.candidate_id in account.candidates:
        owner = account.candidates[a.candidate_id]
        candidate = _candidate_json(account, owner, _Call({}, call.query, None))
    job: object = a.job_id
    if "job" in expand and a.job_id in account.jobs:
        job = _job_json(account.jobs[a.job_id], account, _Call({}, {}, None))
    stage: object = a.stage_id
    if "current_stage" in expand and a.stage_id in account.stages:
        stage = _stage_json(account.stages[a.stage_id])
    offers: list[object] = list(a.offer_ids)
    if "offers" in expand:
        offers = [_offer_json(account.offers[o]) for o in a.offer_ids]
    reason: object = a.reject_reason_id
    if "reject_reason" in expand and a.reject_reason_id in account.reject_reasons:
        reason = _reject_reason_json(account.reject_reasons[a.reject_reason_id])
    return {
        "id": a.id,
        "remote_id": a.remote_id,
        "created_at": _iso(a.created_at),
        "modified_at": _iso(a.changed_at),
        "candidate": candidate,
        "job": job,
        "applied_at": _iso(a.applied_at),
        "rejected_at": _iso(a.rejected_at),
        "offers": offers,
        "source": a.source,
        "credited_to": None,
        "screening_question_answers": [],
        "current_stage": stage,
        "reject_reason": reason,
        "remote_was_deleted": a.remote_was_deleted,
        "field_mappings": _FIELD_MAPPINGS,
        "remote_data": _remote_data(call, f"/applications/{a.remote_id}", {"id": a.remote_id}),
    }


def _groups(ids: Sequence[str], known: Mapping[str, Group], expand: bool) -> list[object]:
    if not expand:
        return list(ids)
    return [
        {"id": g.id, "remote_id": g.remote_id, "name": g.name, "remote_data": None,
         "remote_was_deleted": False, "field_mappings": _FIELD_MAPPINGS}
        for g in (known[i] for i in ids if i in known)
    ]  # fmt: skip


def _job_json(job: Job, account: LinkedAccount, call: _Call) -> dict[str, object]:
    """A Job as the current API sends it (its `created_at`/`modified_at` are Merge's own)."""
    expand = call.expand()
    return {
        "id": job.id, "remote_id": job.remote_id, "created_at": _iso(job.created_at),
        "modified_at": _iso(job.changed_at), "name": job.name, "description": None,
        "code": None, "status": job.status, "job_posting_urls": [],
        "remote_created_at": _iso(job.created_at), "remote_updated_at": _iso(job.changed_at),
        "confidential": False,
        "departments": _groups(job.department_ids, account.departments, "departments" in expand),
        "offices": _groups(job.office_ids, account.offices, "offices" in expand),
        "hiring_managers": [], "recruiters": [],
        "remote_data": _remote_data(call, f"/jobs/{job.remote_id}", {"id": job.remote_id}),
        "remote_was_deleted": job.remote_was_deleted, "field_mappings": _FIELD_MAPPINGS,
    }  # fmt: skip


def _stage_json(stage: Stage) -> dict[str, object]:
    return {
        "id": stage.id, "remote_id": stage.remote_id, "name": stage.name, "job": stage.job_id,
        "remote_data": None, "remote_was_deleted": False, "field_mappings": _FIELD_MAPPINGS,
    }  # fmt: skip


def _reject_reason_json(reason: Group) -> dict[str, object]:
    return {
        "id": reason.id, "remote_id": reason.remote_id, "name": reason.name, "remote_data": None,
        "remote_was_deleted": False, "field_mappings": _FIELD_MAPPINGS,
    }  # fmt: skip


def _activity_json(activity: Activity) -> dict[str, object]:
    """An Activity as the current API sends it, naming its candidate."""
    return {
        "id": activity.id, "remote_id": activity.remote_id,
        "created_at": _iso(activity.created_at), "modified_at": _iso(activity.created_at),
        "user": activity.user_id, "remote_created_at": _iso(activity.created_at),
        "activity_type": activity.activity_type, "subject": activity.subject,
        "body": activity.body, "visibility": activity.visibility,
        "candidate": activity.candidate_id, "remote_was_deleted": False,
        "field_mappings": _FIELD_MAPPINGS, "remote_data": None,
    }  # fmt: skip


def _offer_json(offer: Offer) -> dict[str, object]:
    return {
        "id": offer.id, "remote_id": offer.remote_id, "application": offer.application_id,
        "creator": None, "remote_created_at": _iso(offer.created_at),
        "closed_at": _iso(offer.closed_at), "sent_at": _iso(offer.sent_at),
        "start_date": _iso(offer.start_date), "status": offer.status, "remote_data": None,
        "remote_was_deleted": False, "field_mappings": _FIELD_MAPPINGS,
    }  # fmt: skip


# --- writes ------------------------------------------------------------------------------------


def _response(
    account: LinkedAccount,
    model: dict[str, object],
    warnings: list[dict[str, object]],
    call: _Call,
    third_party: tuple[str, str],
) -> dict[str, object]:
    """A write's answer: the model as stored, its warnings, and in debug mode a log entry
    naming the third party's method and URL (which clients must never see)."""
    body: dict[str, object] = {"model": model, "warnings": warnings, "errors": []}
    if call.flag("is_debug_mode"):
        log_id = account.new_id()
        method, url = third_party
        body["logs"] = [
            {
                "log_id": log_id,
                "dashboard_view": f"https://app.merge.dev/logs/{log_id}",
                "log_summary": {"url": url, "method": method, "status_code": 200},
            }
        ]
    return body


def _candidate_response(
    account: LinkedAccount, candidate: Candidate, write: Write, call: _Call, method: str
) -> dict[str, object]:
    model = _candidate_json(account, candidate, _Call({}, {}, None))
    url = f"https://harvest.greenhouse.io/v1/candidates/{candidate.remote_id}"
    return _response(account, model, write.warnings, call, (method, url))


def _now() -> datetime:
    return datetime.now(UTC)


def _create_candidate(account: LinkedAccount, call: _Call) -> _Result:
    write = check_write(account, call.body, creating=True)
    if write.errors:
        raise ApiError(400, {"warnings": write.warnings, "errors": write.errors})
    now = _now()
    remote_id = str(30000 + len(account.candidates))
    candidate = Candidate(id=account.new_id(), remote_id=remote_id, created_at=now, modified_at=now)
    apply_write(candidate, write.model, now)
    account.candidates[candidate.id] = candidate
    return 201, _candidate_response(account, candidate, write, call, "POST")


def _update_candidate(account: LinkedAccount, call: _Call) -> _Result:
    candidate = _candidate_or_404(account, call)
    write = check_write(account, call.body, creating=False, own_id=candidate.id)
    if write.errors:
        raise ApiError(400, {"warnings": write.warnings, "errors": write.errors})
    apply_write(candidate, write.model, max(_now(), candidate.modified_at))
    return 200, _candidate_response(account, candidate, write, call, "PATCH")


def _stored_time(value: object, default: datetime) -> datetime:
    moment = parse_time(value) if value is not None else None
    if moment is None:
        return default
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _create_application(account: LinkedAccount, call: _Call) -> _Result:
    write, stage = check_application(account, call.body)
    if write.errors:
        raise ApiError(400, {"warnings": write.warnings, "errors": write.errors})
    model, now = write.model, _now()
    rejected = model.get("rejected_at")
    application = Application(
        id=account.new_id(),
        remote_id=str(190000 + len(account.applications)),
        candidate_id=str(model["candidate"]),
        job_id=str(model["job"]),
        stage_id=stage.id if stage else None,
        applied_at=_stored_time(model.get("applied_at"), now),
        created_at=now,
        rejected_at=_stored_time(rejected, now) if rejected is not None else None,
        source=source if isinstance(source := model.get("source"), str) else None,
        reject_reason_id=str(model["reject_reason"]) if model.get("reject_reason") else None,
        modified_at=now,
    )
    account.applications[application.id] = application
    url = "https://harvest.greenhouse.io/v1/candidates/applications"
    plain = _application_json(account, application, _Call({}, {}, None))
    return 201, _response(account, plain, write.warnings, call, ("POST", url))


def _change_stage(account: LinkedAccount, call: _Call) -> _Result:
    application = _application_or_404(account, call)
    errors, stage = check_stage_change(account, application, call.body)
    if errors or stage is None:
        raise ApiError(400, {"warnings": [], "errors": errors})
    application.stage_id = stage.id
    application.modified_at = max(_now(), application.changed_at)
    url = f"https://harvest.greenhouse.io/v1/applications/{application.remote_id}/move"
    plain = _application_json(account, application, _Call({}, {}, None))
    return 201, _response(account, plain, [], call, ("POST", url))


def _create_activity(account: LinkedAccount, call: _Call) -> _Result:
    write = check_activity(account, call.body)
    if write.errors:
        raise ApiError(400, {"warnings": write.warnings, "errors": write.errors})
    model = {k: v if isinstance(v, str) else None for k, v in write.model.items()}
    activity = Activity(
        id=account.new_id(),
        remote_id=str(80000 + len(account.activities)),
        candidate_id=str(model["candidate"]),
        user_id=model.get("user"),
        activity_type=model.get("activity_type"),
        subject=model.get("subject"),
        body=model.get("body"),
        visibility=model.get("visibility"),
        created_at=_now(),
    )
    account.activities[activity.id] = activity
    url = "https://harvest.greenhouse.io/v1/candidates/activity_feed/notes"
    return 201, _response(account, _activity_json(activity), write.warnings, call, ("POST", url))


# --- demo --------------------------------------------------------------------------------------


def demo_emulator() -> MergeEmulator:
    """The setup the standalone server and the demo share: one organisation, two linked ATSs."""
    return MergeEmulator(
        "merge_demo_api_key",
        [
            LinkedAccount.seeded("Initech", "merge_demo_initech", seed=11, candidates=70),
            LinkedAccount.seeded(
                "Hooli", "merge_demo_hooli", seed=12, candidates=25, integration="Lever"
            ),
        ],
    )


def demo() -> Demo:
    """One Merge account in the demo (`merge-initech`); the second linked account stays spare."""
    emulator = demo_emulator()
    initech = emulator.accounts["merge_demo_initech"]
    return Demo(
        emulator.app,
        (
            DemoAccount(
                id="merge-initech",
                name="Initech (Merge demo)",
                path=PREFIX,
                credentials={"api_key": emulator.api_key, "account_token": initech.account_token},
                options={"remote_user_id": initech.remote_users[0]},
                webhook_tenant=initech.account_token,
                webhook_origin=linked_account_id(initech.account_token),
            ),
        ),
        emulator,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run a standalone emulator with the demo's linked accounts."""

    def seeded() -> tuple[ASGIApp, list[str]]:
        emulator = demo_emulator()
        lines = [f"Authorization: Bearer {emulator.api_key}"] + [
            f"{account.name}: X-Account-Token: {account.account_token} "
            f"({len(account.candidates)} candidates; remote_user_id {account.remote_users[0]})"
            for account in emulator.accounts.values()
        ]
        return emulator.app, lines

    run_standalone(argv, name="Merge", description=__doc__, port=8102, seeded=seeded, path=PREFIX)


if __name__ == "__main__":
    main()
