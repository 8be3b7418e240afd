"""A Greenhouse organisation as the emulator keeps it: users, jobs, candidates, applications and
prospect pools (seeded deterministically or built by tests), the contact types and stages both
APIs share, and the knobs tests turn (latency, outage, rate limit, token lifetime)."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from emulators.faults import FaultProfile
from emulators.seed import Candidate, seed_organization

__all__ = [
    "ADDRESS_TYPES",
    "DEPARTMENTS",
    "EMAIL_TYPES",
    "FIRST_STAGE",
    "HARVEST_PHONE_TYPES",
    "JOB_STAGES",
    "OFFICES",
    "PARTNER_PHONE_TYPES",
    "PROFILE",
    "REJECTION_REASONS",
    "SOURCES",
    "STAGES",
    "WEBSITE_TYPES",
    "GhApplication",
    "GhCandidate",
    "GhDepartment",
    "GhJob",
    "GhJobStage",
    "GhNote",
    "GhOffice",
    "GhRejectionReason",
    "GhSource",
    "GhUser",
    "GreenhouseOrg",
    "ProspectPool",
]

EMAIL_TYPES: Final = ("personal", "work", "other")
PARTNER_PHONE_TYPES: Final = ("mobile", "home", "work", "other")
HARVEST_PHONE_TYPES: Final = ("home", "work", "mobile", "skype", "other")
ADDRESS_TYPES: Final = ("home", "work", "other")
WEBSITE_TYPES: Final = ("personal", "company", "portfolio", "blog", "other")
STAGES: Final = {
    "Applied": ("in_process", "Application Review"),
    "Screening": ("in_process", "Recruiter Phone Screen"),
    "Shortlisted": ("in_process", "Hiring Manager Review"),
    "Interview": ("in_process", "Onsite Interview"),
    "Offered": ("in_process", "Offer"),
    "Hired": ("hired", "Offer"),
    "Rejected": ("rejected", "Recruiter Phone Screen"),
}
"""Seed (Talynce pipeline) status → Greenhouse application status and stage."""
FIRST_STAGE: Final = "Application Review"
JOB_STAGES: Final = (
    FIRST_STAGE,
    "Recruiter Phone Screen",
    "Hiring Manager Review",
    "Onsite Interview",
    "Offer",
)
"""Every seeded job's interview plan, in order (the stages applications are in)."""
DEPARTMENTS: Final = ("Engineering", "Product", "Sales")
REJECTION_REASONS: Final = (
    ("Lacking skill(s)/qualification(s)", "WE_REJECTED_THEM", False),
    ("Accepted another offer", "THEY_REJECTED_US", False),
    ("Position filled", "NONE_SPECIFIED", False),
    ("Other (add notes below)", "NONE_SPECIFIED", True),
)
"""Seeded rejection reasons: (name, type key, one of Greenhouse's defaults)."""
SOURCES: Final = ("LinkedIn (Prospecting)", "Referral", "Company website")
OFFICES: Final = ("London", "Bangalore", "Remote")
PROFILE: Final = "https://app.greenhouse.io/people/{candidate}?application_id={application}"


@dataclass(frozen=True, slots=True)
class GhUser:
    id: int
    email: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class GhJob:
    id: int
    name: str
    status: str  # open | draft | closed
    created_at: datetime
    updated_at: datetime | None = None  # None: as created
    department_id: int | None = None
    office_ids: tuple[int, ...] = ()
    opened_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def last_update(self) -> datetime:
        return self.updated_at or self.created_at


@dataclass(frozen=True, slots=True)
class GhDepartment:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class GhOffice:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class GhJobStage:
    """One step of a job's interview plan (`/v3/job_interview_stages`)."""

    id: int
    job_id: int
    name: str
    sort_order: int


@dataclass(slots=True)
class GhApplication:
    id: int
    candidate_id: int
    job_id: int | None
    status: str  # in_process | rejected | hired | converted
    stage_name: str | None
    created_at: datetime
    updated_at: datetime
    prospect: bool = False
    prospective_job_ids: list[int] = field(default_factory=list)
    job_interview_stage_id: int | None = None  # the job's plan stage it is in
    stage_entry: int | None = None  # its current `/v3/application_stages` row (`stage_id`)
    rejected_at: datetime | None = None
    rejection_reason_id: int | None = None
    source_id: int | None = None


@dataclass(frozen=True, slots=True)
class GhRejectionReason:
    """A reason to reject; `default` ones are Greenhouse's own (listed with include_defaults)."""

    id: int
    name: str
    type_key: str  # WE_REJECTED_THEM | THEY_REJECTED_US | NONE_SPECIFIED
    default: bool = False


@dataclass(frozen=True, slots=True)
class GhSource:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class GhNote:
    """A note on a candidate (`/v3/notes`); `visibility` in the read vocabulary
    (admin_only_visible | privately_visible | publicly_visible)."""

    id: int
    candidate_id: int
    body: str
    visibility: str
    user_id: int | None
    created_at: datetime
    application_id: int | None = None
    note_type: str = "NOTE"  # NOTE | ACTIVITY


@dataclass(slots=True)
class GhCandidate:
    id: int
    first_name: str
    last_name: str
    created_at: datetime
    updated_at: datetime
    company: str | None = None
    title: str | None = None
    email_addresses: list[dict[str, str]] = field(default_factory=list)
    phone_numbers: list[dict[str, str]] = field(default_factory=list)
    addresses: list[dict[str, str]] = field(default_factory=list)
    website_addresses: list[dict[str, str]] = field(default_factory=list)
    social_media_addresses: list[dict[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    external_id: str | None = None
    private: bool = False
    can_email: bool = True
    resume_url: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ProspectPool:
    id: int
    name: str
    stages: tuple[tuple[int, str], ...]


@dataclass
class GreenhouseOrg:
    """One Greenhouse customer: its data, credentials for both APIs, and the knobs tests turn."""

    name: str
    partner_api_key: str
    client_id: str
    client_secret: str
    partner_oauth_token: str | None = None
    users: list[GhUser] = field(default_factory=list)
    jobs: dict[int, GhJob] = field(default_factory=dict)
    departments: dict[int, GhDepartment] = field(default_factory=dict)
    offices: dict[int, GhOffice] = field(default_factory=dict)
    job_stages: dict[int, GhJobStage] = field(default_factory=dict)
    candidates: dict[int, GhCandidate] = field(default_factory=dict)
    applications: dict[int, GhApplication] = field(default_factory=dict)
    rejection_reasons: dict[int, GhRejectionReason] = field(default_factory=dict)
    sources: dict[int, GhSource] = field(default_factory=dict)
    notes: dict[int, GhNote] = field(default_factory=dict)
    prospect_pools: list[ProspectPool] = field(default_factory=list)
    latency: float = 0.0
    outage: bool = False
    rate_limit: tuple[int, float] = (10_000, 10.0)
    """Harvest requests allowed per fixed window of that many seconds (reported in headers)."""
    token_ttl: float = 3600.0
    token_expiry_field: str = "expires_at"  # or "expires_in"
    refuse_tokens: int = 0
    """The next this many tokens minted are refused when used (revoked as soon as issued)."""
    faults: FaultProfile = field(default_factory=FaultProfile)
    _window: tuple[float, int] = field(default=(0.0, 0), init=False, repr=False)
    _stage_entries: int = field(default=0, init=False, repr=False)

    @classmethod
    def seeded(
        cls,
        name: str,
        *,
        partner_api_key: str,
        client_id: str,
        client_secret: str,
        candidates: int = 60,
        jobs: int = 4,
        seed: int = 0,
    ) -> GreenhouseOrg:
        """An org filled with deterministic data; timestamps fall in the year before today."""
        anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        data = seed_organization(
            random.Random(seed), anchor=anchor, candidates=candidates, jobs=jobs, masked=0
        )
        org = cls(name, partner_api_key, client_id, client_secret)
        base = 1_000_000 * (seed + 1)
        org.users = [
            GhUser(base + 1, f"recruiter@{_slug(name)}.example", "Rita", "Recruiter"),
            GhUser(base + 2, f"sourcer@{_slug(name)}.example", "Sam", "Sourcer"),
        ]
        job_ids = {job.id: 4_000 + base // 1000 + n for n, job in enumerate(data.jobs)}
        org.departments = {
            base + 700 + n: GhDepartment(base + 700 + n, name) for n, name in enumerate(DEPARTMENTS)
        }
        org.offices = {
            base + 800 + n: GhOffice(base + 800 + n, name) for n, name in enumerate(OFFICES)
        }
        for n, job in enumerate(data.jobs):
            org.add_job(
                job_ids[job.id],
                job.title,
                job.status,
                job.created_at,
                department_id=[*org.departments][n % len(DEPARTMENTS)],
                office_ids=tuple([*org.offices][n % len(OFFICES) : n % len(OFFICES) + 1 + n % 2]),
            )
        org.rejection_reasons = {
            base + 600 + n: GhRejectionReason(base + 600 + n, name, key, default)
            for n, (name, key, default) in enumerate(REJECTION_REASONS)
        }
        org.sources = {
            base + 650 + n: GhSource(base + 650 + n, name) for n, name in enumerate(SOURCES)
        }
        org.prospect_pools = [
            ProspectPool(
                base + 901, "Future Engineers", ((base + 911, "New"), (base + 912, "Contacted"))
            )
        ]
        extras = random.Random(seed + 7919)
        for n, person in enumerate(data.candidates):
            candidate = _seed_candidate(base + 10_000 + n, person, extras)
            org.candidates[candidate.id] = candidate
            for row in person.applications:
                status, stage = STAGES.get(row.status, ("in_process", FIRST_STAGE))
                application = GhApplication(
                    org.next_id(org.applications, base + 500_000),
                    candidate.id,
                    job_ids[row.job_id],
                    status,
                    stage,
                    row.created_at,
                    row.updated_at,
                    rejected_at=row.updated_at if status == "rejected" else None,
                    source_id=[*org.sources][n % len(SOURCES)],
                )
                if status == "rejected":
                    application.rejection_reason_id = [*org.rejection_reasons][n % 2]
                org.add_application(application)
            if not person.applications and extras.random() < 0.5:
                prospect = GhApplication(
                    org.next_id(org.applications, base + 500_000),
                    candidate.id,
                    None,
                    extras.choice(("in_process", "in_process", "converted")),
                    None,
                    person.created_at,
                    person.updated_at,
                    prospect=True,
                    prospective_job_ids=[extras.choice(list(org.jobs))],
                )
                org.add_application(prospect)
        return org

    def add_job(
        self,
        job_id: int,
        name: str,
        status: str,
        created_at: datetime,
        *,
        department_id: int | None = None,
        office_ids: tuple[int, ...] = (),
        updated_at: datetime | None = None,
        stages: tuple[str, ...] = JOB_STAGES,
    ) -> GhJob:
        """A job with its interview plan; opened when not a draft, closed when closed."""
        updated = updated_at or created_at + timedelta(days=1 + job_id % 30, seconds=job_id % 7)
        job = GhJob(
            job_id,
            name,
            status,
            created_at,
            updated,
            department_id,
            office_ids,
            opened_at=None if status == "draft" else created_at + timedelta(hours=1),
            closed_at=updated if status == "closed" else None,
        )
        self.jobs[job_id] = job
        floor = 9_000_000 + job_id * 100
        for order, stage in enumerate(stages):
            stage_id = floor + order
            self.job_stages[stage_id] = GhJobStage(stage_id, job_id, stage, order)
        return job

    def add_application(self, application: GhApplication) -> GhApplication:
        """Stores an application, placing it on its job's plan stage of the same name."""
        if application.job_interview_stage_id is None and application.stage_name is not None:
            stage = self.stage_named(application.job_id, application.stage_name)
            application.job_interview_stage_id = stage.id if stage else None
        if application.job_interview_stage_id is not None and application.stage_entry is None:
            application.stage_entry = self.next_stage_entry()
        self.applications[application.id] = application
        return application

    def stage_named(self, job_id: int | None, name: str) -> GhJobStage | None:
        return next((s for s in self.plan(job_id) if s.name == name), None)

    def plan(self, job_id: int | None) -> list[GhJobStage]:
        """A job's interview stages in order."""
        stages = (s for s in self.job_stages.values() if s.job_id == job_id)
        return sorted(stages, key=lambda s: (s.sort_order, s.id))

    def next_stage_entry(self) -> int:
        self._stage_entries += 1
        return 70_000_000 + self._stage_entries

    @staticmethod
    def next_id(table: Mapping[int, object], floor: int) -> int:
        return max([floor, *table]) + 1

    def user_by_email(self, email: str) -> GhUser | None:
        return next((u for u in self.users if u.email.casefold() == email.strip().casefold()), None)

    def admit(self, now: float) -> tuple[int | None, dict[str, str]]:
        """Counts a Harvest request in the current window: (Retry-After if over, headers)."""
        limit, seconds = self.rate_limit
        start, used = self._window
        if now >= start + seconds:
            start, used = now, 0
        reset = start + seconds
        over = used >= limit
        if not over:
            used += 1
        self._window = (start, used)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        return (max(1, math.ceil(reset - now)) if over else None), headers


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "org"


def _seed_candidate(candidate_id: int, person: Candidate, rng: random.Random) -> GhCandidate:
    first, _, last = person.full_name.partition(" ")
    slug = _slug(f"{first}-{last}")
    emails = [{"value": person.email, "type": "personal"}]
    if person.current_company and rng.random() < 0.3:
        emails.append(
            {
                "value": f"{slug.replace('-', '.')}@{_slug(person.current_company)}.example",
                "type": "work",
            }
        )
    phones = [{"value": person.phone_number, "type": "mobile"}] if person.phone_number else []
    websites = [{"value": f"https://{slug}.dev", "type": "portfolio"}] if rng.random() < 0.2 else []
    social = [{"value": f"https://www.linkedin.com/in/{slug}"}] if rng.random() < 0.4 else []
    external = (person.metadata or {}).get("external_id")
    return GhCandidate(
        id=candidate_id,
        first_name=first,
        last_name=last,
        created_at=person.created_at,
        updated_at=person.updated_at,
        company=person.current_company,
        title=person.current_designation,
        email_addresses=emails,
        phone_numbers=phones,
        addresses=[{"value": person.location, "type": "home"}] if person.location else [],
        website_addresses=websites,
        social_media_addresses=social,
        tags=list(person.primary_skills[:2]),
        external_id=str(external) if external else None,
        resume_url=person.resume_url,
    )
