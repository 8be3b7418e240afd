"""Validation results remembered per parsed document, found by the document's identity.

Strawberry's ValidationCache keys an LRU cache on the document itself, so every request hashes
the whole syntax tree again (about 22 µs for scenario A's query, more for larger ones). The
parser cache (gateway.documents) already hands back the same document object for the same
query text, so the object's identity is key enough; each entry holds its document, so that id
cannot be reused by another document while the entry lives.

Two things differ from strawberry's own validation besides the cache: a cheap check that runs
first (the query limits) stops validation when it refuses, so a document that claims a vast
amount of work is never handed to graphql-core's rules; and `hide_suggestions` leaves "Did you
mean …?" out of the messages, since with introspection off they would name schema members.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from graphql import DocumentNode, GraphQLError, validate
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

__all__ = ["OVERLAP_BUDGET", "Precheck", "ValidationResults"]

Precheck = Callable[[DocumentNode], list[GraphQLError]]

# The rules strawberry's validate_document adds to every validation.
STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)

OVERLAP_BUDGET = 50_000
"""Comparisons graphql-core's OverlappingFieldsCanBeMerged may make before it aborts a
document's validation ("Validation aborted."). They grow with the square of the fields sharing
a response name, which the query limits do not bound: under graphql-core's default (500 000)
`{ accounts { id } accounts { id } … }` 740 times, 9 KB and within every limit, held the event
loop for two to three seconds. Real documents make a few dozen comparisons; this budget (about
0.2 s of work) still lets through a document spreading a hundred fragments over one field."""
# graphql-core reads the budget from its module when each validation starts; this is its knob.
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = OVERLAP_BUDGET


class ValidationResults:
    """An LRU map from (schema, document, rules) identities to their validation errors."""

    def __init__(
        self, maxsize: int, *, first: Precheck | None = None, hide_suggestions: bool = False
    ) -> None:
        self.maxsize = maxsize
        self.first = first
        self.hide_suggestions = hide_suggestions
        self._entries: OrderedDict[tuple[int, ...], tuple[object, list[GraphQLError]]]
        self._entries = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def validate(self, schema: Any, document: Any, rules: tuple[Any, ...]) -> list[GraphQLError]:
        key = (id(schema), id(document), *map(id, rules))
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found[1]
        errors = self._validate(schema, document, rules)
        self._entries[key] = ((schema, document, rules), errors)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return errors

    def _validate(self, schema: Any, document: Any, rules: tuple[Any, ...]) -> list[GraphQLError]:
        if self.first is not None and (refused := self.first(document)):
            return refused
        return validate(
            schema, document, (*rules, *STRAWBERRY_RULES), hide_suggestions=self.hide_suggestions
        )
