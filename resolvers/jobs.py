"""Read resolvers for jobs: the merged `jobs` listing and `job(id)`.

The listing pages through the same merge as candidates (resolvers.pagination); only how an
account is asked differs. Every job a listing returns is primed in the request's job loader,
so naming it again (an application's job) costs no call.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from providers.base import Capability, JobPage, JobQuery, Position
from providers.errors import ProviderError
from providers.model import JobRecord, JobStatus
from resolvers.accounts import ServedAccount
from resolvers.candidates import check_first, instant_key, search_text
from resolvers.context import RequestContext
from resolvers.ids import GlobalId, decode_id
from resolvers.pagination import Fetch, Listing, fingerprint, merge_page, unsupported

__all__ = ["FoundJob", "JobList", "find_job", "get_job", "list_jobs"]

JobList = Listing[JobRecord]


@dataclass(frozen=True, slots=True)
class FoundJob:
    account: ServedAccount
    record: JobRecord


def _plan(query: JobQuery, account: ServedAccount) -> Fetch[JobRecord] | ProviderError:
    needs = [Capability.JOBS]
    if query.updated_after is not None:
        needs.append(Capability.FILTER_UPDATED)
    refusal = unsupported(account, needs)
    if refusal is not None:
        return refusal

    async def list_page(position: Position, limit: int) -> JobPage:
        return await account.provider.list_jobs(query, position, limit)

    return list_page


async def list_jobs(
    context: RequestContext,
    *,
    search: str | None,
    status: JobStatus | None,
    updated_after: datetime | None,
    account_ids: Sequence[str] | None,
    first: int,
    after: str | None,
    path: Sequence[str | int] = ("jobs",),
) -> JobList:
    """One merged page of jobs; failed accounts' errors are reported at `path`."""
    check_first(first)
    text = search_text(search)
    selected = context.accounts.select(account_ids)
    filters = fingerprint(
        listing="jobs",
        search=text.casefold() if text else None,
        status=status.value if status else None,
        updated_after=instant_key(updated_after),
        accounts=[account.id for account in selected],
    )
    start, turn = context.cursors.decode(after, filters) if after is not None else ({}, 0)
    query = JobQuery(search=text, status=status, updated_after=updated_after)
    page = await merge_page(
        selected,
        functools.partial(_plan, query),
        start,
        first,
        turn,
        request_id=context.request_id,
    )
    context.note_failures(page, path)
    for lane in page.lanes:
        for job_page in lane.pages:
            for record in job_page.records:
                context.loaders.prime_job(lane.account.id, record)
    return JobList(page, context.cursors, filters, list(context.accounts))


async def find_job(context: RequestContext, gid: GlobalId) -> FoundJob | None:
    account = context.accounts.get(gid.account)
    if account is None:
        return None
    record = await context.loaders.job(account.id, gid.remote_id)
    return FoundJob(account, record) if record is not None else None


async def get_job(context: RequestContext, id: str) -> FoundJob | None:
    return await find_job(context, decode_id(id, expect="Job"))
