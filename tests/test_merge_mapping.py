"""Merge wire JSON ⇄ records without HTTP: enums, derived status, problem paths, odd input."""

from __future__ import annotations

from typing import Any

import pytest

from providers.merge import wire as wire
from providers.model import (
    ApplicationStatus,
    CandidateRecord,
    Email,
    EmailType,
    JobRef,
    Phone,
    PhoneType,
    RejectReason,
    Url,
    UrlType,
)


@pytest.mark.parametrize(
    ("key", "entries", "expected"),
    [
        (
            "email_addresses",
            [
                {"value": "a@x.example", "email_address_type": "PERSONAL"},
                {"value": "b@x.example", "email_address_type": "WORK"},
                {"value": "c@x.example", "email_address_type": "OTHER"},
                {"value": "d@x.example", "email_address_type": "ALUMNI"},
                {"value": "e@x.example", "email_address_type": None},
                {"value": "", "email_address_type": "WORK"},
                "not-an-object",
            ],
            [
                Email("a@x.example", EmailType.PERSONAL, "PERSONAL"),
                Email("b@x.example", EmailType.WORK, "WORK"),
                Email("c@x.example", EmailType.OTHER, "OTHER"),
                Email("d@x.example", EmailType.OTHER, "ALUMNI"),
                Email("e@x.example"),
            ],
        ),
        (
            "phone_numbers",
            [
                {"value": "1", "phone_number_type": t}
                for t in ("HOME", "WORK", "MOBILE", "SKYPE", "OTHER", "FAX", 7)
            ],
            [
                Phone("1", PhoneType.HOME, "HOME"),
                Phone("1", PhoneType.WORK, "WORK"),
                Phone("1", PhoneType.MOBILE, "MOBILE"),
                Phone("1", PhoneType.SKYPE, "SKYPE"),
                Phone("1", PhoneType.OTHER, "OTHER"),
                Phone("1", PhoneType.OTHER, "FAX"),
                Phone("1"),
            ],
        ),
        (
            "urls",
            [
                {"value": "https://u", "url_type": t}
                for t in (
                    "PERSONAL",
                    "COMPANY",
                    "PORTFOLIO",
                    "BLOG",
                    "SOCIAL_MEDIA",
                    "OTHER",
                    "JOB_POSTING",
                    "GITHUB",
                )
            ],
            [
                Url("https://u", UrlType(t), t)
                for t in (
                    "PERSONAL",
                    "COMPANY",
                    "PORTFOLIO",
                    "BLOG",
                    "SOCIAL_MEDIA",
                    "OTHER",
                    "JOB_POSTING",
                )
            ]
            + [Url("https://u", UrlType.OTHER, "GITHUB")],
        ),
    ],
)
def test_contact_types_map_exactly_and_unknown_ones_to_other(
    key: str, entries: list[Any], expected: list[Any]
) -> None:
    record = wire.candidate_record({"id": "c1", key: entries})
    assert record is not None
    field = {"email_addresses": "emails", "phone_numbers": "phones", "urls": "urls"}[key]
    assert list(getattr(record, field)) == expected


def test_contacts_go_out_with_merges_type_names() -> None:
    urls = [Url("https://cv", UrlType.RESUME), Url("https://b", UrlType.BLOG), Url("https://n")]
    assert wire.contacts_out(urls, "url_type") == [
        {"value": "https://cv", "url_type": "OTHER"},
        {"value": "https://b", "url_type": "BLOG"},
        {"value": "https://n"},
    ]
    assert wire.contacts_out([Phone("1", PhoneType.SKYPE)], "phone_number_type") == [
        {"value": "1", "phone_number_type": "SKYPE"}
    ]


@pytest.mark.parametrize(
    "raw",
    [None, [], "x", {"first_name": "No id"}, {"id": ""}, {"id": 5}],
)
def test_a_candidate_without_an_id_is_not_a_record(raw: Any) -> None:
    assert wire.candidate_record(raw) is None


def test_odd_candidate_values_do_not_crash() -> None:
    record = wire.candidate_record(
        {
            "id": "c1",
            "first_name": None,
            "last_name": "Solo",
            "locations": ["Oslo", None, 3],
            "tags": "not-a-list",
            "email_addresses": None,
            "applications": [{"id": "a1"}],
            "remote_created_at": None,
            "created_at": "2024-01-01T00:00:00Z",
        }
    )
    assert record == CandidateRecord(
        remote_id="c1",
        last_name="Solo",
        full_name="Solo",
        locations=("Oslo",),
        created_at="2024-01-01T00:00:00Z",
        remote_data=record.remote_data if record else None,
    )
    assert record is not None and record.applications is None


@pytest.mark.parametrize(
    ("application", "status"),
    [
        ({}, ApplicationStatus.ACTIVE),
        ({"rejected_at": "2024-01-02T00:00:00Z"}, ApplicationStatus.REJECTED),
        ({"offers": [{"status": "SIGNED"}]}, ApplicationStatus.HIRED),
        (
            {"offers": [{"status": "SENT", "start_date": "2024-02-01T00:00:00Z"}]},
            ApplicationStatus.ACTIVE,
        ),
        (
            {"offers": [{"status": None, "start_date": "2024-02-01T00:00:00Z"}]},
            ApplicationStatus.HIRED,
        ),
        ({"offers": ["5b3c1341-a20f-4e51-b72c-f3830a16c97b"]}, ApplicationStatus.ACTIVE),
        ({"offers": [{"status": "DENIED"}, {"status": "SIGNED"}]}, ApplicationStatus.HIRED),
        (
            {"rejected_at": "2024-01-02T00:00:00Z", "offers": [{"status": "SIGNED"}]},
            ApplicationStatus.REJECTED,
        ),
        ({"offers": "garbage"}, ApplicationStatus.ACTIVE),
    ],
)
def test_application_status_is_derived(
    application: dict[str, Any], status: ApplicationStatus
) -> None:
    assert wire.application_status(application) is status


def test_application_keeps_the_stage_id_and_expanded_names() -> None:
    plain = wire.application_record(
        {
            "id": "a1",
            "candidate": "c1",
            "job": "j1",
            "current_stage": "s1",
            "applied_at": "2024-01-01T00:00:00Z",
        }
    )
    assert plain is not None
    # An unexpanded stage has an id and no name: the id is never passed off as one.
    assert (plain.candidate_remote_id, plain.job, plain.stage, plain.stage_id) == (
        "c1",
        JobRef("j1"),
        None,
        "s1",
    )
    expanded = wire.application_record(
        {
            "id": "a2",
            "candidate": {"id": "c2"},
            "job": {"id": "j2", "name": "Backend Engineer"},
            "current_stage": {"id": "s2", "name": "Onsite"},
            "reject_reason": {"id": "r2", "name": "Withdrew"},
            "rejected_at": "2024-02-01T00:00:00Z",
            "source": "Referral",
        }
    )
    assert expanded is not None
    assert (expanded.candidate_remote_id, expanded.job, expanded.stage, expanded.stage_id) == (
        "c2",
        JobRef("j2", "Backend Engineer"),
        "Onsite",
        "s2",
    )
    assert expanded.reject_reason == RejectReason("r2", "Withdrew")
    assert (expanded.rejected_at, expanded.source) == ("2024-02-01T00:00:00Z", "Referral")
    assert expanded.raw_status is None
    assert wire.application_record({"id": "a3"}, candidate_id="c3") is not None
    assert wire.application_record({"id": "a4"}) is None
    assert wire.application_record({"candidate": "c1"}) is None


@pytest.mark.parametrize(
    ("pointer", "path"),
    [
        ("/model/email_addresses/0/value", ("emails", "0", "value")),
        ("/model/email_addresses/2/email_address_type", ("emails", "2", "type")),
        ("/model/phone_numbers/1", ("phones", "1")),
        ("/model/urls/0/url_type", ("urls", "0", "type")),
        ("/model/urls/0/integration_params", ("urls", "0")),
        ("/model/first_name", ("first_name",)),
        ("/model/locations/3", ("locations", "3")),
        ("/model/tags", ("tags",)),
        ("/model/custom_fields", None),
        ("/model", None),
        ("/remote_user_id", None),
        ("est", None),
        (None, None),
        (7, None),
    ],
)
def test_merge_pointers_map_to_gateway_input_paths(
    pointer: object, path: tuple[str, ...] | None
) -> None:
    assert wire.input_path(pointer) == path


def test_problems_and_warnings_tolerate_odd_entries() -> None:
    raw = [
        {
            "problem_type": "INCORRECT_FIELD_TYPE",
            "title": "T",
            "detail": "D",
            "source": {"pointer": "/model/title"},
        },
        {"title": "Only a title"},
        "nonsense",
        {"problem_type": "ERROR", "detail": "no source", "title": "E", "source": "x"},
    ]
    # Merge's titles and details are its own text: the gateway words each documented type,
    # and the same problem twice is one.
    assert [(p.code, p.message, p.field) for p in wire.problems(raw)] == [
        ("INCORRECT_FIELD_TYPE", wire.PROBLEM_MESSAGES["INCORRECT_FIELD_TYPE"], ("title",)),
        ("ERROR", "Merge refused the write", None),
    ]
    assert next((w.code, w.field) for w in wire.warnings(raw)) == (
        "INCORRECT_FIELD_TYPE",
        ("title",),
    )
    assert wire.problems(None) == [] and wire.warnings({"x": 1}) == []


def test_search_matches_names_and_emails_case_insensitively() -> None:
    record = CandidateRecord(
        remote_id="c",
        first_name="Gil",
        last_name="Feig",
        full_name="Gil Feig",
        emails=(Email("hello@merge.dev"),),
    )
    assert (
        wire.matches(record, "FEIG")
        and wire.matches(record, "il fe")
        and wire.matches(record, "MERGE.dev")
    )
    assert not wire.matches(record, "zz")
