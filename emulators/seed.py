"""Deterministic seed data and storage records for the Talynce emulator.

Everything is drawn from one ``random.Random(seed)`` so a demo or test that seeds two
organisations gets the same, distinct data on every run.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PIPELINE_STATUSES: tuple[str, ...] = (
    "Applied",
    "Screening",
    "Shortlisted",
    "Interview",
    "Offered",
    "Hired",
    "Rejected",
)
"""The default Talynce pipeline, in the casing the API stores and returns."""


JOB_STATUSES: tuple[str, ...] = ("open", "closed", "draft", "archived")
"""The job states the Talynce emulator uses (an assumption: the vendor documents none)."""

_DEPARTMENTS = ("Engineering", "Data", "Platform", "Design", "Quality")
_OFFICES = ("Bengaluru", "Hyderabad", "Pune", "Remote", "Singapore")


@dataclass(frozen=True, slots=True)
class Job:
    """A job opening; jobs are read-only through the candidate API."""

    id: str
    title: str
    status: str
    created_at: datetime
    updated_at: datetime | None = None
    department: str | None = None
    locations: tuple[str, ...] = ()
    opened_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(slots=True)
class Application:
    """A ``candidate_jobs`` row; its status and notes change through the API."""

    id: str
    candidate_id: str
    job_id: str
    organization_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    screening_score: float | None = None
    match_score: float | None = None
    notes: str | None = None
    shortlisted_at: datetime | None = None
    screening_started_at: datetime | None = None
    screening_completed_at: datetime | None = None
    status_date: datetime | None = None
    outreach_sent_at: datetime | None = None
    interest_clicked_at: datetime | None = None
    video_interview_invite_sent_at: datetime | None = None
    metadata: dict[str, object] | None = None


@dataclass(slots=True)
class Candidate:
    """A stored candidate; masked contact and CTC values are kept here, hidden on the wire."""

    id: str
    full_name: str
    email: str
    created_at: datetime
    updated_at: datetime
    phone_number: str | None = None
    whatsapp_number: str | None = None
    location: str | None = None
    preferred_location: str | None = None
    primary_skills: list[str] = field(default_factory=list)
    secondary_skills: list[str] = field(default_factory=list)
    total_experience_years: float | None = None
    current_company: str | None = None
    current_designation: str | None = None
    current_ctc: float | None = None
    expected_ctc: float | None = None
    notice_period_days: int | None = None
    in_notice_period: bool | None = None
    last_working_day: str | None = None
    resume_url: str | None = None
    resume_path: str | None = None
    source: str | None = "api"
    screening_score: float | None = None
    talent_pool_status: str = "not_linked"
    metadata: dict[str, object] | None = field(default_factory=dict)
    applications: list[Application] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SeededOrganization:
    """What :func:`seed_organization` produces for one tenant."""

    organization_id: str
    jobs: tuple[Job, ...]
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class _Family:
    titles: tuple[str, ...]
    primary: tuple[str, ...]
    secondary: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Region:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]
    ctc_per_year: float


# fmt: off
_INDIA = _Region(
    first_names=(
        "Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rahul",
        "Meera", "Aditya", "Ishita", "Karthik", "Divya", "Siddharth", "Pooja", "Nikhil",
        "Lakshmi", "Varun", "Shreya", "Manish", "Neha", "Harish", "Deepika", "Suresh",
        "Anjali", "Rajesh", "Swati", "Abhishek", "Nandini", "Farhan", "Ayesha", "Gurpreet",
        "Harpreet", "Tenzin", "Sanjay", "Ritu", "Venkatesh", "Bhavna", "Imran",
    ),
    last_names=(
        "Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh", "Menon", "Rao",
        "Chatterjee", "Banerjee", "Mukherjee", "Das", "Kulkarni", "Deshpande", "Joshi",
        "Verma", "Agarwal", "Pillai", "Krishnan", "Khan", "Qureshi", "Fernandes", "D'Souza",
        "Bhat", "Hegde", "Malhotra", "Kapoor", "Chauhan", "Saxena", "Subramanian", "Gill",
    ),
    cities=(
        ("Bengaluru", "91"), ("Hyderabad", "91"), ("Pune", "91"), ("Chennai", "91"),
        ("Mumbai", "91"), ("Gurugram", "91"), ("Noida", "91"), ("Kolkata", "91"),
        ("Ahmedabad", "91"), ("Kochi", "91"), ("Jaipur", "91"), ("Thiruvananthapuram", "91"),
    ),
    ctc_per_year=2.2,
)

_WORLD = _Region(
    first_names=(
        "James", "Emma", "Liam", "Olivia", "Noah", "Sophia", "Lucas", "Mia", "Mateo", "Chloé",
        "Hiroshi", "Yuki", "Wei", "Mei", "Ji-ho", "Seo-yeon", "Omar", "Layla", "Lars",
        "Ingrid", "Pierre", "Camille", "Diego", "Valentina", "Kwame", "Amara", "Nikolai",
        "Anya", "Thandiwe", "Rafael",
    ),
    last_names=(
        "Smith", "Johnson", "Williams", "Brown", "García", "Müller", "Dubois", "Rossi",
        "Tanaka", "Sato", "Chen", "Wang", "Kim", "Park", "Hassan", "Haddad", "Andersen",
        "Nielsen", "Silva", "Santos", "Okafor", "Mensah", "Ivanov", "Kowalski", "O'Brien",
        "Nguyen", "Schmidt", "Fischer",
    ),
    cities=(
        ("London", "44"), ("Berlin", "49"), ("Singapore", "65"), ("Toronto", "1"),
        ("Dubai", "971"), ("Amsterdam", "31"), ("Austin", "1"), ("Sydney", "61"),
        ("Tokyo", "81"), ("Seoul", "82"), ("Lagos", "234"), ("Nairobi", "254"),
    ),
    ctc_per_year=4.5,
)

_EMAIL_DOMAINS = (
    "gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.co.in", "hotmail.com",
    "proton.me", "rediffmail.com", "icloud.com",
)

_COMPANIES = (
    "Infosys", "Tata Consultancy Services", "Wipro", "HCLTech", "Flipkart", "Swiggy",
    "Zomato", "Razorpay", "Freshworks", "Zoho", "PhonePe", "Paytm", "CRED", "Meesho",
    "InMobi", "Tech Mahindra", "LTIMindtree", "Myntra", "Postman", "BrowserStack",
    "Shopify", "Spotify", "Atlassian", "Grab", "Revolut", "SAP", "Booking.com", "Canva",
    "Stripe", "Delivery Hero", "Rakuten", "Careem", "Thoughtworks", "Accenture",
)

_FAMILIES = (
    _Family(
        titles=("Backend Engineer", "Software Engineer", "Backend Developer"),
        primary=(
            "Python", "Java", "Go", "Node.js", "Django", "Spring Boot", "PostgreSQL",
            "Kafka", "Microservices", "REST APIs",
        ),
        secondary=(
            "Docker", "Kubernetes", "AWS", "Redis", "GraphQL", "gRPC", "Terraform", "CI/CD",
        ),
    ),
    _Family(
        titles=("Frontend Engineer", "UI Developer", "Frontend Developer"),
        primary=(
            "React", "TypeScript", "JavaScript", "Next.js", "Angular", "Vue.js", "HTML",
            "CSS", "Redux",
        ),
        secondary=("Jest", "Webpack", "Figma", "Storybook", "GraphQL", "Tailwind CSS"),
    ),
    _Family(
        titles=("Data Engineer", "Data Scientist", "Machine Learning Engineer"),
        primary=(
            "Python", "SQL", "Spark", "Airflow", "Pandas", "Machine Learning", "TensorFlow",
            "PyTorch", "dbt", "Snowflake",
        ),
        secondary=("AWS", "GCP", "Tableau", "Power BI", "Docker", "Kafka"),
    ),
    _Family(
        titles=("DevOps Engineer", "Site Reliability Engineer", "Cloud Engineer"),
        primary=(
            "AWS", "Kubernetes", "Terraform", "Docker", "Linux", "Jenkins", "Ansible", "GCP",
            "Azure",
        ),
        secondary=("Python", "Bash", "Prometheus", "Grafana", "Go", "Helm"),
    ),
    _Family(
        titles=("Android Developer", "iOS Developer", "Mobile Engineer"),
        primary=("Kotlin", "Swift", "Android", "iOS", "Flutter", "React Native"),
        secondary=("Firebase", "GraphQL", "Jetpack Compose", "SwiftUI", "CI/CD"),
    ),
    _Family(
        titles=("QA Engineer", "SDET", "Test Automation Engineer"),
        primary=(
            "Selenium", "Cypress", "Playwright", "Java", "Test Automation", "API Testing",
            "Postman",
        ),
        secondary=("JMeter", "Jenkins", "Appium", "SQL", "Python"),
    ),
)

_JOB_TITLES = (
    "Senior Backend Engineer",
    "Frontend Engineer (React)",
    "Data Engineer",
    "Site Reliability Engineer",
    "Android Developer",
    "QA Automation Engineer",
    "Engineering Manager",
    "Machine Learning Engineer",
    "Full Stack Developer",
    "Staff Platform Engineer",
    "Senior Product Designer",
    "iOS Developer",
)

_SOURCES = ("api", "linkedin", "naukri", "referral", "careers_page", "indeed", "agency")
_NOTICE_DAYS = (0, 15, 30, 30, 45, 60, 60, 90, 90)
_STATUS_WEIGHTS = (30, 20, 15, 12, 5, 6, 12)
_DAY = 86_400
# fmt: on


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` so seeded ids repeat across runs."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed_organization(
    rng: random.Random,
    *,
    anchor: datetime,
    candidates: int = 100,
    jobs: int = 5,
    masked: int = 5,
) -> SeededOrganization:
    """Build one tenant's jobs and candidates, all timestamps within the year before ``anchor``."""
    if candidates < 0 or jobs < 0 or masked < 0:
        raise ValueError("counts must not be negative")
    if masked > candidates:
        raise ValueError("cannot mask more candidates than exist")
    organization_id = new_uuid(rng)
    job_rows = _seed_jobs(rng, anchor, jobs)
    offsets = sorted(rng.sample(range(3_600, 365 * _DAY), candidates), reverse=True)
    used_emails: set[str] = set()
    people = [
        _seed_candidate(rng, organization_id, anchor - timedelta(seconds=s), anchor, used_emails)
        for s in offsets
    ]
    indices = list(range(candidates))
    masked_indices = set(rng.sample(indices, masked))
    remaining = [i for i in indices if i not in masked_indices]
    revealed_indices = set(rng.sample(remaining, min(len(remaining), max(1, candidates // 30))))
    for index, person in enumerate(people):
        if index in masked_indices:
            person.talent_pool_status = "masked"
        elif index in revealed_indices:
            person.talent_pool_status = "revealed"
        _seed_applications(rng, person, organization_id, job_rows, anchor)
    _ensure_terminal_statuses(people)
    return SeededOrganization(organization_id, tuple(job_rows), tuple(people))


def _seed_jobs(rng: random.Random, anchor: datetime, count: int) -> list[Job]:
    extra = range(1, count - len(_JOB_TITLES) + 1)
    titles = [*_JOB_TITLES, *(f"Software Engineer {n}" for n in extra)]
    chosen = rng.sample(titles, count)
    offsets = sorted(rng.sample(range(200 * _DAY, 400 * _DAY), count), reverse=True)
    rows = []
    for index, (title, offset) in enumerate(zip(chosen, offsets, strict=True)):
        status = "closed" if count > 2 and index == 0 else "open"
        rows.append(_job(new_uuid(rng), title, status, anchor - timedelta(seconds=offset), anchor))
    return rows


def _job(job_id: str, title: str, status: str, created_at: datetime, anchor: datetime) -> Job:
    """A job's descriptive fields come from a generator of its own (seeded by its id), so adding
    them left every other seeded value, here and in the Greenhouse emulator, as it was."""
    extras = random.Random(job_id)
    age = int((anchor - created_at).total_seconds())
    opened_at = created_at + timedelta(seconds=extras.randint(0, 3 * _DAY))
    updated_at = created_at + timedelta(seconds=extras.randint(3 * _DAY, max(3 * _DAY, age - 1)))
    return Job(
        id=job_id,
        title=title,
        status=status,
        created_at=created_at,
        updated_at=updated_at,
        department=extras.choice(_DEPARTMENTS),
        locations=tuple(extras.sample(_OFFICES, extras.randint(1, 2))),
        opened_at=opened_at,
        closed_at=updated_at if status == "closed" else None,
    )


def _seed_candidate(
    rng: random.Random,
    organization_id: str,
    created_at: datetime,
    anchor: datetime,
    used_emails: set[str],
) -> Candidate:
    candidate_id = new_uuid(rng)
    region = _INDIA if rng.random() < 0.75 else _WORLD
    first, last = rng.choice(region.first_names), rng.choice(region.last_names)
    city, country_code = rng.choice(region.cities)
    family = rng.choice(_FAMILIES)
    experience = round(rng.triangular(0.5, 20.0, 5.0), 1)
    phone = _phone(rng, country_code)
    current_ctc = round((3.0 + experience * region.ctc_per_year) * rng.uniform(0.7, 1.4), 1)
    expected_ctc = round(current_ctc * rng.uniform(1.15, 1.5), 1)
    notice = rng.choice(_NOTICE_DAYS) if rng.random() > 0.05 else None
    in_notice = None if notice is None else (notice > 0 and rng.random() < 0.2)
    last_day = None
    if in_notice and notice:
        last_day = (anchor.date() + timedelta(days=rng.randint(1, notice))).isoformat()
    has_resume = rng.random() < 0.8
    updated_at = created_at + timedelta(
        seconds=rng.randint(0, max(0, int((anchor - created_at).total_seconds()) - 1))
    )
    return Candidate(
        id=candidate_id,
        full_name=f"{first} {last}",
        email=_email(rng, first, last, used_emails),
        created_at=created_at,
        updated_at=updated_at,
        phone_number=phone,
        whatsapp_number=rng.choice((phone, phone, None)),
        location=city,
        preferred_location=rng.choice((city, city, "Remote", rng.choice(region.cities)[0], None)),
        primary_skills=rng.sample(family.primary, rng.randint(2, 4)),
        secondary_skills=rng.sample(family.secondary, rng.randint(0, 3)),
        total_experience_years=experience,
        current_company=rng.choice(_COMPANIES) if experience >= 1 else None,
        current_designation=_designation(rng, family, experience),
        current_ctc=current_ctc if rng.random() < 0.9 else None,
        expected_ctc=expected_ctc if rng.random() < 0.85 else None,
        notice_period_days=notice,
        in_notice_period=in_notice,
        last_working_day=last_day,
        resume_url=f"https://files.example.com/resumes/{candidate_id}.pdf" if has_resume else None,
        resume_path=f"resumes/{organization_id}/{candidate_id}.pdf" if has_resume else None,
        source=rng.choice(_SOURCES),
        screening_score=round(rng.uniform(35.0, 98.0), 1) if rng.random() < 0.6 else None,
        metadata={"external_id": f"ATS-{rng.randint(1000, 99999)}"} if rng.random() < 0.4 else {},
    )


def _seed_applications(
    rng: random.Random,
    candidate: Candidate,
    organization_id: str,
    jobs: list[Job],
    anchor: datetime,
) -> None:
    count = min(len(jobs), rng.choices((0, 1, 2, 3), weights=(20, 45, 25, 10))[0])
    for job in rng.sample(jobs, count):
        start = max(candidate.created_at, job.created_at)
        room = max(0, int((anchor - start).total_seconds()) - 1)
        created_at = start + timedelta(seconds=rng.randint(0, min(room, 14 * _DAY)))
        status = rng.choices(PIPELINE_STATUSES, weights=_STATUS_WEIGHTS)[0]
        moved = created_at + timedelta(
            seconds=rng.randint(0, max(0, int((anchor - created_at).total_seconds()) - 1))
        )
        candidate.applications.append(
            _application(rng, candidate.id, job.id, organization_id, status, created_at, moved)
        )


def _application(
    rng: random.Random,
    candidate_id: str,
    job_id: str,
    organization_id: str,
    status: str,
    created_at: datetime,
    moved_at: datetime,
) -> Application:
    rank = PIPELINE_STATUSES.index(status)
    progressed = status != "Applied"
    outreach = created_at + timedelta(hours=2) if rng.random() < 0.5 else None
    return Application(
        id=new_uuid(rng),
        candidate_id=candidate_id,
        job_id=job_id,
        organization_id=organization_id,
        status=status,
        created_at=created_at,
        updated_at=moved_at,
        screening_score=round(rng.uniform(30.0, 99.0), 1) if progressed else None,
        match_score=round(rng.uniform(20.0, 99.0), 1) if rng.random() < 0.7 else None,
        notes=rng.choice((None, None, "Imported from ATS", "Strong fundamentals", "Referred")),
        shortlisted_at=moved_at if 2 <= rank <= 5 else None,
        screening_started_at=created_at + timedelta(hours=1) if progressed else None,
        screening_completed_at=created_at + timedelta(days=1) if rank >= 2 else None,
        status_date=moved_at,
        outreach_sent_at=outreach,
        interest_clicked_at=(
            outreach + timedelta(hours=5) if outreach and rng.random() < 0.5 else None
        ),
        video_interview_invite_sent_at=moved_at if 3 <= rank <= 5 else None,
        metadata={} if rng.random() < 0.7 else None,
    )


def _ensure_terminal_statuses(people: list[Candidate]) -> None:
    """Small seeds could miss Hired/Rejected; demos and tests rely on seeing both."""
    rows = [row for person in people for row in person.applications]
    if len(rows) < 2:
        return
    present = {row.status for row in rows}
    if "Hired" not in present:
        _force_status(rows[0], "Hired")
    if "Rejected" not in present:
        _force_status(rows[-1], "Rejected")


def _force_status(row: Application, status: str) -> None:
    row.status = status
    rank = PIPELINE_STATUSES.index(status)
    row.shortlisted_at = row.status_date if 2 <= rank <= 5 else None


def _email(rng: random.Random, first: str, last: str, used: set[str]) -> str:
    first_part, last_part = _ascii_slug(first), _ascii_slug(last)
    pattern = rng.randrange(4)
    if pattern == 0:
        local = f"{first_part}.{last_part}"
    elif pattern == 1:
        local = f"{first_part}{last_part}"
    elif pattern == 2:
        local = f"{first_part[0]}.{last_part}"
    else:
        local = f"{first_part}_{last_part}{rng.randint(1, 99)}"
    domain = rng.choice(_EMAIL_DOMAINS)
    candidate = f"{local}@{domain}"
    suffix = 1
    while candidate in used:
        suffix += 1
        candidate = f"{local}{suffix}@{domain}"
    used.add(candidate)
    return candidate


def _ascii_slug(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


def _phone(rng: random.Random, country_code: str) -> str:
    if country_code == "91":
        return f"+91 {rng.randint(6, 9)}{rng.randint(0, 9999):04d} {rng.randint(0, 99999):05d}"
    groups = (rng.randint(100, 999), rng.randint(100, 999), rng.randint(0, 9999))
    return f"+{country_code} {groups[0]} {groups[1]} {groups[2]:04d}"


def _designation(rng: random.Random, family: _Family, experience: float) -> str:
    title = rng.choice(family.titles)
    if experience < 2:
        return f"Associate {title}"
    if experience < 5:
        return title
    if experience < 9:
        return f"Senior {title}"
    return rng.choice((f"Lead {title}", f"Principal {title}", "Engineering Manager"))
