"""GraphQL object types: how normalized records look to clients. No fan-out logic lives here."""

from __future__ import annotations

import enum
import weakref
from collections.abc import Mapping
from typing import Any, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from gateway.arguments import DEFAULT_FIRST, After, First, Search
from gateway.codes import USER_ERROR_CODES, WARNING_CODES, ErrorCode
from gateway.scalars import DateTime, parse_instant
from gateway.selection import selects
from providers.base import Capability as CapabilityValue
from providers.errors import FieldProblem, ProviderError
from providers.model import Address as AddressRecord
from providers.model import (
    ApplicationRecord,
    CandidateRecord,
    JobRecord,
    WriteWarning,
)
from providers.model import ApplicationStatus as ApplicationStatusValue
from providers.model import Compensation as CompensationRecord
from providers.model import EmailType as EmailTypeValue
from providers.model import JobStatus as JobStatusValue
from providers.model import PhoneType as PhoneTypeValue
from providers.model import RejectReason as RejectReasonRecord
from providers.model import UrlType as UrlTypeValue
from providers.registry import PROVIDERS
from resolvers import candidates as candidate_reads
from resolvers.accounts import ServedAccount
from resolvers.applications import ApplicationList
from resolvers.candidates import CandidateList, FoundApplication, FoundCandidate, JobsWanted
from resolvers.context import RequestContext
from resolvers.ids import encode_id
from resolvers.jobs import FoundJob, JobList
from resolvers.loaders import Loaders
from resolvers.pagination import Listing, SourceResult
from resolvers.pagination import SourceState as SourceStateValue

__all__ = [
    "Account",
    "Application",
    "ApplicationConnection",
    "ApplicationStatus",
    "Candidate",
    "CandidateConnection",
    "GatewayError",
    "Job",
    "JobConnection",
    "JobRef",
    "JobStatus",
    "Node",
    "UserError",
    "Warning",
    "camel_path",
    "jobs_wanted",
    "selects",
]

EnumClass = TypeVar("EnumClass", bound=type[enum.Enum])
Member = TypeVar("Member", bound=enum.Enum)


def described(cls: EnumClass, name: str, description: str, values: Mapping[str, str]) -> EnumClass:
    """`strawberry.enum` with a description per value, for enums defined below the GraphQL
    layer (`strawberry.enum_value` would have to be written in their class bodies, and
    providers/ and resolvers/ never import strawberry). A value missing here fails the schema
    documentation test; a name that is no value fails at import, so none goes stale."""
    strawberry.enum(cls, name=name, description=description)
    members = cls.__strawberry_definition__.values  # type: ignore[attr-defined]
    unknown = set(values) - {member.name for member in members}
    if unknown:
        raise ValueError(f"{name} has no values {sorted(unknown)}")
    for member in members:
        member.description = values.get(member.name, member.description)
    return cls


OTHER_TYPE = "Another type, or a label the gateway does not know: `rawType` has the provider's."

Capability = described(
    CapabilityValue,
    "Capability",
    "Something an account's provider (as the gateway reads it) can do.",
    {
        "LIST": "`candidates` can list this account's candidates.",
        "SEARCH": (
            "`candidates(search:)` can filter this account: the provider searches, or the "
            "gateway filters a bounded scan of its rows (`SourceStatus.filteredLocally`)."
        ),
        "FILTER_JOB": "`candidates(jobId:)` can filter this account by one of its jobs.",
        "GET_MANY": "`candidate`, `node` and `Application.candidate` can fetch candidates by id.",
        "CREATE": "`createCandidate` can create (or match) candidates in this account.",
        "UPDATE": "`updateCandidate` can change this account's candidates.",
        "APPLICATIONS": "`Candidate.applications` can be read from this account.",
        "JOBS": (
            "`jobs`, `job`, `node` and `Application.job.job` can list and fetch this "
            "account's jobs (and name the jobs its applications are for)."
        ),
        "FILTER_UPDATED": (
            "`updatedAfter` can filter this account's candidates and jobs: the provider "
            "filters, or the gateway filters a bounded scan (`SourceStatus.filteredLocally`)."
        ),
        "LIST_APPLICATIONS": "`applications` can list this account's applications.",
        "REJECT_REASONS": "`rejectReasons` can list the reasons this account offers.",
        "CREATE_APPLICATION": "`createApplication` can add a candidate to one of its jobs.",
        "MOVE_APPLICATION": "`moveApplication` can move its applications between stages.",
        "REJECT_APPLICATION": (
            "`rejectApplication` and `unrejectApplication` can reject applications and undo it."
        ),
        "ADD_NOTE": "`addNote` can add notes to this account's candidates.",
    },
)
ApplicationStatus = described(
    ApplicationStatusValue,
    "ApplicationStatus",
    "Where an application stands, in words every provider's own statuses map onto.",
    {
        "ACTIVE": "In the pipeline: neither rejected nor hired yet.",
        "REJECTED": "Rejected (or withdrawn, where the provider counts that as a rejection).",
        "HIRED": "Hired (Merge: the application has a signed or accepted offer).",
        "OTHER": "A status the gateway cannot place (e.g. Harvest `converted`); see `rawStatus`.",
    },
)
JobStatus = described(
    JobStatusValue,
    "JobStatus",
    "Whether a job takes applications, in words every provider's own states map onto.",
    {
        "OPEN": "Open: taking applications.",
        "CLOSED": "Closed: filled or no longer taking applications.",
        "DRAFT": "Not yet opened (Harvest `draft`, Merge `DRAFT`, Talynce `draft`).",
        "ARCHIVED": "Archived: kept for the record only.",
        "OTHER": "A state the gateway cannot place (e.g. Merge `PENDING`); see `rawStatus`.",
    },
)
EmailType = described(
    EmailTypeValue,
    "EmailType",
    "What an email address is for.",
    {"PERSONAL": "A private address.", "WORK": "A work address.", "OTHER": OTHER_TYPE},
)
PhoneType = described(
    PhoneTypeValue,
    "PhoneType",
    "What a phone number is for.",
    {
        "HOME": "A home number.",
        "WORK": "A work number.",
        "MOBILE": "A mobile number.",
        "SKYPE": "A Skype name or number.",
        "OTHER": OTHER_TYPE + " (Talynce's WhatsApp number reads OTHER, `rawType` `whatsapp`.)",
    },
)
UrlType = described(
    UrlTypeValue,
    "UrlType",
    "What a web address points at.",
    {
        "PERSONAL": "A personal site.",
        "COMPANY": "The person's company site.",
        "PORTFOLIO": "A portfolio.",
        "BLOG": "A blog.",
        "SOCIAL_MEDIA": "A social network profile.",
        "RESUME": "A résumé or CV.",
        "JOB_POSTING": "A job posting.",
        "OTHER": OTHER_TYPE,
    },
)
SourceState = described(
    SourceStateValue,
    "SourceState",
    "How one account fared in one page of a listing.",
    {
        "OK": "The account answered this page; its rows are among the edges.",
        "DONE": "The account had no more rows for this listing, so it was not asked again.",
        "ERROR": (
            "The account failed: `error` says why, and the same error is in the response's "
            "`errors`. Its rows are missing from this page; the other accounts still answered, "
            "and the next page asks it again."
        ),
        "UNSUPPORTED": (
            "The account's provider cannot serve this listing (e.g. the Greenhouse Partner API "
            "cannot list, or it cannot search this way); `error` has UNSUPPORTED_BY_PROVIDER."
        ),
    },
)
# One value per registered provider, so registering an adapter is all it takes to appear here.
ProviderValue = enum.Enum("ProviderValue", {name.upper(): name for name in PROVIDERS})  # type: ignore[misc]
Provider = described(
    ProviderValue,
    "Provider",
    "The applicant tracking system (or unified API) an account is at.",
    {
        "TALYNCE": "Talynce (API key).",
        "MERGE": "Merge's unified ATS API (one linked account per gateway account).",
        "GREENHOUSE": "Greenhouse: the Partner API or Harvest v3, as the account's config says.",
    },
)


class AddressTypeValue(enum.StrEnum):
    HOME = "HOME"
    WORK = "WORK"
    OTHER = "OTHER"


AddressType = described(
    AddressTypeValue,
    "AddressType",
    "What a postal address is.",
    {"HOME": "A home address.", "WORK": "A work address.", "OTHER": OTHER_TYPE},
)


class CompensationPeriodValue(enum.StrEnum):
    YEAR = "YEAR"
    MONTH = "MONTH"


CompensationPeriod = described(
    CompensationPeriodValue,
    "CompensationPeriod",
    "The time an amount of pay is for.",
    {"YEAR": "Per year (Talynce's CTC is always per year).", "MONTH": "Per month."},
)


def known(kind: type[Member], raw: str | None) -> Member | None:
    """A provider's label as one of our values (any case); None when there is none to read."""
    if raw is None:
        return None
    try:
        return kind(raw.strip().upper())
    except ValueError:
        return None


def instant(text: str | None) -> DateTime | None:
    """A record's timestamp for the `DateTime` scalar; text that is no timestamp reads null
    (the scalar cannot serialize it, and a provider's odd value must not fail the field)."""
    moment = parse_instant(text) if text else None
    return None if moment is None else DateTime(moment)


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
    code: ErrorCode = strawberry.field(description="Why it failed; stable, for programs to read.")
    message: str = strawberry.field(
        description="For people: the gateway's own words, never a provider's error text."
    )
    retry_after: float | None = strawberry.field(
        default=None,
        description=(
            "Seconds to wait before trying again (UPSTREAM_RATE_LIMITED); null when the "
            "provider did not say."
        ),
    )

    @classmethod
    def of(cls, error: ProviderError) -> GatewayError:
        return cls(code=_code(error.code), message=error.message, retry_after=error.retry_after)


def _code(code: str) -> ErrorCode:
    """An error class's code as the enum; tests/test_schema_docs.py checks every class's code
    is a value, so INTERNAL here only stands in for one added without documenting it."""
    try:
        return ErrorCode(code)
    except ValueError:
        return ErrorCode.INTERNAL


@strawberry.type(description="One field-level reason a mutation changed nothing.")
class UserError:
    field: list[str] | None = strawberry.field(
        description=(
            'Path of the input field concerned, e.g. `["input", "emails", "0", '
            '"value"]`; null when the problem is not about one field.'
        )
    )
    code: str = strawberry.field(
        description=(
            "Why, for programs to read. An open list (a provider's documented problem types "
            "pass through); today: " + ", ".join(USER_ERROR_CODES) + "."
        )
    )
    message: str = strawberry.field(
        description="For people: the gateway's own words, never a provider's error text."
    )

    @classmethod
    def of(cls, problem: FieldProblem, prefix: tuple[str, ...] = ("input",)) -> UserError:
        return cls(
            field=camel_path(problem.field, prefix), code=problem.code, message=problem.message
        )


@strawberry.type(description="Something the provider accepted with a caveat.")
class Warning:
    field: list[str] | None = strawberry.field(
        description="Path of the input field concerned; null when it is about the whole write."
    )
    code: str | None = strawberry.field(
        description=(
            "What happened, for programs to read; an open list. Today: "
            + ", ".join(WARNING_CODES)
            + ", and Merge's problem types (see `UserError.code`)."
        )
    )
    message: str = strawberry.field(
        description="For people: the gateway's own words, never a provider's text."
    )

    @classmethod
    def of(cls, warning: WriteWarning) -> Warning:
        return cls(
            field=camel_path(warning.field, ("input",)), code=warning.code, message=warning.message
        )


@strawberry.type(description="One set of credentials at one provider.")
class Account:
    id: strawberry.ID = strawberry.field(
        description="The account's id in the gateway's configuration (not a provider's id)."
    )
    name: str = strawberry.field(description="The account's display name from configuration.")
    provider: Provider = strawberry.field(  # type: ignore[valid-type]
        description="Which provider the account is at."
    )
    capabilities: list[Capability] = strawberry.field(  # type: ignore[valid-type]
        description="What this account can do; anything else reads UNSUPPORTED_BY_PROVIDER."
    )

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
    id: strawberry.ID = strawberry.field(
        description="A global ID: opaque, stable, and names the account it belongs to."
    )


@strawberry.type(description="An email address.")
class Email:
    value: str = strawberry.field(description="The address, as the provider has it.")
    type: EmailType | None = strawberry.field(  # type: ignore[valid-type]
        description="What it is for; null when the provider gives no type."
    )
    raw_type: str | None = strawberry.field(
        description="The provider's own label for the type, when it gave one."
    )


@strawberry.type(description="A phone number.")
class Phone:
    value: str = strawberry.field(
        description="The number, as the provider has it (not reformatted)."
    )
    type: PhoneType | None = strawberry.field(  # type: ignore[valid-type]
        description="What it is for; null when the provider gives no type."
    )
    raw_type: str | None = strawberry.field(
        description="The provider's own label for the type, when it gave one."
    )


@strawberry.type(description="A web address.")
class Url:
    value: str = strawberry.field(description="The address, as the provider has it.")
    type: UrlType | None = strawberry.field(  # type: ignore[valid-type]
        description="What it points at; null when the provider gives no type."
    )
    raw_type: str | None = strawberry.field(
        description="The provider's own label for the type, when it gave one."
    )


@strawberry.type(description="A postal address (Greenhouse Harvest fills these).")
class Address:
    value: str = strawberry.field(description="The address as one text, as the provider has it.")
    type: AddressType | None = strawberry.field(  # type: ignore[valid-type]
        description="What it is; null when the provider gives no type."
    )
    raw_type: str | None = strawberry.field(
        description="The provider's own label for the type, when it gave one."
    )

    @classmethod
    def of(cls, record: AddressRecord) -> Address:
        """A label we do not know reads OTHER (with `rawType`), as for emails and phones."""
        kind = known(AddressTypeValue, record.type)
        if kind is None and record.type:
            kind = AddressTypeValue.OTHER
        return cls(value=record.value, type=kind, raw_type=record.type)


@strawberry.type(description="Money in whole units, plus the provider's own figure and unit.")
class Compensation:
    amount: float = strawberry.field(
        description="The amount in whole units of `currency` (e.g. 1800000.0 for 18 LPA)."
    )
    currency: str | None = strawberry.field(
        description="ISO 4217 code (Talynce: always INR); null when the provider does not say."
    )
    period: CompensationPeriod | None = strawberry.field(  # type: ignore[valid-type]
        description="The time the amount is for; null when the provider does not say."
    )
    raw_value: float | None = strawberry.field(
        description="The provider's own figure (Talynce: lakh per annum), when it differs."
    )
    raw_unit: str | None = strawberry.field(
        description="The unit of `rawValue` (Talynce: `LPA`); null when there is none."
    )

    @classmethod
    def of(cls, record: CompensationRecord | None) -> Compensation | None:
        """Remembered per record: a page's pay figures are a few, two per candidate."""
        if record is None:
            return None
        found = _PAY.get(record)
        if found is None:
            if len(_PAY) >= 4096:
                _PAY.clear()
            found = _PAY[record] = cls(
                amount=record.amount,
                currency=record.currency,
                period=known(CompensationPeriodValue, record.period),
                raw_value=record.raw_value,
                raw_unit=record.raw_unit,
            )
        return found


_PAY: dict[CompensationRecord, Compensation] = {}


@strawberry.type(description="The job an application is for, as far as the provider names it.")
class JobRef:
    id: strawberry.ID | None = strawberry.field(
        description="Global ID to pass as `jobId`; null when the provider names the job only."
    )
    remote_id: str | None = strawberry.field(
        description="The job's id at the provider; null when it gives only a name (Partner API)."
    )
    account_id: strawberry.Private[str]
    known_name: strawberry.Private[str | None]

    @strawberry.field(
        description=(
            "The job's title: as the application names it, or else looked up (one batched "
            "jobs call per account per request); null only when neither gives one."
        )
    )
    def name(self, info: Info) -> str | None:
        """The application's own name when it has one, else an awaitable of the looked-up
        one: a synchronous field costs a fraction of an awaited one, per application."""
        if self.known_name is not None or self.remote_id is None:
            return self.known_name
        return cast("str | None", self._looked_up_name(info.context))

    async def _looked_up_name(self, context: RequestContext) -> str | None:
        assert self.remote_id is not None
        record = await context.loaders.job(self.account_id, self.remote_id)
        return record.name if record is not None else None

    @strawberry.field(
        description=(
            "The whole job; null when the provider cannot fetch jobs (Greenhouse Partner), "
            "names no job id, or no longer has the job."
        )
    )
    async def job(self, info: Info) -> Job | None:
        context = info.context
        account = context.accounts.get(self.account_id)
        if self.remote_id is None or account is None:
            return None
        record = await context.loaders.job(self.account_id, self.remote_id)
        return Job.of(FoundJob(account, record)) if record is not None else None


@strawberry.type(description="One step of a job's interview pipeline.")
class JobStage:
    id: strawberry.ID = strawberry.field(
        description=(
            "Global ID of this stage of this job: the `stageId` `moveApplication` and "
            "`createApplication` take, and `Application.stage.id`. It names its job and account, "
            "so a stage of another job or account is refused before anything is sent."
        )
    )
    remote_id: str = strawberry.field(
        description=(
            "The stage's id at the provider. Talynce: the pipeline status name, the same for "
            "every job of the account."
        )
    )
    name: str | None = strawberry.field(
        description="The stage's name; null when the provider does not send it."
    )
    order: int | None = strawberry.field(
        description="The stage's position in the pipeline as the provider gives it; null if none."
    )


@strawberry.type(description="A job (requisition) in one account of one ATS.")
class Job(Node):
    id: strawberry.ID = strawberry.field(
        description="Global ID; `job(id:)` and `node(id:)` fetch it again, `candidates(jobId:)` "
        "filters by it."
    )
    account: Account = strawberry.field(description="The account this job is in.")
    remote_id: str = strawberry.field(description="The job's id at the provider.")
    name: str | None = strawberry.field(
        description="The job's title (Talynce: `title`); null when the provider has none."
    )
    status: JobStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether it takes applications, normalized."
    )
    raw_status: str | None = strawberry.field(
        description="The provider's own status word; null when it sends none."
    )
    departments: list[str] = strawberry.field(
        description="Names of the departments it belongs to (Harvest: resolved from ids)."
    )
    offices: list[str] = strawberry.field(
        description="Names of the offices it belongs to (Harvest: resolved from ids)."
    )
    created_at: DateTime | None = strawberry.field(
        description="When the provider created it; null when not reported or no timestamp."
    )
    updated_at: DateTime | None = strawberry.field(
        description="When it last changed at the provider; null when not reported."
    )
    opened_at: DateTime | None = strawberry.field(
        description="When it was opened; null when not reported or never opened."
    )
    closed_at: DateTime | None = strawberry.field(
        description="When it was closed; null when not reported or still open."
    )
    stages: list[JobStage] | None = strawberry.field(
        description=(
            "Its interview stages in pipeline order; null where the provider has no stages "
            "for jobs, empty when this job has none."
        )
    )
    found: strawberry.Private[FoundJob]

    @classmethod
    def of(cls, found: FoundJob) -> Job:
        r: JobRecord = found.record
        account = found.account
        return cls(
            id=strawberry.ID(encode_id("Job", account.id, r.remote_id)),
            account=Account.of(account),
            remote_id=r.remote_id,
            name=r.name,
            status=r.status,
            raw_status=r.raw_status,
            departments=list(r.departments),
            offices=list(r.offices),
            created_at=instant(r.created_at),
            updated_at=instant(r.updated_at),
            opened_at=instant(r.opened_at),
            closed_at=instant(r.closed_at),
            stages=None
            if r.stages is None
            else [
                JobStage(
                    id=strawberry.ID(encode_id("JobStage", account.id, s.remote_id, r.remote_id)),
                    remote_id=s.remote_id,
                    name=s.name,
                    order=s.order,
                )
                for s in r.stages
            ],
            found=found,
        )

    @strawberry.field(description="The provider's raw JSON for this job.")
    def remote_data(self) -> JSON | None:
        return cast("JSON | None", self.found.record.remote_data)

    @strawberry.field(
        description=(
            "Candidates who applied to this job: `candidates(jobId:)` with this job's id, "
            "asked of this job's account only."
        )
    )
    async def candidates(
        self, info: Info, search: Search = None, first: First = DEFAULT_FIRST, after: After = None
    ) -> CandidateConnection:
        listing = await candidate_reads.list_candidates(
            info.context,
            search=search,
            job_id=self.id,
            account_ids=None,
            first=DEFAULT_FIRST if first is None else first,
            after=after,
            with_applications=selects(info, "edges", "node", "applications"),
            with_jobs=jobs_wanted(info),
            path=info.path.as_list(),
        )
        return CandidateConnection(listing=listing)


def _stage(account: ServedAccount, record: ApplicationRecord) -> ApplicationStage | None:
    if record.stage is None and record.stage_id is None:
        return None
    job = record.job.remote_id if record.job else None
    stage_id = (
        None
        if record.stage_id is None or job is None
        else strawberry.ID(encode_id("JobStage", account.id, record.stage_id, job))
    )
    return ApplicationStage(id=stage_id, name=record.stage)


@strawberry.type(description="A pipeline stage an application is in.")
class ApplicationStage:
    id: strawberry.ID | None = strawberry.field(
        description=(
            "The `JobStage.id` to pass to `moveApplication`; null when the provider names the "
            "stage only (Greenhouse Partner) or the application names no job."
        )
    )
    name: str | None = strawberry.field(
        description="The stage's name; null when the provider gives only an id."
    )


@strawberry.type(description="Why an application was rejected, as the account lists reasons.")
class RejectReason:
    id: strawberry.ID = strawberry.field(
        description="Global ID to pass as `rejectApplication(input: {reasonId})`."
    )
    remote_id: str = strawberry.field(description="The reason's id at the provider.")
    name: str | None = strawberry.field(description="The reason as recruiters read it.")

    @classmethod
    def of(cls, account: ServedAccount, record: RejectReasonRecord) -> RejectReason:
        return cls(
            id=strawberry.ID(encode_id("RejectReason", account.id, record.remote_id)),
            remote_id=record.remote_id,
            name=record.name,
        )


@strawberry.type(description="A candidate's application to one job, in the candidate's account.")
class Application(Node):
    id: strawberry.ID = strawberry.field(description="Global ID; `node(id:)` fetches it again.")
    remote_id: str = strawberry.field(description="The application's id at the provider.")
    job: JobRef | None = strawberry.field(
        description="The job applied to; null for a prospect or when the provider does not say."
    )
    status: ApplicationStatus = strawberry.field(  # type: ignore[valid-type]
        description="Where it stands, normalized (Merge: derived from rejection and offers)."
    )
    raw_status: str | None = strawberry.field(
        description="The provider's own status word; null when it has none (Merge)."
    )
    stage: ApplicationStage | None = strawberry.field(
        description="The pipeline stage it is in; null when the provider does not report one."
    )
    applied_at: DateTime | None = strawberry.field(
        description=(
            "When the application was made; null when the provider does not report it "
            "(Greenhouse Partner) or sends something that is no timestamp."
        )
    )
    profile_url: str | None = strawberry.field(
        description="A link to the application in the provider's app (Greenhouse Partner only)."
    )
    notes: str | None = strawberry.field(
        description="Free-text notes on the application (Talynce only); null otherwise."
    )
    account: Account = strawberry.field(description="The account the application is in.")
    created_at: DateTime | None = strawberry.field(
        description="When the provider recorded it; null when it does not say."
    )
    updated_at: DateTime | None = strawberry.field(
        description="When it last changed at the provider; null when it does not say."
    )
    rejected_at: DateTime | None = strawberry.field(
        description="When it was rejected; null when it is not, or the provider does not say."
    )
    reject_reason: RejectReason | None = strawberry.field(
        description="Why it was rejected, where the provider keeps a reason."
    )
    source: str | None = strawberry.field(
        description="Where the application came from (a job board, a referral), as the provider "
        "names it; null when it does not say."
    )
    account_id: strawberry.Private[str]
    raw: strawberry.Private[object]
    candidate_remote_id: strawberry.Private[str]

    @classmethod
    def of(cls, account: ServedAccount, record: ApplicationRecord) -> Application:
        job = record.job
        return cls(
            id=strawberry.ID(
                encode_id("Application", account.id, record.remote_id, record.candidate_remote_id)
            ),
            remote_id=record.remote_id,
            job=JobRef(
                id=strawberry.ID(encode_id("Job", account.id, job.remote_id))
                if job.remote_id
                else None,
                remote_id=job.remote_id,
                account_id=account.id,
                known_name=job.name,
            )
            if job
            else None,
            status=record.status,
            raw_status=record.raw_status,
            stage=_stage(account, record),
            applied_at=instant(record.applied_at),
            profile_url=record.profile_url,
            notes=record.notes,
            account=Account.of(account),
            created_at=instant(record.created_at),
            updated_at=instant(record.updated_at),
            rejected_at=instant(record.rejected_at),
            reject_reason=None
            if record.reject_reason is None
            else RejectReason.of(account, record.reject_reason),
            source=record.source,
            raw=record.remote_data,
            account_id=account.id,
            candidate_remote_id=record.candidate_remote_id,
        )

    @strawberry.field(
        description="The provider's own JSON for the application, where it sends one."
    )
    def remote_data(self) -> JSON | None:
        return cast("JSON | None", self.raw)

    @strawberry.field(
        description="The candidate who applied; null when the account no longer returns them."
    )
    async def candidate(self, info: Info) -> Candidate | None:
        context = info.context
        record = await context.loaders.candidate(self.account_id, self.candidate_remote_id)
        account = context.accounts.get(self.account_id)
        if record is None or account is None:
            return None
        return Candidate.of(FoundCandidate(account, record))


@strawberry.type(description="A person in one account of one ATS, in the gateway's one shape.")
class Candidate(Node):
    id: strawberry.ID = strawberry.field(
        description="Global ID; `candidate(id:)` and `node(id:)` fetch it again."
    )
    account: Account = strawberry.field(description="The account this person is in.")
    remote_id: str = strawberry.field(description="The candidate's id at the provider.")
    first_name: str | None = strawberry.field(
        description="Given name (Talynce, Partner API: the first word of the full name)."
    )
    last_name: str | None = strawberry.field(
        description="Family name (Talynce, Partner API: the rest of the full name)."
    )
    full_name: str | None = strawberry.field(
        description="The whole name: the provider's own, or first and last name joined."
    )
    company: str | None = strawberry.field(
        description="Current employer; null when the provider does not report it."
    )
    title: str | None = strawberry.field(
        description="Current job title; null when the provider does not report it."
    )
    emails: list[Email] = strawberry.field(
        description="Email addresses, in the provider's order (Talynce: one); empty when masked."
    )
    phones: list[Phone] = strawberry.field(
        description="Phone numbers, in the provider's order; empty when masked."
    )
    addresses: list[Address] = strawberry.field(
        description="Postal addresses (Greenhouse Harvest); empty elsewhere."
    )
    urls: list[Url] = strawberry.field(description="Web addresses (Merge, Greenhouse Harvest).")
    locations: list[str] = strawberry.field(
        description="Where the person is, as free text (Harvest: the addresses' text)."
    )
    tags: list[str] = strawberry.field(description="Tag names (Merge, Greenhouse Harvest).")
    skills: list[str] = strawberry.field(description="Skill names (Talynce only).")
    experience_years: float | None = strawberry.field(
        description="Total years of experience (Talynce only); null when not reported."
    )
    current_compensation: Compensation | None = strawberry.field(
        description="Current pay (Talynce's current CTC); null when not reported or masked."
    )
    expected_compensation: Compensation | None = strawberry.field(
        description="Expected pay (Talynce's expected CTC); null when not reported or masked."
    )
    notice_period_days: int | None = strawberry.field(
        description="Notice period in days (Talynce only); null when not reported."
    )
    resume_url: str | None = strawberry.field(
        description="A link to the résumé (Talynce only); null when there is none."
    )
    source: str | None = strawberry.field(
        description="Where the candidate came from, in the provider's words (Talynce only)."
    )
    external_id: str | None = strawberry.field(
        description="Your system's id for this person, as given on create (Talynce, Partner API)."
    )
    profile_url: str | None = strawberry.field(
        description="A link to the person in the provider's app (Greenhouse Partner only)."
    )
    masked: bool = strawberry.field(
        description="True when the account's talent pool hides this person's contact details."
    )
    created_at: DateTime | None = strawberry.field(
        description=(
            "When the provider created the record (Merge: in the underlying ATS when known); "
            "null when it does not report it or sends something that is no timestamp."
        )
    )
    updated_at: DateTime | None = strawberry.field(
        description=(
            "When the record last changed at the provider; null when it does not report it "
            "or sends something that is no timestamp."
        )
    )
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
        have the fields' names, so copying them into twin objects would only cost time. Only
        addresses and pay are copied, to read their labels as enums (both are rare or small)."""
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
            emails=cast("list[Email]", r.emails),
            phones=cast("list[Phone]", r.phones),
            addresses=[Address.of(address) for address in r.addresses],
            urls=cast("list[Url]", r.urls),
            locations=cast("list[str]", r.locations),
            tags=cast("list[str]", r.tags),
            skills=cast("list[str]", r.skills),
            experience_years=r.experience_years,
            current_compensation=Compensation.of(r.current_compensation),
            expected_compensation=Compensation.of(r.expected_compensation),
            notice_period_days=r.notice_period_days,
            resume_url=r.resume_url,
            source=r.source,
            external_id=r.external_id,
            profile_url=r.profile_url,
            masked=r.masked,
            created_at=instant(r.created_at),
            updated_at=instant(r.updated_at),
            custom_fields=cast("JSON | None", r.custom_fields),
            ats_remote_id=r.ats_remote_id,
            remote_was_deleted=r.remote_was_deleted,
            found=found,
        )

    @strawberry.field(description="The provider's raw JSON for this candidate.")
    def remote_data(self) -> JSON | None:
        return cast("JSON | None", self.found.record.remote_data)

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
            return cast("list[Application]", self._load_applications(loaders))
        return [Application.of(account, record) for record in ready]

    async def _load_applications(self, loaders: Loaders) -> list[Application]:
        account = self.found.account
        records = await loaders.applications_of(account.id, self.found.record)
        return [Application.of(account, record) for record in records]


def node_of(found: FoundCandidate | FoundApplication | FoundJob | None) -> Node | None:
    if isinstance(found, FoundCandidate):
        return Candidate.of(found)
    if isinstance(found, FoundJob):
        return Job.of(found)
    if isinstance(found, FoundApplication):
        return Application.of(found.account, found.record)
    return None


@strawberry.type(description="Where a page of a listing ends, and whether more follow.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="True while any account may have more rows: pass `endCursor` as `after`."
    )
    has_previous_page: bool = strawberry.field(
        description="Always false: listings only page forwards."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor after the first edge; null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description=(
            "Pass as `after` for the next page; null when the page is empty and nothing follows. "
            "Valid only with the same filters."
        )
    )


@strawberry.type(description="One candidate of a listing and where it is in it.")
class CandidateEdge:
    node: Candidate = strawberry.field(description="The candidate.")
    cursor: str = strawberry.field(description="Resume the listing right after this candidate.")


@strawberry.type(description="How one account fared in a listing.")
class SourceStatus:
    account: Account = strawberry.field(description="The account.")
    status: SourceState = strawberry.field(  # type: ignore[valid-type]
        description="Whether it answered this page."
    )
    error: GatewayError | None = strawberry.field(
        description="Why it did not, for ERROR and UNSUPPORTED; null otherwise."
    )
    total_count: int | None = strawberry.field(
        description="How many rows it has for these filters; null when it does not say."
    )
    latency_ms: float | None = strawberry.field(
        description="Milliseconds its calls for this page took; null when it was not called."
    )
    filtered_locally: bool = strawberry.field(
        description=(
            "True when the provider cannot filter this way and the gateway filtered a bounded "
            "scan of its rows instead."
        )
    )
    skipped_records: int = strawberry.field(
        description=(
            "How many of its rows on this page could not be read (no id, or not a record) and "
            "were left out; the answer's errors say so too. 0 when none."
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
            skipped_records=source.skipped,
        )


def _page_info(listing: Listing[Any]) -> PageInfo:
    count = len(listing.page.items)
    return PageInfo(
        has_next_page=listing.page.has_next,
        has_previous_page=False,
        start_cursor=listing.cursor_after(1) if count else None,
        # Even an empty page moves on when upstream pages came back empty: keep the way out.
        end_cursor=listing.cursor_after(count) if count or listing.page.has_next else None,
    )


def _cursors(info: Info, listing: Listing[Any]) -> list[str]:
    """Each edge's cursor; blanks when none is read, as signing one per edge is most of a
    large page's cost."""
    if not selects(info, "cursor"):
        return [""] * len(listing.page.items)
    return listing.edge_cursors()


TOTAL_COUNT = (
    "How many {rows} paging this listing to its end yields, exact; null when any account "
    "that serves it reports no total (Merge and Harvest never do: each account's own total, "
    "where it has one, is in `sources`). UNSUPPORTED accounts serve no rows and count for none."
)
SOURCES = "Per account: whether it answered, its total and latency."


def jobs_wanted(info: Info) -> JobsWanted:
    """Which of its applications' jobs a candidates listing's selection reads beyond their
    ids: the listing fetches those up front, in one batch per account."""
    path = ("edges", "node", "applications", "job")
    if selects(info, *path, "job"):
        return JobsWanted.EVERY
    return JobsWanted.UNNAMED if selects(info, *path, "name") else JobsWanted.NONE


@strawberry.type(description="One page of candidates merged from several accounts.")
class CandidateConnection:
    listing: strawberry.Private[CandidateList]

    @strawberry.field(description="The page's candidates, taken from each account in turn.")
    def edges(self, info: Info) -> list[CandidateEdge]:
        nodes = [Candidate.of(FoundCandidate(a, r)) for a, r in self.listing.rows]
        cursors = _cursors(info, self.listing)
        return [CandidateEdge(node=n, cursor=c) for n, c in zip(nodes, cursors, strict=True)]

    @strawberry.field(description="How to get the next page.")
    def page_info(self) -> PageInfo:
        return _page_info(self.listing)

    @strawberry.field(description=TOTAL_COUNT.format(rows="candidates"))
    def total_count(self) -> int | None:
        return self.listing.page.total

    @strawberry.field(description=SOURCES)
    def sources(self) -> list[SourceStatus]:
        return [SourceStatus.of(source) for source in self.listing.sources]


@strawberry.type(description="One job of a listing and where it is in it.")
class JobEdge:
    node: Job = strawberry.field(description="The job.")
    cursor: str = strawberry.field(description="Resume the listing right after this job.")


@strawberry.type(description="One page of jobs merged from several accounts.")
class JobConnection:
    listing: strawberry.Private[JobList]

    @strawberry.field(description="The page's jobs, taken from each account in turn.")
    def edges(self, info: Info) -> list[JobEdge]:
        nodes = [Job.of(FoundJob(a, r)) for a, r in self.listing.rows]
        cursors = _cursors(info, self.listing)
        return [JobEdge(node=n, cursor=c) for n, c in zip(nodes, cursors, strict=True)]

    @strawberry.field(description="How to get the next page.")
    def page_info(self) -> PageInfo:
        return _page_info(self.listing)

    @strawberry.field(description=TOTAL_COUNT.format(rows="jobs"))
    def total_count(self) -> int | None:
        return self.listing.page.total

    @strawberry.field(description=SOURCES)
    def sources(self) -> list[SourceStatus]:
        return [SourceStatus.of(source) for source in self.listing.sources]


@strawberry.type(description="One application of a listing and where it is in it.")
class ApplicationEdge:
    node: Application = strawberry.field(description="The application.")
    cursor: str = strawberry.field(description="Resume the listing right after this application.")


@strawberry.type(description="One page of applications merged from several accounts.")
class ApplicationConnection:
    listing: strawberry.Private[ApplicationList]

    @strawberry.field(description="The page's applications, taken from each account in turn.")
    def edges(self, info: Info) -> list[ApplicationEdge]:
        nodes = [Application.of(a, r) for a, r in self.listing.rows]
        cursors = _cursors(info, self.listing)
        return [ApplicationEdge(node=n, cursor=c) for n, c in zip(nodes, cursors, strict=True)]

    @strawberry.field(description="How to get the next page.")
    def page_info(self) -> PageInfo:
        return _page_info(self.listing)

    @strawberry.field(description=TOTAL_COUNT.format(rows="applications"))
    def total_count(self) -> int | None:
        return self.listing.page.total

    @strawberry.field(description=SOURCES)
    def sources(self) -> list[SourceStatus]:
        return [SourceStatus.of(source) for source in self.listing.sources]
