"""Normalized records: the one shape every adapter maps its provider's wire JSON into.

Resolvers and the GraphQL layer see only these; no provider's field names travel past an adapter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

__all__ = [
    "UNSET",
    "Address",
    "ApplicationDraft",
    "ApplicationRecord",
    "ApplicationStatus",
    "ApplicationWriteResult",
    "CandidateDraft",
    "CandidatePatch",
    "CandidateRecord",
    "Compensation",
    "Contact",
    "Email",
    "EmailType",
    "JobRecord",
    "JobRef",
    "JobStage",
    "JobStatus",
    "NewApplication",
    "NoteRecord",
    "NoteVisibility",
    "NoteWriteResult",
    "Phone",
    "PhoneType",
    "RejectReason",
    "Unset",
    "Url",
    "UrlType",
    "WriteResult",
    "WriteWarning",
    "Written",
]


class Unset(enum.Enum):
    """Marks a patch field the client did not send, as distinct from an explicit null."""

    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset.UNSET

T = TypeVar("T")


class ApplicationStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    REJECTED = "REJECTED"
    HIRED = "HIRED"
    OTHER = "OTHER"


class EmailType(enum.StrEnum):
    PERSONAL = "PERSONAL"
    WORK = "WORK"
    OTHER = "OTHER"


class PhoneType(enum.StrEnum):
    HOME = "HOME"
    WORK = "WORK"
    MOBILE = "MOBILE"
    SKYPE = "SKYPE"
    OTHER = "OTHER"


class UrlType(enum.StrEnum):
    PERSONAL = "PERSONAL"
    COMPANY = "COMPANY"
    PORTFOLIO = "PORTFOLIO"
    BLOG = "BLOG"
    SOCIAL_MEDIA = "SOCIAL_MEDIA"
    RESUME = "RESUME"
    JOB_POSTING = "JOB_POSTING"
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class Contact(Generic[T]):
    """A typed contact value; `raw_type` keeps the provider's own label when it had one."""

    value: str
    type: T | None = None
    raw_type: str | None = None


@dataclass(frozen=True, slots=True)
class Email(Contact[EmailType]):
    pass


@dataclass(frozen=True, slots=True)
class Phone(Contact[PhoneType]):
    pass


@dataclass(frozen=True, slots=True)
class Url(Contact[UrlType]):
    pass


@dataclass(frozen=True, slots=True)
class Address:
    value: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Compensation:
    """Money in whole units (`amount`), plus the provider's own figure and unit (e.g. 18 LPA)."""

    amount: float
    currency: str | None
    period: str | None
    raw_value: float | None = None
    raw_unit: str | None = None


class JobStatus(enum.StrEnum):
    """A job's state, in the words every provider's own states map onto (the raw one is kept)."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"
    OTHER = "OTHER"


@dataclass(frozen=True, slots=True)
class JobStage:
    """One step of a job's interview pipeline; `order` is the provider's own position, if any."""

    remote_id: str
    name: str | None = None
    order: int | None = None


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job (requisition) as one account holds it.

    Timestamps are ISO 8601 strings as the provider sent them. `stages` is None when the
    provider has no stages for jobs or they were not fetched, and () when it has none for this one.
    """

    remote_id: str
    name: str | None = None
    status: JobStatus = JobStatus.OTHER
    raw_status: str | None = None
    departments: tuple[str, ...] = ()
    offices: tuple[str, ...] = ()
    created_at: str | None = None
    updated_at: str | None = None
    opened_at: str | None = None
    closed_at: str | None = None
    stages: tuple[JobStage, ...] | None = None
    remote_data: Any = None


@dataclass(frozen=True, slots=True)
class JobRef:
    remote_id: str | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RejectReason:
    """A reason an account offers for rejecting an application (Merge reject reasons, Harvest
    rejection reasons)."""

    remote_id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    """One candidate's application to one job, as one account holds it.

    `stage` is the current stage's name and `stage_id` its id at the provider: the value a move
    takes, and one of the job's `JobStage.remote_id`s where the provider lists stages (Talynce's
    stages are its pipeline statuses, so there the id is the name). Timestamps are ISO 8601
    strings as the provider sent them.
    """

    remote_id: str
    candidate_remote_id: str
    job: JobRef | None
    status: ApplicationStatus
    raw_status: str | None = None
    stage: str | None = None
    applied_at: str | None = None
    profile_url: str | None = None
    notes: str | None = None
    stage_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    rejected_at: str | None = None
    reject_reason: RejectReason | None = None
    source: str | None = None
    remote_data: Any = None


class NoteVisibility(enum.StrEnum):
    """Who may read a note, in the words Merge's and Harvest's own settings map onto."""

    ADMIN_ONLY = "ADMIN_ONLY"
    PRIVATE = "PRIVATE"
    PUBLIC = "PUBLIC"


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """A note on a candidate, as the provider stored it."""

    remote_id: str
    candidate_remote_id: str
    body: str
    visibility: NoteVisibility | None = None
    created_at: str | None = None


@dataclass(frozen=True, slots=True)
class NewApplication:
    """An application to create: `stage_remote_id` None means the job's first stage."""

    candidate_remote_id: str
    job_remote_id: str
    stage_remote_id: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class CandidateRecord:
    """One candidate as one account holds it.

    `applications` is None when the provider's answer did not include them (a list page, say),
    so the gateway knows to load them and never mistakes "not fetched" for "has none".
    """

    remote_id: str
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    company: str | None = None
    title: str | None = None
    emails: tuple[Email, ...] = ()
    phones: tuple[Phone, ...] = ()
    addresses: tuple[Address, ...] = ()
    urls: tuple[Url, ...] = ()
    locations: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    experience_years: float | None = None
    current_compensation: Compensation | None = None
    expected_compensation: Compensation | None = None
    notice_period_days: int | None = None
    resume_url: str | None = None
    source: str | None = None
    external_id: str | None = None
    profile_url: str | None = None
    masked: bool = False
    created_at: str | None = None
    updated_at: str | None = None
    custom_fields: dict[str, Any] | None = None
    remote_data: Any = None
    applications: tuple[ApplicationRecord, ...] | None = None
    # An aggregator's (Merge's) record stands for one in the ATS behind it: that system's own id,
    # and whether it reports the record deleted there.
    ats_remote_id: str | None = None
    remote_was_deleted: bool = False


@dataclass(frozen=True, slots=True)
class ApplicationDraft:
    job_remote_id: str
    status: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class CandidateDraft:
    """What a client asked to create; adapters send what their provider can hold."""

    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    company: str | None = None
    title: str | None = None
    emails: tuple[Email, ...] = ()
    phones: tuple[Phone, ...] = ()
    urls: tuple[Url, ...] = ()
    locations: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    experience_years: float | None = None
    current_compensation: Compensation | None = None
    expected_compensation: Compensation | None = None
    notice_period_days: int | None = None
    resume_url: str | None = None
    source: str | None = None
    external_id: str | None = None
    notes: str | None = None
    application: ApplicationDraft | None = None


@dataclass(frozen=True, slots=True)
class CandidatePatch:
    """A partial update: UNSET fields are left alone, None clears, anything else replaces."""

    first_name: str | Unset | None = UNSET
    last_name: str | Unset | None = UNSET
    full_name: str | Unset | None = UNSET
    company: str | Unset | None = UNSET
    title: str | Unset | None = UNSET
    emails: tuple[Email, ...] | Unset | None = UNSET
    phones: tuple[Phone, ...] | Unset | None = UNSET
    urls: tuple[Url, ...] | Unset | None = UNSET
    locations: tuple[str, ...] | Unset | None = UNSET
    tags: tuple[str, ...] | Unset | None = UNSET
    skills: tuple[str, ...] | Unset | None = UNSET
    experience_years: float | Unset | None = UNSET
    current_compensation: Compensation | Unset | None = UNSET
    expected_compensation: Compensation | Unset | None = UNSET
    notice_period_days: int | Unset | None = UNSET
    resume_url: str | Unset | None = UNSET
    source: str | Unset | None = UNSET
    external_id: str | Unset | None = UNSET
    application: ApplicationDraft | Unset | None = UNSET

    def given(self) -> dict[str, Any]:
        """The fields the client sent, by name (None where it asked to clear)."""
        return {
            name: value
            for name in self.__dataclass_fields__
            if (value := getattr(self, name)) is not UNSET
        }


@dataclass(frozen=True, slots=True)
class WriteWarning:
    message: str
    code: str | None = None
    field: tuple[str, ...] | None = None


W = TypeVar("W", "CandidateRecord", ApplicationRecord, NoteRecord)


@dataclass(frozen=True, slots=True)
class Written(Generic[W]):
    """What a write left at the provider: the record as it now stands, whether the write
    created it (None: the provider does not say, e.g. a match on email), and what it could not
    keep as asked."""

    record: W
    created: bool | None = None
    warnings: tuple[WriteWarning, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class WriteResult(Written[CandidateRecord]):
    """A candidate write."""


@dataclass(frozen=True, slots=True)
class ApplicationWriteResult(Written[ApplicationRecord]):
    """An application write: create, move, reject or unreject."""


@dataclass(frozen=True, slots=True)
class NoteWriteResult(Written[NoteRecord]):
    """A note added to a candidate."""
