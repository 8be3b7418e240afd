"""Query limits checked at validation, before anything runs: depth, aliases, fields and cost.

Every limit is counted as if fragments were expanded (so spreading a fragment is no way around
a limit), yet nothing is ever expanded: each selection set, fragments included, is summed up
once, and a spread adds its fragment's summary. A document whose fragments each spread the
next one twice (20 levels is a million fields) therefore costs time linear in its text, not in
its expansion. Counts saturate at SATURATED, so even 2^300 stays a cheap number.

Cost counts what a query may make the gateway fetch and send: every field counts once per
object it is asked of, and a list field multiplies what is under it by its page size (`first`,
or the most a variable could ask for), `nodes` by the number of ids (or the most a variable
could hold) and, for `applications` and `stages`, by an assumed fan-out per object. Since
cost is linear in that incoming weight, a selection set's cost is its weight times its cost at
weight 1. Introspection fields count as fields (and their aliases as aliases)
but not for depth or cost. They have a budget of their own instead: what is under `__schema` and
`__type` is costed like any selection, its lists (`types`, `fields`, `args`, …) multiplied by
assumed sizes, and an operation may ask for twice what the fullest introspection query does.
The schema bounds each introspection, but not how many an operation repeats (`fields { type {
fields } }` under 12 aliases answered 2.6 MB after 6 s of CPU).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    Visitor,
    get_introspection_query,
    parse,
    visit,
)

__all__ = [
    "SATURATED",
    "QueryLimits",
    "Summary",
    "limit_errors",
    "limits_rule",
    "literal_errors",
    "summarize",
]

PAGED_FIELDS = {"candidates": ("first", 20, 100), "jobs": ("first", 20, 100)}  # and Job.candidates
LISTED_FIELDS = {"nodes": ("ids", 100)}  # a list argument's length is the field's fan-out
FANNED_FIELDS = {"applications": 10, "stages": 10}  # Candidate.applications: no arguments
# Introspection's lists, with sizes of the order of the gateway's schema (no field of its own
# has these names). Only their ratio to the fullest introspection query matters.
INTROSPECTION_FANNED = {
    "types": 100,
    "fields": 20,
    "inputFields": 20,
    "args": 5,
    "enumValues": 20,
    "interfaces": 5,
    "possibleTypes": 10,
    "directives": 10,
}
INTROSPECTION_ROOTS = {"__schema", "__type"}
SATURATED = 10**15  # far over any limit; counts stop growing here


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3000
    max_cost: int = 20_000  # leaves count: a 100-candidate page with applications is ~12 000
    max_body_bytes: int = 64 * 1024
    max_fields: int = 2000


@dataclass(frozen=True, slots=True)
class Summary:
    """A selection set as if its fragments were expanded: levels of fields under it, aliases
    and fields in it, and its cost when asked once (its cost at weight w is w times that)."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    cost: int = 0
    introspection: int = 0  # the cost of what it asks of `__schema` and `__type`


EMPTY = Summary()


def _add(a: int, b: int) -> int:
    return min(a + b, SATURATED)


def _times(a: int, b: int) -> int:
    return min(a * b, SATURATED)


def _page_size(field: FieldNode, argument: str, default: int, cap: int) -> int:
    for arg in field.arguments or ():
        if arg.name.value == argument:
            if isinstance(arg.value, IntValueNode):
                return max(1, min(int(arg.value.value), cap))
            return cap  # a variable: assume the most it could ask for
    return default


def _list_length(field: FieldNode, argument: str, cap: int) -> int:
    for arg in field.arguments or ():
        if arg.name.value == argument:
            if isinstance(arg.value, ListValueNode):
                return max(1, min(len(arg.value.values), cap))
            return cap  # a variable: assume the most it could hold
    return 1


def _multiplier(field: FieldNode) -> int:
    name = field.name.value
    if name == "applications" and field.arguments:  # Query.applications, a page of them
        return _page_size(field, "first", 20, 100)
    if name in PAGED_FIELDS:
        return _page_size(field, *PAGED_FIELDS[name])
    if name in LISTED_FIELDS:
        return _list_length(field, *LISTED_FIELDS[name])
    return FANNED_FIELDS.get(name, INTROSPECTION_FANNED.get(name, 1))


class _Summaries:
    """Summaries of a document's selection sets, each computed once (by node identity).

    Iterative, so neither a long chain of fragments nor deep nesting can exhaust Python's
    stack; a fragment spread on the path that leads to it (a cycle, which validation reports
    on its own) counts as empty instead of looping.
    """

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.done: dict[int, Summary] = {}

    def _inner(self, selections: SelectionSetNode) -> Iterable[SelectionSetNode]:
        """The selection sets a summary of `selections` is made of."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode | InlineFragmentNode):
                if selection.selection_set is not None:
                    yield selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield fragment.selection_set

    def of(self, root: SelectionSetNode) -> Summary:
        entered: set[int] = set()
        stack = [root]
        while stack:
            node = stack[-1]
            key = id(node)
            if key in self.done:
                stack.pop()
            elif key in entered:
                stack.pop()
                self.done[key] = self._combine(node)
            else:
                entered.add(key)
                stack.extend(
                    inner
                    for inner in self._inner(node)
                    if id(inner) not in self.done and id(inner) not in entered
                )
        return self.done[id(root)]

    def _summary(self, selections: SelectionSetNode | None) -> Summary:
        return EMPTY if selections is None else self.done.get(id(selections), EMPTY)

    def _combine(self, selections: SelectionSetNode) -> Summary:
        depth = aliases = fields = cost = introspection = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                inner = self._summary(selection.selection_set)
                own_alias = 0 if selection.alias is None else 1
                aliases = _add(aliases, own_alias + inner.aliases)
                fields = _add(fields, 1 + inner.fields)
                if selection.name.value.startswith("__"):
                    depth = max(depth, 1)  # introspection: bounded by the schema
                    cost = _add(cost, 1)
                    if selection.name.value in INTROSPECTION_ROOTS:
                        introspection = _add(introspection, 1 + inner.cost)
                else:
                    depth = max(depth, 1 + inner.depth)
                    multiplier = _multiplier(selection)
                    cost = _add(cost, _times(multiplier, 1 + inner.cost))
                    introspection = _add(introspection, _times(multiplier, inner.introspection))
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner = self._summary(selection.selection_set)
                else:
                    assert isinstance(selection, FragmentSpreadNode)
                    fragment = self.fragments.get(selection.name.value)
                    inner = EMPTY if fragment is None else self._summary(fragment.selection_set)
                depth = max(depth, inner.depth)
                aliases = _add(aliases, inner.aliases)
                fields = _add(fields, inner.fields)
                cost = _add(cost, inner.cost)
                introspection = _add(introspection, inner.introspection)
        return Summary(depth, aliases, fields, cost, introspection)


def summarize(document: DocumentNode) -> dict[OperationDefinitionNode, Summary]:
    """Each operation of `document`, summed up with its fragments as if they were expanded."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    summaries = _Summaries(fragments)
    return {
        d: summaries.of(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def _excesses(summary: Summary, limits: QueryLimits) -> Iterable[str]:
    checks = (
        ("depth", summary.depth, limits.max_depth),
        ("aliases", summary.aliases, limits.max_aliases),
        ("fields", summary.fields, limits.max_fields),
        ("cost", summary.cost, limits.max_cost),
        ("introspection", summary.introspection, MAX_INTROSPECTION),
    )
    for what, found, allowed in checks:
        if found > allowed:
            amount = "" if found >= SATURATED else f" {found}"
            yield f"query {what}{amount} is over the limit of {allowed}"


class _LongIntegers(Visitor):
    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most
        self.found: list[IntValueNode] = []

    def enter_int_value(self, node: IntValueNode, *_: Any) -> None:
        if len(node.value.lstrip("-")) > self.most:
            self.found.append(node)


def literal_errors(document: DocumentNode) -> list[GraphQLError]:
    """BAD_USER_INPUT for each integer literal too long for Python to read.

    graphql-core reads an Int literal with int(), which refuses more than
    sys.get_int_max_str_digits() digits with a ValueError: the document was answered INTERNAL,
    with a traceback in the log, instead of as the client's mistake. No value the schema takes
    (an Int, or an ID or Float written as an integer) is anywhere near that long.
    """
    most = sys.get_int_max_str_digits()
    if most == 0:  # the interpreter reads integers of any length
        return []
    text = document.loc.source.body if document.loc is not None else None
    if text is not None and re.search(rf"\d{{{most + 1}}}", text) is None:
        return []  # no run of digits that long anywhere: no walk of the document (a few ms)
    visitor = _LongIntegers(most)
    visit(document, visitor)
    message = f"an integer literal is longer than {most} digits"
    return [
        GraphQLError(message, node, extensions={"code": "BAD_USER_INPUT"}) for node in visitor.found
    ]


def limit_errors(document: DocumentNode, limits: QueryLimits) -> list[GraphQLError]:
    """BAD_USER_INPUT for integer literals nothing can read (`literal_errors`), else
    QUERY_TOO_COMPLEX for each limit an operation of `document` goes over."""
    unreadable = literal_errors(document)
    if unreadable:
        return unreadable
    return [
        GraphQLError(message, operation, extensions={"code": "QUERY_TOO_COMPLEX"})
        for operation, summary in summarize(document).items()
        for message in _excesses(summary, limits)
    ]


def limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """The same check as a graphql-core validation rule (the gateway runs `limit_errors` ahead
    of validation instead, so that nothing else looks at a document over the limits)."""

    class QueryLimitsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            for error in limit_errors(node, limits):
                self.report_error(error)

    return QueryLimitsRule


def _fullest_introspection() -> int:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
        one_of=True,
    )
    return max(summary.introspection for summary in summarize(parse(query)).values())


MAX_INTROSPECTION = 2 * _fullest_introspection()
"""The introspection an operation may ask for: twice the fullest introspection query's, so
every tool's own query (each asks for about as much) and one more read of a type pass."""
