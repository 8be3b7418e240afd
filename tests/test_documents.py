"""The schema parses and validates a request's document itself, with no per-request extensions.

What the extensions did before must still hold on both of Strawberry's paths (async and sync):
the token limit, introspection switched off, each text parsed and validated once, and the
operation's name noted for metrics and the request log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import strawberry

from gateway.documents import check_hooks
from gateway.limits import QueryLimits
from gateway.schema import GatewaySchema, build_schema

SCHEMA = build_schema()


@dataclass
class RequestNotes:
    operation_name: str | None = None


def _tokens(count: int) -> str:
    """A valid query of exactly `count` tokens: `{`, `__typename` aliased, and `}`."""
    aliases = (count - 2) // 3
    return "{ " + " ".join(f"a{i}: __typename" for i in range(aliases)) + " }"


async def test_a_document_past_the_token_limit_is_refused_before_it_is_parsed_whole() -> None:
    schema = build_schema(QueryLimits(max_tokens=50, max_aliases=100))
    assert (await schema.execute(_tokens(50))).errors is None
    result = await schema.execute(_tokens(53))
    assert result.data is None and result.errors is not None
    assert "more than 50 tokens" in result.errors[0].message
    assert "more than 50 tokens" in (schema.execute_sync(_tokens(53)).errors or [])[0].message


async def test_introspection_switched_off_is_refused_on_both_paths() -> None:
    schema = build_schema(introspection=False)
    query = "{ __schema { queryType { name } } }"
    for result in (await schema.execute(query), schema.execute_sync(query)):
        assert result.data is None and result.errors is not None
        assert "introspection" in result.errors[0].message.lower()
    assert (await SCHEMA.execute(query)).data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_each_text_is_parsed_and_validated_once() -> None:
    schema = build_schema()
    assert schema.documents is not None
    for _ in range(3):
        assert (await schema.execute("{ __typename }")).errors is None
        assert schema.execute_sync("{ __typename }").errors is None
    assert schema.documents.parsed() == 1
    assert len(schema.documents.results) == 1
    assert not schema.extensions  # no hooks built per request


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("query Listing { __typename }", None, "Listing"),
        ("query A { __typename } query B { __typename }", "B", "B"),
        ("{ __typename }", None, None),
        ("query Broken { nope }", None, "Broken"),
    ],
)
async def test_the_operation_name_is_noted_in_the_request_context(
    query: str, name: str | None, expected: str | None
) -> None:
    for execute in (_execute_async, _execute_sync):
        notes = RequestNotes(operation_name="stale")
        await execute(SCHEMA, query, name, notes)
        assert notes.operation_name == expected


async def _execute_async(
    schema: GatewaySchema, query: str, name: str | None, notes: object
) -> None:
    await schema.execute(query, operation_name=name, context_value=notes)


async def _execute_sync(schema: GatewaySchema, query: str, name: str | None, notes: object) -> None:
    schema.execute_sync(query, operation_name=name, context_value=notes)


async def test_a_syntax_error_is_reported_with_its_location() -> None:
    for result in (await SCHEMA.execute("{ candidates {"), SCHEMA.execute_sync("{ candidates {")):
        assert result.data is None and result.errors is not None
        [error] = result.errors
        assert error.message.startswith("Syntax Error")
        assert error.locations is not None


def test_a_strawberry_that_no_longer_calls_the_hooks_is_refused_at_start() -> None:
    class Renamed(strawberry.Schema):
        async def execute(self, *args: Any, **kwargs: Any) -> Any:  # calls no hook
            return None

    check_hooks(strawberry.Schema)  # the pinned version calls every one
    with pytest.raises(RuntimeError, match="execute no longer calls _create_execution_context"):
        check_hooks(Renamed)
