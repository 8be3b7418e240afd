"""GraphQL object types: how normalized records look to clients. No fan-out logic lives here."""

from __future__ import annotations

import enum
import weakref
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField, Selection

from providers.base import Capability as CapabilityValue
from providers.errors import FieldProblem, ProviderError
from providers.model import (
    ApplicationRecord,
    CandidateRecord,
    WriteWarning,
)
from providers.model import ApplicationStatus as ApplicationStatusValue
from providers.model import EmailType as EmailTypeValue
from providers.model import PhoneType as PhoneTypeValue
from providers.model import UrlType as UrlTypeValue
from providers.registry import PROVIDERS
from resolvers.accounts import ServedAccount
from resolvers.candidates import CandidateList, FoundApplication, FoundCandidate, SourceResult
from resolvers.candidates import SourceState as SourceStateValue
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.loaders import Loaders

__all__ = [
    "Account",
    "Application",
    "Candidate",
    "CandidateConnection",
    "GatewayError",
    "Node",
    "UserError",
    "Warning",
    "camel_path",
    "selects",
]

Capability = strawberry.enum(CapabilityValue, name="Capability")
ApplicationStatus = strawberry.enum(ApplicationStatusValue, name="ApplicationStatus")
EmailType = strawberry.enum(EmailTypeValue, name="EmailType")
PhoneType = strawberry.enum(PhoneTypeValue, name="PhoneType")
UrlType = strawberry.enum(UrlTypeValue, name="UrlType")
SourceState = strawberry.enum(SourceStateValue, name="SourceState")
# One value per registered provider, so registering an adapter is all it takes to appear here.
ProviderValue = enum.Enum("ProviderValue", {name.upper(): name for name in PROVIDERS})  # type: ignore[misc]
Provider = strawberry.enum(ProviderValue, name="Provider")

Info = strawberry.Info[RequestContext, None]


def camel_path(path: tuple[str, ...] | None, prefix: tuple[str, ...] = ()) -> list[str] | None:
    """`("application", "job_id")` → `["input", "application", "jobId"]` for userErrors."""
    if path is None:
        return list(prefix) or None
    camel = [
        part.split("_")[0] + "".join(word.title() for word in part.split("_")[1:]) for part in path
    ]
    return [*prefix, *camel]


@strawberry.type(description="A problem the gateway or an upstream account reported.")
class GatewayError:
    code: str
    message: str
    retry_after: float | None = None

    @classmethod
    def of(cls, error: ProviderError) -> GatewayError:
        return cls(code=error.code, message=error.message, retry_after=error.retry_after)


@strawberry.type(description="One field-level reason a mutation changed nothing.")
class UserError:
    field: list[str] | None
    code: str
    message: str

    @classmethod
    def of(cls, problem: FieldProblem, prefix: tuple[str, ...] = ("input",)) -> UserError:
        return cls(
            field=camel_path(problem.field, prefix), code=problem.code, message=problem.message
        )


@strawberry.type(description="Something the provider accepted with a caveat.")
class Warning:
    field: list[str] | None
    code: str | None
    message: str

    @classmethod
    def of(cls, warning: WriteWarning) -> Warning:
        return cls(
            field=camel_path(warning.field, ("input",)), code=warning.code, message=warning.message
        )


@strawberry.type(description="One set of credentials at one provider.")
class Account:
    id: strawberry.ID
    name: str
    provider: Provider  # type: ignore[valid-type]
    capabilities: list[Capability]  # type: ignore[valid-type]

    @classmethod
    def of(cls, account: ServedAccount) -> Account:
        """One per account for the process's life: every candidate of a listing names one."""
        found = _ACCOUNTS.get(account)
        if found is None:
            found = _ACCOUNTS[account] = cls(
                id=strawberry.ID(account.id),
                name=account.config.name,
                provider=ProviderValue(account.provider_name),
                capabilities=sorted(account.provider.capabilities),
            )
        return found


_ACCOUNTS: weakref.WeakKeyDictionary[ServedAccount, Account] = weakref.WeakKeyDictionary()


@strawberry.interface(description="An object that can be fetched again by its global ID.")
class Node:
    id: strawberry.ID


@strawberry.type
class Email:
    value: str
    type: EmailType | None  # type: ignore[valid-type]
    raw_type: str | None


@strawberry.type
class Phone:
    value: str
    type: PhoneType | None  # type: ignore[valid-type]
    raw_type: str | None


@strawberry.type
class Url:
    value: str
    type: UrlType | None  # type: ignore[valid-type]
    raw_type: str | None


@strawberry.type
class Address:
    value: str
    type: str | None


@strawberry.type(description="Money in whole units, plus the provider's own figure and unit.")
class Compensation:
    amount: float
    currency: str | None
    period: str | None
    raw_value: float | None
    raw_unit: str | None


@strawberry.type
class Job:
    id: strawberry.ID | None
    remote_id: str | None
    name: str | None


@strawberry.type
class Application(Node):
    id: strawberry.ID
    remote_id: str
    job: Job | None
    status: ApplicationStatus  # type: ignore[valid-type]
    raw_status: str | None
    stage: str | None
    applied_at: str | None
    profile_url: str | None
    notes: str | None
    account_id: strawberry.Private[str]
    candidate_remote_id: strawberry.Private[str]

    @classmethod
    def of(cls, account: ServedAccount, record: ApplicationRecord) -> Application:
        job = record.job
        return cls(
            id=strawberry.ID(
                encode_id("Application", account.id, record.remote_id, record.candidate_remote_id)
            ),
            remote_id=record.remote_id,
            job=Job(
                id=strawberry.ID(encode_id("Job", account.id, job.remote_id))
                if job.remote_id
                else None,
                remote_id=job.remote_id,
                name=job.name,
            )
            if job
            else None,
            status=record.status,
            raw_status=record.raw_status,
            stage=record.stage,
            applied_at=record.applied_at,
            profile_url=record.profile_url,
            notes=record.notes,
            account_id=account.id,
            candidate_remote_id=record.candidate_remote_id,
        )

    @strawberry.field
    async def candidate(self, info: Info) -> Candidate | None:
        context = info.context
        record = await context.loaders.candidate(self.account_id, self.candidate_remote_id)
        account = context.accounts.get(self.account_id)
        if record is None or account is None:
            return None
        return Candidate.of(FoundCandidate(account, record))


@strawberry.type(description="A person in one account of one ATS, in the gateway's one shape.")
class Candidate(Node):
    id: strawberry.ID
    account: Account
    remote_id: str
    first_name: str | None
    last_name: str | None
    full_name: str | None
    company: str | None
    title: str | None
    emails: list[Email]
    phones: list[Phone]
    addresses: list[Address]
    urls: list[Url]
    locations: list[str]
    tags: list[str]
    skills: list[str]
    experience_years: float | None
    current_compensation: Compensation | None
    expected_compensation: Compensation | None
    notice_period_days: int | None
    resume_url: str | None
    source: str | None
    external_id: str | None
    profile_url: str | None
    masked: bool = strawberry.field(
        description="True when the account's talent pool hides this person's contact details."
    )
    created_at: str | None
    updated_at: str | None
    custom_fields: JSON | None = strawberry.field(
        description="Provider-specific fields with no normalized home, as the provider named them."
    )
    ats_remote_id: str | None = strawberry.field(
        description=(
            "For aggregators like Merge, the candidate's id in the ATS behind it; null elsewhere."
        )
    )
    remote_was_deleted: bool = strawberry.field(
        description="True when the provider reports the record deleted at its source."
    )
    found: strawberry.Private[FoundCandidate]

    @classmethod
    def of(cls, found: FoundCandidate) -> Candidate:
        """Nested values are the records themselves: GraphQL reads attributes, and the records
        have the fields' names, so copying them into twin objects would only cost time."""
        r: CandidateRecord = found.record
        account = found.account
        return cls(
            id=strawberry.ID(encode_id("Candidate", account.id, r.remote_id)),
            account=Account.of(account),
            remote_id=r.remote_id,
            first_name=r.first_name,
            last_name=r.last_name,
            full_name=r.full_name,
            company=r.company,
            title=r.title,
            emails=cast(list[Email], r.emails),
            phones=cast(list[Phone], r.phones),
            addresses=cast(list[Address], r.addresses),
            urls=cast(list[Url], r.urls),
            locations=cast(list[str], r.locations),
            tags=cast(list[str], r.tags),
            skills=cast(list[str], r.skills),
            experience_years=r.experience_years,
            current_compensation=cast(Compensation | None, r.current_compensation),
            expected_compensation=cast(Compensation | None, r.expected_compensation),
            notice_period_days=r.notice_period_days,
            resume_url=r.resume_url,
            source=r.source,
            external_id=r.external_id,
            profile_url=r.profile_url,
            masked=r.masked,
            created_at=r.created_at,
            updated_at=r.updated_at,
            custom_fields=cast(JSON | None, r.custom_fields),
            ats_remote_id=r.ats_remote_id,
            remote_was_deleted=r.remote_was_deleted,
            found=found,
        )

    @strawberry.field(description="The provider's raw JSON for this candidate.")
    def remote_data(self) -> JSON | None:
        return cast(JSON | None, self.found.record.remote_data)

    @strawberry.field(
        description=(
            "Null (with an error naming the account) when the account failed to return them, "
            "so one failed lookup never empties the rest of the answer."
        )
    )
    def applications(self, info: Info) -> list[Application] | None:
        """A list when the applications are at hand (the page prefetched them), else an
        awaitable of it: a synchronous field costs a fraction of an awaited one, per candidate."""
        account = self.found.account
        loaders = info.context.loaders
        ready = loaders.applications_ready(account.id, self.found.record)
        if ready is None:
            return cast(list[Application], self._load_applications(loaders))
        return [Application.of(account, record) for record in ready]

    async def _load_applications(self, loaders: Loaders) -> list[Application]:
        account = self.found.account
        records = await loaders.applications_of(account.id, self.found.record)
        return [Application.of(account, record) for record in records]


def node_of(found: FoundCandidate | FoundApplication | None) -> Node | None:
    if isinstance(found, FoundCandidate):
        return Candidate.of(found)
    if isinstance(found, FoundApplication):
        return Application.of(found.account, found.record)
    return None


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class CandidateEdge:
    node: Candidate
    cursor: str = strawberry.field(description="Resume the listing right after this candidate.")


@strawberry.type(description="How one account fared in a listing.")
class SourceStatus:
    account: Account
    status: SourceState  # type: ignore[valid-type]
    error: GatewayError | None
    total_count: int | None
    latency_ms: float | None
    filtered_locally: bool = strawberry.field(
        description=(
            "True when the provider cannot filter this way and the gateway filtered a bounded "
            "scan of its rows instead."
        )
    )

    @classmethod
    def of(cls, source: SourceResult) -> SourceStatus:
        return cls(
            account=Account.of(source.account),
            status=source.state,
            error=GatewayError.of(source.error) if source.error else None,
            total_count=source.total,
            latency_ms=round(source.latency_ms, 2) if source.latency_ms is not None else None,
            filtered_locally=source.filtered_locally,
        )


def selects(info: Info, *path: str) -> bool:
    """Whether the current field's selection reaches `path` (field names, through fragments;
    a field under @skip or @include counts as selected: this only spares or batches work)."""
    level = [child for field in info.selected_fields for child in field.selections]
    for depth, name in enumerate(path):
        found: list[Selection] = []
        pending = list(level)
        while pending:
            selection = pending.pop()
            if not isinstance(selection, SelectedField):  # an inline or named fragment
                pending.extend(selection.selections)
            elif selection.name == name:
                if depth == len(path) - 1:
                    return True
                found.extend(selection.selections)
        level = found
    return False


@strawberry.type
class CandidateConnection:
    listing: strawberry.Private[CandidateList]

    @strawberry.field
    def edges(self, info: Info) -> list[CandidateEdge]:
        nodes = [Candidate.of(found) for found in self.listing.items]
        # Signing a cursor per edge is most of a large page's cost; skip it when none is read.
        if not selects(info, "cursor"):
            return [CandidateEdge(node=node, cursor="") for node in nodes]
        cursors = self.listing.edge_cursors()
        return [CandidateEdge(node=n, cursor=c) for n, c in zip(nodes, cursors, strict=True)]

    @strawberry.field
    def page_info(self) -> PageInfo:
        count = len(self.listing.page.items)
        return PageInfo(
            has_next_page=self.listing.page.has_next,
            has_previous_page=False,
            start_cursor=self.listing.cursor_after(1) if count else None,
            # Even an empty page moves on when upstream pages came back empty: keep the way out.
            end_cursor=(
                self.listing.cursor_after(count) if count or self.listing.page.has_next else None
            ),
        )

    @strawberry.field(description="The sum of the totals the accounts reported.")
    def total_count(self) -> int | None:
        return self.listing.page.total

    @strawberry.field(description="Per account: whether it answered, its total and latency.")
    def sources(self) -> list[SourceStatus]:
        return [SourceStatus.of(source) for source in self.listing.sources]
