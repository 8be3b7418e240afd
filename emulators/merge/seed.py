"""Deterministic seed data and storage records for the Merge ATS emulator.

Everything is drawn from one ``random.Random(seed)`` and dated from a fixed anchor in the past, so
two runs hold the same rows and anything created through the API sorts after them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = [
    "ANCHOR",
    "Activity",
    "Application",
    "Candidate",
    "Group",
    "Job",
    "Offer",
    "SeededLinkedAccount",
    "Stage",
    "new_id",
    "seed_linked_account",
]

ANCHOR = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

_FIRST = (
    "Ada", "Bruno", "Chloe", "Dmitri", "Elif", "Farah", "Gil", "Hana", "Ines", "Jonas",
    "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
    "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
_LAST = (
    "Feig", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Haddad", "Kowalski", "Nguyen",
    "Silva", "Brennan", "Osei", "Petrov", "Rahman", "Schulz", "Varga", "Achebe",
)  # fmt: skip
_COMPANIES = ("Initech", "Hooli", "Vandelay Industries", "Soylent", "Umbrella", "Stark Labs")
_TITLES = ("Software Engineer", "Data Analyst", "Product Designer", "Engineering Manager", "SRE")
_CITIES = ("San Francisco", "New York", "Berlin", "Lisbon", "Toronto", "Remote")
_TAGS = ("High-Priority", "Referral", "Silver Medalist", "Relocation", "Returning")
_JOBS = ("Backend Engineer", "Data Scientist", "Product Designer", "Site Reliability Engineer")
_JOB_STATUSES = ("OPEN", "OPEN", "CLOSED", "DRAFT", "ARCHIVED", "PENDING", None)
_DEPARTMENTS = ("Engineering", "Data", "Design", "Operations")
_OFFICES = ("San Francisco", "Berlin", "Remote")
_STAGES = ("Application Review", "Phone Screen", "Onsite", "Offer")
_SOURCES = ("Referral", "LinkedIn", "Careers Page", "Campus recruiting event", None)
_REJECT_REASONS = ("Not a fit", "Hired elsewhere", "Withdrew", "Salary expectations")
_PHONE_TYPES = ("MOBILE", "WORK", "HOME", "SKYPE", "OTHER", None)
_URL_TYPES = ("PERSONAL", "COMPANY", "PORTFOLIO", "BLOG", "SOCIAL_MEDIA", "OTHER")


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class Group:
    """A Department or an Office: Merge's two shapes differ only in an office's location."""

    id: str
    remote_id: str
    name: str


@dataclass(slots=True)
class Job:
    id: str
    remote_id: str
    name: str
    created_at: datetime
    modified_at: datetime | None = None
    status: str | None = "OPEN"
    department_ids: tuple[str, ...] = ()
    office_ids: tuple[str, ...] = ()
    remote_was_deleted: bool = False

    @property
    def changed_at(self) -> datetime:
        return self.modified_at or self.created_at


@dataclass(frozen=True, slots=True)
class Stage:
    id: str
    remote_id: str
    name: str
    job_id: str


@dataclass(slots=True)
class Offer:
    id: str
    remote_id: str
    application_id: str
    status: str | None
    created_at: datetime
    sent_at: datetime | None = None
    start_date: datetime | None = None
    closed_at: datetime | None = None


@dataclass(slots=True)
class Application:
    id: str
    remote_id: str
    candidate_id: str
    job_id: str
    stage_id: str | None
    applied_at: datetime
    created_at: datetime
    rejected_at: datetime | None = None
    source: str | None = None
    offer_ids: list[str] = field(default_factory=list)
    reject_reason_id: str | None = None
    modified_at: datetime | None = None
    remote_was_deleted: bool = False

    @property
    def changed_at(self) -> datetime:
        """When Merge last saw it change: a write's time, else its rejection or creation."""
        return self.modified_at or self.rejected_at or self.created_at


@dataclass(frozen=True, slots=True)
class Activity:
    """A note, email or other activity on a candidate, by a RemoteUser."""

    id: str
    remote_id: str
    candidate_id: str
    user_id: str | None
    activity_type: str | None
    subject: str | None
    body: str | None
    visibility: str | None
    created_at: datetime


@dataclass(slots=True)
class Candidate:
    """A stored candidate; contact lists are kept in Merge's wire shape."""

    id: str
    remote_id: str
    created_at: datetime
    modified_at: datetime
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    last_interaction_at: datetime | None = None
    is_private: bool | None = False
    can_email: bool | None = True
    locations: list[str] = field(default_factory=list)
    email_addresses: list[dict[str, object]] = field(default_factory=list)
    phone_numbers: list[dict[str, object]] = field(default_factory=list)
    urls: list[dict[str, object]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    remote_was_deleted: bool = False


@dataclass(frozen=True, slots=True)
class SeededLinkedAccount:
    remote_users: tuple[str, ...]
    departments: tuple[Group, ...]
    offices: tuple[Group, ...]
    jobs: tuple[Job, ...]
    stages: tuple[Stage, ...]
    candidates: tuple[Candidate, ...]
    applications: tuple[Application, ...]
    offers: tuple[Offer, ...]
    reject_reasons: tuple[Group, ...] = ()


def seed_linked_account(
    rng: random.Random, *, candidates: int, jobs: int, email_domain: str
) -> SeededLinkedAccount:
    """A linked account's data: jobs with stages, candidates, their applications and offers.

    A candidate applies to a job at most once, some applications are rejected (each with a
    reason), and some have a signed offer, so every derived application status appears.
    """
    users = (new_id(rng), new_id(rng))
    departments = _groups(email_domain, "department", 3000, _DEPARTMENTS)
    offices = _groups(email_domain, "office", 3500, _OFFICES)
    job_rows = tuple(_job(new_id(rng), n, departments, offices) for n in range(jobs))
    stages = tuple(
        Stage(new_id(rng), str(7000 + n * 10 + s), name, job.id)
        for n, job in enumerate(job_rows)
        for s, name in enumerate(_STAGES)
    )
    people: list[Candidate] = []
    applications: list[Application] = []
    offers: list[Offer] = []
    for n in range(candidates):
        person = _candidate(rng, n, email_domain)
        people.append(person)
        for job in rng.sample(job_rows, k=min(len(job_rows), rng.choice((0, 1, 1, 2, 3)))):
            job_stages = [s for s in stages if s.job_id == job.id]
            applications.append(_application(rng, person, job, job_stages, offers))
    reasons = _groups(email_domain, "reject-reason", 6000, _REJECT_REASONS)
    for application in applications:
        if application.rejected_at is not None:  # by its remote id: no draw from the stream
            reason = reasons[int(application.remote_id) % len(reasons)]
            application.reject_reason_id = reason.id
    return SeededLinkedAccount(
        users,
        departments,
        offices,
        job_rows,
        stages,
        tuple(people),
        tuple(applications),
        tuple(offers),
        reasons,
    )


def _groups(domain: str, kind: str, first: int, names: tuple[str, ...]) -> tuple[Group, ...]:
    """Ids drawn from the account's domain, not its random stream, so adding them left every
    other seeded row as it was."""
    return tuple(
        Group(str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{kind}-{n}.{domain}")), str(first + n), name)
        for n, name in enumerate(names)
    )


def _job(job_id: str, n: int, departments: tuple[Group, ...], offices: tuple[Group, ...]) -> Job:
    """Job `n`: statuses, groups and update times cycle by `n` (no random draws, as above)."""
    created = ANCHOR - timedelta(days=300 - n)
    return Job(
        id=job_id,
        remote_id=str(4000 + n),
        name=_JOBS[n % len(_JOBS)] + (f" {n // len(_JOBS) + 1}" if n >= len(_JOBS) else ""),
        created_at=created,
        modified_at=created + timedelta(days=10 + (n * 37) % 250, minutes=n),
        status=_JOB_STATUSES[n % len(_JOB_STATUSES)],
        department_ids=(departments[n % len(departments)].id,),
        office_ids=tuple(o.id for o in offices[: 1 + n % 2]),
    )


def _candidate(rng: random.Random, n: int, domain: str) -> Candidate:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    created = ANCHOR - timedelta(days=200) + timedelta(hours=7 * n, minutes=rng.randrange(60))
    slug = f"{first}.{last}{n}".lower()
    emails: list[dict[str, object]] = [
        {"value": f"{slug}@{domain}", "email_address_type": rng.choice(("PERSONAL", "WORK"))}
    ]
    if n % 4 == 0:
        emails.append({"value": f"{first.lower()}{n}@mail.example", "email_address_type": None})
    phones: list[dict[str, object]] = [
        {"value": f"+1415555{n:04d}", "phone_number_type": _PHONE_TYPES[n % len(_PHONE_TYPES)]}
    ]
    urls: list[dict[str, object]] = (
        [{"value": f"https://{slug}.example.dev", "url_type": _URL_TYPES[n % len(_URL_TYPES)]}]
        if n % 3
        else []
    )
    return Candidate(
        id=new_id(rng),
        remote_id=str(21000 + n),
        created_at=created,
        modified_at=created + timedelta(days=rng.randrange(30)),
        first_name=first,
        last_name=last,
        company=rng.choice(_COMPANIES),
        title=rng.choice(_TITLES),
        last_interaction_at=created + timedelta(days=rng.randrange(40)),
        is_private=n % 11 == 0,
        can_email=n % 7 != 0,
        locations=rng.sample(_CITIES, k=rng.choice((0, 1, 2))),
        email_addresses=emails,
        phone_numbers=phones,
        urls=urls,
        tags=rng.sample(_TAGS, k=rng.choice((0, 0, 1, 2))),
    )


def _application(
    rng: random.Random,
    person: Candidate,
    job: Job,
    job_stages: list[Stage],
    offers: list[Offer],
) -> Application:
    applied = person.created_at + timedelta(days=rng.randrange(1, 20))
    stage = rng.choice(job_stages)
    application = Application(
        id=new_id(rng),
        remote_id=str(98000 + rng.randrange(100000)),
        candidate_id=person.id,
        job_id=job.id,
        stage_id=stage.id,
        applied_at=applied,
        created_at=applied,
        source=rng.choice(_SOURCES),
    )
    outcome = rng.random()
    if outcome < 0.25:
        application.rejected_at = applied + timedelta(days=rng.randrange(3, 40))
    elif stage.name == "Offer" or outcome > 0.85:
        signed = outcome > 0.5
        application.stage_id = job_stages[-1].id  # offers are made at the last stage
        offer = Offer(
            id=new_id(rng),
            remote_id=str(55000 + len(offers)),
            application_id=application.id,
            status="SIGNED" if signed else "SENT",
            created_at=applied + timedelta(days=30),
            sent_at=applied + timedelta(days=31),
            start_date=applied + timedelta(days=60) if signed else None,
            closed_at=applied + timedelta(days=35) if signed else None,
        )
        offers.append(offer)
        application.offer_ids.append(offer.id)
    return application
