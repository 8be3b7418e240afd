"""Merge ATS adapter: one Merge linked account (API key + account token) as one gateway account.

Merge pages with opaque cursors, filters candidates by exact email only, reaches a job's candidates
and a candidate's applications through `/applications`, and wraps writes in
`{"model": …, "remote_user_id": …}` answered with `warnings` and `errors`. Its unified API can
create and move applications and add notes (activities), but has no reject or unreject. Wire
mapping lives in `providers.merge.wire`; this module decides which calls serve each operation.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

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
from providers.merge import wire as wire
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    ApplicationWriteResult,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    JobRecord,
    JobStage,
    JobStatus,
    NewApplication,
    NoteVisibility,
    NoteWriteResult,
    RejectReason,
    WriteResult,
    WriteWarning,
)
from providers.refusals import RefusesPipeline
from providers.rows import Rows, gaps_after, kept, read_rows
from providers.search import matches_search
from providers.upstream.http import Upstream, path
from providers.upstream.sharing import Sharing
from providers.upstream.transport import Sender

__all__ = ["DEFAULT_BASE_URL", "REGIONS", "SPEC", "MergeAdapter", "check_account"]

REGIONS: Mapping[str, str] = {
    "us": "https://api.merge.dev/api/ats/v1",
    "eu": "https://api-eu.merge.dev/api/ats/v1",
    "ap": "https://api-ap.merge.dev/api/ats/v1",
    "sandbox": "https://api-sandbox.merge.dev/api/ats/v1",
}
DEFAULT_BASE_URL = REGIONS["us"]
OPTIONS = frozenset(
    {
        "region",
        "remote_user_id",
        "include_remote_data",
        "is_debug_mode",
        "run_async",
        "search_scan_pages",
    }
)
MAX_PAGE = 100
SCAN_PAGES = 5
MAX_APPLICATION_PAGES = 10  # more is UPSTREAM_BAD_RESPONSE: no candidate has 1000 applications
MAX_REASON_PAGES = 5  # more is UPSTREAM_BAD_RESPONSE: no ATS offers 500 reject reasons
# Expanding offers, stage, job and reason lets one call derive status and name all three.
APPLICATION_EXPAND = "current_stage,job,offers,reject_reason"
# Departments and offices expanded, so a job names them without a call per id (current API).
JOB_EXPAND = "departments,offices"
MAX_STAGE_PAGES = 5  # more is UPSTREAM_BAD_RESPONSE: no job has 500 interview stages
EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
READS = (
    Capability.LIST,
    Capability.SEARCH,
    Capability.FILTER_JOB,
    Capability.GET_MANY,
    Capability.APPLICATIONS,
    Capability.JOBS,
    Capability.FILTER_UPDATED,
    Capability.LIST_APPLICATIONS,
    Capability.REJECT_REASONS,
)
# Writes act as a RemoteUser; REJECT_APPLICATION is never declared: Merge has no such endpoint.
WRITES = (
    Capability.CREATE,
    Capability.UPDATE,
    Capability.CREATE_APPLICATION,
    Capability.MOVE_APPLICATION,
    Capability.ADD_NOTE,
)
T = TypeVar("T")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _instant(moment: datetime | None) -> str | None:
    """A query's instant as Merge's filters take it: ISO 8601 in UTC."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _flag(options: Mapping[str, object], name: str) -> bool:
    return options.get(name) is True


def check_account(account: AccountConfig) -> list[str]:
    """What is wrong in a Merge account's settings, worded for the operator."""
    problems = [
        f"{name}_env is required"
        for name in ("api_key", "account_token")
        if not account.credentials.get(name)
    ]
    options = account.options
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        problems.append(f"unknown options {unknown} (known: {sorted(OPTIONS)})")
    region = options.get("region")
    if region is not None and region not in REGIONS:
        problems.append(f"options.region must be one of {sorted(REGIONS)}")
    elif isinstance(region, str):
        others = set(REGIONS.values()) - {DEFAULT_BASE_URL, REGIONS[region]}
        if account.base_url in others:
            problems.append(f"base_url is another region's host than options.region {region!r}")
    user = options.get("remote_user_id")
    if user is not None and (not isinstance(user, str) or not user):
        problems.append("options.remote_user_id must be a non-empty string")
    for name in ("include_remote_data", "is_debug_mode", "run_async"):
        if name in options and not isinstance(options[name], bool):
            problems.append(f"options.{name} must be true or false")
    pages = options.get("search_scan_pages", SCAN_PAGES)
    if not isinstance(pages, int) or isinstance(pages, bool) or not 0 <= pages <= 50:
        problems.append("options.search_scan_pages must be an integer from 0 to 50")
    return problems


def _base_url(account: AccountConfig) -> str | None:
    """The region's host when `region` names another one and the base URL is the default.

    Settings fill a missing base_url with the production host, so that value counts as unset;
    any other base_url (an emulator, a proxy) wins. None keeps requests relative to the client.
    """
    region = account.options.get("region")
    if isinstance(region, str) and region in REGIONS and account.base_url == DEFAULT_BASE_URL:
        return None if region == "us" else REGIONS[region] + "/"
    return None


class MergeAdapter(RefusesPipeline):
    """Serves one linked account. Upstream call counts, per gateway operation:

    - list: one `GET /candidates` (page size = what is asked plus rows to skip, ≤ 100);
      a whole-address search uses Merge's `email_addresses` filter (pages of 100, re-checked
      here); any other search scans at most `search_scan_pages` pages of 100 per call,
      filtering with `providers.search.matches_search` here.
    - job filter: one `GET /applications?job_id=…&expand=candidate` per page, candidates
      deduplicated within the page (an ATS holds one application per candidate and job, so
      a candidate on two pages of one job would take two applications to it).
    - get by ids: one `GET /candidates/{id}` per id, concurrently under the account's cap.
    - applications: one `GET /applications?candidate_id=…` per candidate (a second only past
      100 applications), concurrently under the cap, with offers and stage expanded; more
      than `MAX_APPLICATION_PAGES` pages is UPSTREAM_BAD_RESPONSE.

    - jobs: one `GET /jobs` per page (departments and offices expanded), `status` and
      `modified_after` pushed down; a name search, or status OTHER (Merge's PENDING or none),
      scans at most `search_scan_pages` pages here. Listed jobs carry no stages (None): Merge
      lists stages one job at a time, so a page of 100 jobs would cost 100 more calls.
    - jobs by ids: one `GET /jobs/{id}` plus one `GET /job-interview-stages?job_id=…` per id,
      concurrently under the cap.
    - updated_after: Merge's `modified_after` (its own copy's last change, never before the
      ATS's), the boundary re-checked here as Merge does not say it is exclusive; on the job
      filter it would filter applications, so the candidates are filtered here.
    - applications: one `GET /applications` per page (stage, job, offers and reject reason
      expanded), `job_id`, `candidate_id`, `current_stage_id` and `modified_after` pushed
      down; a status (Merge has none: it is derived) scans at most `search_scan_pages` pages.
    - reject reasons: one `GET /reject-reasons` per 100.
    - create/move an application: one POST (`/applications`, `/applications/{id}/change-stage`)
      then one `GET /applications/{id}` to read it back expanded; a note: one `POST /activities`.

    A page maps at most the rows it asked for; an empty page, or a cursor already followed,
    ends a listing whatever `next` says.
    """

    name = "merge"

    def __init__(
        self, account: AccountConfig, client: Sender, sharing: Sharing | None = None
    ) -> None:
        self.upstream = Upstream(account, client, sharing=sharing)
        self._root = _base_url(account) or ""
        self._headers = {
            "Authorization": f"Bearer {account.credentials['api_key']}",
            "X-Account-Token": account.credentials["account_token"],
        }
        options = account.options
        user = options.get("remote_user_id")
        self._remote_user_id = user if isinstance(user, str) and user else None
        self._remote_data = _flag(options, "include_remote_data")
        self._debug = _flag(options, "is_debug_mode")
        self._run_async = _flag(options, "run_async")
        pages = options.get("search_scan_pages", SCAN_PAGES)
        self._scan_pages = pages if isinstance(pages, int) else SCAN_PAGES
        writes = WRITES if self._remote_user_id else ()
        # Writes need a RemoteUser to act as; without one they are declared missing, not faked.
        self.capabilities = frozenset((*READS, *writes))

    def _context(self) -> Origin:
        return {"account": self.upstream.account.id, "provider": self.name}

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int | None] | None = None,
        json: Any = None,
        listing: bool = False,
        inputs: wire.Inputs = None,
        missing: str = "candidate",
    ) -> Any:
        response = await self.upstream.send(
            method, self._root + url, params=params, json=json, headers=self._headers
        )
        body = self.upstream.json(response)
        if response.status_code < 300 and isinstance(body, Mapping):
            return body
        if response.status_code < 300:
            raise self.upstream.bad_response("a body that is not an object")
        write = json is not None
        raise self._error(
            response.status_code, body, write=write, listing=listing, inputs=inputs, missing=missing
        )

    def _error(
        self,
        status: int,
        body: Any,
        *,
        write: bool,
        listing: bool,
        inputs: wire.Inputs = None,
        missing: str = "candidate",
    ) -> ProviderError:
        """Only the gateway's words: Merge's `detail` (and every other text) reaches no client."""
        found = wire.problems(body.get("errors"), inputs) if isinstance(body, Mapping) else []
        if write and status == 400:
            refusal = FieldProblem("ERROR", "Merge refused the request as invalid")
            return Rejected(found or [refusal], **self._context())
        if status == 404 and listing:
            # Merge answers 404 for a cursor it no longer accepts (Django REST cursor paging).
            return self.upstream.bad_response("HTTP 404 for a page it had offered")
        if status == 404:
            return NotFound(f"no such {missing}", **self._context())
        if status == 403:
            return UpstreamAuthFailed(
                f"Merge refused account {self.upstream.account.id!r} (HTTP 403)",
                **self._context(),
            )
        return self.upstream.bad_response(f"an unexpected HTTP {status}")

    def _read_params(self) -> dict[str, str | int | None]:
        return {"include_remote_data": "true" if self._remote_data else None}

    def _record(self, raw: Any) -> CandidateRecord:
        record = wire.candidate_record(raw)
        if record is None:
            raise self.upstream.bad_response("a candidate without an id")
        return record

    def _results(
        self, body: Mapping[str, Any], size: int, token: str | None
    ) -> tuple[list[Any], str | None]:
        """A page's rows, no more than the `size` asked for, and the cursor after it.

        A page without rows, or whose next cursor is the one it was fetched with, is the last:
        following it could only bring the same nothing again.
        """
        rows, following = body.get("results"), body.get("next")
        if not isinstance(rows, list):
            raise self.upstream.bad_response("a page without results")
        rows = rows[:size]
        if not rows or not isinstance(following, str) or not following or following == token:
            return rows, None
        return rows, following

    async def _candidate_page(
        self, query: CandidateQuery, token: str | None, size: int
    ) -> tuple[Rows[CandidateRecord], str | None]:
        """One upstream page of candidates, in Merge's order, with the cursor after it."""
        params = {**self._read_params(), "cursor": token, "page_size": size}
        after = query.updated_after
        if query.job_remote_id is not None:
            params.update(job_id=query.job_remote_id, expand="candidate")
            body = await self._call("GET", "applications", params=params, listing=True)
            rows, following = self._results(body, size, token)
            owners = [row.get("candidate") if isinstance(row, Mapping) else None for row in rows]
            if after is not None:
                owners = [row for row in owners if wire.modified_after(row, after)]
            unique: dict[str, CandidateRecord] = {}
            for record in map(wire.candidate_record, owners):
                if record is not None:
                    unique.setdefault(record.remote_id, record)
            return (tuple(unique.values()), ()), following
        if self._pushed_down(query):
            params["email_addresses"] = query.search
        params["modified_after"] = _instant(after)
        body = await self._call("GET", "candidates", params=params, listing=True)
        rows, following = self._results(body, size, token)
        if after is not None:
            rows = [row for row in rows if wire.modified_after(row, after)]
        return read_rows(rows, wire.candidate_record), following

    @staticmethod
    def _pushed_down(query: CandidateQuery) -> bool:
        """Whether Merge's `email_addresses` filter narrows this search (a whole address)."""
        return query.search is not None and EMAIL.match(query.search) is not None

    def _job(self, raw: Any, stages: tuple[JobStage, ...] | None = None) -> JobRecord:
        record = wire.job_record(raw, stages)
        if record is None:
            raise self.upstream.bad_response("a job without an id")
        return record

    async def _job_page(
        self, query: JobQuery, token: str | None, size: int
    ) -> tuple[Rows[JobRecord], str | None]:
        """One upstream page of jobs, in Merge's order, with what Merge can filter pushed down."""
        status = None if query.status in (None, JobStatus.OTHER) else str(query.status)
        params = {
            **self._read_params(),
            "cursor": token,
            "page_size": size,
            "expand": JOB_EXPAND,
            "status": status,
            "modified_after": _instant(query.updated_after),
        }
        body = await self._call("GET", "jobs", params=params, listing=True)
        rows, following = self._results(body, size, token)
        after = query.updated_after
        if after is not None:
            rows = [row for row in rows if wire.modified_after(row, after)]
        return read_rows(rows, wire.job_record), following

    def _job_filter(self, query: JobQuery) -> Callable[[JobRecord], bool] | None:
        """What Merge cannot filter jobs by: a name, and status OTHER (PENDING, or none)."""
        needle = query.search.casefold() if query.search else None
        other = query.status is JobStatus.OTHER
        if needle is None and not other:
            return None
        return lambda job: (
            (not other or job.status is JobStatus.OTHER)
            and (needle is None or needle in (job.name or "").casefold())
        )

    async def _scan(
        self,
        fetch: Callable[[str | None, int], Awaitable[tuple[Rows[T], str | None]]],
        keep: Callable[[T], bool] | None,
        position: Position,
        limit: int,
    ) -> tuple[Sequence[T], Position, str | None, tuple[int, ...]]:
        """One page of a listing: `position.skip` rows into the Merge page at `position.token`.

        Merge's cursor names where a page starts, so re-fetching it with a larger page size and
        dropping the rows already used resumes exactly. A locally filtered listing (`keep`)
        counts `skip` in matching rows and reads whole pages, so the same rows match again, and
        scans at most `search_scan_pages` pages per call. Unreadable rows are left out, their
        places returned last (`Page.gaps`).
        """
        token, skip = position.token, position.skip
        followed = {token}
        passed: tuple[int, ...] = ()
        for _ in range(self._scan_pages if keep is not None else 1):
            size = MAX_PAGE if keep is not None else min(MAX_PAGE, skip + max(1, limit))
            (rows, gaps), following = await fetch(token, size)
            following = None if following in followed else following
            if keep is not None:
                rows, gaps = kept(rows, gaps, keep)
            records = rows[skip:]
            gaps = (*(0 for _ in passed), *gaps_after(gaps, skip))
            if records or following is None or keep is None:
                return records, Position(token, skip), following, gaps
            followed.add(following)
            token, skip, passed = following, 0, gaps
        return (), Position(token, 0), token, passed

    def _cannot_scan(self, what: str) -> UnsupportedByProvider:
        return UnsupportedByProvider(
            f"account {self.upstream.account.id!r} (merge) cannot {what}: scanning is switched "
            "off for it",
            **self._context(),
        )

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage:
        """Paged as `_scan` says; a name search or status OTHER is filtered here."""
        keep = self._job_filter(query)
        if keep is not None and self._scan_pages == 0:
            raise self._cannot_scan("filter jobs by name or by status OTHER")

        async def fetch(token: str | None, size: int) -> tuple[Rows[JobRecord], str | None]:
            return await self._job_page(query, token, size)

        records, at, following, gaps = await self._scan(fetch, keep, position, limit)
        return JobPage(records, at, following, filtered_locally=keep is not None, gaps=gaps)

    async def _every_row(
        self, url: str, params: Mapping[str, str | int | None], pages: int, what: str
    ) -> list[Any]:
        """Every row of a short listing, following cursors; more than `pages` pages is
        UPSTREAM_BAD_RESPONSE, as no account holds that many of `what`."""
        found: list[Any] = []
        token: str | None = None
        followed: set[str] = set()
        for _ in range(pages):
            query = {**params, "page_size": MAX_PAGE, "cursor": token}
            body = await self._call("GET", url, params=query, listing=True)
            rows, token = self._results(body, MAX_PAGE, token)
            found.extend(rows)
            if token is None or token in followed:
                return found
            followed.add(token)
        raise self.upstream.bad_response(f"more than {pages} pages of {what}")

    async def _stages(self, job_id: str) -> tuple[JobStage, ...]:
        rows = await self._every_row(
            "job-interview-stages", {"job_id": job_id}, MAX_STAGE_PAGES, "stages for a job"
        )
        stages = (wire.stage_record(row, n) for n, row in enumerate(rows))
        return tuple(stage for stage in stages if stage is not None)

    async def _get_job(self, remote_id: str) -> JobRecord | None:
        if not _is_uuid(remote_id):
            return None
        params = {**self._read_params(), "expand": JOB_EXPAND}
        try:
            body = await self._call("GET", path("jobs", remote_id), params=params)
        except NotFound:
            return None
        return self._job(body, await self._stages(remote_id))

    async def get_jobs(self, remote_ids: Sequence[str]) -> list[JobRecord]:
        """One GET and one stages listing per id, concurrently under the account's cap."""
        found = await asyncio.gather(*(self._get_job(i) for i in dict.fromkeys(remote_ids)))
        return [record for record in found if record is not None]

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        """A page starting `position.skip` rows into the Merge page at `position.token`.

        Merge's cursor names where a page starts, so re-fetching it with a larger page size
        and dropping the rows already used resumes exactly; a locally filtered listing counts
        `skip` in matching rows and always reads whole pages, so the same rows match again.
        """
        if query.job_remote_id is not None and not _is_uuid(query.job_remote_id):
            return CandidatePage((), position, None)
        # Every search is checked here too (`matches_search`); one Merge cannot express (not a
        # whole address, or within a job) is a scan here, reported as filtered locally.
        pushed = self._pushed_down(query)
        needle = query.search or None
        scanned = needle is not None and (query.job_remote_id is not None or not pushed)
        if scanned and query.job_remote_id is None and self._scan_pages == 0:
            raise UnsupportedByProvider(
                f"account {self.upstream.account.id!r} (merge) searches by full email address "
                "only; name search is switched off for it",
                **self._context(),
            )
        token, skip = position.token, position.skip
        budget = self._scan_pages if scanned else 1
        followed = {token}
        passed: tuple[int, ...] = ()
        for _ in range(max(budget, 1)):
            size = MAX_PAGE if needle is not None else min(MAX_PAGE, skip + max(1, limit))
            (rows, gaps), following = await self._candidate_page(query, token, size)
            following = None if following in followed else following
            if needle is not None:
                rows, gaps = kept(rows, gaps, lambda row: matches_search(row, needle))
            records = rows[skip:]
            gaps = (*(0 for _ in passed), *gaps_after(gaps, skip))
            if records or following is None or not scanned:
                local = scanned or None not in (query.job_remote_id, query.updated_after)
                return CandidatePage(
                    records, Position(token, skip), following, filtered_locally=local, gaps=gaps
                )
            followed.add(following)
            token, skip, passed = following, 0, gaps
        return CandidatePage((), Position(token, 0), token, filtered_locally=True, gaps=passed)

    async def _get(self, remote_id: str) -> CandidateRecord | None:
        if not _is_uuid(remote_id):
            return None
        try:
            body = await self._call(
                "GET", path("candidates", remote_id), params=self._read_params()
            )
        except NotFound:
            return None
        return self._record(body)

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        """One GET per id, concurrently under the account's cap: Merge has no id-list filter."""
        found = await asyncio.gather(*(self._get(i) for i in dict.fromkeys(remote_ids)))
        return [record for record in found if record is not None]

    async def _applications(self, candidate_id: str) -> list[ApplicationRecord]:
        if not _is_uuid(candidate_id):
            return []
        params = {"candidate_id": candidate_id, "expand": APPLICATION_EXPAND}
        rows = await self._every_row(
            "applications", params, MAX_APPLICATION_PAGES, "applications for one candidate"
        )
        records = (wire.application_record(row, candidate_id) for row in rows)
        return [record for record in records if record is not None]

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        """Merge filters applications by one candidate at a time: one call each, concurrently."""
        ids = list(dict.fromkeys(remote_ids))
        found = await asyncio.gather(*(self._applications(i) for i in ids))
        return dict(zip(ids, found, strict=True))

    def _application(self, raw: Any) -> ApplicationRecord:
        record = wire.application_record(raw)
        if record is None:
            raise self.upstream.bad_response("an application without an id or candidate")
        return record

    async def _application_page(
        self, query: ApplicationQuery, token: str | None, size: int
    ) -> tuple[Rows[ApplicationRecord], str | None]:
        """One upstream page of applications, in Merge's order, with its filters pushed down."""
        params = {
            **self._read_params(),
            "cursor": token,
            "page_size": size,
            "expand": APPLICATION_EXPAND,
            "job_id": query.job_remote_id,
            "candidate_id": query.candidate_remote_id,
            "current_stage_id": query.stage_remote_id,
            "modified_after": _instant(query.updated_after),
        }
        body = await self._call("GET", "applications", params=params, listing=True)
        rows, following = self._results(body, size, token)
        after = query.updated_after
        if after is not None:
            rows = [row for row in rows if wire.modified_after(row, after)]
        # Merge's `candidate` is nullable: an application of no one has no place in the gateway.
        return read_rows(rows, wire.application_record), following

    async def list_applications(
        self, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        """Paged as `_scan` says. Merge has no application status, so a status filter scans
        (derived as `wire.application_status` does, which never yields OTHER)."""
        ids = (query.job_remote_id, query.candidate_remote_id, query.stage_remote_id)
        status = query.status
        if any(i is not None and not _is_uuid(i) for i in ids) or status is ApplicationStatus.OTHER:
            return ApplicationPage((), position, None, filtered_locally=status is not None)
        if status is not None and self._scan_pages == 0:
            raise self._cannot_scan("filter applications by status")

        def keep(record: ApplicationRecord) -> bool:
            return record.status is status

        async def fetch(token: str | None, size: int) -> tuple[Rows[ApplicationRecord], str | None]:
            return await self._application_page(query, token, size)

        scan = keep if status is not None else None
        records, at, following, gaps = await self._scan(fetch, scan, position, limit)
        return ApplicationPage(records, at, following, filtered_locally=scan is not None, gaps=gaps)

    async def list_reject_reasons(self) -> list[RejectReason]:
        rows = await self._every_row("reject-reasons", {}, MAX_REASON_PAGES, "reject reasons")
        reasons = (wire.reject_reason_record(row) for row in rows)
        return [reason for reason in reasons if reason is not None]

    def _require_user(self) -> str:
        if self._remote_user_id is None:
            raise UnsupportedByProvider(
                f"account {self.upstream.account.id!r} has no remote_user_id to write as",
                **self._context(),
            )
        return self._remote_user_id

    def _write_params(self) -> dict[str, str | int | None]:
        return {
            "is_debug_mode": "true" if self._debug else None,
            "run_async": "true" if self._run_async else None,
        }

    async def _send(
        self, method: str, url: str, body: dict[str, Any], inputs: wire.Inputs, missing: str
    ) -> tuple[Mapping[str, Any], list[WriteWarning]]:
        """Sends one write; Merge's answer and its warnings, or `Rejected` for its errors."""
        answer = await self._call(
            method, url, params=self._write_params(), json=body, inputs=inputs, missing=missing
        )
        refused = wire.problems(answer.get("errors"), inputs)
        if refused:
            raise Rejected(refused, **self._context())
        found = wire.warnings(answer.get("warnings"), inputs)
        if self._debug:
            found.extend(wire.debug_logs(answer.get("logs")))
        return answer, found

    async def _write(
        self, method: str, url: str, model: dict[str, Any], warnings: list[WriteWarning]
    ) -> tuple[CandidateRecord, tuple[WriteWarning, ...]]:
        body = {"model": model, "remote_user_id": self._require_user()}
        answer, found = await self._send(method, url, body, None, "candidate")
        return self._record(answer.get("model")), (*warnings, *found)

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult:
        warnings = wire.unwritable({n: getattr(draft, n) for n in wire.UNWRITABLE})
        warnings += wire.url_type_warnings(draft.urls)
        first, last = draft.first_name, draft.last_name
        if first is None and last is None and draft.full_name:
            first, _, rest = draft.full_name.strip().partition(" ")
            last = rest.strip() or None
        model: dict[str, Any] = {
            key: value
            for key, value in (
                ("first_name", first),
                ("last_name", last),
                ("company", draft.company),
                ("title", draft.title),
            )
            if value is not None
        }
        model.update(
            wire.list_fields(
                {
                    "emails": draft.emails,
                    "phones": draft.phones,
                    "urls": draft.urls,
                    "locations": draft.locations,
                    "tags": draft.tags,
                },
                send_empty=False,
            )
        )
        record, found = await self._write("POST", "candidates", model, warnings)
        return WriteResult(record, created=True, warnings=found)

    async def update_candidate(self, remote_id: str, patch: CandidatePatch) -> WriteResult:
        """A Merge PATCH of the fields given; a list given as null is sent empty, clearing it."""
        given = patch.given()
        warnings = wire.unwritable({n: given[n] for n in wire.UNWRITABLE if n in given})
        warnings += wire.url_type_warnings(given.get("urls") or ())
        model: dict[str, Any] = {
            key: given[key]
            for key in ("first_name", "last_name", "company", "title")
            if key in given
        }
        if "full_name" in given and not {"first_name", "last_name"} & given.keys():
            first, _, rest = (given["full_name"] or "").strip().partition(" ")
            model.update(first_name=first or None, last_name=rest.strip() or None)
        lists = {name: given[name] or () for name in wire.LIST_FIELDS if name in given}
        model.update(wire.list_fields(lists, send_empty=True))
        if not _is_uuid(remote_id):
            raise NotFound("no such candidate", **self._context())
        if not model:
            record = await self._get(remote_id)
            if record is None:
                raise NotFound("no such candidate", **self._context())
            return WriteResult(record, warnings=tuple(warnings))
        record, found = await self._write("PATCH", path("candidates", remote_id), model, warnings)
        return WriteResult(record, warnings=found)

    async def _read_back(self, answer: Mapping[str, Any]) -> ApplicationRecord:
        """The application a write answered with, read again with stage, job, offers and
        reason expanded (Merge answers writes with bare ids); if that read fails, the write
        still happened, so the answer's own model stands."""
        written = self._application(answer.get("model"))
        params = {**self._read_params(), "expand": APPLICATION_EXPAND}
        try:
            body = await self._call("GET", path("applications", written.remote_id), params=params)
        except ProviderError:
            return written
        return wire.application_record(body) or written

    def _unknown_ids(self, named: Mapping[str, str | None]) -> list[FieldProblem]:
        return [
            FieldProblem(
                "NOT_FOUND", f"no such {name.removesuffix('_id')} in this account", (name,)
            )
            for name, value in named.items()
            if value is not None and not _is_uuid(value)
        ]

    async def create_application(self, new: NewApplication) -> ApplicationWriteResult:
        """One `POST /applications`; no stage leaves the ATS to start at the job's first."""
        user = self._require_user()
        named = {
            "candidate_id": new.candidate_remote_id,
            "job_id": new.job_remote_id,
            "stage_id": new.stage_remote_id,
        }
        if problems := self._unknown_ids(named):
            raise Rejected(problems, **self._context())
        model = {
            key: value
            for key, value in (
                ("candidate", new.candidate_remote_id),
                ("job", new.job_remote_id),
                ("current_stage", new.stage_remote_id),
                ("source", new.source),
            )
            if value is not None
        }
        body = {"model": model, "remote_user_id": user}
        answer, found = await self._send(
            "POST", "applications", body, wire.APPLICATION_INPUTS, "application"
        )
        record = await self._read_back(answer)
        return ApplicationWriteResult(record, created=True, warnings=tuple(found))

    async def move_application(
        self, application: ApplicationRecord, stage_remote_id: str
    ) -> ApplicationWriteResult:
        """One `POST /applications/{id}/change-stage`; Merge refuses a stage of another job."""
        user = self._require_user()
        if not _is_uuid(application.remote_id):
            raise NotFound("no such application", **self._context())
        if problems := self._unknown_ids({"stage_id": stage_remote_id}):
            raise Rejected(problems, **self._context())
        body = {"job_interview_stage": stage_remote_id, "remote_user_id": user}
        url = path("applications", application.remote_id, "change-stage")
        answer, found = await self._send("POST", url, body, wire.APPLICATION_INPUTS, "application")
        record = await self._read_back(answer)
        return ApplicationWriteResult(record, created=False, warnings=tuple(found))

    async def add_note(
        self, candidate_remote_id: str, body: str, visibility: NoteVisibility | None
    ) -> NoteWriteResult:
        """One `POST /activities`: a NOTE on the candidate, by the account's RemoteUser."""
        user = self._require_user()
        problems = self._unknown_ids({"candidate_id": candidate_remote_id})
        if not body.strip():
            problems.append(FieldProblem("REQUIRED", "a note needs a body", ("body",)))
        if problems:
            raise Rejected(problems, **self._context())
        model = {
            "candidate": candidate_remote_id,
            "activity_type": "NOTE",
            "body": body,
            "user": user,
            "visibility": None if visibility is None else str(visibility),
        }
        request = {
            "model": {k: v for k, v in model.items() if v is not None},
            "remote_user_id": user,
        }
        answer, found = await self._send(
            "POST", "activities", request, wire.NOTE_INPUTS, "candidate"
        )
        record = wire.note_record(answer.get("model"), candidate_remote_id)
        if record is None:
            raise self.upstream.bad_response("a note without an id")
        return NoteWriteResult(record, created=True, warnings=tuple(found))

    async def aclose(self) -> None:
        await self.upstream.aclose()


SPEC = ProviderSpec(
    name=MergeAdapter.name,
    capabilities=frozenset((*READS, *WRITES)),
    build=MergeAdapter,
    credentials=("api_key", "account_token"),
    check=check_account,
    default_base_url=DEFAULT_BASE_URL,
    # Per linked account on Merge's Launch plan, its lowest (docs.merge.dev, "Rate limits");
    # Professional (400/min) and Enterprise (600/min) accounts set `rate_limit` to their plan's.
    rate_limit=(100, 60.0),
    read_ahead=MAX_PAGE,
)
