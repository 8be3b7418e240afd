"""Pure mapping of Talynce's wire JSON to normalized records (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from providers.model import ApplicationStatus, Compensation, Email, Phone, PhoneType
from providers.talynce.adapter import application_status, candidate_record, split_name

JANE = "@".join(("jane.doe", "example.com"))
JOB_ID = "550e8400-e29b-41d4-a716-446655440000"


def seed_example(**changes: Any) -> dict[str, Any]:
    """The seed document's example body, as a response: plus id, skill_array and timestamps."""
    payload: dict[str, Any] = {
        "id": "3f2b8c1e-7d4a-4e61-9a0b-2c5d8e9f1a7b",
        "full_name": "Jane Doe",
        "email": JANE,
        "phone_number": "+91 90000 12345",
        "whatsapp_number": "+91 90000 12345",
        "location": "Bangalore",
        "preferred_location": "Remote",
        "primary_skills": ["React", "TypeScript"],
        "secondary_skills": ["Docker"],
        "skill_array": ["React", "TypeScript", "Docker"],
        "total_experience_years": 6,
        "current_company": "Acme Inc",
        "current_designation": "Senior Engineer",
        "current_ctc": 18,
        "expected_ctc": 24,
        "notice_period_days": 30,
        "in_notice_period": False,
        "resume_url": "https://example.com/resume.pdf",
        "source": "api",
        "talent_pool_status": "not_linked",
        "metadata": {"external_id": "ATS-9912"},
        "created_at": "2025-03-01T10:00:00.000Z",
        "updated_at": "2025-03-02T11:30:00.000Z",
    }
    payload.update(changes)
    return payload


def application_row(status: Any, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "a1",
        "candidate_id": "3f2b8c1e-7d4a-4e61-9a0b-2c5d8e9f1a7b",
        "job_id": JOB_ID,
        "status": status,
        "notes": "Imported from ATS",
        "created_at": "2025-03-01T10:05:00.000Z",
    }
    row.update(changes)
    return row


def test_seed_example_maps_every_field() -> None:
    record = candidate_record(seed_example())

    assert record is not None
    assert record.remote_id == "3f2b8c1e-7d4a-4e61-9a0b-2c5d8e9f1a7b"
    assert (record.first_name, record.last_name, record.full_name) == ("Jane", "Doe", "Jane Doe")
    assert record.emails == (Email(JANE),)
    assert (record.company, record.title) == ("Acme Inc", "Senior Engineer")
    assert record.locations == ("Bangalore",)
    assert record.experience_years == 6
    assert record.notice_period_days == 30
    assert record.resume_url == "https://example.com/resume.pdf"
    assert record.source == "api"
    assert record.masked is False
    assert (record.created_at, record.updated_at) == (
        "2025-03-01T10:00:00.000Z",
        "2025-03-02T11:30:00.000Z",
    )
    assert record.remote_data == seed_example()
    assert record.applications is None


def test_lpa_is_converted_and_kept_raw() -> None:
    record = candidate_record(seed_example())

    assert record is not None
    assert record.current_compensation == Compensation(
        amount=1_800_000, currency="INR", period="YEAR", raw_value=18, raw_unit="LPA"
    )
    assert record.expected_compensation is not None
    assert record.expected_compensation.amount == 2_400_000
    assert record.expected_compensation.raw_value == 24


def test_fractional_lpa() -> None:
    record = candidate_record(seed_example(current_ctc=12.5))

    assert record is not None and record.current_compensation is not None
    assert record.current_compensation.amount == 1_250_000
    assert record.current_compensation.raw_value == 12.5


def test_skills_come_from_skill_array() -> None:
    record = candidate_record(seed_example(skill_array=["Docker", "React"]))

    assert record is not None
    assert record.skills == ("Docker", "React")


def test_skills_fall_back_to_primary_and_secondary() -> None:
    payload = seed_example()
    del payload["skill_array"]

    record = candidate_record(payload)

    assert record is not None
    assert record.skills == ("React", "TypeScript", "Docker")


def test_external_id_comes_from_metadata() -> None:
    record = candidate_record(seed_example())

    assert record is not None
    assert record.external_id == "ATS-9912"
    assert record.custom_fields is not None
    assert record.custom_fields["metadata"] == {"external_id": "ATS-9912"}


def test_whatsapp_is_an_other_phone_with_its_raw_type() -> None:
    record = candidate_record(seed_example(whatsapp_number="+91 98888 77777"))

    assert record is not None
    assert record.phones == (
        Phone("+91 90000 12345"),
        Phone("+91 98888 77777", type=PhoneType.OTHER, raw_type="whatsapp"),
    )


def test_custom_fields_keep_what_has_no_normalized_place() -> None:
    record = candidate_record(seed_example(last_working_day="2025-04-01"))

    assert record is not None
    assert record.custom_fields is not None
    assert record.custom_fields["preferred_location"] == "Remote"
    assert record.custom_fields["in_notice_period"] is False
    assert record.custom_fields["last_working_day"] == "2025-04-01"
    assert record.custom_fields["talent_pool_status"] == "not_linked"


def test_masked_candidate() -> None:
    record = candidate_record(
        seed_example(
            talent_pool_status="masked",
            email="",
            phone_number=None,
            whatsapp_number=None,
            current_ctc=None,
            expected_ctc=None,
        )
    )

    assert record is not None
    assert record.masked is True
    assert record.emails == ()
    assert record.phones == ()
    assert record.current_compensation is None
    assert record.expected_compensation is None


@pytest.mark.parametrize(
    ("full_name", "first", "last"),
    [
        ("Jane Doe", "Jane", "Doe"),
        ("Mary Ann van der Berg", "Mary", "Ann van der Berg"),
        ("  Jane   Doe  ", "Jane", "Doe"),
        ("Madonna", "Madonna", None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_split_name(full_name: str | None, first: str | None, last: str | None) -> None:
    assert split_name(full_name) == (first, last)


def test_single_word_name_has_no_last_name() -> None:
    record = candidate_record(seed_example(full_name="Madonna"))

    assert record is not None
    assert (record.first_name, record.last_name, record.full_name) == ("Madonna", None, "Madonna")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Applied", ApplicationStatus.ACTIVE),
        ("Screening", ApplicationStatus.ACTIVE),
        ("shortlisted", ApplicationStatus.ACTIVE),
        ("Interview", ApplicationStatus.ACTIVE),
        ("Offered", ApplicationStatus.ACTIVE),
        ("Hired", ApplicationStatus.HIRED),
        ("HIRED", ApplicationStatus.HIRED),
        ("Rejected", ApplicationStatus.REJECTED),
        (" rejected ", ApplicationStatus.REJECTED),
        ("On Hold", ApplicationStatus.OTHER),
        ("", ApplicationStatus.OTHER),
        (None, ApplicationStatus.OTHER),
    ],
)
def test_application_status(raw: str | None, status: ApplicationStatus) -> None:
    assert application_status(raw) == status


def test_applications_are_mapped() -> None:
    bench_row = application_row("Talent Bench", id="a2", notes=None)
    del bench_row["candidate_id"]
    rows = [application_row("Hired"), bench_row]

    record = candidate_record(seed_example(applications=rows))

    assert record is not None and record.applications is not None
    hired, bench = record.applications
    assert (hired.remote_id, hired.status, hired.raw_status) == ("a1", "HIRED", "Hired")
    assert hired.job is not None and hired.job.remote_id == JOB_ID
    assert hired.candidate_remote_id == record.remote_id
    assert hired.applied_at == "2025-03-01T10:05:00.000Z"
    assert hired.notes == "Imported from ATS"
    assert (bench.status, bench.raw_status) == (ApplicationStatus.OTHER, "Talent Bench")
    assert bench.notes is None
    assert bench.candidate_remote_id == record.remote_id


def test_empty_applications_are_fetched_and_empty() -> None:
    record = candidate_record(seed_example(applications=[]))

    assert record is not None
    assert record.applications == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("full_name", 42),
        ("email", ["a", "b"]),
        ("phone_number", 9000012345),
        ("whatsapp_number", {"n": 1}),
        ("location", 7),
        ("primary_skills", "React"),
        ("secondary_skills", [1, None]),
        ("skill_array", {"React": True}),
        ("total_experience_years", "six"),
        ("current_company", False),
        ("current_designation", 1.5),
        ("current_ctc", "abc"),
        ("current_ctc", True),
        ("expected_ctc", {"lpa": 24}),
        ("notice_period_days", "30"),
        ("resume_url", 0),
        ("source", []),
        ("metadata", ["ATS-9912"]),
        ("metadata", {"external_id": None}),
        ("created_at", 1700000000),
        ("talent_pool_status", 3),
        ("applications", {"id": "a1"}),
        ("applications", ["a1", None, 3]),
    ],
)
def test_wrong_types_in_optional_fields_do_not_crash(field: str, value: Any) -> None:
    record = candidate_record(seed_example(**{field: value}))

    assert record is not None
    assert record.remote_id == "3f2b8c1e-7d4a-4e61-9a0b-2c5d8e9f1a7b"


@pytest.mark.parametrize(
    ("field", "read"),
    [
        ("current_ctc", lambda r: r.current_compensation),
        ("expected_ctc", lambda r: r.expected_compensation),
        ("total_experience_years", lambda r: r.experience_years),
        ("notice_period_days", lambda r: r.notice_period_days),
    ],
    ids=["current_ctc", "expected_ctc", "experience", "notice"],
)
@pytest.mark.parametrize(
    "value",
    ["abc", True, None, float("nan"), float("inf"), 10**400],
    ids=["text", "bool", "null", "nan", "inf", "huge-int"],
)
def test_unusable_numbers_become_none(field: str, read: Any, value: Any) -> None:
    """JSON parsers accept NaN, Infinity and huge integers; none of them is a usable figure."""
    record = candidate_record(seed_example(**{field: value}))

    assert record is not None
    assert read(record) is None


def test_wrong_types_map_to_nothing() -> None:
    record = candidate_record(
        seed_example(
            full_name=42,
            email=["a"],
            primary_skills="React",
            secondary_skills=[1, "Go"],
            skill_array=None,
            metadata="ATS-1",
            applications="none",
        )
    )

    assert record is not None
    assert (record.first_name, record.last_name, record.full_name) == (None, None, None)
    assert record.emails == ()
    assert record.skills == ("Go",)
    assert record.external_id is None
    assert record.applications is None


@pytest.mark.parametrize(
    "raw",
    [
        {key: value for key, value in seed_example().items() if key != "id"},
        seed_example(id=None),
        seed_example(id=["x"]),
        None,
        "3f2b8c1e",
        [seed_example()],
    ],
    ids=["no-id", "null-id", "list-id", "none", "string", "list"],
)
def test_a_row_without_an_id_is_none(raw: Any) -> None:
    assert candidate_record(raw) is None


def test_numeric_id_is_kept_as_text() -> None:
    record = candidate_record(seed_example(id=1234))

    assert record is not None
    assert record.remote_id == "1234"
