"""Read resolvers: the merged `candidates` listing, `candidate(id)` and applications by id.

They validate every argument before any upstream call, and return normalized records paired with
the account they came from; the GraphQL layer decides what a client sees of them.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from providers.base import CandidatePage, CandidateQuery, Capability, Position
from providers.errors import ProviderError
from providers.model import ApplicationRecord, CandidateRecord
from resolvers.accounts import ServedAccount
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.ids import GlobalId, decode_id
from resolvers.pagination import (
    Fetch,
    Listing,
    Plan,
    SourceResult,
    SourceState,
    fingerprint,
    merge_page,
    unsupported,
)

__all__ = [
    "MAX_FIRST",
    "MAX_SEARCH",
    "CandidateList",
    "FoundApplication",
    "FoundCandidate",
    "JobsWanted",
    "SourceResult",
    "SourceState",
    "check_first",
    "find_candidate",
    "get_application",
    "get_candidate",
    "instant_key",
    "list_candidates",
    "plan",
    "search_text",
]

MAX_FIRST = 100
MAX_SEARCH = 200

CandidateList = Listing[CandidateRecord]


@dataclass(frozen=True, slots=True)
class FoundCandidate:
    account: ServedAccount
    record: CandidateRecord


@dataclass(frozen=True, slots=True)
class FoundApplication:
    account: ServedAccount
    record: ApplicationRecord


class JobsWanted(enum.Enum):
    """Which jobs of a page's applications the client reads: none, the ones whose name must
    be looked up, or every one (it reads whole jobs)."""

    NONE = "none"
    UNNAMED = "unnamed"
    EVERY = "every"


def check_first(first: int) -> None:
    if not 1 <= first <= MAX_FIRST:
        raise BadUserInput(f"first must be between 1 and {MAX_FIRST}", field=("first",))


def search_text(search: str | None) -> str | None:
    text = (search or "").strip()
    if len(text) > MAX_SEARCH:
        raise BadUserInput(f"search is longer than {MAX_SEARCH} characters", field=("search",))
    return text or None


def instant_key(moment: datetime | None) -> str | None:
    """An instant as the cursor fingerprint holds it: one spelling per instant, whatever the
    offset it was written with."""
    return None if moment is None else moment.timestamp().hex()


def plan(query: CandidateQuery) -> Plan[CandidateRecord]:
    """How a candidates listing asks each account: `list_candidates` with `query`, unless
    the account lacks a capability the query needs."""
    return functools.partial(_plan, query)


def _plan(query: CandidateQuery, account: ServedAccount) -> Fetch[CandidateRecord] | ProviderError:
    needs = [Capability.LIST]
    if query.search:
        needs.append(Capability.SEARCH)
    if query.job_remote_id:
        needs.append(Capability.FILTER_JOB)
    if query.updated_after is not None:
        needs.append(Capability.FILTER_UPDATED)
    refusal = unsupported(account, needs)
    if refusal is not None:
        return refusal

    async def list_page(position: Position, limit: int) -> CandidatePage:
        return await account.provider.list_candidates(query, position, limit)

    return list_page


async def list_candidates(
    context: RequestContext,
    *,
    search: str | None,
    job_id: str | None,
    account_ids: Sequence[str] | None,
    first: int,
    after: str | None,
    updated_after: datetime | None = None,
    with_applications: bool = False,
    with_jobs: JobsWanted = JobsWanted.NONE,
    path: Sequence[str | int] = ("candidates",),
) -> CandidateList:
    """One merged page; `with_applications` also fetches the page's applications before
    answering (the same batched calls the fields asking for them would make one by one), and
    `with_jobs` the jobs those applications name (see JobsWanted), in one batch per account.
    `path` is the field's place in the response (its alias, if any): failed accounts' errors
    are reported there."""
    check_first(first)
    text = search_text(search)
    selected = context.accounts.select(account_ids)
    job: GlobalId | None = None
    if job_id is not None:
        job = decode_id(job_id, expect="Job", field="jobId")
        context.accounts.require(job.account, field="jobId")
        selected = [account for account in selected if account.id == job.account]
    filters = fingerprint(
        search=text.casefold() if text else None,
        job=job.encode() if job else None,
        accounts=[account.id for account in selected],
        updated_after=instant_key(updated_after),
    )
    start, turn = context.cursors.decode(after, filters) if after is not None else ({}, 0)
    query = CandidateQuery(
        search=text, job_remote_id=job.remote_id if job else None, updated_after=updated_after
    )
    page = await merge_page(
        selected,
        plan(query),
        start,
        first,
        turn,
        request_id=context.request_id,
    )
    context.note_failures(page, path)
    for lane in page.lanes:
        for candidate_page in lane.pages:
            for record in candidate_page.records:
                context.loaders.prime(lane.account.id, record)
    listing = CandidateList(page, context.cursors, filters, list(context.accounts))
    if with_applications:
        await context.loaders.prefetch_applications(
            [(account.id, record) for account, record in listing.rows]
        )
        if with_jobs is not JobsWanted.NONE:
            await context.loaders.prefetch_jobs(
                listing.rows, named_too=with_jobs is JobsWanted.EVERY
            )
    return listing


async def find_candidate(context: RequestContext, gid: GlobalId) -> FoundCandidate | None:
    account = context.accounts.get(gid.account)
    if account is None:
        return None
    record = await context.loaders.candidate(account.id, gid.remote_id)
    return FoundCandidate(account, record) if record is not None else None


async def get_candidate(context: RequestContext, id: str) -> FoundCandidate | None:
    return await find_candidate(context, decode_id(id, expect="Candidate"))


async def get_application(context: RequestContext, gid: GlobalId) -> FoundApplication | None:
    assert gid.parent is not None
    owner = await find_candidate(context, GlobalId("Candidate", gid.account, gid.parent))
    if owner is None:
        return None
    applications = await context.loaders.applications_of(owner.account.id, owner.record)
    for application in applications:
        if application.remote_id == gid.remote_id:
            return FoundApplication(owner.account, application)
    return None
