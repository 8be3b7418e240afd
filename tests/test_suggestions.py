"""With introspection off, errors suggest no names: "Did you mean 'candidate'?" would hand out
the schema that switching introspection off is meant to keep to itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Stack, make_orgs, running_stack

CREATE = "mutation($i: CreateCandidateInput!) { createCandidate(input: $i) { created } }"
GOOD_INPUT = {"account": "acme", "fullName": "X", "emails": [{"value": "x@example.com"}]}

# (what the client sends, a name the schema has that the client never wrote)
MISTAKES: dict[str, tuple[str, dict[str, Any] | None, str]] = {
    "field": ("{ candidat { id } }", None, "'candidates'"),
    "nested field": ("{ candidates { edges { nod { id } } } }", None, "'node'"),
    "argument": ("{ candidates(frist: 2) { totalCount } }", None, "'first'"),
    "directive argument": ("{ accounts @skip(iff: true) { id } }", None, "'if'"),
    "type": ("query($x: Candidat) { accounts { id } }", None, "'Candidate'"),
    "fragment type": ("fragment F on Candidat { id } { ...F }", None, "'Candidate'"),
    "input field": (
        'mutation { createCandidate(input: {account: "acme", fullNam: "X"}) { created } }',
        None,
        "'fullName'",
    ),
    "enum value": (
        'mutation { createCandidate(input: {account: "acme", fullName: "X", '
        'emails: [{value: "x@example.com", type: WROK}]}) { created } }',
        None,
        "'WORK'",
    ),
    "variable input field": (CREATE, {"i": {"account": "acme", "fullNam": "X"}}, "'fullName'"),
    "variable enum value": (
        CREATE,
        {"i": GOOD_INPUT | {"emails": [{"value": "x@example.com", "type": "WROK"}]}},
        "'WORK'",
    ),
}


@pytest.fixture(scope="module", params=[False, True], ids=["introspection-off", "on"])
def gateway(request: pytest.FixtureRequest) -> Iterator[tuple[Stack, bool]]:
    with running_stack(make_orgs(), introspection=request.param) as stack:
        yield stack, request.param


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
def test_errors_name_nothing_the_client_did_not_write_when_introspection_is_off(
    gateway: tuple[Stack, bool], mistake: tuple[str, dict[str, Any] | None, str]
) -> None:
    stack, introspection = gateway
    query, variables, hidden_name = mistake
    before = len(stack.emulator.requests)
    body = stack.graphql(query, variables)
    messages = " | ".join(e["message"] for e in body["errors"])
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert len(stack.emulator.requests) == before
    if introspection:  # suggestions help while the schema is public anyway
        assert hidden_name in messages and "Did you mean" in messages
    else:
        assert hidden_name not in messages and "Did you mean" not in messages, messages
