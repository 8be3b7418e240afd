"""The schema documents itself: every member has a description, timestamps are `DateTime`,
fixed sets of values are enums, error codes are one documented enum, and `first` takes null.

The typed fields are checked end to end: GraphQL over HTTP to the gateway, in front of the
Talynce and Greenhouse emulators over HTTP; the Talynce emulator's answers pass through a
rewriter that gives some candidates the timestamp spellings providers send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    is_specified_scalar_type,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import gateway.codes
import providers.registry
from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.codes import USER_ERROR_CODES, ErrorCode
from gateway.schema import build_schema
from gateway.settings import Settings
from gateway.types import GatewayError
from providers.base import AccountConfig
from providers.errors import ProviderError, UpstreamRateLimited
from providers.merge.wire import PROBLEM_MESSAGES
from providers.talynce.adapter import PROBLEM_CODES
from resolvers.errors import ClientError
from tests.conftest import SecretWatch, Stack, gateway_settings
from tests.servers import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent


def undocumented(schema: GraphQLSchema) -> list[str]:
    """Every type, field, argument, input field and enum value without a description."""
    missing = []
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or is_specified_scalar_type(type_):
            continue
        if not (type_.description or "").strip():
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg_name}:)"
                    for arg_name, arg in field.args.items()
                    if not (arg.description or "").strip()
                ]
        elif isinstance(type_, GraphQLInputObjectType):
            missing += [
                f"{name}.{field_name}"
                for field_name, field in type_.fields.items()
                if not (field.description or "").strip()
            ]
        elif isinstance(type_, GraphQLEnumType):
            missing += [
                f"{name}.{value_name}"
                for value_name, value in type_.values.items()
                if not (value.description or "").strip()
            ]
    return missing


def test_every_schema_member_has_a_description() -> None:
    assert undocumented(build_schema(compiled=False)._schema) == []


def test_the_completeness_check_finds_what_lacks_a_description() -> None:
    schema = build_schema(compiled=False)._schema
    schema.type_map["Email"].fields["value"].description = None  # type: ignore[attr-defined]
    try:
        assert undocumented(schema) == ["Email.value"]
    finally:
        build_schema(compiled=False)  # the field objects are the schema's own: no harm left


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _literal_codes() -> set[str]:
    """Codes the gateway writes as literals: refusals before GraphQL and GraphQL errors."""
    found = set()
    for path in (ROOT / "gateway").glob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r'"code":\s*"([A-Z_]+)"', text))
        found |= set(re.findall(r'refus\w*\(\s*(?:headers,\s*)?\d+,\s*"([A-Z_]+)"', text))
        found |= set(re.findall(r'_refuse\(\s*headers,\s*\d+,\s*"([A-Z_]+)"', text))
    return found


def test_every_code_an_error_can_carry_is_a_documented_error_code() -> None:
    assert providers.registry.PROVIDERS  # every adapter's module, and its error classes, loaded
    classes = [*_subclasses(ProviderError), ProviderError, *_subclasses(ClientError)]
    codes = {cls.code for cls in classes} | _literal_codes()  # type: ignore[attr-defined]
    assert {"UNAUTHENTICATED", "QUERY_TOO_COMPLEX", "REQUEST_TIMEOUT", "NOT_FOUND"} <= codes
    assert codes - {code.value for code in ErrorCode} == set()


def test_error_code_values_are_the_wire_strings_and_readme_lists_them_all() -> None:
    assert all(code.name == code.value for code in ErrorCode)
    readme = (ROOT / "README.md").read_text()
    errors = readme[readme.index("## Errors") :]
    errors = errors[: errors.index("\n## ", 1)]
    assert [code.value for code in ErrorCode if f"`{code.value}`" not in errors] == []


def test_an_error_code_no_one_documented_reads_internal_rather_than_failing() -> None:
    error = UpstreamRateLimited("slow down", retry_after=2.5)
    assert GatewayError.of(error).code is ErrorCode.UPSTREAM_RATE_LIMITED
    error.code = "SOMETHING_NEW"
    assert GatewayError.of(error).code is ErrorCode.INTERNAL


def test_user_error_codes_list_every_provider_problem_code() -> None:
    provider_codes = set(PROBLEM_CODES.values()) | set(PROBLEM_MESSAGES)
    assert provider_codes - set(USER_ERROR_CODES) == set()
    schema = build_schema(compiled=False)._schema
    described = schema.type_map["UserError"].fields["code"].description  # type: ignore[attr-defined]
    assert [code for code in USER_ERROR_CODES if code not in described] == []
    assert gateway.codes.WARNING_CODES


def test_typed_fields_have_their_types_in_the_exported_schema() -> None:
    schema = build_schema(compiled=False)._schema

    def type_of(type_name: str, field: str) -> str:
        return str(schema.type_map[type_name].fields[field].type)  # type: ignore[attr-defined]

    assert type_of("Candidate", "createdAt") == "DateTime"
    assert type_of("Candidate", "updatedAt") == "DateTime"
    assert type_of("Application", "appliedAt") == "DateTime"
    assert type_of("Compensation", "period") == "CompensationPeriod"
    assert type_of("CompensationInput", "period") == "CompensationPeriod"
    assert type_of("Address", "type") == "AddressType"
    assert type_of("GatewayError", "code") == "ErrorCode!"
    first = schema.type_map["Query"].fields["candidates"].args["first"]  # type: ignore[attr-defined]
    assert (str(first.type), first.default_value) == ("Int", 20)
    exported = (ROOT / "schema.graphql").read_text()
    assert "createdAt: DateTime" in exported and "enum ErrorCode {" in exported


# --- end to end -----------------------------------------------------------------------------


class Rewritten:
    """An emulator whose JSON answers pass through `edit` (which changes them in place)."""

    def __init__(self, app: ASGIApp, edit: Callable[[Any], None]) -> None:
        self.app = app
        self.edit = edit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            try:
                parsed = json.loads(body)
            except ValueError:
                pass
            else:
                self.edit(parsed)
                body = json.dumps(parsed).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)


# The spellings providers send, and what clients read for each.
TIMES = (
    ("2026-11-24T09:00:00", "2026-11-24T09:00:00Z"),  # no offset: UTC
    ("2026-11-24T09:00:00Z", "2026-11-24T09:00:00Z"),
    ("2026-11-24T14:30:00+05:30", "2026-11-24T14:30:00+05:30"),
    ("yesterday, around nine", None),  # no timestamp: null, and no error
)


def retime(times: dict[str, str]) -> Callable[[Any], None]:
    """Gives every object whose id is in `times` that `created_at` and `updated_at`."""

    def edit(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("id") in times and "created_at" in value:
                value["created_at"] = value["updated_at"] = times[value["id"]]
            for item in value.values():
                edit(item)
        elif isinstance(value, list):
            for item in value:
                edit(item)

    return edit


@dataclass
class Timed:
    stack: Stack
    expected: dict[str, str | None]  # candidate and application remote ids → what clients read


@pytest.fixture(scope="module")
def timed() -> Iterator[Timed]:
    org = TalynceOrg.seeded("acme", "key-acme-secret", candidates=20, seed=1)
    people = org.ordered_candidates()[:4]
    times, expected = {}, {}
    for person, (sent, read) in zip(people, TIMES, strict=True):
        for remote_id in [person.id, *(a.id for a in person.applications)]:
            times[remote_id], expected[remote_id] = sent, read
    emulator = TalynceEmulator([org])
    with serve_in_thread(Rewritten(emulator.app, retime(times))) as upstream:
        settings = gateway_settings(upstream, {"acme": org})
        app = SecretWatch(create_app(settings), settings.secrets())
        with serve_in_thread(app, lifespan="on") as url:
            yield Timed(Stack(url, emulator, {"acme": org}, upstream), expected)


TIMED_PAGE = """
{ candidates(first: 20) { edges { node {
    remoteId createdAt updatedAt applications { remoteId appliedAt }
    currentCompensation { amount currency period }
} } } }
"""


def test_timestamps_read_as_rfc3339_with_an_offset_and_garbage_as_null(timed: Timed) -> None:
    body = timed.stack.graphql(TIMED_PAGE)
    assert "errors" not in body, body["errors"]
    nodes = [edge["node"] for edge in body["data"]["candidates"]["edges"]]
    seen = {}
    for node in nodes:
        if node["remoteId"] in timed.expected:
            seen[node["remoteId"]] = (node["createdAt"], node["updatedAt"])
            assert node["createdAt"] == node["updatedAt"] == timed.expected[node["remoteId"]]
        for application in node["applications"]:
            if application["remoteId"] in timed.expected:
                seen[application["remoteId"]] = application["appliedAt"]
                assert application["appliedAt"] == timed.expected[application["remoteId"]]
    assert seen.keys() == timed.expected.keys()
    untouched = [n["createdAt"] for n in nodes if n["remoteId"] not in timed.expected]
    assert len(untouched) == 16
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", text) for text in untouched)


def test_compensation_period_is_an_enum_value(timed: Timed) -> None:
    body = timed.stack.graphql(TIMED_PAGE)
    pay = [e["node"]["currentCompensation"] for e in body["data"]["candidates"]["edges"]]
    assert pay.count(None) < len(pay)  # the talent pool masks some
    assert {p["period"] for p in pay if p} == {"YEAR"}
    assert {p["currency"] for p in pay if p} == {"INR"}


CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) {
    candidate { currentCompensation { amount period } }
    userErrors { field code }
  }
}
"""


def test_compensation_input_takes_the_period_enum(timed: Timed) -> None:
    def create(email: str, period: str) -> dict[str, Any]:
        pay = {"amount": 1_800_000, "currency": "INR", "period": period}
        person = {"account": "acme", "fullName": "Asha Rao", "emails": [{"value": email}]}
        body = timed.stack.graphql(CREATE, {"input": {**person, "currentCompensation": pay}})
        assert "errors" not in body, body["errors"]
        payload: dict[str, Any] = body["data"]["createCandidate"]
        return payload

    saved = create("asha.rao@example.com", "YEAR")
    assert saved["userErrors"] == []
    assert saved["candidate"]["currentCompensation"] == {"amount": 1_800_000, "period": "YEAR"}
    refused = create("asha.rao.2@example.com", "MONTH")
    assert refused["userErrors"] == [
        {"field": ["input", "currentCompensation"], "code": "UNSUPPORTED_VALUE"}
    ]
    body = timed.stack.graphql(
        CREATE,
        {"input": {"account": "acme", "currentCompensation": {"amount": 1, "period": "year"}}},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


FIRST = "query($first: Int) { candidates(first: $first) { edges { cursor } } }"


def test_first_null_gives_the_default_page_size(shared_stack: Stack) -> None:
    for body in (
        shared_stack.graphql(FIRST, {"first": None}),
        shared_stack.graphql("{ candidates(first: null) { edges { cursor } } }"),
        shared_stack.graphql(FIRST),
    ):
        assert "errors" not in body, body["errors"]
        assert len(body["data"]["candidates"]["edges"]) == 20
    assert len(shared_stack.graphql(FIRST, {"first": 3})["data"]["candidates"]["edges"]) == 3
    refused = shared_stack.graphql(FIRST, {"first": 0})
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_address_types_are_an_enum_and_keep_the_providers_label() -> None:
    org = GreenhouseOrg.seeded(
        "Hogwarts",
        partner_api_key="docs-partner-key",
        client_id="docs-client",
        client_secret="docs-secret-1",
        candidates=10,
    )
    people = list(org.candidates.values())[:3]
    for person, label in zip(people, ("work", "mailing", None), strict=True):
        person.addresses = [{"value": f"{label or 'no type'} street 1"}]
        if label:
            person.addresses[0]["type"] = label
    emulator = GreenhouseEmulator([org])
    with serve_in_thread(emulator.app) as upstream:
        account = AccountConfig(
            id="harvest",
            name="Harvest",
            provider="greenhouse",
            base_url=f"{upstream}/v3",
            credentials={"client_id": "docs-client", "client_secret": "docs-secret-1"},
            options={"api": "harvest", "user_id": org.users[0].id, "token_url": "/token"},
            retries=0,
        )
        settings = Settings((account,), cursor_secret=b"docs-cursor-secret")
        app = SecretWatch(create_app(settings), settings.secrets())
        with serve_in_thread(app, lifespan="on") as url:
            body = httpx.post(
                f"{url}/graphql",
                json={
                    "query": "{ candidates(first: 100) { edges { node { remoteId "
                    "addresses { value type rawType } } } } }"
                },
                timeout=30,
            ).json()
    assert "errors" not in body, body["errors"]
    found = {
        edge["node"]["remoteId"]: edge["node"]["addresses"]
        for edge in body["data"]["candidates"]["edges"]
    }
    assert [found[str(person.id)] for person in people] == [
        [{"value": "work street 1", "type": "WORK", "rawType": "work"}],
        [{"value": "mailing street 1", "type": "OTHER", "rawType": "mailing"}],
        [{"value": "no type street 1", "type": None, "rawType": None}],
    ]
