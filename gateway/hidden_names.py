"""With introspection off, request errors name no schema member the client did not write.

graphql-core's `hide_suggestions` drops "Did you mean …?", but its messages still quote names
from the schema: "Cannot query field 'x' on type 'CandidateEdge'", "Argument
'Query.candidate(id:)' of type 'ID!' is required", "Field 'CreateCandidateInput.account' of
required type 'ID!' was not provided". Each quoted part that holds a type, field, argument or
enum value name absent from the client's query text and variables is replaced by '…', so a
client learns nothing it could not have read from introspection. Built-in scalars stay (they
are in every schema).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    is_specified_scalar_type,
)

__all__ = ["HiddenNames"]

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
QUOTED = re.compile(r"'([^'\n]*)'")


def _members(schema: GraphQLSchema) -> Iterator[str]:
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or is_specified_scalar_type(type_):
            continue
        yield type_.name
        if isinstance(type_, GraphQLEnumType):
            yield from type_.values
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for name, field in type_.fields.items():
                yield name
                yield from getattr(field, "args", None) or ()


def _written(value: Any) -> Iterator[str]:
    """Every name-like word in a client's variables, keys and values."""
    if isinstance(value, str):
        yield from NAME.findall(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _written(key)
            yield from _written(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _written(item)


class HiddenNames:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.members = frozenset(_members(schema))

    def redact(
        self, errors: Iterable[GraphQLError], query: str | None, variables: Any
    ) -> list[GraphQLError]:
        """`errors` with unwritten schema names quoted as '…'; errors raised while resolving
        (they carry an original error) are the gateway's own words and stay as they are."""
        hidden = self.members - {*NAME.findall(query or ""), *_written(variables)}

        def quoted(match: re.Match[str]) -> str:
            return "'…'" if hidden.intersection(NAME.findall(match.group(1))) else match.group(0)

        kept = []
        for error in errors:
            message = error.message
            if error.original_error is None or isinstance(error.original_error, GraphQLError):
                message = QUOTED.sub(quoted, message)
            if message == error.message:
                kept.append(error)
                continue
            kept.append(
                GraphQLError(
                    message,
                    nodes=error.nodes,
                    source=error.source,
                    positions=error.positions,
                    path=error.path,
                    original_error=error.original_error,
                    extensions=error.extensions,
                )
            )
        return kept
