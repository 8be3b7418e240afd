"""Pipeline reads: the merged `applications` listing and the reasons an account offers for a
rejection.

The listing pages through the same merge as candidates and jobs (resolvers.pagination). Every
filter is a global ID, so it names its account: a job, a candidate or a stage narrows the fan-out
to that account before any call. A stage names its job too, so `stageId` alone implies `jobId`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from providers.base import ApplicationPage, ApplicationQuery, Capability, Position
from providers.errors import ProviderError, UnsupportedByProvider
from providers.model import ApplicationRecord, ApplicationStatus, RejectReason
from resolvers.accounts import ServedAccount
from resolvers.candidates import check_first, instant_key
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.ids import GlobalId, decode_id
from resolvers.pagination import Fetch, Listing, fingerprint, merge_page, unsupported

__all__ = ["ApplicationList", "list_applications", "reject_reasons"]

ApplicationList = Listing[ApplicationRecord]


def _plan(
    query: ApplicationQuery, account: ServedAccount
) -> Fetch[ApplicationRecord] | ProviderError:
    refusal = unsupported(account, [Capability.LIST_APPLICATIONS])
    if refusal is not None:
        return refusal

    async def list_page(position: Position, limit: int) -> ApplicationPage:
        return await account.provider.list_applications(query, position, limit)

    return list_page


def _decoded(value: str | None, kind: str, field: str) -> GlobalId | None:
    return None if value is None else decode_id(value, expect=kind, field=field)


async def list_applications(
    context: RequestContext,
    *,
    job_id: str | None,
    candidate_id: str | None,
    stage_id: str | None,
    status: ApplicationStatus | None,
    updated_after: datetime | None,
    account_ids: Sequence[str] | None,
    first: int,
    after: str | None,
    path: Sequence[str | int] = ("applications",),
) -> ApplicationList:
    """One merged page of applications; failed accounts' errors are reported at `path`.

    An adapter that can apply a filter neither upstream nor over a bounded scan refuses it, and
    that account reads UNSUPPORTED in `sources` (Talynce without a job or a candidate)."""
    check_first(first)
    job = _decoded(job_id, "Job", "jobId")
    candidate = _decoded(candidate_id, "Candidate", "candidateId")
    stage = _decoded(stage_id, "JobStage", "stageId")
    if stage is not None:
        if job is not None and (job.account, job.remote_id) != (stage.account, stage.parent):
            raise BadUserInput("stageId is a stage of another job", field=("stageId",))
        job = job or GlobalId("Job", stage.account, stage.parent or "")
    selected = context.accounts.select(account_ids)
    for named, field in ((job, "jobId"), (candidate, "candidateId")):
        if named is not None:
            context.accounts.require(named.account, field=field)
            selected = [account for account in selected if account.id == named.account]
    filters = fingerprint(
        listing="applications",
        job=job.encode() if job else None,
        candidate=candidate.encode() if candidate else None,
        stage=stage.encode() if stage else None,
        status=status.value if status else None,
        updated_after=instant_key(updated_after),
        accounts=[account.id for account in selected],
    )
    start, turn = context.cursors.decode(after, filters) if after is not None else ({}, 0)
    query = ApplicationQuery(
        job_remote_id=job.remote_id if job else None,
        candidate_remote_id=candidate.remote_id if candidate else None,
        status=status,
        stage_remote_id=stage.remote_id if stage else None,
        updated_after=updated_after,
    )
    page = await merge_page(
        selected,
        functools.partial(_plan, query),
        start,
        first,
        turn,
        request_id=context.request_id,
    )
    context.note_failures(page, path)
    return ApplicationList(page, context.cursors, filters, list(context.accounts))


async def reject_reasons(
    context: RequestContext, account_id: str
) -> tuple[ServedAccount, list[RejectReason]]:
    """The account's reasons in the provider's order; UNSUPPORTED_BY_PROVIDER where it keeps
    none, rather than an empty list a frontend would read as "no reasons set up"."""
    account = context.accounts.require(account_id)
    if not account.can(Capability.REJECT_REASONS):
        raise UnsupportedByProvider(
            f"account {account.id!r} ({account.provider_name}) keeps no reject reasons",
            account=account.id,
            provider=account.provider_name,
        )
    return account, await account.provider.list_reject_reasons()
