"""Records and remembered write outcomes survive the trip through JSON (what Redis stores)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from providers.base import AccountConfig, ApplicationPage, CandidatePage, JobPage, Position
from providers.errors import FieldProblem, UpstreamOutcomeUnknown
from providers.model import (
    Address,
    ApplicationRecord,
    ApplicationStatus,
    CandidateRecord,
    Compensation,
    Email,
    EmailType,
    JobRecord,
    JobRef,
    JobStage,
    JobStatus,
    Phone,
    PhoneType,
    Url,
    UrlType,
    WriteWarning,
)
from resolvers.accounts import Accounts, ServedAccount
from resolvers.candidates import FoundCandidate
from resolvers.mutations import WriteOutcome
from resolvers.outcomes import OutcomeCodec
from store.records_json import (
    any_page_from_json,
    any_page_to_json,
    application_from_json,
    candidate_from_json,
    page_from_json,
    to_json,
)

APPLICATION = ApplicationRecord(
    remote_id="a1",
    candidate_remote_id="c1",
    job=JobRef("j1", "Engineer"),
    status=ApplicationStatus.OTHER,
    raw_status="on_hold",
    stage="Screen",
    applied_at="2026-01-02T03:04:05Z",
    profile_url="https://ats.example/a1",
    notes="n",
)
FULL = CandidateRecord(
    remote_id="c1",
    first_name="Asha",
    last_name="Rao",
    full_name="Asha Rao",
    company="Initech",
    title="Engineer",
    emails=(Email("a@example.com", EmailType.WORK), Email("b@example.com", None, "custom")),
    phones=(Phone("+91 1", PhoneType.MOBILE, "cell"),),
    addresses=(Address("1 Road", "home"),),
    urls=(Url("https://x.example", UrlType.BLOG),),
    locations=("Pune",),
    tags=("t1", "t2"),
    skills=("go",),
    experience_years=4.5,
    current_compensation=Compensation(1800000.0, "INR", "YEAR", 18.0, "LPA"),
    expected_compensation=Compensation(2000000.0, "INR", "YEAR"),
    notice_period_days=30,
    resume_url="https://x.example/cv.pdf",
    source="referral",
    external_id="ext-1",
    profile_url="https://ats.example/c1",
    masked=True,
    created_at="2026-01-01T00:00:00Z",
    updated_at="2026-01-02T00:00:00Z",
    custom_fields={"k": [1, "v"]},
    remote_data={"raw": {"nested": True}},
    applications=(APPLICATION,),
    ats_remote_id="ats-c1",
    remote_was_deleted=True,
)


def through_json(value: Any) -> Any:
    return json.loads(json.dumps(to_json(value)))


def test_every_candidate_field_round_trips() -> None:
    # every field differs from its default, so a field the codec forgets fails here
    defaults = CandidateRecord(remote_id="c1")
    for f in dataclasses.fields(CandidateRecord):
        if f.name != "remote_id":
            assert getattr(FULL, f.name) != getattr(defaults, f.name), f.name
    assert candidate_from_json(through_json(FULL)) == FULL
    assert candidate_from_json(through_json(defaults)) == defaults


def test_pages_and_applications_round_trip() -> None:
    page = CandidatePage((FULL, CandidateRecord("c2")), Position("tok", 3), "next", 40, True)
    assert page_from_json(through_json(page)) == page
    assert application_from_json(through_json(APPLICATION)) == APPLICATION


JOB = JobRecord(
    remote_id="j1",
    name="Engineer",
    status=JobStatus.OPEN,
    raw_status="live",
    departments=("R&D",),
    offices=("Pune",),
    created_at="2026-01-01T00:00:00Z",
    updated_at="2026-01-02T00:00:00Z",
    opened_at="2026-01-03T00:00:00Z",
    closed_at="2026-01-04T00:00:00Z",
    stages=(JobStage("s1", "Screen", 1), JobStage("s2")),
    remote_data={"raw": [1]},
)


def test_pages_of_every_listing_round_trip_as_their_own_type() -> None:
    defaults = JobRecord(remote_id="j1")
    for f in dataclasses.fields(JobRecord):
        if f.name != "remote_id":
            assert getattr(JOB, f.name) != getattr(defaults, f.name), f.name
    pages = [
        CandidatePage((FULL,), Position("t", 1), "n", 9, True, Position("t", 2)),
        JobPage((JOB, defaults), Position(), None, 2),
        ApplicationPage((APPLICATION,), Position("7"), "8"),
    ]
    for page in pages:
        back = any_page_from_json(json.loads(json.dumps(any_page_to_json(page))))
        assert type(back) is type(page) and back == page
    with pytest.raises(ValueError, match="tagged page"):
        any_page_from_json({"kind": "offers", "page": {}})


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d | {"unknown_field": 1},
        lambda d: d | {"emails": [{"value": "x", "type": "CARRIER_PIGEON", "raw_type": None}]},
        lambda d: d | {"tags": "not a list"},
        lambda d: {k: v for k, v in d.items() if k != "remote_id"},
    ],
)
def test_shapes_from_another_version_are_refused(damage: Any) -> None:
    with pytest.raises(ValueError):
        candidate_from_json(damage(through_json(FULL)))


def accounts() -> Accounts:
    config = AccountConfig(id="acme", name="Acme", provider="talynce", base_url="http://x")
    return Accounts([ServedAccount(config, provider=object())])  # type: ignore[arg-type]


def test_a_write_outcome_is_rebuilt_around_the_live_account() -> None:
    live = accounts()
    codec = OutcomeCodec(live)
    outcome = WriteOutcome(
        candidate=FoundCandidate(live.require("acme"), FULL),
        created=False,
        warnings=(WriteWarning("kept one email", "IGNORED_FIELD", ("emails", "1")),),
    )
    replay = codec.decode(json.loads(json.dumps(codec.encode(outcome))))
    assert replay == outcome
    assert isinstance(replay, WriteOutcome) and replay.candidate is not None
    assert replay.candidate.account is live.require("acme")
    refused = WriteOutcome(problems=(FieldProblem("DUPLICATE", "exists", ("emails", "0")),))
    assert codec.decode(json.loads(json.dumps(codec.encode(refused)))) == refused


def test_an_unknown_outcome_is_remembered_as_one() -> None:
    codec = OutcomeCodec(accounts())
    unknown = UpstreamOutcomeUnknown("lost", account="acme", provider="talynce")
    replay = codec.decode(json.loads(json.dumps(codec.encode(unknown))))
    assert isinstance(replay, UpstreamOutcomeUnknown)
    assert (replay.message, replay.account, replay.provider) == ("lost", "acme", "talynce")


def test_an_entry_that_cannot_be_read_replays_as_an_unknown_outcome() -> None:
    codec = OutcomeCodec(accounts())
    for entry in ({"v": 99}, {"v": 1, "outcome": {"account": "acme"}}, "garbage"):
        replay = codec.decode(entry, account="acme")
        assert isinstance(replay, UpstreamOutcomeUnknown)
        assert (replay.account, replay.provider) == ("acme", "talynce")
    with pytest.raises(TypeError):
        codec.encode("not an outcome")
