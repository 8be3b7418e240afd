"""The Greenhouse Harvest v3 adapter: cursor-paged lists and searches, applications, create, and
updates whose list fields are merged into what the candidate already has.

An upstream's paging is not trusted: a page maps at most the rows it was asked for, a call
reads at most `MAX_PAGES` pages (more is UPSTREAM_BAD_RESPONSE), and an empty page or a
cursor already followed ends the listing whatever its Link header says.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from providers.base import (
    AccountConfig,
    CandidatePage,
    CandidateQuery,
    Capability,
    JobPage,
    JobQuery,
    Position,
)
from providers.errors import (
    FieldProblem,
    NotFound,
    Origin,
    ProviderError,
    Rejected,
    UpstreamAuthFailed,
)
from providers.greenhouse.jobs import (
    HARVEST_JOB_STATUS,
    after,
    harvest_job,
    harvest_stage,
    job_reference_ids,
    updated_after_filter,
)
from providers.greenhouse.mapping import (
    DIGITS,
    EMAIL,
    EMAIL_TYPES,
    HARVEST_IGNORES,
    HARVEST_PHONE_TYPES,
    NAME,
    STAGE_WARNING,
    WEBSITE_TYPES,
    draft_job_id,
    draft_names,
    harvest_application,
    harvest_record,
    id_chunks,
    ignored_warnings,
    record_id,
    refused_values,
    split_name,
    split_urls,
    typed_entries,
    without_empty,
)
from providers.greenhouse.pipeline import HarvestPipeline
from providers.greenhouse.tokens import TokenSource, token_endpoint
from providers.model import (
    ApplicationRecord,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    JobRecord,
    JobStage,
    WriteResult,
)
from providers.refusals import RefusesPipeline
from providers.rows import gaps_after, kept, read_rows
from providers.search import matches_search
from providers.upstream.http import Upstream, path
from providers.upstream.sharing import Sharing
from providers.upstream.transport import Reply, Sender
from providers.wire import text_or_integer

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGES", "MAX_PER_PAGE", "GreenhouseHarvestAdapter"]

MAX_PER_PAGE = 500
DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 20  # pages one call reads: 10 000 applications of 50 candidates
NAMES_TTL = 60.0  # seconds the names of `_NAMED` resources of an account are reused


_NAMED: dict[str, dict[str, str | int]] = {
    "departments": {},
    "offices": {},
    "sources": {},
    "rejection_reasons": {"include_defaults": "true"},
}
"""The resources whose names rows refer to by id, and the parameters that list all of them."""

_ListChanges = dict[str, tuple[list[dict[str, str]], bool]]  # wire list → (entries, typed)
_LIST_INPUT = {
    "email_addresses": "emails",
    "phone_numbers": "phones",
    "website_addresses": "urls",
    "social_media_addresses": "urls",
    "addresses": "locations",
}


def _merged(current: Any, given: Sequence[Mapping[str, str]], typed: bool) -> list[dict[str, str]]:
    """The current wire list with the given entries added, or retyped where the value is there.

    Values match case-insensitively; an entry the client gave no type keeps its current type,
    or gets "other" when new.
    """
    merged = [
        {k: v for k, v in item.items() if k in ("value", "type")}
        for item in (current if isinstance(current, list) else [])
        if isinstance(item, Mapping) and isinstance(item.get("value"), str)
    ]
    index = {item["value"].strip().casefold(): item for item in merged}
    for entry in given:
        key = entry["value"].strip().casefold()
        if key not in index:
            index[key] = {"value": entry["value"], **({"type": "other"} if typed else {})}
            merged.append(index[key])
        if typed and entry.get("type"):
            index[key]["type"] = entry["type"]
    return merged


def bounded_option(value: object, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PER_PAGE:
        return value
    return default


def next_link(header: str | None) -> str | None:
    """The target of the `rel="next"` link in a Link header (RFC 8288), if there is one."""
    for link in re.split(r",\s*(?=<)", header or ""):
        target, _, attributes = link.strip().partition(">")
        if not target.startswith("<"):
            continue
        for attribute in attributes.split(";"):
            name, _, value = attribute.partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').split():
                return target[1:]
    return None


class GreenhouseHarvestAdapter(HarvestPipeline, RefusesPipeline):
    """Greenhouse Harvest v3: cursor-paged lists, filters, applications, create and update, and
    the hiring pipeline (providers/greenhouse/pipeline.py)."""

    name = NAME
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
            Capability.REJECT_REASONS,
            Capability.CREATE_APPLICATION,
            Capability.MOVE_APPLICATION,
            Capability.REJECT_APPLICATION,
            Capability.ADD_NOTE,
        }
    )

    def __init__(
        self, account: AccountConfig, client: Sender, sharing: Sharing | None = None
    ) -> None:
        self.upstream = Upstream(account, client, sharing=sharing)
        self.tokens = TokenSource(self.upstream, token_endpoint(account))
        self.page_size = bounded_option(account.options.get("page_size"), DEFAULT_PAGE_SIZE)
        self.scan_rows = bounded_option(account.options.get("scan_rows"), MAX_PER_PAGE)
        # base_url may be Harvest's host with or without `/v3` (the README shows the host): calls
        # go to v3 either way.
        root = urlsplit(account.base_url).path.rstrip("/")
        self._prefix = "" if root.endswith("/v3") else "v3/"
        self._names: dict[str, tuple[float, dict[str, str]]] = {}
        self._name_locks = {resource: asyncio.Lock() for resource in _NAMED}

    def _context(self) -> Origin:
        return {"account": self.upstream.account.id, "provider": self.name}

    async def _send(
        self, method: str, url: str, params: Mapping[str, str | int] | None, json: Any
    ) -> Reply:
        url = self._prefix + url
        token = await self.tokens.get()
        try:
            return await self.upstream.send(
                method, url, params=params, json=json, headers={"Authorization": f"Bearer {token}"}
            )
        except UpstreamAuthFailed:
            token = await self.tokens.refresh(token)
        try:
            return await self.upstream.send(
                method, url, params=params, json=json, headers={"Authorization": f"Bearer {token}"}
            )
        except UpstreamAuthFailed:
            await self.tokens.refused(token)  # never sent again, here or by another process
            raise

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> tuple[Any, Reply]:
        response = await self._send(method, url, params, json)
        body = self.upstream.json(response)
        if response.status_code >= 400:
            raise self._error(
                response.status_code,
                body,
                write=method != "GET",
                one="candidate" if method == "PATCH" else None,
            )
        return body, response

    def _error(
        self, status: int, body: Any, *, write: bool, one: str | None = None
    ) -> ProviderError:
        """`one`: what the call's path named (a candidate, an application), so a 404 means it
        does not exist; on any other call a 404 means the route is wrong (base_url, most
        likely), never a missing record."""
        if status == 404 and one:
            return NotFound(f"Greenhouse found no such {one}", **self._context())
        if status == 404:
            return self.upstream.bad_response(
                "HTTP 404 for a Harvest v3 route: check the account's base_url"
            )
        if status == 403:
            return UpstreamAuthFailed(
                f"Greenhouse refused account {self.upstream.account.id!r}: its scopes or user "
                "do not allow this call",
                **self._context(),
            )
        if write and status in (400, 422) and isinstance(body, Mapping):
            return Rejected(_problems(body), **self._context())
        return self.upstream.bad_response(f"an unexpected HTTP {status}")

    async def _page(
        self, resource: str, params: Mapping[str, str | int]
    ) -> tuple[list[Any], str | None]:
        """One list page (a bare JSON array) and the cursor of the next, from `Link: rel=next`.

        Rows past the page size asked for (a cursor carries its own, at most `MAX_PER_PAGE`) are
        dropped unread; a page without rows is the last, whatever its Link header says.
        """
        body, response = await self._call("GET", resource, params=params)
        if not isinstance(body, list):
            raise self.upstream.bad_response("a list that is not an array")
        asked = params.get("per_page", MAX_PER_PAGE)
        rows = body[: asked if isinstance(asked, int) else MAX_PER_PAGE]
        link = next_link(response.headers.get("link"))
        if not link or not rows:
            return rows, None
        try:
            cursor = httpx.URL(link).params.get("cursor")
        except httpx.InvalidURL:
            raise self.upstream.bad_response("a next link that is not a URL") from None
        if not cursor:
            raise self.upstream.bad_response("a next link without a cursor")
        return rows, None if cursor == params.get("cursor") else cursor

    async def _all_pages(self, resource: str, params: Mapping[str, str | int]) -> list[Any]:
        """Every page of a list: at most `MAX_PAGES` of them, and no cursor followed twice."""
        rows, cursor = await self._page(resource, params)
        followed: set[str] = set()
        while cursor is not None and cursor not in followed:
            if len(followed) + 1 >= MAX_PAGES:
                raise self.upstream.bad_response(f"more than {MAX_PAGES} pages for one call")
            followed.add(cursor)
            more, cursor = await self._page(resource, {"cursor": cursor})
            rows += more
        return rows

    def _records(self, rows: Sequence[Any]) -> list[CandidateRecord]:
        """Rows read by id (a lookup): one without an id fails the lookup, as its own error."""
        records = [harvest_record(row) for row in rows]
        if None in records:
            raise self.upstream.bad_response("a candidate without an id")
        return [record for record in records if record is not None]

    async def _names_of(self, resource: str) -> dict[str, str]:
        """Id → name of every row of a small named resource (`_NAMED`), read once per
        `NAMES_TTL` (paged, capped)."""
        async with self._name_locks[resource]:
            cached = self._names.get(resource)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            rows = await self._all_pages(resource, {**_NAMED[resource], "per_page": MAX_PER_PAGE})
            names = {
                remote_id: name
                for row in rows
                if (remote_id := record_id(row))
                and (name := text_or_integer(row, "name"))  # record_id: row is a Mapping
            }
            self._names[resource] = (time.monotonic() + NAMES_TTL, names)
            return names

    async def _stages(self, job_ids: Sequence[str]) -> dict[str, list[JobStage]]:
        """The interview stages of these jobs: `job_interview_stages?job_ids=` per 50 jobs."""
        pages = await asyncio.gather(
            *(
                self._all_pages(
                    "job_interview_stages", {"job_ids": ",".join(chunk), "per_page": MAX_PER_PAGE}
                )
                for chunk in id_chunks(job_ids)
            )
        )
        found: dict[str, list[JobStage]] = {i: [] for i in job_ids}
        for row in (row for page in pages for row in page):
            stage = harvest_stage(row)
            if stage is None:
                raise self.upstream.bad_response("an interview stage without ids")
            if stage[0] in found:
                found[stage[0]].append(stage[1])
        return found

    async def _jobs(self, rows: Sequence[Any]) -> list[JobRecord]:
        """Job rows mapped, with department and office names and stages read in a few calls."""
        if any(record_id(row) is None for row in rows):
            raise self.upstream.bad_response("a job without an id")
        references = [job_reference_ids(row) for row in rows]
        departments, offices, stages = await asyncio.gather(
            self._names_of("departments") if any(d for d, _ in references) else _no_names(),
            self._names_of("offices") if any(o for _, o in references) else _no_names(),
            self._stages([i for row in rows if (i := record_id(row))]),
        )
        records = [harvest_job(row, departments, offices, stages) for row in rows]
        return [record for record in records if record is not None]

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage:
        """One `/v3/jobs` page per call, like candidates; `status` and `updated_after` go upstream,
        a name search is matched here over pages of `scan_rows` (v3 has no name filter)."""
        search = (query.search or "").strip().casefold()
        status = next((w for w, s in HARVEST_JOB_STATUS.items() if s == query.status), None)
        if query.status is not None and status is None:
            return JobPage((), position, None)  # a state Harvest jobs are never in
        params: dict[str, str | int]
        if position.token is not None:
            params = {"cursor": position.token}
        else:
            size = self.scan_rows if search else max(self.page_size, limit + position.skip)
            params = {"per_page": min(MAX_PER_PAGE, size)}
            if status is not None:
                params["status"] = status
            if query.updated_after is not None:
                params["updated_at"] = updated_after_filter(query.updated_after)
        rows, cursor = await self._page("jobs", params)
        readable, gaps = read_rows(rows, _with_id)
        readable, gaps = kept(
            readable,
            gaps,
            lambda row: (
                search in (text_or_integer(row, "name") or "").casefold()
                and after(text_or_integer(row, "updated_at"), query.updated_after)
            ),
        )
        records = await self._jobs(readable[position.skip :])
        gaps = gaps_after(gaps, position.skip)
        return JobPage(tuple(records), position, cursor, filtered_locally=bool(search), gaps=gaps)

    async def get_jobs(self, remote_ids: Sequence[str]) -> list[JobRecord]:
        """`GET jobs?ids=…` per 50 ids, concurrently; unknown ids are left out."""
        chunks = id_chunks(remote_ids)
        pages = await asyncio.gather(
            *(self._all_pages("jobs", {"ids": ",".join(c), "per_page": len(c)}) for c in chunks)
        )
        wanted = {i for chunk in chunks for i in chunk}
        found: dict[str | None, Any] = {}
        for row in (row for page in pages for row in page):
            remote_id = record_id(row)
            if remote_id is None or remote_id in wanted:
                found.setdefault(remote_id, row)
        return await self._jobs(list(found.values()))

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        """One upstream page per call, of which `position.skip` rows were already used."""
        search = (query.search or "").strip()
        if query.job_remote_id is not None:
            return await self._list_for_job(query, search, position)
        scan = bool(search) and not EMAIL.match(search)
        params: dict[str, str | int]
        if position.token is not None:
            params = {"cursor": position.token}
        elif search:
            # Rows are filtered here even when `email=` was pushed down, so `skip` counts kept
            # rows: every first page of this listing must be the same size to hold the same ones.
            params = {"per_page": self.scan_rows, **({} if scan else {"email": search})}
        else:
            # `skip` counts unfiltered rows here, so any first page longer than it holds them.
            params = {"per_page": min(MAX_PER_PAGE, max(self.page_size, limit + position.skip))}
        if position.token is None and query.updated_after is not None:
            params["updated_at"] = updated_after_filter(query.updated_after)
        rows, cursor = await self._page("candidates", params)

        def keep(record: CandidateRecord) -> bool:
            fresh = after(record.updated_at, query.updated_after)
            return fresh and (not search or matches_search(record, search))

        filtered = bool(search) or query.updated_after is not None
        records, gaps = read_rows(rows, harvest_record, keep if filtered else None)
        return CandidatePage(
            records[position.skip :],
            position,
            cursor,
            filtered_locally=scan,
            gaps=gaps_after(gaps, position.skip),
        )

    @staticmethod
    def _updated_after(
        records: list[CandidateRecord], moment: datetime | None
    ) -> list[CandidateRecord]:
        """Harvest filtered on `gt|`; this only drops a row its own clock put at the bound."""
        return [record for record in records if after(record.updated_at, moment)]

    async def _list_for_job(
        self, query: CandidateQuery, search: str, position: Position
    ) -> CandidatePage:
        """Candidates of one job: a page of its applications, then their candidates by id (with
        `updated_after` pushed down on that read)."""
        job_id = query.job_remote_id or ""
        if not DIGITS.match(job_id):
            return CandidatePage((), position, None)
        params: Mapping[str, str | int] = (
            {"cursor": position.token}
            if position.token is not None
            else {"job_ids": job_id, "per_page": self.page_size}
        )
        rows, cursor = await self._page("applications", params)
        applications = [harvest_application(row) for row in rows]
        ids = list(dict.fromkeys(a.candidate_remote_id for a in applications if a is not None))
        moment = query.updated_after
        chunks = await asyncio.gather(*(self._rows_by_ids(c, moment) for c in id_chunks(ids)))
        readable, gaps = read_rows((row for chunk in chunks for row in chunk), harvest_record)
        found = {record.remote_id: record for record in readable}
        records = self._updated_after([found[i] for i in ids if i in found], moment)
        if search:
            records = [record for record in records if matches_search(record, search)]
        # Rows that cannot be read have no place among these: they are reported before the
        # first, by the read that starts at this page's first row.
        unreadable = applications.count(None) + len(gaps) if position.skip == 0 else 0
        return CandidatePage(
            tuple(records[position.skip :]),
            position,
            cursor,
            filtered_locally=bool(search),
            gaps=(0,) * unreadable,
        )

    async def _rows_by_ids(
        self, ids: Sequence[str], updated_after: datetime | None = None
    ) -> list[Any]:
        """The candidate rows among `ids`, each once: rows for other ids are dropped unread."""
        params: dict[str, str | int] = {"ids": ",".join(ids), "per_page": len(ids)}
        if updated_after is not None:
            params["updated_at"] = updated_after_filter(updated_after)
        rows = await self._all_pages("candidates", params)
        wanted = set(ids)
        found: dict[str | None, Any] = {}
        unread: list[Any] = []
        for row in rows:
            remote_id = record_id(row)
            if remote_id is None:
                unread.append(row)
            elif remote_id in wanted:
                found.setdefault(remote_id, row)
        return [*found.values(), *unread]

    async def _by_ids(self, ids: Sequence[str]) -> list[CandidateRecord]:
        return self._records(await self._rows_by_ids(ids))

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        """`GET candidates?ids=…` per 50 ids, concurrently: Harvest v3 has no by-id route."""
        found = await asyncio.gather(*(self._by_ids(chunk) for chunk in id_chunks(remote_ids)))
        return [record for chunk in found for record in chunk]

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        """`GET applications?candidate_ids=…` per 50 candidates, never one call per candidate."""
        pages = await asyncio.gather(
            *(
                self._all_pages(
                    "applications", {"candidate_ids": ",".join(chunk), "per_page": MAX_PER_PAGE}
                )
                for chunk in id_chunks(remote_ids)
            )
        )
        found: dict[str, list[ApplicationRecord]] = {i: [] for i in remote_ids}
        rows = [row for page in pages for row in page if harvest_application(row) is not None]
        for application in await self._applications(rows):  # unreadable rows left out
            found.setdefault(application.candidate_remote_id, []).append(application)
        return found

    async def _current(self, remote_id: str) -> Mapping[str, Any]:
        if DIGITS.match(remote_id):
            for row in await self._all_pages("candidates", {"ids": remote_id, "per_page": 1}):
                if record_id(row) == remote_id:
                    return dict(row)
        raise NotFound("Greenhouse found no such candidate", **self._context())

    def _record(self, raw: Any) -> CandidateRecord:
        record = harvest_record(raw)
        if record is None:
            raise self.upstream.bad_response("a candidate without an id")
        return record

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult:
        """`POST candidates`, with the first application nested when the draft names a job."""
        problems: list[FieldProblem] = []
        first, last = draft_names(draft.first_name, draft.last_name, draft.full_name, problems)
        job_id = draft_job_id(draft, problems)
        websites, social = split_urls(draft.urls)
        body = {
            "first_name": first,
            "last_name": last,
            "company": draft.company,
            "title": draft.title,
            "email_addresses": typed_entries(
                draft.emails, "emails", EMAIL_TYPES, "value", problems
            ),
            "phone_numbers": typed_entries(
                draft.phones, "phones", HARVEST_PHONE_TYPES, "value", problems
            ),
            "website_addresses": typed_entries(websites, "urls", WEBSITE_TYPES, "value", problems),
            "social_media_addresses": [{"value": url.value} for url in social],
            "addresses": [{"value": v, "type": "other"} for v in draft.locations],
            "tags": list(draft.tags),
            "application": {"job_id": job_id} if job_id is not None else None,
        }
        if problems:
            raise Rejected(problems, **self._context())
        warnings = ignored_warnings((n for n in HARVEST_IGNORES if getattr(draft, n)), "Harvest")
        if draft.application and (draft.application.status or draft.application.notes):
            warnings.append(STAGE_WARNING)
        answer, _ = await self._call("POST", "candidates", json=without_empty(body))
        return WriteResult(self._record(answer), created=True, warnings=tuple(warnings))

    def _changes(self, given: Mapping[str, Any]) -> tuple[dict[str, Any], _ListChanges]:
        """The plain fields of a PATCH body, and the list entries to merge; bad input raises."""
        problems: list[FieldProblem] = []
        body = {k: given[k] for k in ("first_name", "last_name", "company", "title") if k in given}
        if "full_name" in given:
            first, last = split_name(given["full_name"])
            body = {"first_name": first, "last_name": last} | body
        for name in ("first_name", "last_name"):
            if name in body and not body[name]:
                where = name if name in given else "full_name"
                label = name.replace("_", " ")
                problems.append(FieldProblem("REQUIRED", f"Greenhouse needs a {label}", (where,)))
        lists: _ListChanges = {}
        if "emails" in given:
            emails = given["emails"] or ()
            entries = typed_entries(emails, "emails", EMAIL_TYPES, "value", problems, "")
            lists["email_addresses"] = (entries, True)
        if "phones" in given:
            phones = given["phones"] or ()
            entries = typed_entries(phones, "phones", HARVEST_PHONE_TYPES, "value", problems, "")
            lists["phone_numbers"] = (entries, True)
        if "urls" in given:
            websites, social = split_urls(given["urls"] or ())
            entries = typed_entries(websites, "urls", WEBSITE_TYPES, "value", problems, "")
            lists["website_addresses"] = (entries, True)
            lists["social_media_addresses"] = ([{"value": url.value} for url in social], False)
        if "locations" in given:
            lists["addresses"] = ([{"value": v} for v in given["locations"] or ()], True)
        if problems:
            raise Rejected(problems, **self._context())
        return body, lists

    async def update_candidate(self, remote_id: str, patch: CandidatePatch) -> WriteResult:
        """`PATCH candidates/{id}` with the given fields; list fields go out merged (see above).

        Input is checked before any call; the candidate is read first only when a list field
        must be merged, or when nothing is left to send.
        """
        given = patch.given()
        body, lists = self._changes(given)
        warnings = tuple(
            ignored_warnings(
                [n for n in (*HARVEST_IGNORES, "application") if n in given], "Harvest"
            )
        )
        current = await self._current(remote_id) if lists or "tags" in given else None
        for wire, (entries, typed) in lists.items():
            cleared = given[_LIST_INPUT[wire]] is None
            body[wire] = [] if cleared else _merged((current or {}).get(wire), entries, typed)
        if "tags" in given:
            tags = (current or {}).get("tags")
            kept = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
            body["tags"] = (
                [] if given["tags"] is None else list(dict.fromkeys([*kept, *given["tags"]]))
            )
        if not body:
            record = self._record(current or await self._current(remote_id))
            return WriteResult(record, warnings=warnings)
        answer, _ = await self._call("PATCH", path("candidates", remote_id), json=body)
        return WriteResult(self._record(answer), warnings=warnings)

    async def aclose(self) -> None:
        await self.upstream.aclose()


def _problems(body: Mapping[str, Any]) -> list[FieldProblem]:
    """Harvest's `{message, errors}`; an error is a string or a one-key {field: message}."""
    errors = body.get("errors")
    items = errors if isinstance(errors, list) else []
    return refused_values(
        wire for item in items for wire in (item if isinstance(item, Mapping) else [None])
    )


async def _no_names() -> dict[str, str]:
    return {}


def _with_id(row: Any) -> Any:
    """The row itself when it has an id; None (left out of a listing) otherwise."""
    return row if record_id(row) is not None else None
