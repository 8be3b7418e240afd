"""A request's document, parsed and validated by the schema itself instead of by extensions.

Strawberry runs each schema extension's hooks through context managers it builds anew for
every request: with the four the gateway used (operation name, token limit, parser cache,
cached validation, and introspection off where configured), that machinery cost about 115 µs
a request, more than the parse and validation it wrapped once cached. `Documents` does the
same steps as plain calls, from `GatewaySchema`'s own hooks:

- `start` sets what an extension set at the start of the operation: the token limit the parser
  enforces and, with introspection off, the rule refusing it;
- `prepare` parses through an LRU cache of query texts and validates through `ValidationResults`,
  so Strawberry's own parse and validation steps find both done and skip them. A text that does
  not parse is left to Strawberry, which parses it again (within the token limit) and reports
  the error exactly as it always has.
"""

from __future__ import annotations

import functools
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.types import ExecutionContext

from gateway.validation_cache import ValidationResults

__all__ = ["Documents", "check_hooks"]

HOOKS = {
    "execute": ("_create_execution_context", "_prepare_operation_async"),
    "execute_sync": ("_create_execution_context", "_prepare_operation_sync"),
    "stream": ("_create_execution_context",),
    "_stream": ("_prepare_operation_async",),
}
"""Strawberry's entry points, and the hooks each calls that `GatewaySchema` overrides."""


def check_hooks(schema_class: type) -> None:
    """Refuses to start when this Strawberry no longer calls the hooks the token limit, the
    query limits and the caches ride on: a renamed private method would otherwise switch
    them off without a word. pyproject.toml pins the versions that call them."""
    for entry, hooks in HOOKS.items():
        method = getattr(schema_class, entry, None)
        code = getattr(method, "__code__", None)
        for hook in hooks:
            if code is None or hook not in code.co_names or not hasattr(schema_class, hook):
                raise RuntimeError(
                    f"strawberry.Schema.{entry} no longer calls {hook}: this Strawberry version "
                    "is not one the gateway supports (see pyproject.toml)"
                )


class Documents:
    """Parsing and validation for one schema: `maxsize` documents and results are kept."""

    def __init__(
        self, results: ValidationResults, *, max_tokens: int, introspection: bool, maxsize: int
    ) -> None:
        self.results = results
        self.max_tokens = max_tokens
        self.rules: tuple[Any, ...] = () if introspection else (NoSchemaIntrospectionCustomRule,)
        self._parse = functools.lru_cache(maxsize=maxsize)(self._parse_text)

    def parsed(self) -> int:
        """How many texts were parsed and kept: a measure for tests and the curious."""
        return self._parse.cache_info().currsize

    def _parse_text(self, query: str) -> DocumentNode:
        return parse(query, max_tokens=self.max_tokens)

    def start(self, context: ExecutionContext) -> None:
        context.parse_options["max_tokens"] = self.max_tokens
        if self.rules:
            context.validation_rules = (*context.validation_rules, *self.rules)

    def prepare(self, context: ExecutionContext) -> None:
        if context.graphql_document is not None or not context.query:
            return
        try:
            document = self._parse(context.query)
        except GraphQLError:
            return
        context.graphql_document = document
        context.pre_execution_errors = self.results.validate(
            context.schema._schema, document, tuple(context.validation_rules)
        )
