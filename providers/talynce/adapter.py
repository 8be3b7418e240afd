"""Talynce adapter: offset pages, create-or-match by email, partial update, talent-pool masking.

Talynce keeps one email, one phone and one location per candidate, full names only, and money as
CTC in lakh per annum (LPA); this module is where those facts meet the normalized records.

Jobs. Documented: a jobs resource exists (`/api/v1/jobs`, "push candidates, clients, and jobs"),
application rows carry `job_id` (uuid), and an application's `status` must be one of the org's
pipeline statuses. Assumed (the vendor documents neither parameters nor fields; the emulator
follows the same assumptions): the list takes the candidates list's `limit` (1-100), `offset`
and `search` (matched on `title`) in the same envelope; `GET /jobs/{id}` reads one job; a job has
`id`, `title` (its name), `status` (open/closed/draft/archived; others become OTHER, the raw one
is kept), `department`, `locations[]` (or one `location`), `created_at`, `updated_at`,
`opened_at`, `closed_at`, and `pipeline_statuses[]`, the org pipeline its applications move
through, read as the job's stages (a stage's id is the status name, the value an application's
`stage` carries); a job without that list has stages None. No status filter is assumed: status
is filtered here, over a bounded scan.

Updated-since. Talynce documents no such filter for candidates or jobs, so `updated_after` (and
a job status) is filtered here over at most `scan_pages` (option, default 5) pages of 100 per
call, reported `filtered_locally`; a row without a readable `updated_at` is left out, never
passed through unfiltered. The position is (offset of the page read, matching rows used), so
paging resumes the scan and yields each matching row once. `scan_pages = 0` refuses such a
listing (UNSUPPORTED_BY_PROVIDER).

Applications (facts in applications.py) are listed by candidate (its one GET) or by job (the
candidates list's `job_id`, then each candidate's GET), created and moved by the candidate
update's `application {job_id, status}`. Talynce documents no reject action, rejection reasons
or notes, and no pipeline status list (so no status a reject could rely on): those stay refused.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeGuard, TypeVar

from providers.base import (
    AccountConfig,
    ApplicationPage,
    ApplicationQuery,
    CandidatePage,
    CandidateQuery,
    Capability,
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
    ApplicationWriteResult,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    Compensation,
    Contact,
    Email,
    EmailType,
    JobRecord,
    JobStage,
    JobStatus,
    NewApplication,
    Phone,
    PhoneType,
    WriteResult,
    WriteWarning,
)
from providers.refusals import RefusesPipeline
from providers.rows import Mapper, gaps_after, read_rows
from providers.search import is_address, matches_search
from providers.talynce.applications import (
    CREATE_INPUTS,
    MOVE_INPUTS,
    application_records,
    application_status,
    keeper,
    locally_filtered,
    updated_after,
)
from providers.upstream.http import Upstream, path
from providers.upstream.sharing import Sharing
from providers.upstream.transport import Sender
from providers.wire import figure, strings, text, text_or_integer

__all__ = ["SPEC", "TalynceAdapter", "application_status"]

MAX_PAGE = 100
SCAN_PAGES = 5  # pages of MAX_PAGE one call may read to filter locally (option `scan_pages`)
MAX_SCAN_PAGES = 50
OPTIONS = frozenset({"scan_pages"})
JOB_STATUSES = {
    "open": JobStatus.OPEN,
    "closed": JobStatus.CLOSED,
    "draft": JobStatus.DRAFT,
    "archived": JobStatus.ARCHIVED,
}
# A contact of one of these types loses nothing at Talynce, which keeps no type (reads say None).
UNTYPED = frozenset({None, EmailType.OTHER, PhoneType.OTHER})
R = TypeVar("R", CandidateRecord, JobRecord)  # what one scan maps rows to
LAKH = 100_000
MAX_FIGURE = 2**31 - 1  # GraphQL's Int is 32-bit; no CTC, tenure or notice period comes near

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
    # A positive figure's record is shared (records are immutable); zero and below are not, so
    # -0.0 never answers as 0.0.
    return _lpa_compensation(lpa) if lpa > 0 else _compensation(lpa)


def _compensation(lpa: float) -> Compensation:
    return Compensation(
        amount=round(lpa * LAKH, 2), currency="INR", period="YEAR", raw_value=lpa, raw_unit="LPA"
    )


_lpa_compensation = functools.lru_cache(maxsize=1024)(_compensation)
"""Remembered: a page's CTCs are a few round figures, each built once."""


def has_id(raw: Any) -> TypeGuard[Mapping[str, Any]]:
    """Whether a wire row can be mapped: an object with an id, as text or a whole number.
    `true` is a Python int and `""` a str, yet neither names a row: its global ID would be
    refused, and an empty id in a URL path names another route."""
    return isinstance(raw, Mapping) and text_or_integer(raw, "id") is not None


def _candidate(raw: Mapping[str, Any]) -> CandidateRecord:
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
        applications=application_records(raw.get("applications"), remote_id),
    )


candidate_record = Mapper("talynce.candidate", has_id, _candidate)
"""Maps one wire candidate; None when it is not an object with an id."""


def job_status(raw: str | None) -> JobStatus:
    return JOB_STATUSES.get((raw or "").strip().lower(), JobStatus.OTHER)


def _job(raw: Mapping[str, Any]) -> JobRecord:
    status = text(raw, "status")
    offices = strings(raw, "locations") or tuple(v for v in [text(raw, "location")] if v)
    pipeline = raw.get("pipeline_statuses")
    stages = None
    if isinstance(pipeline, list):
        names = [name for name in pipeline if isinstance(name, str) and name]
        stages = tuple(JobStage(remote_id=name, name=name, order=n) for n, name in enumerate(names))
    return JobRecord(
        remote_id=str(raw["id"]),
        name=text(raw, "title"),
        status=job_status(status),
        raw_status=status,
        departments=tuple(v for v in [text(raw, "department")] if v),
        offices=offices,
        created_at=text(raw, "created_at"),
        updated_at=text(raw, "updated_at"),
        opened_at=text(raw, "opened_at"),
        closed_at=text(raw, "closed_at"),
        stages=stages,
        remote_data=dict(raw),
    )


job_record = Mapper("talynce.job", has_id, _job)
"""Maps one wire job (fields assumed, see the module's docstring); None without an id."""


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


def _untyped(values: Sequence[Contact[Any]], field: str, warnings: list[WriteWarning]) -> None:
    """Talynce keeps no email or phone type: a type on the value it keeps is not saved."""
    if values and values[0].type not in UNTYPED:
        warnings.append(
            WriteWarning(
                f"Talynce keeps no type for {field}; the type was not saved",
                "IGNORED_FIELD",
                (field, "0", "type"),
            )
        )


def check_account(account: AccountConfig) -> list[str]:
    """What is wrong in a Talynce account's settings, worded for the operator."""
    problems = [] if account.credentials.get("api_key") else ["api_key_env is required"]
    unknown = sorted(set(account.options) - OPTIONS)
    if unknown:
        problems.append(f"unknown options {unknown} (known: {sorted(OPTIONS)})")
    pages = account.options.get("scan_pages", SCAN_PAGES)
    if not isinstance(pages, int) or isinstance(pages, bool) or not 0 <= pages <= MAX_SCAN_PAGES:
        problems.append(f"options.scan_pages must be an integer from 0 to {MAX_SCAN_PAGES}")
    return problems


def _ignored(field: str, warnings: list[WriteWarning]) -> None:
    warnings.append(
        WriteWarning(
            f"Talynce has no place for {field}; it was not saved", "IGNORED_FIELD", (field,)
        )
    )


class TalynceAdapter(RefusesPipeline):
    name = "talynce"
    capabilities = frozenset(
        {
            Capability.LIST,
            Capability.SEARCH,
            Capability.FILTER_JOB,
            Capability.GET_MANY,
            Capability.CREATE,
            Capability.UPDATE,
            Capability.APPLICATIONS,
            Capability.JOBS,
            Capability.FILTER_UPDATED,
            Capability.LIST_APPLICATIONS,
            Capability.CREATE_APPLICATION,
            Capability.MOVE_APPLICATION,
        }
    )

    def __init__(
        self, account: AccountConfig, client: Sender, sharing: Sharing | None = None
    ) -> None:
        self.upstream = Upstream(account, client, sharing=sharing)
        self._headers = {"Authorization": f"Bearer {account.credentials['api_key']}"}
        pages = account.options.get("scan_pages", SCAN_PAGES)
        pages = pages if isinstance(pages, int) else SCAN_PAGES
        self._scan_pages = max(0, min(pages, MAX_SCAN_PAGES))  # the check refuses others

    def _context(self) -> Origin:
        return {"account": self.upstream.account.id, "provider": self.name}

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int | None] | None = None,
        json: Any = None,
        inputs: Mapping[str, tuple[str, ...]] = WIRE_TO_INPUT,
    ) -> tuple[int, Any]:
        response = await self.upstream.send(
            method, url, params=params, json=json, headers=self._headers
        )
        body = self.upstream.json(response)
        if response.status_code < 400:
            if not isinstance(body, Mapping) or "data" not in body:
                raise self.upstream.bad_response("a body without data")
            return response.status_code, body
        raise self._error(response.status_code, body, inputs)

    def _error(
        self, status: int, body: Any, inputs: Mapping[str, tuple[str, ...]] = WIRE_TO_INPUT
    ) -> ProviderError:
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
            paths = dict.fromkeys(
                inputs.get(wire) if isinstance(wire, str) else None
                for wire in wire_fields[:MAX_PROBLEMS]
            )
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

    def _record(self, raw: Any) -> CandidateRecord:
        record = candidate_record(raw)
        if record is None:
            raise self.upstream.bad_response("a candidate without an id")
        return record

    def _job(self, raw: Any) -> JobRecord:
        record = job_record(raw)
        if record is None:
            raise self.upstream.bad_response("a job without an id")
        return record

    async def _rows(
        self, resource: str, params: Mapping[str, str | int | None]
    ) -> tuple[list[Any], int | None]:
        """One page of a listing as sent: its rows and `meta.total` (None when absent)."""
        try:
            _, body = await self._call("GET", resource, params=params)
        except NotFound:
            raise self.upstream.bad_response(
                f"404 for its {resource} list (check base_url)"
            ) from None
        rows, meta = body["data"], body.get("meta")
        if not isinstance(rows, list):
            raise self.upstream.bad_response("a list that is not an array")
        total = meta.get("total") if isinstance(meta, Mapping) else None
        total = total if isinstance(total, int) and not isinstance(total, bool) else None
        return rows, total

    async def _scan(
        self,
        resource: str,
        params: Mapping[str, str | int | None],
        position: Position,
        mapper: Callable[[Any], R | None],
        keep: Callable[[R], bool],
    ) -> tuple[Sequence[R], Position, str | None, tuple[int, ...]]:
        """Rows kept by a filter Talynce cannot apply, read from at most `scan_pages` pages.

        Every page read is the MAX_PAGE rows at an offset, so reading it again from a position
        (that offset, kept rows already used) skips exactly the rows handed out before. Rows
        that cannot be read are left out, their places among kept rows returned (last).
        """
        if self._scan_pages == 0:
            raise UnsupportedByProvider(
                f"account {self.upstream.account.id!r} (talynce) cannot filter {resource} by "
                "this; scanning is switched off for it (scan_pages = 0)",
                **self._context(),
            )
        offset: int = int(position.token or 0)
        skip: int = position.skip
        gaps: tuple[int, ...] = ()
        for _ in range(self._scan_pages):
            rows, total = await self._rows(
                resource, {**params, "limit": MAX_PAGE, "offset": offset}
            )
            rows = rows[:MAX_PAGE]  # more were not asked for
            end = offset + len(rows)
            more = bool(rows) and (end < total if total is not None else len(rows) >= MAX_PAGE)
            found: tuple[int, ...]
            kept, found = read_rows(rows, mapper, keep)
            # Pages passed over with nothing kept report their rows before the first kept one.
            gaps = (*(0 for _ in gaps), *gaps_after(found, skip))
            if kept[skip:] or not more:
                following = str(end) if more else None
                return kept[skip:], Position(str(offset), skip), following, gaps
            offset, skip = end, 0
        return (), Position(str(offset)), str(offset), gaps

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage:
        """`GET /jobs`, offset pages; `search` pushed down, status and `updated_after` scanned."""
        params: dict[str, str | int | None] = {"search": query.search}
        if query.status is not None or query.updated_after is not None:

            def keep(job: JobRecord) -> bool:
                if query.status is not None and job.status != query.status:
                    return False
                after = query.updated_after
                return after is None or updated_after(job.updated_at, after)

            records, start, following, skipped = await self._scan(
                "jobs", params, position, job_record, keep
            )
            return JobPage(records, start, following, filtered_locally=True, gaps=skipped)
        offset = int(position.token or 0) + position.skip
        limit = max(1, min(limit, MAX_PAGE))
        rows, total = await self._rows("jobs", {**params, "limit": limit, "offset": offset})
        rows = rows[:limit]  # more were not asked for
        jobs, gaps = read_rows(rows, job_record)
        end = offset + len(rows)
        more = bool(rows) and (end < total if total is not None else len(rows) >= limit)
        following = str(end) if more else None
        at = Position(str(offset))
        return JobPage(jobs, at, following, total, gaps=gaps, skip_counts_gaps=True)

    async def _get_job(self, remote_id: str) -> JobRecord | None:
        try:
            _, body = await self._call("GET", path("jobs", remote_id))
        except NotFound:
            return None
        return self._job(body["data"])

    async def get_jobs(self, remote_ids: Sequence[str]) -> list[JobRecord]:
        """One `GET /jobs/{id}` per id, concurrently under the account's cap (no batch read is
        documented); an id Talynce does not know is left out."""
        found = await asyncio.gather(*(self._get_job(i) for i in dict.fromkeys(remote_ids)))
        return [record for record in found if record is not None]

    async def _candidates_scanned(
        self, params: Mapping[str, str | int | None], position: Position, query: CandidateQuery
    ) -> CandidatePage:
        """`updated_after`, or a whole-address search (Talynce matches a substring of the
        address, so `asha@example.co` would find asha@example.com): pushed as far as Talynce
        goes, the rest filtered here."""
        after, search = query.updated_after, query.search or ""

        def keep(record: CandidateRecord) -> bool:
            fresh = after is None or updated_after(record.updated_at, after)
            return fresh and matches_search(record, search)

        records, start, following, skipped = await self._scan(
            "candidates", params, position, candidate_record, keep
        )
        return CandidatePage(records, start, following, filtered_locally=True, gaps=skipped)

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
        search = (query.search or "").strip()
        if query.updated_after is not None or is_address(search):
            return await self._candidates_scanned(params, position, query)
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
        rows = rows[:limit]  # more were not asked for
        records, gaps = read_rows(rows, candidate_record)
        end = offset + len(rows)
        more = bool(rows) and (end < total if total is not None else len(rows) >= limit)
        refused = (
            next((n for n, r in enumerate(records) if not matches_search(r, search)), None)
            if search
            else None
        )
        if refused is not None:
            # Talynce matched a row the gateway's rule does not: hand out the rows before it and
            # resume after it, so a position still counts Talynce's rows.
            gaps = tuple(gap for gap in gaps if gap <= refused)
            unread = offset + refused + sum(1 for gap in gaps if gap <= refused)
            more = more or unread + 1 < end
            records, end, total = records[:refused], unread + 1, None
        return CandidatePage(
            records=records,
            position=Position(str(offset)),
            next_token=str(end) if more else None,
            total=total,
            gaps=gaps,
            skip_counts_gaps=True,
        )

    async def _fetch(self, remote_id: str) -> Mapping[str, Any] | None:
        """One candidate as Talynce sent it (checked to have an id), or None if it is gone."""
        try:
            _, body = await self._call("GET", path("candidates", remote_id))
        except NotFound:
            return None
        raw = body["data"]
        if not has_id(raw):
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
                answers[remote_id] = list(
                    application_records(raw.get("applications"), remote_id) or ()
                )
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
        _untyped(draft.emails, "emails", warnings)
        if draft.phones:
            body["phone_number"] = _only_first(draft.phones, "phones", warnings, "phone")
            _untyped(draft.phones, "phones", warnings)
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
            _untyped(given["emails"] or (), "emails", warnings)
        if "phones" in given:
            body["phone_number"] = _only_first(given["phones"] or (), "phones", warnings, "phone")
            _untyped(given["phones"] or (), "phones", warnings)
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

    # --- the hiring pipeline (see providers/talynce/applications.py) ---------------------------

    async def list_applications(
        self, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        """A candidate's rows from its one GET; a job's from the candidates it lists (`job_id`
        pushed down) and one GET each. Without either filter the listing would cost one GET per
        candidate of the org, most holding no row to return: refused (UNSUPPORTED)."""
        if query.candidate_remote_id is not None:
            return await self._candidate_applications(
                query.candidate_remote_id, query, position, limit
            )
        if query.job_remote_id is not None:
            return await self._job_applications(query.job_remote_id, query, position, limit)
        raise self._refusal(
            "list applications without a job or candidate filter (Talynce lists them only "
            "with their candidate, one call per candidate)"
        )

    async def _candidate_applications(
        self, candidate_id: str, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        """One GET per page: the candidate's rows, every other filter applied here."""
        raw = await self._fetch(candidate_id)
        rows = () if raw is None else self._application_rows(raw)
        kept = tuple(filter(keeper(query), rows))
        offset = int(position.token or 0) + position.skip
        limit = max(1, min(limit, MAX_PAGE))
        end = min(offset + limit, len(kept))
        return ApplicationPage(
            kept[offset:end],
            Position(str(offset)),
            str(end) if end < len(kept) else None,
            total=len(kept),
            filtered_locally=query.job_remote_id is not None or locally_filtered(query),
        )

    async def _job_applications(
        self, job_id: str, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        """Windows of the candidates Talynce links to the job, each read by its GET for its row
        there. A position is (the window read as `offset:size`, rows used), so resuming re-reads
        the same candidates and skips exactly the rows handed out before. Other filters are
        applied here over at most `scan_pages` windows per call."""
        windows = 1
        if locally_filtered(query):
            if self._scan_pages == 0:
                raise self._refusal(
                    "filter a job's applications by status, stage or update time (scanning is "
                    "switched off for it: scan_pages = 0)"
                )
            windows = self._scan_pages
        start, _, width = (position.token or "0").partition(":")
        offset, skip = int(start), position.skip
        size = int(width) if width else max(1, min(limit, MAX_PAGE))
        keep = keeper(query)
        passed: tuple[int, ...] = ()
        for _ in range(windows):
            rows, total = await self._rows(
                "candidates", {"job_id": job_id, "limit": size, "offset": offset}
            )
            rows = rows[:size]  # more were not asked for
            end = offset + len(rows)
            more = bool(rows) and (end < total if total is not None else len(rows) >= size)
            # A candidate row without an id brings none of its rows: one gap where they were.
            owners = [candidate_record(row) for row in rows]
            found = await asyncio.gather(
                *(self._fetch(owner.remote_id) for owner in owners if owner is not None)
            )
            answers = iter(found)
            every: list[ApplicationRecord] = []
            gaps: list[int] = []
            for owner in owners:
                raw = None if owner is None else next(answers)
                if owner is None:
                    gaps.append(len(every))
                elif raw is not None:
                    every += filter(keep, self._application_rows(raw))
            kept = tuple(every[skip:])
            places = (*(0 for _ in passed), *gaps_after(tuple(gaps), skip))
            if kept or not more:
                return ApplicationPage(
                    kept,
                    Position(f"{offset}:{size}", skip),
                    str(end) if more else None,
                    total=None if windows > 1 else total,
                    filtered_locally=windows > 1,
                    gaps=places,
                )
            offset, skip, passed = end, 0, places
        at = Position(f"{offset}:{size}")
        return ApplicationPage((), at, str(offset), filtered_locally=True, gaps=passed)

    def _application_rows(self, raw: Mapping[str, Any]) -> tuple[ApplicationRecord, ...]:
        return application_records(raw.get("applications"), str(raw["id"])) or ()

    def _written(self, answer: Any, job_id: str) -> ApplicationRecord:
        """The candidate's row on `job_id` in a write's answer, which returns the candidate."""
        raw = answer["data"]
        if not has_id(raw):
            raise self.upstream.bad_response("a candidate without an id")
        for row in self._application_rows(raw):
            if row.job is not None and row.job.remote_id == job_id:
                return row
        raise self.upstream.bad_response("a written application missing from its answer")

    async def create_application(self, new: NewApplication) -> ApplicationWriteResult:
        """The candidate update's `application {job_id, status}`; no status takes Talynce's
        default (the first pipeline status, "Applied"). Talynce would move a row the candidate
        already has on that job, so the candidate is read first and such a row is returned
        unchanged (`created` False, a stage asked for and not kept warned about)."""
        problems = [
            FieldProblem("REQUIRED", f"{name} is required", (name,))
            for name, value in (
                ("candidate_id", new.candidate_remote_id),
                ("job_id", new.job_remote_id),
            )
            if not value.strip()
        ]
        if new.stage_remote_id is not None and not new.stage_remote_id.strip():
            problems.append(FieldProblem("REQUIRED", "a stage id is required", ("stage_id",)))
        if problems:
            raise Rejected(problems, **self._context())
        warnings: list[WriteWarning] = []
        if new.source is not None:
            warnings.append(
                WriteWarning(
                    "Talynce keeps no source on an application; it was not saved",
                    "IGNORED_FIELD",
                    ("source",),
                )
            )
        raw = await self._fetch(new.candidate_remote_id)
        if raw is None:
            raise NotFound("no such candidate", **self._context())
        existing = [
            row
            for row in self._application_rows(raw)
            if row.job is not None and row.job.remote_id == new.job_remote_id
        ]
        if existing:
            row = existing[0]
            stage = new.stage_remote_id
            if stage is not None and stage.casefold() != (row.stage_id or "").casefold():
                warnings.append(
                    WriteWarning(
                        "the candidate already has an application on this job; its stage was "
                        "left as it was (move it instead)",
                        "IGNORED_FIELD",
                        ("stage_id",),
                    )
                )
            return ApplicationWriteResult(row, created=False, warnings=tuple(warnings))
        application: dict[str, Any] = {"job_id": new.job_remote_id}
        if new.stage_remote_id is not None:
            application["status"] = new.stage_remote_id
        _, answer = await self._call(
            "PATCH",
            path("candidates", new.candidate_remote_id),
            json={"application": application},
            inputs=CREATE_INPUTS,
        )
        record = self._written(answer, new.job_remote_id)
        return ApplicationWriteResult(record, created=True, warnings=tuple(warnings))

    async def move_application(
        self, application: ApplicationRecord, stage_remote_id: str
    ) -> ApplicationWriteResult:
        """The candidate update's `application {job_id, status}` with the row's job and the
        new status; a status outside the org's pipeline is Talynce's INVALID_PIPELINE_STATUS."""
        if not stage_remote_id.strip():
            raise Rejected(
                [FieldProblem("REQUIRED", "a stage id is required", ("stage_id",))],
                **self._context(),
            )
        job_id = application.job.remote_id if application.job is not None else None
        if not job_id:
            raise Rejected(
                [FieldProblem("BAD_USER_INPUT", "this application names no job", ("id",))],
                **self._context(),
            )
        _, answer = await self._call(
            "PATCH",
            path("candidates", application.candidate_remote_id),
            json={"application": {"job_id": job_id, "status": stage_remote_id}},
            inputs=MOVE_INPUTS,
        )
        record = self._written(answer, job_id)
        # Talynce addresses the row by candidate and job: had it gone, the update made a new one.
        return ApplicationWriteResult(record, created=record.remote_id != application.remote_id)

    async def aclose(self) -> None:
        await self.upstream.aclose()


SPEC = ProviderSpec(
    name=TalynceAdapter.name,
    capabilities=TalynceAdapter.capabilities,
    build=TalynceAdapter,
    credentials=("api_key",),
    check=check_account,
    default_base_url="https://talynce.com/api/v1",
    rate_limit=None,  # Talynce publishes no number: its 429s and their Retry-After govern
    read_ahead=MAX_PAGE,
)
