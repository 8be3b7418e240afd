"""An in-process emulator of Greenhouse's Partner API (`/v1/partner`) and Harvest v3 (`/v3`).

Both APIs serve the same organisations, as at Greenhouse: a candidate created through Partner is
listed by Harvest. It follows the documents in `reference/` (Partner: Basic auth with the key as
user name plus `On-Behalf-Of`, `{"errors": [{message, field}]}`, unknown ids silently dropped;
Harvest v3: client-credentials tokens at `POST /token`, bearer checks, bare-array lists paged by
`Link: rel="next"` with an opaque cursor that carries the filters, `{message, errors}` bodies,
rate-limit headers) and adds knobs for latency, outages, rate limits and token lifetime.

Where the documents are silent it is strict, so an adapter bug shows up as an error rather than
as silently unfiltered rows: unknown query parameters and body fields are refused (422 on
Harvest, 400 on Partner), and every id list (`ids`, `candidate_ids`, `job_ids`, Partner's
`candidate_ids`) takes at most 50 ids.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import logging
import math
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.emulators import Demo, DemoAccount
from providers.emulators.seed import Candidate, seed_organization

__all__ = [
    "GhApplication",
    "GhCandidate",
    "GhJob",
    "GhUser",
    "GreenhouseEmulator",
    "GreenhouseOrg",
    "HarvestError",
    "PartnerError",
    "RecordedRequest",
    "demo",
]

_log = logging.getLogger(__name__)

MAX_IDS: Final = 50
MAX_PER_PAGE: Final = 500
DEFAULT_PER_PAGE: Final = 100
EMAIL_TYPES: Final = ("personal", "work", "other")
PARTNER_PHONE_TYPES: Final = ("mobile", "home", "work", "other")
HARVEST_PHONE_TYPES: Final = ("home", "work", "mobile", "skype", "other")
ADDRESS_TYPES: Final = ("home", "work", "other")
WEBSITE_TYPES: Final = ("personal", "company", "portfolio", "blog", "other")
STAGES: Final = {
    "Applied": ("in_process", "Application Review"),
    "Screening": ("in_process", "Recruiter Phone Screen"),
    "Shortlisted": ("in_process", "Hiring Manager Review"),
    "Interview": ("in_process", "Onsite Interview"),
    "Offered": ("in_process", "Offer"),
    "Hired": ("hired", "Offer"),
    "Rejected": ("rejected", "Recruiter Phone Screen"),
}
"""Seed (Talynce pipeline) status → Greenhouse application status and stage."""
FIRST_STAGE: Final = "Application Review"
PROFILE: Final = "https://app.greenhouse.io/people/{candidate}?application_id={application}"
_DATE_FILTER = re.compile(r"^(gte|lte|gt|lt)\|(.+)$")
_DIGITS = re.compile(r"^[0-9]+$")


# --- storage ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GhUser:
    id: int
    email: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class GhJob:
    id: int
    name: str
    status: str
    created_at: datetime


@dataclass(slots=True)
class GhApplication:
    id: int
    candidate_id: int
    job_id: int | None
    status: str  # in_process | rejected | hired | converted
    stage_name: str | None
    created_at: datetime
    updated_at: datetime
    prospect: bool = False
    prospective_job_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class GhCandidate:
    id: int
    first_name: str
    last_name: str
    created_at: datetime
    updated_at: datetime
    company: str | None = None
    title: str | None = None
    email_addresses: list[dict[str, str]] = field(default_factory=list)
    phone_numbers: list[dict[str, str]] = field(default_factory=list)
    addresses: list[dict[str, str]] = field(default_factory=list)
    website_addresses: list[dict[str, str]] = field(default_factory=list)
    social_media_addresses: list[dict[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    external_id: str | None = None
    private: bool = False
    can_email: bool = True
    resume_url: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ProspectPool:
    id: int
    name: str
    stages: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator saw it; `user` is the acting user (On-Behalf-Of or `sub`).

    Credentials and tokens are never recorded.
    """

    api: str  # partner | harvest | token
    org: str | None
    user: str | None
    method: str
    path: str
    query: dict[str, str]
    body: object | None
    status: int
    started: float
    finished: float


@dataclass
class GreenhouseOrg:
    """One Greenhouse customer: its data, credentials for both APIs, and the knobs tests turn."""

    name: str
    partner_api_key: str
    client_id: str
    client_secret: str
    partner_oauth_token: str | None = None
    users: list[GhUser] = field(default_factory=list)
    jobs: dict[int, GhJob] = field(default_factory=dict)
    candidates: dict[int, GhCandidate] = field(default_factory=dict)
    applications: dict[int, GhApplication] = field(default_factory=dict)
    prospect_pools: list[ProspectPool] = field(default_factory=list)
    latency: float = 0.0
    outage: bool = False
    rate_limit: tuple[int, float] = (10_000, 10.0)
    """Harvest requests allowed per fixed window of that many seconds (reported in headers)."""
    token_ttl: float = 3600.0
    token_expiry_field: str = "expires_at"  # or "expires_in"
    _window: tuple[float, int] = field(default=(0.0, 0), init=False, repr=False)

    @classmethod
    def seeded(
        cls,
        name: str,
        *,
        partner_api_key: str,
        client_id: str,
        client_secret: str,
        candidates: int = 60,
        jobs: int = 4,
        seed: int = 0,
    ) -> GreenhouseOrg:
        """An org filled with deterministic data; timestamps fall in the year before today."""
        anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        data = seed_organization(
            random.Random(seed), anchor=anchor, candidates=candidates, jobs=jobs, masked=0
        )
        org = cls(name, partner_api_key, client_id, client_secret)
        base = 1_000_000 * (seed + 1)
        org.users = [
            GhUser(base + 1, f"recruiter@{_slug(name)}.example", "Rita", "Recruiter"),
            GhUser(base + 2, f"sourcer@{_slug(name)}.example", "Sam", "Sourcer"),
        ]
        job_ids = {job.id: 4_000 + base // 1000 + n for n, job in enumerate(data.jobs)}
        org.jobs = {
            job_ids[job.id]: GhJob(job_ids[job.id], job.title, job.status, job.created_at)
            for job in data.jobs
        }
        org.prospect_pools = [
            ProspectPool(
                base + 901, "Future Engineers", ((base + 911, "New"), (base + 912, "Contacted"))
            )
        ]
        extras = random.Random(seed + 7919)
        for n, person in enumerate(data.candidates):
            candidate = _seed_candidate(base + 10_000 + n, person, extras)
            org.candidates[candidate.id] = candidate
            for row in person.applications:
                status, stage = STAGES.get(row.status, ("in_process", FIRST_STAGE))
                application = GhApplication(
                    org.next_id(org.applications, base + 500_000),
                    candidate.id,
                    job_ids[row.job_id],
                    status,
                    stage,
                    row.created_at,
                    row.updated_at,
                )
                org.applications[application.id] = application
            if not person.applications and extras.random() < 0.5:
                prospect = GhApplication(
                    org.next_id(org.applications, base + 500_000),
                    candidate.id,
                    None,
                    extras.choice(("in_process", "in_process", "converted")),
                    None,
                    person.created_at,
                    person.updated_at,
                    prospect=True,
                    prospective_job_ids=[extras.choice(list(org.jobs))],
                )
                org.applications[prospect.id] = prospect
        return org

    @staticmethod
    def next_id(table: Mapping[int, object], floor: int) -> int:
        return max([floor, *table]) + 1

    def user_by_email(self, email: str) -> GhUser | None:
        return next((u for u in self.users if u.email.casefold() == email.strip().casefold()), None)

    def admit(self, now: float) -> tuple[int | None, dict[str, str]]:
        """Counts a Harvest request in the current window: (Retry-After if over, headers)."""
        limit, seconds = self.rate_limit
        start, used = self._window
        if now >= start + seconds:
            start, used = now, 0
        reset = start + seconds
        over = used >= limit
        if not over:
            used += 1
        self._window = (start, used)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        return (max(1, math.ceil(reset - now)) if over else None), headers


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "org"


def _seed_candidate(candidate_id: int, person: Candidate, rng: random.Random) -> GhCandidate:
    first, _, last = person.full_name.partition(" ")
    slug = _slug(f"{first}-{last}")
    emails = [{"value": person.email, "type": "personal"}]
    if person.current_company and rng.random() < 0.3:
        emails.append(
            {
                "value": f"{slug.replace('-', '.')}@{_slug(person.current_company)}.example",
                "type": "work",
            }
        )
    phones = [{"value": person.phone_number, "type": "mobile"}] if person.phone_number else []
    websites = [{"value": f"https://{slug}.dev", "type": "portfolio"}] if rng.random() < 0.2 else []
    social = [{"value": f"https://www.linkedin.com/in/{slug}"}] if rng.random() < 0.4 else []
    external = (person.metadata or {}).get("external_id")
    return GhCandidate(
        id=candidate_id,
        first_name=first,
        last_name=last,
        created_at=person.created_at,
        updated_at=person.updated_at,
        company=person.current_company,
        title=person.current_designation,
        email_addresses=emails,
        phone_numbers=phones,
        addresses=[{"value": person.location, "type": "home"}] if person.location else [],
        website_addresses=websites,
        social_media_addresses=social,
        tags=list(person.primary_skills[:2]),
        external_id=str(external) if external else None,
        resume_url=person.resume_url,
    )


# --- errors -------------------------------------------------------------------------------------


class PartnerError(Exception):
    """A Partner API error: `{"errors": [{"message", "field"?}]}`."""

    def __init__(self, status: int, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field_name = field_name

    def response(self) -> JSONResponse:
        error = {"message": self.message}
        if self.field_name is not None:
            error["field"] = self.field_name
        return JSONResponse({"errors": [error]}, status_code=self.status)


class HarvestError(Exception):
    """A Harvest v3 error: `{"message", "errors"?}`; errors are strings or {field: message}."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Sequence[str | Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body: dict[str, object] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = [e if isinstance(e, str) else dict(e) for e in self.errors]
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def _unprocessable(*errors: str | Mapping[str, str]) -> HarvestError:
    return HarvestError(422, "Unprocessable Content", errors)


# --- the app ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Issued:
    org: GreenhouseOrg
    user_id: str
    expires: float  # time.time()


@dataclass(frozen=True, slots=True)
class _Call:
    org: GreenhouseOrg
    user: str
    request: Request
    body: object | None
    body_is_json: bool

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    def json_body(self, error: Callable[[str], Exception]) -> object:
        if not self.body_is_json:
            raise error("Request body must be valid JSON")
        return self.body


_Result = tuple[int, object, Mapping[str, str]]
_Handler = Callable[[_Call], _Result]


class GreenhouseEmulator:
    """Serves several Greenhouse organisations from one ASGI app, keyed by their credentials."""

    def __init__(self, orgs: Iterable[GreenhouseOrg]) -> None:
        self.orgs = list(orgs)
        self.tokens: dict[str, _Issued] = {}
        self.requests: list[RecordedRequest] = []
        partner, harvest = self._partner, self._harvest
        self.app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                partner("/v1/partner/candidates", GET=_partner_candidates, POST=_partner_create),
                partner("/v1/partner/current_user", GET=_partner_current_user),
                partner("/v1/partner/jobs", GET=_partner_jobs),
                partner("/v1/partner/prospect_pools", GET=_partner_prospect_pools),
                partner("/v1/partner/{rest:path}"),
                harvest("/v3/candidates", GET=_harvest_candidates, POST=_harvest_create),
                harvest("/v3/candidates/{candidate_id}", PATCH=_harvest_update),
                harvest("/v3/applications", GET=_harvest_applications),
                harvest("/v3/jobs", GET=_harvest_jobs),
                harvest("/v3/{rest:path}"),
            ]
        )

    def reset_log(self) -> None:
        self.requests.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on, as after its hour is up."""
        for issued in self.tokens.values():
            issued.expires = 0.0

    def calls(
        self, api: str, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.api == api
            and (method is None or r.method == method)
            and (path is None or r.path == path)
        ]

    def _record(
        self,
        request: Request,
        api: str,
        org: GreenhouseOrg | None,
        user: str | None,
        body: object | None,
        status: int,
        started: float,
    ) -> None:
        record = RecordedRequest(
            api=api,
            org=org.name if org else None,
            user=user,
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            body=body,
            status=status,
            started=started,
            finished=time.monotonic(),
        )
        bisect.insort(self.requests, record, key=lambda r: r.started)

    async def _token(self, request: Request) -> Response:
        started = time.monotonic()
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        logged = {k: v for k, v in form.items() if k in ("grant_type", "sub")}
        org = self._client(request.headers.get("authorization", ""))
        if org is None:
            response = JSONResponse({"error": "invalid_client"}, status_code=401)
        elif not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            response = JSONResponse(
                {"error": "invalid_request", "error_description": "form body expected"},
                status_code=400,
            )
        elif form.get("grant_type") != "client_credentials":
            response = JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        elif form.get("sub") and not any(str(u.id) == form["sub"] for u in org.users):
            response = JSONResponse(
                {"error": "invalid_request", "error_description": "unknown sub"}, status_code=400
            )
        else:
            value = "eyJ" + secrets.token_urlsafe(32)
            self.tokens[value] = _Issued(org, form.get("sub", ""), time.time() + org.token_ttl)
            answer: dict[str, object] = {"access_token": value, "token_type": "Bearer"}
            if org.token_expiry_field == "expires_in":
                answer["expires_in"] = int(org.token_ttl)
            else:
                answer["expires_at"] = _iso(datetime.now(UTC) + timedelta(seconds=org.token_ttl))
            response = JSONResponse(answer)
        self._record(request, "token", org, form.get("sub"), logged, response.status_code, started)
        return response

    def _client(self, authorization: str) -> GreenhouseOrg | None:
        pair = _basic(authorization)
        if pair is None:
            return None
        return next((o for o in self.orgs if (o.client_id, o.client_secret) == pair), None)

    def _partner(self, path: str, **handlers: _Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            started = time.monotonic()
            body, is_json = _parse_json(await request.body())
            org, user = self._partner_user(request)
            try:
                response = await self._answer(
                    request, org, user, handlers, body, is_json, partner=True
                )
            except PartnerError as error:
                response = error.response()
            except Exception:
                _log.exception(
                    "Greenhouse emulator failed on %s %s", request.method, request.url.path
                )
                response = PartnerError(500, "Internal server error").response()
            self._record(
                request,
                "partner",
                org,
                user,
                body if is_json else None,
                response.status_code,
                started,
            )
            return response

        return Route(path, endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    def _partner_user(self, request: Request) -> tuple[GreenhouseOrg | None, str | None]:
        authorization = request.headers.get("authorization", "")
        on_behalf_of = request.headers.get("on-behalf-of")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            org = next(
                (
                    o
                    for o in self.orgs
                    if o.partner_oauth_token and o.partner_oauth_token == token.strip()
                ),
                None,
            )
            if org is None or (on_behalf_of and org.user_by_email(on_behalf_of) is None):
                return None, on_behalf_of
            return org, on_behalf_of or org.users[0].email
        pair = _basic(authorization)
        org = next((o for o in self.orgs if pair == (o.partner_api_key, "")), None)
        if org is None or not on_behalf_of or org.user_by_email(on_behalf_of) is None:
            return None, on_behalf_of
        return org, on_behalf_of

    def _harvest(self, path: str, **handlers: _Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            started = time.monotonic()
            body, is_json = _parse_json(await request.body())
            org: GreenhouseOrg | None = None
            user: str | None = None
            headers: dict[str, str] = {}
            try:
                org, user = self._bearer(request)
                retry_after, headers = org.admit(time.time())
                if retry_after is not None:
                    raise HarvestError(
                        429, "Too Many Requests", headers={"Retry-After": str(retry_after)}
                    )
                response = await self._answer(
                    request, org, user, handlers, body, is_json, partner=False
                )
            except HarvestError as error:
                response = error.response()
            except Exception:
                _log.exception(
                    "Greenhouse emulator failed on %s %s", request.method, request.url.path
                )
                response = HarvestError(500, "Internal Server Error").response()
            response.headers.update(headers)
            self._record(
                request,
                "harvest",
                org,
                user,
                body if is_json else None,
                response.status_code,
                started,
            )
            return response

        return Route(path, endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    def _bearer(self, request: Request) -> tuple[GreenhouseOrg, str]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        issued = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if issued is None:
            raise HarvestError(401, "Unauthorized", ["Token could not be decoded"])
        if time.time() >= issued.expires:
            raise HarvestError(401, "Unauthorized", ["Token has expired"])
        return issued.org, issued.user_id

    async def _answer(
        self,
        request: Request,
        org: GreenhouseOrg | None,
        user: str | None,
        handlers: Mapping[str, _Handler],
        body: object | None,
        is_json: bool,
        *,
        partner: bool,
    ) -> Response:
        error: Callable[..., Exception] = PartnerError if partner else HarvestError
        if org is None:
            raise PartnerError(401, "Invalid credentials or On-Behalf-Of user")
        if org.latency > 0:
            await asyncio.sleep(org.latency)
        if org.outage:
            raise error(503, "Service Unavailable")
        handler = handlers.get(request.method)
        if handler is None:
            raise (
                error(404, "Resource not found")
                if not handlers
                else error(405, "Method not allowed")
            )
        status, payload, headers = handler(_Call(org, user or "", request, body, is_json))
        return JSONResponse(payload, status_code=status, headers=dict(headers))


def _basic(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _parse_json(raw: bytes) -> tuple[object | None, bool]:
    if not raw:
        return None, False
    try:
        return json.loads(raw), True
    except (ValueError, RecursionError):
        return None, False


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# --- Partner API --------------------------------------------------------------------------------


def _partner_status(status: str) -> str:
    return {"rejected": "Rejected", "hired": "Hired"}.get(status, "Active")


def _partner_candidate(org: GreenhouseOrg, candidate: GhCandidate) -> dict[str, object]:
    rows = sorted(
        (a for a in org.applications.values() if a.candidate_id == candidate.id), key=lambda a: a.id
    )
    return {
        "id": candidate.id,
        "name": f"{candidate.first_name} {candidate.last_name}",
        "external_id": candidate.external_id,
        "applications": [
            {
                "id": a.id,
                "job": org.jobs[a.job_id].name if a.job_id in org.jobs else None,
                "status": _partner_status(a.status),
                "stage": a.stage_name,
                "profile_url": PROFILE.format(candidate=candidate.id, application=a.id),
            }
            for a in rows
        ],
    }


def _id_list(raw: str, name: str, error: Callable[[str], Exception]) -> list[int]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts or not all(_DIGITS.match(part) for part in parts):
        raise error(f"{name} must be a comma-separated list of integer ids")
    if len(parts) > MAX_IDS:
        raise error(f"{name} accepts at most {MAX_IDS} ids")
    return list(dict.fromkeys(int(part) for part in parts))


def _partner_candidates(call: _Call) -> _Result:
    unknown = set(call.query) - {"candidate_ids"}
    if unknown:
        raise PartnerError(400, f"Unknown parameter {sorted(unknown)[0]}", sorted(unknown)[0])
    if "candidate_ids" not in call.query:
        raise PartnerError(400, "candidate_ids is required", "candidate_ids")
    ids = _id_list(
        call.query["candidate_ids"],
        "candidate_ids",
        lambda m: PartnerError(400, m, "candidate_ids"),
    )
    found = [call.org.candidates[i] for i in ids if i in call.org.candidates]
    return 200, [_partner_candidate(call.org, c) for c in found], {}


def _partner_current_user(call: _Call) -> _Result:
    user = call.org.user_by_email(call.user) or call.org.users[0]
    full = f"{user.first_name} {user.last_name}"
    return (
        200,
        {
            "id": user.id,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "full_name": full,
        },
        {},
    )


def _partner_jobs(call: _Call) -> _Result:
    jobs = sorted(call.org.jobs.values(), key=lambda j: j.id)
    return (
        200,
        [
            {"id": j.id, "name": j.name, "status": j.status, "public": j.status == "open"}
            for j in jobs
        ],
        {},
    )


def _partner_prospect_pools(call: _Call) -> _Result:
    pools = [
        {"id": p.id, "name": p.name, "stages": [{"id": s, "name": n} for s, n in p.stages]}
        for p in call.org.prospect_pools
    ]
    return 200, pools, {}


# fmt: off
_PARTNER_FIELDS: Final = frozenset({
    "prospect", "job_id", "first_name", "last_name", "external_id", "company", "title", "resume",
    "phone_numbers", "emails", "addresses", "social_media", "websites", "website", "referrer",
    "notes", "prospect_pool_id", "prospect_pool_stage_id", "prospect_owner_email",
})
# fmt: on


def _invalid(field_name: str, message: str) -> PartnerError:
    return PartnerError(400, message, field_name)


def _flag(value: object, name: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(name, f"{name} must be a boolean")


def _integer(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    raise _invalid(name, f"{name} must be an integer")


def _string(body: Mapping[str, object], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(name, f"{name} is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool) and name == "external_id":
        return str(value)
    if not isinstance(value, str):
        raise _invalid(name, f"{name} must be a string")
    return value


def _entries(
    body: Mapping[str, object],
    name: str,
    value_key: str,
    types: Sequence[str] | None,
    error: Callable[[str, str], Exception],
) -> list[dict[str, str]]:
    """Validated contact entries, stored the Harvest way (`{value, type}`)."""
    raw = body.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise error(name, f"{name} must be an array")
    entries = []
    for n, item in enumerate(raw):
        value = item.get(value_key) if isinstance(item, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise error(f"{name}[{n}].{value_key}", f"{name}[{n}].{value_key} is required")
        entry = {"value": value.strip()}
        if types is not None:
            kind = item.get("type")
            if kind not in types:
                raise error(
                    f"{name}[{n}].type", f"{name}[{n}].type must be one of {', '.join(types)}"
                )
            entry["type"] = str(kind)
        entries.append(entry)
    return entries


def _partner_create(call: _Call) -> _Result:
    body = call.json_body(lambda m: PartnerError(400, m))
    if isinstance(body, list):
        return 200, [_partner_create_one(call, item) for item in body], {}
    return 200, _partner_create_one(call, body), {}


def _partner_create_one(call: _Call, body: object) -> dict[str, object]:
    org = call.org
    if not isinstance(body, dict):
        raise PartnerError(400, "Each candidate must be a JSON object")
    unknown = sorted(set(body) - _PARTNER_FIELDS)
    if unknown:
        raise _invalid(unknown[0], f"{unknown[0]} is not a candidate field")
    first = _string(body, "first_name", required=True)
    last = _string(body, "last_name", required=True)
    external_id = _string(body, "external_id", required=True)
    prospect = _flag(body.get("prospect"), "prospect", True)
    job_id = _integer(body.get("job_id"), "job_id")
    if job_id is None and not prospect:
        raise _invalid("job_id", "job_id is required when prospect is false")
    if job_id is not None and job_id not in org.jobs:
        raise _invalid("job_id", f"job {job_id} does not exist")
    pool_id = _integer(body.get("prospect_pool_id"), "prospect_pool_id")
    stage_id = _integer(body.get("prospect_pool_stage_id"), "prospect_pool_stage_id")
    owner = _string(body, "prospect_owner_email")
    for name, value in (
        ("prospect_pool_id", pool_id),
        ("prospect_pool_stage_id", stage_id),
        ("prospect_owner_email", owner),
    ):
        if value is not None and not prospect:
            raise _invalid(name, f"{name} needs prospect to be true")
    pool = next((p for p in org.prospect_pools if p.id == pool_id), None)
    if pool_id is not None and pool is None:
        raise _invalid("prospect_pool_id", f"prospect pool {pool_id} does not exist")
    if stage_id is not None and (pool is None or stage_id not in dict(pool.stages)):
        raise _invalid(
            "prospect_pool_stage_id", "prospect_pool_stage_id must be a stage of prospect_pool_id"
        )
    if owner is not None and org.user_by_email(owner) is None:
        raise _invalid("prospect_owner_email", "prospect_owner_email must be a Greenhouse user")
    referrer = body.get("referrer")
    if referrer is not None and not (
        isinstance(referrer, dict)
        and all(
            isinstance(referrer.get(k), str) and referrer[k]
            for k in ("email", "first_name", "last_name")
        )
    ):
        raise _invalid("referrer", "referrer needs email, first_name and last_name")
    websites_key = "websites" if "websites" in body else "website"
    now = _now()
    candidate = GhCandidate(
        id=org.next_id(org.candidates, 0),
        first_name=first or "",
        last_name=last or "",
        created_at=now,
        updated_at=now,
        company=_string(body, "company"),
        title=_string(body, "title"),
        email_addresses=_entries(body, "emails", "email", EMAIL_TYPES, _invalid),
        phone_numbers=_entries(
            body, "phone_numbers", "phone_number", PARTNER_PHONE_TYPES, _invalid
        ),
        addresses=_entries(body, "addresses", "address", ADDRESS_TYPES, _invalid),
        website_addresses=_entries(body, websites_key, "url", WEBSITE_TYPES, _invalid),
        social_media_addresses=_entries(body, "social_media", "url", None, _invalid),
        external_id=external_id,
        resume_url=_string(body, "resume"),
        notes=[note] if (note := _string(body, "notes")) else [],
    )
    application = GhApplication(
        id=org.next_id(org.applications, 0),
        candidate_id=candidate.id,
        job_id=None if prospect else job_id,
        status="in_process",
        stage_name=None if prospect else FIRST_STAGE,
        created_at=now,
        updated_at=now,
        prospect=prospect,
        prospective_job_ids=[job_id] if prospect and job_id is not None else [],
    )
    org.candidates[candidate.id] = candidate
    org.applications[application.id] = application
    return {
        "id": candidate.id,
        "application_id": application.id,
        "external_id": external_id,
        "profile_url": PROFILE.format(candidate=candidate.id, application=application.id),
    }


# --- Harvest v3 ---------------------------------------------------------------------------------


def _encode_cursor(state: Mapping[str, object]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise _unprocessable({"cursor": "is invalid"}) from None
    if not isinstance(state, dict) or not isinstance(state.get("f"), dict):
        raise _unprocessable({"cursor": "is invalid"})
    return state


@dataclass(frozen=True, slots=True)
class _Listing:
    filters: dict[str, str]
    per_page: int
    after: int


def _listing(query: QueryParams, allowed: frozenset[str]) -> _Listing:
    """The filters, page size and position of a list request, from its params or its cursor."""
    if "cursor" in query:
        if len(query.multi_items()) > 1:
            raise _unprocessable("When passing a cursor, do not include other query params.")
        state = _decode_cursor(query["cursor"])
        return _Listing(
            {str(k): str(v) for k, v in state["f"].items()}, int(state["p"]), int(state["a"])
        )
    unknown = sorted(set(query) - allowed - {"per_page"})
    if unknown:
        raise _unprocessable(*({name: "is not a permitted parameter"} for name in unknown))
    raw = query.get("per_page", str(DEFAULT_PER_PAGE))
    if not _DIGITS.match(raw) or int(raw) < 1:
        raise _unprocessable({"per_page": f"`{raw}` must be a positive integer"})
    if int(raw) > MAX_PER_PAGE:
        raise _unprocessable({"per_page": f"`{raw}` number is greater than: {MAX_PER_PAGE}"})
    return _Listing({k: v for k, v in query.items() if k != "per_page"}, int(raw), 0)


def _page(
    call: _Call, listing: _Listing, rows: Sequence[Any], render: Callable[[Any], object]
) -> _Result:
    """A bare JSON array of the rows after the position; `Link: rel="next"` when more remain."""
    rest = [row for row in rows if row.id > listing.after]
    page = rest[: listing.per_page]
    headers: dict[str, str] = {}
    if len(rest) > len(page):
        cursor = _encode_cursor({"f": listing.filters, "p": listing.per_page, "a": page[-1].id})
        url = call.request.url.replace(query=f"cursor={cursor}")
        headers["Link"] = f'<{url}>; rel="next"'
    return 200, [render(row) for row in page], headers


def _ids_filter(filters: Mapping[str, str], name: str) -> set[int] | None:
    if name not in filters:
        return None
    return set(_id_list(filters[name], name, lambda m: _unprocessable({name: m})))


def _date_filter(filters: Mapping[str, str], name: str) -> Callable[[datetime], bool]:
    raw = filters.get(name)
    if raw is None:
        return lambda moment: True
    match = _DATE_FILTER.match(raw)
    try:
        bound = datetime.fromisoformat(match.group(2)) if match else None
    except ValueError:
        bound = None
    if match is None or bound is None:
        raise _unprocessable({name: "must look like gte|2024-01-01T00:00:00Z (gte, lte, gt or lt)"})
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
        "created_at": _iso(candidate.created_at),
        "updated_at": _iso(candidate.updated_at),
        "last_activity_at": _iso(candidate.updated_at),
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


def _harvest_application(application: GhApplication) -> dict[str, object]:
    return {
        "id": application.id,
        "candidate_id": application.candidate_id,
        "job_id": application.job_id,
        "prospect": application.prospect,
        "prospective_job_ids": list(application.prospective_job_ids),
        "job_post_id": None,
        "stage_name": application.stage_name,
        "status": application.status,
        "rejected_at": _iso(application.updated_at) if application.status == "rejected" else None,
        "last_activity_at": _iso(application.updated_at),
        "created_at": _iso(application.created_at),
        "updated_at": _iso(application.updated_at),
        "source_id": None,
        "answers": [],
        "custom_fields": {},
    }


_CANDIDATE_FILTERS: Final = frozenset({"ids", "email", "tag", "created_at", "updated_at"})
_APPLICATION_FILTERS: Final = frozenset(
    {"ids", "candidate_ids", "job_ids", "status", "created_at", "updated_at"}
)
_APPLICATION_STATUS_FILTER: Final = {
    "active": "in_process",
    "rejected": "rejected",
    "hired": "hired",
    "converted": "converted",
}


def _harvest_candidates(call: _Call) -> _Result:
    listing = _listing(call.query, _CANDIDATE_FILTERS)
    f = listing.filters
    ids = _ids_filter(f, "ids")
    email = f.get("email", "").strip().casefold()
    created, updated = _date_filter(f, "created_at"), _date_filter(f, "updated_at")
    rows = [
        c
        for c in sorted(call.org.candidates.values(), key=lambda c: c.id)
        if (ids is None or c.id in ids)
        and (not email or any(e["value"].casefold() == email for e in c.email_addresses))
        and ("tag" not in f or f["tag"] in c.tags)
        and created(c.created_at)
        and updated(c.updated_at)
    ]
    return _page(call, listing, rows, _harvest_candidate)


def _harvest_applications(call: _Call) -> _Result:
    listing = _listing(call.query, _APPLICATION_FILTERS)
    f = listing.filters
    ids, candidates, jobs = (_ids_filter(f, name) for name in ("ids", "candidate_ids", "job_ids"))
    status = f.get("status")
    if status is not None and status not in _APPLICATION_STATUS_FILTER:
        raise _unprocessable({"status": f"must be one of {', '.join(_APPLICATION_STATUS_FILTER)}"})
    created, updated = _date_filter(f, "created_at"), _date_filter(f, "updated_at")
    rows = [
        a
        for a in sorted(call.org.applications.values(), key=lambda a: a.id)
        if (ids is None or a.id in ids)
        and (candidates is None or a.candidate_id in candidates)
        and (jobs is None or a.job_id in jobs)
        and (status is None or a.status == _APPLICATION_STATUS_FILTER[status])
        and created(a.created_at)
        and updated(a.updated_at)
    ]
    return _page(call, listing, rows, _harvest_application)


def _harvest_jobs(call: _Call) -> _Result:
    listing = _listing(call.query, frozenset({"ids", "status"}))
    ids = _ids_filter(listing.filters, "ids")
    status = listing.filters.get("status")
    rows = [
        j
        for j in sorted(call.org.jobs.values(), key=lambda j: j.id)
        if (ids is None or j.id in ids) and (status is None or j.status == status)
    ]

    def render(job: GhJob) -> dict[str, object]:
        return {
            "id": job.id,
            "name": job.name,
            "status": job.status,
            "created_at": _iso(job.created_at),
        }

    return _page(call, listing, rows, render)


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
    return _unprocessable({name: message})


def _harvest_values(body: object, allowed: frozenset[str], *, creating: bool) -> dict[str, object]:
    """Validated candidate fields of a POST or PATCH body, in storage shape."""
    if not isinstance(body, dict):
        raise HarvestError(400, "Bad Request", ["Request body must be a JSON object"])
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _unprocessable(*({name: "is not a permitted field"} for name in unknown))
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
            values[name] = _entries(body, name, "value", types, _harvest_invalid)
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise _harvest_invalid("tags", "must be an array of tag names")
        values["tags"] = list(dict.fromkeys(tags))
    return values


def _harvest_create(call: _Call) -> _Result:
    org, body = call.org, call.json_body(lambda m: HarvestError(400, "Bad Request", [m]))
    values = _harvest_values(body, _WRITABLE | {"application"}, creating=True)
    raw_application = body.get("application") if isinstance(body, dict) else None
    job_id: int | None = None
    if raw_application is not None:
        job = raw_application.get("job_id") if isinstance(raw_application, dict) else None
        if not isinstance(job, int) or isinstance(job, bool) or job not in org.jobs:
            raise _harvest_invalid("application.job_id", "must be the id of a job")
        job_id = job
    now = _now()
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
        org.applications[application.id] = application
    return 201, _harvest_candidate(candidate), {}


def _harvest_update(call: _Call) -> _Result:
    raw_id = call.request.path_params["candidate_id"]
    candidate = call.org.candidates.get(int(raw_id)) if _DIGITS.match(raw_id) else None
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
    candidate.updated_at = max(_now(), candidate.updated_at + timedelta(milliseconds=1))
    return 200, _harvest_candidate(candidate), {}


# --- demo ---------------------------------------------------------------------------------------


def demo_emulator() -> GreenhouseEmulator:
    """One seeded organisation, reachable through both APIs."""
    return GreenhouseEmulator(
        [
            GreenhouseOrg.seeded(
                "Hogwarts Hiring",
                partner_api_key="gh_partner_demo_key",
                client_id="gh_demo_client",
                client_secret="gh_demo_secret",
                candidates=80,
                seed=11,
            )
        ]
    )


def demo() -> Demo:
    emulator = demo_emulator()
    org = emulator.orgs[0]
    user = org.users[0]
    return Demo(
        emulator.app,
        (
            DemoAccount(
                id="greenhouse-partner",
                name=f"{org.name} (Greenhouse Partner API demo)",
                path="/v1/partner",
                credentials={"api_key": org.partner_api_key},
                options={"api": "partner", "on_behalf_of": user.email},
            ),
            DemoAccount(
                id="greenhouse-harvest",
                name=f"{org.name} (Greenhouse Harvest v3 demo)",
                path="/v3",
                credentials={"client_id": org.client_id, "client_secret": org.client_secret},
                options={"api": "harvest", "user_id": str(user.id), "token_url": "/token"},
            ),
        ),
        emulator,
    )
