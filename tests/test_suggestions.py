"""With introspection off, errors suggest no names: "Did you mean 'candidate'?" would hand out
the schema that switching introspection off is meant to keep to itself. Nor do they quote a
type, field, argument or enum value the client did not write ("on type 'CandidateEdge'")."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import build_schema as parse_sdl

from gateway.schema import build_schema
from tests.conftest import Stack, make_orgs, running_stack
from tests.ws_support import graphql_socket, ws_url

WORD = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def schema_members() -> set[str]:
    """Every name the gateway's schema defines, read from its SDL."""
    sdl = parse_sdl(build_schema().as_str())
    names = set()
    for type_ in sdl.type_map.values():
        if type_.name.startswith("__") or type_.name in BUILT_IN:
            continue
        names.add(type_.name)
        names.update(getattr(type_, "values", None) or ())
        for field_name, field in (getattr(type_, "fields", None) or {}).items():
            names.add(field_name)
            names.update(getattr(field, "args", None) or ())
    return names


MEMBERS = schema_members()

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
    "type of a field": ("{ candidates { edges { nod { id } } } }", None, "'CandidateEdge'"),
    "required argument": ("{ candidate { id } }", None, "'Query.candidate(id:)'"),
    "missing subfields": ("{ candidates }", None, "'CandidateConnection!'"),
    "required input field": (
        CREATE,
        {"i": {"fullName": "X"}},
        "'account'",
    ),
    "input type of a literal": (
        'mutation { createCandidate(input: {account: "acme", nope: 1}) { created } }',
        None,
        "'CreateCandidateInput'",
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
        assert hidden_name in messages
        return
    assert hidden_name not in messages and "Did you mean '" not in messages.replace(
        "Did you mean 'candidates { ... }'", ""
    ), messages
    written = set(WORD.findall(query + json.dumps(variables)))
    quoted = {word for part in re.findall(r"'([^']*)'", messages) for word in WORD.findall(part)}
    assert not (quoted & MEMBERS) - written, messages


STREAMED = ("field", "argument", "type of a field", "required argument", "variable enum value")


@pytest.mark.parametrize("mistake", [MISTAKES[k] for k in STREAMED], ids=STREAMED)
def test_over_sse_and_sockets_too(
    gateway: tuple[Stack, bool], mistake: tuple[str, dict[str, Any] | None, str]
) -> None:
    """SSE and graphql-transport-ws run documents through `stream`, not `execute`: their
    request errors quoted 'Query', 'Query.candidates' and 'JobStatus' with introspection off."""
    stack, introspection = gateway
    query, variables, hidden_name = mistake
    body = {"query": query, "variables": variables or {}}
    sse = httpx.post(f"{stack.url}/graphql", json=body, headers={"accept": "text/event-stream"})
    data = next(line for line in sse.text.splitlines() if line.startswith("data:"))
    over_sse = json.loads(data.partition(":")[2])["errors"]

    async def over_socket() -> list[dict[str, Any]]:
        async with graphql_socket(ws_url(stack.url)) as sock:
            await sock.subscribe("1", query, variables)
            message = await sock.receive()
        errors: list[dict[str, Any]] = message["payload"]
        return errors if message["type"] == "error" else message["payload"]["errors"]

    written = set(WORD.findall(query + json.dumps(variables)))
    for errors in (over_sse, asyncio.run(over_socket())):
        messages = " | ".join(e["message"] for e in errors)
        if introspection:
            assert hidden_name in messages
            continue
        quoted = {
            word for part in re.findall(r"'([^']*)'", messages) for word in WORD.findall(part)
        }
        assert not (quoted & MEMBERS) - written, messages
