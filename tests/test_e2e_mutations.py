"""Mutations end to end: createCandidate and updateCandidate through the gateway over HTTP."""

from __future__ import annotations

from typing import Any

from resolvers.ids import encode_id
from tests.conftest import Stack

CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) {
    created
    candidate { id remoteId fullName firstName lastName company emails { value } skills
                applications { status rawStatus notes job { id } } }
    warnings { field code message }
    userErrors { field code message }
  }
}
"""

UPDATE = """
mutation($id: ID!, $input: UpdateCandidateInput!) {
  updateCandidate(id: $id, input: $input) {
    candidate { id fullName company title emails { value } }
    warnings { field code message }
    userErrors { field code message }
  }
}
"""


def create(stack: Stack, **fields: Any) -> dict[str, Any]:
    body = stack.graphql(CREATE, {"input": {"account": "acme", **fields}})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createCandidate"]
    return payload


def update(stack: Stack, id: str, **fields: Any) -> dict[str, Any]:
    body = stack.graphql(UPDATE, {"id": id, "input": fields})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["updateCandidate"]
    return payload


def writes(stack: Stack) -> list[Any]:
    return [r for r in stack.emulator.requests if r.method in ("POST", "PATCH", "PUT")]


def test_create_makes_a_candidate_and_a_repeat_matches_it(stack: Stack) -> None:
    first = create(
        stack,
        firstName="Asha",
        lastName="Rao Menon",
        emails=[{"value": "asha.rao@example.com", "type": "PERSONAL"}],
        company="Acme",
        skills=["Go", "SQL"],
    )
    assert first["userErrors"] == [] and first["created"] is True
    candidate = first["candidate"]
    assert candidate["fullName"] == "Asha Rao Menon"
    assert (candidate["firstName"], candidate["lastName"]) == ("Asha", "Rao Menon")
    assert stack.orgs["acme"].candidates[candidate["remoteId"]].email == "asha.rao@example.com"
    again = create(stack, firstName="A", lastName="R", emails=[{"value": "ASHA.RAO@example.com"}])
    assert again["created"] is False
    assert again["candidate"]["id"] == candidate["id"]
    fetched = stack.graphql(
        "query($id: ID!) { candidate(id: $id) { company } }", {"id": candidate["id"]}
    )
    assert fetched["data"]["candidate"]["company"] == "Acme"


def test_create_with_an_application(stack: Stack) -> None:
    job = stack.orgs["acme"].jobs[1]
    payload = create(
        stack,
        fullName="Ravi Kumar",
        emails=[{"value": "ravi.k@example.com"}],
        application={
            "jobId": encode_id("Job", "acme", job.id),
            "status": "shortlisted",
            "notes": "Strong",
        },
    )
    [application] = payload["candidate"]["applications"]
    assert application == {
        "status": "ACTIVE",
        "rawStatus": "Shortlisted",
        "notes": "Strong",
        "job": {"id": encode_id("Job", "acme", job.id)},
    }


def test_invalid_pipeline_status_is_a_user_error_and_creates_nothing(stack: Stack) -> None:
    count = len(stack.orgs["acme"].candidates)
    job = stack.orgs["acme"].jobs[0]
    payload = create(
        stack,
        fullName="Nope",
        emails=[{"value": "nope@example.com"}],
        application={"jobId": encode_id("Job", "acme", job.id), "status": "Teleported"},
    )
    assert payload["candidate"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "application", "status"],
            "code": "INVALID_PIPELINE_STATUS",
            "message": payload["userErrors"][0]["message"],
        }
    ]
    assert len(stack.orgs["acme"].candidates) == count


def test_bad_input_is_refused_without_an_upstream_call(stack: Stack) -> None:
    other_job = encode_id("Job", "globex", stack.orgs["globex"].jobs[0].id)
    cases = [
        (
            {"fullName": "X", "emails": [{"value": "not-an-email"}]},
            ["input", "emails", "0", "value"],
            "BAD_USER_INPUT",
        ),
        ({"fullName": "X"}, ["input", "emails"], "REQUIRED"),
        ({"emails": [{"value": "x@example.com"}]}, ["input", "firstName"], "REQUIRED"),
        (
            {
                "fullName": "X",
                "emails": [{"value": "x@example.com"}],
                "application": {"jobId": other_job},
            },
            ["input", "application", "jobId"],
            "NOT_FOUND",
        ),
        (
            {"fullName": "X", "emails": [{"value": "x@example.com"}], "noticePeriodDays": -1},
            ["input", "noticePeriodDays"],
            "BAD_USER_INPUT",
        ),
        (
            {
                "fullName": "X",
                "emails": [{"value": "x@example.com"}],
                "currentCompensation": {"amount": 1, "currency": "USD"},
            },
            ["input", "currentCompensation"],
            "UNSUPPORTED_VALUE",
        ),
        (  # a list is bounded: each item would be sent on
            {"fullName": "X", "emails": [{"value": f"x{n}@example.com"} for n in range(51)]},
            ["input", "emails"],
            "BAD_USER_INPUT",
        ),
        (
            {"fullName": "X", "emails": [{"value": "x@example.com"}], "tags": ["t"] * 51},
            ["input", "tags"],
            "BAD_USER_INPUT",
        ),
        (
            {"fullName": "X", "emails": [{"value": "x@example.com"}], "skills": ["s" * 501]},
            ["input", "skills"],
            "BAD_USER_INPUT",
        ),
    ]
    for fields, field, code in cases:
        payload = create(stack, **fields)
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], fields
        assert payload["candidate"] is None
    assert writes(stack) == []
    body = stack.graphql(
        CREATE,
        {"input": {"account": "nope", "fullName": "X", "emails": [{"value": "x@example.com"}]}},
    )
    assert body["data"]["createCandidate"]["userErrors"][0]["field"] == ["input", "account"]
    assert body["data"]["createCandidate"]["userErrors"][0]["code"] == "NOT_FOUND"


def test_values_talynce_cannot_hold_come_back_as_warnings(stack: Stack) -> None:
    payload = create(
        stack,
        fullName="Meera Iyer",
        emails=[{"value": "meera@example.com"}, {"value": "meera.work@example.com"}],
        tags=["vip"],
    )
    assert payload["created"] is True
    assert {(tuple(w["field"]), w["code"]) for w in payload["warnings"]} == {
        (("input", "emails"), "IGNORED_VALUES"),
        (("input", "tags"), "IGNORED_FIELD"),
    }
    assert payload["candidate"]["emails"] == [{"value": "meera@example.com"}]


def test_update_sends_only_the_fields_given_and_null_clears(stack: Stack) -> None:
    someone = next(
        c
        for c in stack.orgs["acme"].ordered_candidates()
        if c.talent_pool_status == "not_linked" and c.current_designation
    )
    id = encode_id("Candidate", "acme", someone.id)
    payload = update(stack, id, company="Initrode", title=None)
    assert payload["userErrors"] == []
    assert payload["candidate"]["company"] == "Initrode"
    assert payload["candidate"]["title"] is None
    [patch] = writes(stack)
    assert patch.method == "PATCH"
    assert patch.body == {"current_company": "Initrode", "current_designation": None}
    stored = stack.orgs["acme"].candidates[someone.id]
    assert stored.current_company == "Initrode" and stored.current_designation is None


def test_update_of_one_name_part_keeps_the_other(stack: Stack) -> None:
    someone = stack.orgs["acme"].ordered_candidates()[3]
    last = someone.full_name.split(" ", 1)[1]
    payload = update(stack, encode_id("Candidate", "acme", someone.id), firstName="Zed")
    assert payload["candidate"]["fullName"] == f"Zed {last}"


def test_locked_fields_of_masked_candidates_need_a_reveal(stack: Stack) -> None:
    org = stack.orgs["acme"]
    masked = org.candidates[org.masked_ids()[0]]
    before = (masked.email, masked.phone_number, masked.current_company)
    id = encode_id("Candidate", "acme", masked.id)
    payload = update(stack, id, emails=[{"value": "new@example.com"}], company="Hooli")
    assert payload["candidate"] is None
    assert payload["userErrors"][0]["code"] == "TALENT_POOL_REVEAL_REQUIRED"
    assert payload["userErrors"][0]["field"] == ["input", "emails"]
    assert (masked.email, masked.phone_number, masked.current_company) == before
    allowed = update(stack, id, company="Hooli")
    assert allowed["userErrors"] == [] and allowed["candidate"]["company"] == "Hooli"


def test_update_refuses_bad_ids_and_clearing_required_fields(stack: Stack) -> None:
    cases = [
        ("garbage", {"company": "X"}, ["id"], "BAD_USER_INPUT"),
        (encode_id("Candidate", "nope", "1"), {"company": "X"}, ["id"], "NOT_FOUND"),
        (encode_id("Job", "acme", "1"), {"company": "X"}, ["id"], "BAD_USER_INPUT"),
        (
            encode_id("Candidate", "acme", stack.orgs["acme"].ordered_candidates()[0].id),
            {"emails": []},
            ["input", "emails"],
            "BAD_USER_INPUT",
        ),
    ]
    for id, fields, field, code in cases:
        payload = update(stack, id, **fields)
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], id
    assert writes(stack) == []
    missing = update(
        stack, encode_id("Candidate", "acme", "00000000-0000-4000-8000-000000000000"), company="X"
    )
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [(["id"], "NOT_FOUND")]


def test_upstream_failure_in_a_mutation_is_an_error_with_a_code(stack: Stack) -> None:
    stack.orgs["acme"].outage = True
    body = stack.graphql(
        CREATE,
        {"input": {"account": "acme", "fullName": "X", "emails": [{"value": "x@example.com"}]}},
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {  # a 503 after sending: it may have been stored
        "code": "UPSTREAM_OUTCOME_UNKNOWN",
        "account": "acme",
        "provider": "talynce",
    }
