"""The provider contract: what every adapter offers the gateway, and the records of a list call."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    ApplicationWriteResult,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    JobRecord,
    JobStatus,
    NewApplication,
    NoteVisibility,
    NoteWriteResult,
    RejectReason,
    WriteResult,
)
from providers.upstream.transport import DEFAULT_MAX_RESPONSE_BYTES, Sender

if TYPE_CHECKING:  # sharing.py reads AccountConfig from here
    from providers.upstream.sharing import Sharing

__all__ = [
    "ALL_CAPABILITIES",
    "AccountConfig",
    "ApplicationPage",
    "ApplicationQuery",
    "CandidatePage",
    "CandidateQuery",
    "Capability",
    "JobPage",
    "JobQuery",
    "Page",
    "Position",
    "Provider",
    "ProviderSpec",
]


class Capability(enum.StrEnum):
    LIST = "LIST"
    SEARCH = "SEARCH"
    FILTER_JOB = "FILTER_JOB"
    GET_MANY = "GET_MANY"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    APPLICATIONS = "APPLICATIONS"
    JOBS = "JOBS"  # list_jobs and get_jobs
    FILTER_UPDATED = "FILTER_UPDATED"  # updated_after on candidates and jobs (pushed or scanned)
    LIST_APPLICATIONS = "LIST_APPLICATIONS"  # list_applications
    REJECT_REASONS = "REJECT_REASONS"  # list_reject_reasons
    CREATE_APPLICATION = "CREATE_APPLICATION"
    MOVE_APPLICATION = "MOVE_APPLICATION"
    REJECT_APPLICATION = "REJECT_APPLICATION"  # reject_application and unreject_application
    ADD_NOTE = "ADD_NOTE"


ALL_CAPABILITIES = frozenset(Capability)


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One set of credentials at one provider, as the gateway's config names it."""

    id: str
    name: str
    provider: str
    base_url: str
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    options: Mapping[str, object] = field(default_factory=dict)
    timeout: float = 10.0
    max_concurrency: int = 8
    retries: int = 6
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    rate_limit: tuple[int, float] | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES  # an answer's size, sent and decoded


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """Filters of a list call. `search` means what `providers.search.matches_search` says;
    `updated_after` keeps records updated strictly after that instant (timezone-aware)."""

    search: str | None = None
    job_remote_id: str | None = None
    updated_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobQuery:
    """Filters of a jobs list call. `search` is a case-insensitive match on the job's name."""

    search: str | None = None
    status: JobStatus | None = None
    updated_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApplicationQuery:
    """Filters of an applications list call; every one given must hold for each row returned.

    An adapter that can apply a filter neither upstream nor over a bounded scan of its own rows
    raises `UnsupportedByProvider`: it never returns rows the filter would have dropped.
    """

    job_remote_id: str | None = None
    candidate_remote_id: str | None = None
    status: ApplicationStatus | None = None
    stage_remote_id: str | None = None
    updated_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where an account's listing resumes: the provider's own page token plus rows used from it.

    Keeping `skip` lets cursor-paged providers resume mid-page without refetching the rows a
    client already saw; offset-paged providers simply add it to their offset.
    """

    token: str | None = None
    skip: int = 0


R = TypeVar("R", CandidateRecord, JobRecord, ApplicationRecord)


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of an account's listing.

    `filtered_locally` says the adapter filtered rows itself because the provider cannot
    (a name search over a bounded scan); the gateway reports it, since such a listing may stop
    before the provider's last row. `rest_at` is where the rows after `records` begin when they
    are still in the same upstream page (a slice of a page read ahead); None: at `next_token`.

    `gaps` are the provider's rows this page read and left out as unreadable (no id), each as
    the number of `records` before it; a row is reported by the page whose rows before it a
    client used. A page read at a `skip` into the provider's page reports only rows after that.
    `skip_counts_gaps`: `position.skip` counts those rows too (offset paging), so resuming
    passes over the ones right after the records used; otherwise it counts readable rows only.
    """

    records: Sequence[R]
    position: Position
    next_token: str | None
    total: int | None = None
    filtered_locally: bool = False
    rest_at: Position | None = None
    gaps: tuple[int, ...] = ()
    skip_counts_gaps: bool = False

    def rows_before(self, index: int) -> int:
        """How many rows `position.skip` counts before `records[index]`."""
        if not self.skip_counts_gaps or not self.gaps:
            return index
        return index + sum(1 for gap in self.gaps if gap <= index)

    def index_at(self, skip: int) -> int:
        """The first record at or after `skip` (counted as `position.skip` counts) into the page.
        Without gaps counted, `skip` itself: read-ahead asks this of a 100-row page for every
        account on every page, where walking the rows cost a quarter of the gateway's CPU."""
        if not self.skip_counts_gaps or not self.gaps:
            return min(max(skip, 0), len(self.records))
        index = 0
        while index < len(self.records) and self.rows_before(index) < skip:
            index += 1
        return index

    def skipped_within(self, consumed: int) -> int:
        """Unreadable rows to report once the first `consumed` records are used."""
        if consumed >= len(self.records):
            return len(self.gaps)
        if consumed == 0:  # resumed at its start, the page is read again: they are reported then
            return 0
        return sum(1 for gap in self.gaps if gap <= consumed)

    def resume_at(self, consumed: int) -> Position | None:
        """Where to continue once the first `consumed` records are used; None when all are."""
        if consumed >= len(self.records):
            if self.rest_at is not None:
                return self.rest_at
            return None if self.next_token is None else Position(self.next_token)
        passed = self.rows_before(consumed) if consumed else 0
        return Position(self.position.token, self.position.skip + passed)


@dataclass(frozen=True, slots=True)
class CandidatePage(Page[CandidateRecord]):
    """A page of candidates."""


@dataclass(frozen=True, slots=True)
class JobPage(Page[JobRecord]):
    """A page of jobs."""


@dataclass(frozen=True, slots=True)
class ApplicationPage(Page[ApplicationRecord]):
    """A page of applications."""


class Provider(Protocol):
    """One account's adapter. It speaks its provider's wire format and returns records."""

    name: str
    capabilities: frozenset[Capability]

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage: ...

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]: ...

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]: ...

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage: ...

    async def get_jobs(self, remote_ids: Sequence[str]) -> list[JobRecord]:
        """The jobs among `remote_ids` that exist, in any order (unknown ids are left out)."""
        ...

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult: ...

    async def update_candidate(self, remote_id: str, patch: CandidatePatch) -> WriteResult: ...

    # The hiring pipeline. Each method below is called only when the adapter declares its
    # capability (LIST_APPLICATIONS, REJECT_REASONS, CREATE_APPLICATION, MOVE_APPLICATION,
    # REJECT_APPLICATION, ADD_NOTE). The actions are writes: they send each request once (the
    # resolver watches them, as it does candidate writes), raise `Rejected` when the provider
    # refuses the input (a 4xx: nothing changed) and return the application as it now stands.
    # An action takes the application as last read, since some providers address it through its
    # candidate (Talynce) and a move must know the application's job.

    async def list_applications(
        self, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage: ...

    async def list_reject_reasons(self) -> list[RejectReason]: ...

    async def create_application(self, new: NewApplication) -> ApplicationWriteResult: ...

    async def move_application(
        self, application: ApplicationRecord, stage_remote_id: str
    ) -> ApplicationWriteResult: ...

    async def reject_application(
        self,
        application: ApplicationRecord,
        reason_remote_id: str | None,
        note: str | None,
    ) -> ApplicationWriteResult: ...

    async def unreject_application(
        self, application: ApplicationRecord
    ) -> ApplicationWriteResult: ...

    async def add_note(
        self, candidate_remote_id: str, body: str, visibility: NoteVisibility | None
    ) -> NoteWriteResult: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What the registry knows of a provider: its name, what it can do, and how to build one.

    `credentials` are the secret names an account may give (each as `<name>_env` in the config);
    `check` returns what is wrong or missing in an account's settings, worded for the operator;
    `rate_limit` is the provider's documented budget (calls, seconds) that accounts default to;
    `read_ahead` is how many rows a listing reads per upstream call when the gateway reads ahead
    (the provider's maximum page size: fewer, fuller calls against a metered budget);
    `build(config, client, sharing)` makes the adapter, with the state it shares with other
    gateway processes (`None`: all process-local).
    """

    name: str
    capabilities: frozenset[Capability]
    build: Callable[[AccountConfig, Sender, Sharing | None], Provider]
    credentials: tuple[str, ...] = ()
    check: Callable[[AccountConfig], list[str]] = field(default=lambda account: [])
    default_base_url: str | None = None
    rate_limit: tuple[int, float] | None = None
    read_ahead: int = 100
