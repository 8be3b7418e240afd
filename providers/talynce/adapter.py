"""Talynce adapter: offset pages, create-or-match by email, partial update, talent-pool masking.

Talynce keeps one email, one phone and one location per candidate, full names only, and money as
CTC in lakh per annum (LPA); this module is where those facts meet the normalized records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import (
    ALL_CAPABILITIES,
    AccountConfig,
    CandidatePage,
    CandidateQuery,
    JobPage,
    JobQuery,
    Position,
    ProviderSpec,
)
from providers.errors import (
    FieldProblem,
    NotFound,
    Origin,
    ProviderError,
    Rejected,
    UnsupportedByProvider,
    UpstreamAuthFailed,
)
from providers.model import (
    ApplicationDraft,
    ApplicationRecord,
    ApplicationStatus,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    Compensation,
    Email,
    JobRecord,
    JobRef,
    Phone,
    PhoneType,
    WriteResult,
    WriteWarning,
)
from providers.upstream.http import Upstream, path
from providers.upstream.sharing import Sharing
from providers.upstream.transport import Sender
from providers.wire import figure, strings, text

__all__ = ["SPEC", "TalynceAdapter"]

MAX_PAGE = 100
LAKH = 100_000
MAX_FIGURE = 2**31 - 1  # GraphQL's Int is 32-bit; no CTC, tenure or notice period comes near

HIRED = frozenset({"hired", "joined"})
REJECTED = frozenset({"rejected"})
ACTIVE = frozenset(
    {"applied", "sourced", "screening", "shortlisted", "interview", "interviewing", "offered"}
)

# Talynce's field names → the gateway's input field names (snake case), for error paths.
WIRE_TO_INPUT = {
    "full_name": ("full_name",),
    "email": ("emails",),
    "phone_number": ("phones",),
    "whatsapp_number": ("phones",),
    "location": ("locations",),
    "primary_skills": ("skills",),
    "secondary_skills": ("skills",),
    "total_experience_years": ("experience_years",),
    "current_company": ("company",),
    "current_designation": ("title",),
    "current_ctc": ("current_compensation",),
    "expected_ctc": ("expected_compensation",),
    "metadata": ("external_id",),
    "preferred_location": ("locations",),
    "notice_period_days": ("notice_period_days",),
    "resume_url": ("resume_url",),
    "source": ("source",),
    "application": ("application",),
    "application.job_id": ("application", "job_id"),
    "application.status": ("application", "status"),
    "application.notes": ("application", "notes"),
}

PROBLEM_CODES = {
    "validation_error": "BAD_USER_INPUT",
    "invalid_pipeline_status": "INVALID_PIPELINE_STATUS",
    "talent_pool_reveal_required": "TALENT_POOL_REVEAL_REQUIRED",
    "candidate_limit_reached": "CANDIDATE_LIMIT_REACHED",
}
# What a client reads for each: upstream messages are the provider's text, never passed on.
PROBLEM_MESSAGES = {
    "validation_error": "Talynce refused this value as invalid",
    "invalid_pipeline_status": "Talynce has no such pipeline status in this account's settings",
    "talent_pool_reveal_required": (
        "Talynce keeps this candidate's contact and pay fields locked until the profile is "
        "revealed from the talent pool"
    ),
    "candidate_limit_reached": "the Talynce account has reached its plan's candidate limit",
}
# Every code Talynce documents; another one is named in no message.
ERROR_CODES = frozenset(
    {"unauthorized", "forbidden", "not_found", "rate_limit_exceeded", "internal_error"}
    | PROBLEM_CODES.keys()
)
MAX_PROBLEMS = 50  # field names looked at in one error answer


def split_name(full_name: str | None) -> tuple[str | None, str | None]:
    """First word as first name, the rest as last name: the least surprising split of one string."""
    if not full_name:
        return None, None
    first, _, rest = full_name.strip().partition(" ")
    return first or None, rest.strip() or None


def _ctc(raw: Mapping[str, Any], key: str) -> Compensation | None:
    lpa = figure(raw, key, MAX_FIGURE)
    if lpa is None:
        return None
    return Compensation(
        amount=round(lpa * LAKH, 2), currency="INR", period="YEAR", raw_value=lpa, raw_unit="LPA"
    )


def application_status(raw: str | None) -> ApplicationStatus:
    key = (raw or "").strip().lower()
    if key in HIRED:
        return ApplicationStatus.HIRED
    if key in REJECTED:
        return ApplicationStatus.REJECTED
    if key in ACTIVE:
        return ApplicationStatus.ACTIVE
    return ApplicationStatus.OTHER


def _application(raw: Mapping[str, Any], candidate_id: str) -> ApplicationRecord:
    status = text(raw, "status")
    job_id = text(raw, "job_id")
    return ApplicationRecord(
        remote_id=str(raw.get("id")),
        candidate_remote_id=text(raw, "candidate_id") or candidate_id,
        job=JobRef(remote_id=job_id) if job_id else None,
        status=application_status(status),
        raw_status=status,
        stage=status,
        applied_at=text(raw, "created_at"),
        notes=text(raw, "notes"),
    )


def candidate_record(raw: Any) -> CandidateRecord | None:
    """Maps one wire candidate; None when it is not an object with an id."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str | int):
        return None
    remote_id = str(raw["id"])
    full_name = text(raw, "full_name")
    first, last = split_name(full_name)
    email = text(raw, "email")
    phones = [Phone(value=v) for v in [text(raw, "phone_number")] if v]
    phones += [
        Phone(value=v, type=PhoneType.OTHER, raw_type="whatsapp")
        for v in [text(raw, "whatsapp_number")]
        if v
    ]
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), Mapping) else None
    extras = {
        key: raw[key]
        for key in (
            "preferred_location",
            "in_notice_period",
            "last_working_day",
            "screening_score",
            "talent_pool_status",
        )
        if raw.get(key) is not None
    }
    if metadata:
        extras["metadata"] = dict(metadata)
    skills = strings(raw, "skill_array", keep_empty=True) or (
        strings(raw, "primary_skills", keep_empty=True)
        + strings(raw, "secondary_skills", keep_empty=True)
    )
    experience = figure(raw, "total_experience_years", MAX_FIGURE)
    notice = figure(raw, "notice_period_days", MAX_FIGURE)
    return CandidateRecord(
        remote_id=remote_id,
        first_name=first,
        last_name=last,
        full_name=full_name,
        company=text(raw, "current_company"),
        title=text(raw, "current_designation"),
        emails=(Email(value=email),) if email else (),
        phones=tuple(phones),
        locations=tuple(v for v in [text(raw, "location")] if v),
        skills=skills,
        experience_years=experience,
        current_compensation=_ctc(raw, "current_ctc"),
        expected_compensation=_ctc(raw, "expected_ctc"),
        notice_period_days=int(notice) if notice is not None else None,
        resume_url=text(raw, "resume_url"),
        source=text(raw, "source"),
        external_id=str(metadata["external_id"])
        if metadata and metadata.get("external_id")
        else None,
        masked=raw.get("talent_pool_status") == "masked",
        created_at=text(raw, "created_at"),
        updated_at=text(raw, "updated_at"),
        custom_fields=extras or None,
        remote_data=dict(raw),
        applications=_applications(raw.get("applications"), remote_id),
    )


def _applications(raw: Any, candidate_id: str) -> tuple[ApplicationRecord, ...] | None:
    """A candidate's `applications[]`; None when the answer carried no list at all."""
    if not isinstance(raw, list):
        return None
    return tuple(
        _application(a, candidate_id)
        for a in raw
        if isinstance(a, Mapping) and a.get("id") is not None
    )


def _lpa(value: Compensation | None, field: str) -> float | None:
    if value is None:
        return None
    if (value.currency or "INR").upper() != "INR" or (value.period or "YEAR").upper() != "YEAR":
        raise Rejected(
            [
                FieldProblem(
                    "UNSUPPORTED_VALUE",
                    "Talynce stores compensation as INR per year",
                    (field,),
                )
            ]
        )
    return round(value.amount / LAKH, 4)


def _application_body(draft: ApplicationDraft) -> dict[str, Any]:
    body: dict[str, Any] = {"job_id": draft.job_remote_id}
    if draft.status is not None:
        body["status"] = draft.status
    if draft.notes is not None:
        body["notes"] = draft.notes
    return body


def _only_first(values: Sequence[Any], field: str, warnings: list[WriteWarning], what: str) -> Any:
    if len(values) > 1:
        warnings.append(
            WriteWarning(
                f"Talynce keeps one {what}; only the first was saved", "IGNORED_VALUES", (field,)
            )
        )
    return values[0].value if values else None


def _ignored(field: str, warnings: list[WriteWarning]) -> None:
    warnings.append(
        WriteWarning(
            f"Talynce has no place for {field}; it was not saved", "IGNORED_FIELD", (field,)
        )
    )


class TalynceAdapter:
    name = "talynce"
    capabilities = ALL_CAPABILITIES

    def __init__(
        self, account: AccountConfig, client: Sender, sharing: Sharing | None = None
    ) -> None:
        self.upstream = Upstream(account, client, sharing=sharing)
        self._headers = {"Authorization": f"Bearer {account.credentials['api_key']}"}

    def _context(self) -> Origin:
        return {"account": self.upstream.account.id, "provider": self.name}

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int | None] | None = None,
        json: Any = None,
    ) -> tuple[int, Any]:
        response = await self.upstream.send(
            method, url, params=params, json=json, headers=self._headers
        )
        body = self.upstream.json(response)
        if response.status_code < 400:
            if not isinstance(body, Mapping) or "data" not in body:
                raise self.upstream.bad_response("a body without data")
            return response.status_code, body
        raise self._error(response.status_code, body)

    def _error(self, status: int, body: Any) -> ProviderError:
        """The gateway's own words for an error answer: of the upstream body only a known code
        and known field names are used, never its text (it reaches clients)."""
        error = body.get("error") if isinstance(body, Mapping) else None
        error = error if isinstance(error, Mapping) else {}
        code = error.get("code") if isinstance(error.get("code"), str) else ""
        details = error.get("details")
        details = details if isinstance(details, Mapping) else {}
        if status == 404:
            return NotFound("no such candidate", **self._context())
        if code in PROBLEM_CODES:
            wire_fields = details.get("fields")
            if not isinstance(wire_fields, list):
                wire_fields = [details.get("field")]
            paths = dict.fromkeys(self._input_path(wire) for wire in wire_fields[:MAX_PROBLEMS])
            problems = [
                FieldProblem(PROBLEM_CODES[code], PROBLEM_MESSAGES[code], path)
                for path in paths or (None,)
            ]
            return Rejected(problems, **self._context())
        if status == 403:
            known = code if code in ERROR_CODES else "HTTP 403"
            return UpstreamAuthFailed(
                f"Talynce refused account {self.upstream.account.id!r} ({known})",
                **self._context(),
            )
        return self.upstream.bad_response(f"an unexpected HTTP {status}")

    @staticmethod
    def _input_path(wire: object) -> tuple[str, ...] | None:
        """The gateway input a Talynce field name stands for; None for a name not in the map."""
        return WIRE_TO_INPUT.get(wire) if isinstance(wire, str) else None

    def _record(self, raw: Any) -> CandidateRecord:
        record = candidate_record(raw)
        if record is None:
            raise self.upstream.bad_response("a candidate without an id")
        return record

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage:
        raise UnsupportedByProvider(
            f"account {self.upstream.account.id!r}: jobs are not read from Talynce yet",
            **self._context(),
        )

    async def get_jobs(self, remote_ids: Sequence[str]) -> list[JobRecord]:
        raise UnsupportedByProvider(
            f"account {self.upstream.account.id!r}: jobs are not read from Talynce yet",
            **self._context(),
        )

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        offset = int(position.token or 0) + position.skip
        limit = max(1, min(limit, MAX_PAGE))
        params = {
            "search": query.search,
            "job_id": query.job_remote_id,
            "limit": limit,
            "offset": offset,
        }
        try:
            _, body = await self._call("GET", "candidates", params=params)
        except NotFound:
            raise self.upstream.bad_response(
                "404 for its candidate list (check base_url)"
            ) from None
        rows, meta = body["data"], body.get("meta")
        if not isinstance(rows, list):
            raise self.upstream.bad_response("a list that is not an array")
        total = meta.get("total") if isinstance(meta, Mapping) else None
        total = total if isinstance(total, int) and not isinstance(total, bool) else None
        records = tuple(self._record(row) for row in rows[:limit])  # more were not asked for
        end = offset + len(records)
        more = bool(records) and (end < total if total is not None else len(records) >= limit)
        return CandidatePage(
            records=records,
            position=Position(str(offset)),
            next_token=str(end) if more else None,
            total=total,
        )

    async def _fetch(self, remote_id: str) -> Mapping[str, Any] | None:
        """One candidate as Talynce sent it (checked to have an id), or None if it is gone."""
        try:
            _, body = await self._call("GET", path("candidates", remote_id))
        except NotFound:
            return None
        raw = body["data"]
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str | int):
            raise self.upstream.bad_response("a candidate without an id")
        return raw

    async def _get(self, remote_id: str) -> CandidateRecord | None:
        raw = await self._fetch(remote_id)
        return None if raw is None else self._record(raw)

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        """One GET per id, concurrently under the account's cap: Talynce has no batch read."""
        found = await asyncio.gather(*(self._get(remote_id) for remote_id in remote_ids))
        return [record for record in found if record is not None]

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        """The same GETs as `get_candidates`, reading only `applications[]` from each answer."""
        found = await asyncio.gather(*(self._fetch(remote_id) for remote_id in remote_ids))
        answers = {}
        for raw in found:
            if raw is not None:
                remote_id = str(raw["id"])
                answers[remote_id] = list(_applications(raw.get("applications"), remote_id) or ())
        return answers

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult:
        warnings: list[WriteWarning] = []
        full_name = draft.full_name or " ".join(
            part for part in (draft.first_name, draft.last_name) if part
        )
        problems = []
        if not full_name:
            problems.append(FieldProblem("REQUIRED", "a name is required", ("first_name",)))
        if not draft.emails:
            problems.append(FieldProblem("REQUIRED", "Talynce needs an email", ("emails",)))
        if problems:
            raise Rejected(problems, **self._context())
        body: dict[str, Any] = {
            "full_name": full_name,
            "email": _only_first(draft.emails, "emails", warnings, "email"),
        }
        if draft.phones:
            body["phone_number"] = _only_first(draft.phones, "phones", warnings, "phone")
        if draft.locations:
            body["location"] = draft.locations[0]
            if len(draft.locations) > 1:
                body["preferred_location"] = draft.locations[1]
        optional = {
            "current_company": draft.company,
            "current_designation": draft.title,
            "total_experience_years": draft.experience_years,
            "current_ctc": _lpa(draft.current_compensation, "current_compensation"),
            "expected_ctc": _lpa(draft.expected_compensation, "expected_compensation"),
            "notice_period_days": draft.notice_period_days,
            "resume_url": draft.resume_url,
            "source": draft.source,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        if draft.skills:
            body["primary_skills"] = list(draft.skills)
        if draft.external_id is not None:
            body["metadata"] = {"external_id": draft.external_id}
        for name, value in (("urls", draft.urls), ("tags", draft.tags)):
            if value:
                _ignored(name, warnings)
        if draft.application is not None:
            body["application"] = _application_body(draft.application)
        elif draft.notes is not None:
            _ignored("notes", warnings)
        status, answer = await self._call("POST", "candidates", json=body)
        record = self._record(answer["data"])
        return WriteResult(record, created=status == 201, warnings=tuple(warnings))

    async def update_candidate(self, remote_id: str, patch: CandidatePatch) -> WriteResult:
        given = patch.given()
        warnings: list[WriteWarning] = []
        body: dict[str, Any] = {}
        renames = "full_name" not in given and bool({"first_name", "last_name"} & given.keys())
        needs_current = renames or "external_id" in given
        current = await self._get(remote_id) if needs_current else None
        if needs_current and current is None:
            raise NotFound("no such candidate", **self._context())
        if "full_name" in given:
            body["full_name"] = given["full_name"]
        elif renames and current is not None:
            first = given.get("first_name", current.first_name)
            last = given.get("last_name", current.last_name)
            body["full_name"] = " ".join(part for part in (first, last) if part) or None
        if "emails" in given:
            body["email"] = _only_first(given["emails"] or (), "emails", warnings, "email")
        if "phones" in given:
            body["phone_number"] = _only_first(given["phones"] or (), "phones", warnings, "phone")
        if "locations" in given:
            body["location"] = (given["locations"] or (None,))[0]
        if "skills" in given:
            body["primary_skills"] = list(given["skills"] or ())
            body["secondary_skills"] = []
        simple = {
            "company": "current_company",
            "title": "current_designation",
            "experience_years": "total_experience_years",
            "notice_period_days": "notice_period_days",
            "resume_url": "resume_url",
            "source": "source",
        }
        body.update({wire: given[name] for name, wire in simple.items() if name in given})
        for name, wire in (
            ("current_compensation", "current_ctc"),
            ("expected_compensation", "expected_ctc"),
        ):
            if name in given:
                body[wire] = _lpa(given[name], name)
        if "external_id" in given and current is not None:
            metadata = dict((current.custom_fields or {}).get("metadata") or {})
            metadata["external_id"] = given["external_id"]
            body["metadata"] = metadata
        for name in ("urls", "tags"):
            if name in given:
                _ignored(name, warnings)
        if given.get("application") is not None:
            body["application"] = _application_body(given["application"])
        if not body:
            record = current or await self._get(remote_id)
            if record is None:
                raise NotFound("no such candidate", **self._context())
            return WriteResult(record, warnings=tuple(warnings))
        _, answer = await self._call("PATCH", path("candidates", remote_id), json=body)
        return WriteResult(self._record(answer["data"]), warnings=tuple(warnings))

    async def aclose(self) -> None:
        await self.upstream.aclose()


SPEC = ProviderSpec(
    name=TalynceAdapter.name,
    capabilities=TalynceAdapter.capabilities,
    build=TalynceAdapter,
    credentials=("api_key",),
    check=lambda account: [] if account.credentials.get("api_key") else ["api_key_env is required"],
    default_base_url="https://talynce.com/api/v1",
    rate_limit=None,  # Talynce publishes no number: its 429s and their Retry-After govern
)
