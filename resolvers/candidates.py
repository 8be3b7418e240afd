"""Read resolvers: the merged `candidates` listing, `candidate(id)` and `node(id)`.

They validate every argument before any upstream call, and return normalized records paired with
the account they came from; the GraphQL layer decides what a client sees of them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from providers.base import CandidateQuery
from providers.errors import ProviderError
from providers.model import ApplicationRecord, CandidateRecord
from resolvers.accounts import ServedAccount
from resolvers.context import PartialError, RequestContext
from resolvers.errors import BadUserInput
from resolvers.ids import GlobalId, decode_id
from resolvers.pagination import MergedPage, fingerprint, merge_page

__all__ = [
    "MAX_FIRST",
    "CandidateList",
    "FoundApplication",
    "FoundCandidate",
    "SourceResult",
    "SourceState",
    "get_application",
    "get_candidate",
    "get_node",
    "list_candidates",
]

MAX_FIRST = 100
MAX_SEARCH = 200


class SourceState(enum.StrEnum):
    OK = "OK"
    DONE = "DONE"
    ERROR = "ERROR"
    UNSUPPORTED = "UNSUPPORTED"


@dataclass(frozen=True, slots=True)
class FoundCandidate:
    account: ServedAccount
    record: CandidateRecord


@dataclass(frozen=True, slots=True)
class FoundApplication:
    account: ServedAccount
    record: ApplicationRecord


@dataclass(frozen=True, slots=True)
class SourceResult:
    account: ServedAccount
    state: SourceState
    error: ProviderError | None
    total: int | None
    latency_ms: float | None
    filtered_locally: bool = False


@dataclass
class CandidateList:
    page: MergedPage
    context: RequestContext
    filters: str

    @property
    def items(self) -> list[FoundCandidate]:
        return [FoundCandidate(lane.account, record) for lane, record in self.page.items]

    def edge_cursors(self) -> list[str]:
        """The cursor after each item, in order: `[cursor_after(1), cursor_after(2), …]`."""
        encode = self.context.cursors.encode
        return [encode(self.filters, states, turn) for states, turn in self.page.steps()]

    def cursor_after(self, count: int) -> str:
        page = self.page
        return self.context.cursors.encode(
            self.filters, page.states_after(count), page.turn_after(count)
        )

    @property
    def sources(self) -> list[SourceResult]:
        results = []
        for lane in self.page.lanes:
            if lane.error is not None:
                state = SourceState.ERROR
            elif lane.calls == 0:
                state = SourceState.DONE
            else:
                state = SourceState.OK
            results.append(
                SourceResult(
                    lane.account,
                    state,
                    lane.error,
                    lane.total,
                    lane.latency_ms,
                    lane.filtered_locally,
                )
            )
        for account, refusal in self.page.skipped:
            results.append(SourceResult(account, SourceState.UNSUPPORTED, refusal, None, None))
        order = {account.id: n for n, account in enumerate(self.context.accounts)}
        return sorted(results, key=lambda source: order[source.account.id])


def _search_text(search: str | None) -> str | None:
    text = (search or "").strip()
    if len(text) > MAX_SEARCH:
        raise BadUserInput(f"search is longer than {MAX_SEARCH} characters", field=("search",))
    return text or None


async def list_candidates(
    context: RequestContext,
    *,
    search: str | None,
    job_id: str | None,
    account_ids: Sequence[str] | None,
    first: int,
    after: str | None,
    with_applications: bool = False,
    path: Sequence[str | int] = ("candidates",),
) -> CandidateList:
    """One merged page; `with_applications` also fetches the page's applications before
    answering (the same batched calls the fields asking for them would make one by one).
    `path` is the field's place in the response (its alias, if any): failed accounts' errors
    are reported there."""
    if not 1 <= first <= MAX_FIRST:
        raise BadUserInput(f"first must be between 1 and {MAX_FIRST}", field=("first",))
    text = _search_text(search)
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
    )
    start, turn = context.cursors.decode(after, filters) if after is not None else ({}, 0)
    query = CandidateQuery(search=text, job_remote_id=job.remote_id if job else None)
    page = await merge_page(
        selected, lambda _: query, start, first, turn, request_id=context.request_id
    )
    for lane in page.lanes:
        if lane.error is not None:
            context.partial_errors.append(PartialError(tuple(path), lane.error))
        for candidate_page in lane.pages:
            for record in candidate_page.records:
                context.loaders.prime(lane.account.id, record)
    listing = CandidateList(page, context, filters)
    if with_applications:
        await context.loaders.prefetch_applications(
            [(found.account.id, found.record) for found in listing.items]
        )
    return listing


async def _candidate(context: RequestContext, gid: GlobalId) -> FoundCandidate | None:
    account = context.accounts.get(gid.account)
    if account is None:
        return None
    record = await context.loaders.candidate(account.id, gid.remote_id)
    return FoundCandidate(account, record) if record is not None else None


async def get_candidate(context: RequestContext, id: str) -> FoundCandidate | None:
    return await _candidate(context, decode_id(id, expect="Candidate"))


async def get_application(context: RequestContext, gid: GlobalId) -> FoundApplication | None:
    assert gid.parent is not None
    owner = await _candidate(context, GlobalId("Candidate", gid.account, gid.parent))
    if owner is None:
        return None
    applications = await context.loaders.applications_of(owner.account.id, owner.record)
    for application in applications:
        if application.remote_id == gid.remote_id:
            return FoundApplication(owner.account, application)
    return None


async def get_node(context: RequestContext, id: str) -> FoundCandidate | FoundApplication | None:
    gid = decode_id(id)
    if gid.kind == "Candidate":
        return await _candidate(context, gid)
    if gid.kind == "Application":
        return await get_application(context, gid)
    return None
