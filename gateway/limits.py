"""Query limits checked at validation, before anything runs: depth, aliases and cost.

One walk over each operation, with fragments expanded (so spreading a fragment is no way around
a limit), reports every excess as QUERY_TOO_COMPLEX. Cost counts the objects a query may make
the gateway fetch: a list field multiplies what is under it by its page size (`first`, or the
most a variable could ask for) or, for `applications`, by an assumed fan-out per candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

__all__ = ["QueryLimits", "limits_rule"]

PAGED_FIELDS = {"candidates": ("first", 20, 100)}
FANNED_FIELDS = {"applications": 10}


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3000
    max_cost: int = 5000
    max_body_bytes: int = 64 * 1024


@dataclass
class _Tally:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


def _page_size(field: FieldNode, argument: str, default: int, cap: int) -> int:
    for arg in field.arguments or ():
        if arg.name.value == argument:
            if isinstance(arg.value, IntValueNode):
                return max(1, min(int(arg.value.value), cap))
            return cap  # a variable: assume the most it could ask for
    return default


def _walk(
    selections: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    tally: _Tally,
    depth: int,
    weight: int,
    seen: frozenset[str],
) -> None:
    if selections is None:
        return
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if selection.alias is not None:
                tally.aliases += 1
            name = selection.name.value
            if selection.selection_set is None or name.startswith("__"):
                continue  # introspection is bounded by the schema; it can be switched off
            inner = weight
            if name in PAGED_FIELDS:
                inner = weight * _page_size(selection, *PAGED_FIELDS[name])
            elif name in FANNED_FIELDS:
                inner = weight * FANNED_FIELDS[name]
            tally.cost += inner
            tally.depth = max(tally.depth, depth + 1)
            _walk(selection.selection_set, fragments, tally, depth + 1, inner, seen)
        elif isinstance(selection, InlineFragmentNode):
            _walk(selection.selection_set, fragments, tally, depth, weight, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                _walk(fragment.selection_set, fragments, tally, depth, weight, seen | {name})


def limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    class QueryLimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments = {
                d.name.value: d
                for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            tally = _Tally()
            _walk(node.selection_set, self.fragments, tally, 0, 1, frozenset())
            checks = (
                ("depth", tally.depth, limits.max_depth),
                ("aliases", tally.aliases, limits.max_aliases),
                ("cost", tally.cost, limits.max_cost),
            )
            for what, found, allowed in checks:
                if found > allowed:
                    self.report_error(
                        GraphQLError(
                            f"query {what} {found} is over the limit of {allowed}",
                            node,
                            extensions={"code": "QUERY_TOO_COMPLEX"},
                        )
                    )

    return QueryLimitsRule
