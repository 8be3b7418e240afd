"""Look-ahead over a field's selection: what the page prefetches and whether cursors are signed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.schema import build_schema
from gateway.types import selects

DOCUMENT = """
query {
  candidates {
    pageInfo { endCursor }
    edges { ... on CandidateEdge { cursor } ...Node }
  }
}
fragment Node on CandidateEdge { node { id ...More } }
fragment More on Candidate { apps: applications { id } }
"""


def info_for(document: str) -> Any:
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    root = operation.selection_set.selections[0]
    assert isinstance(root, FieldNode)
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    raw = SimpleNamespace(field_nodes=[root], fragments=fragments, variable_values={})
    return SimpleNamespace(selected_fields=strawberry.Info(raw, None).selected_fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("edges",), True),
        (("pageInfo", "endCursor"), True),
        (("edges", "cursor"), True),
        (("edges", "node", "applications"), True),
        (("edges", "node", "apps"), False),
        (("edges", "node", "applications", "id"), True),
        (("edges", "node", "fullName"), False),
        (("node",), False),
        (("cursor",), False),
    ],
)
def test_a_path_is_found_through_inline_and_named_fragments_under_aliases(
    path: tuple[str, ...], expected: bool
) -> None:
    assert selects(info_for(DOCUMENT), *path) is expected


def test_a_fragment_spread_twice_is_read() -> None:
    document = """
    query { candidates { ...A ...A } }
    fragment A on CandidateConnection { edges { node { id } } ...B }
    fragment B on CandidateConnection { edges { cursor } }
    """
    assert selects(info_for(document), "edges", "node", "id")
    assert selects(info_for(document), "edges", "cursor")
    assert not selects(info_for(document), "edges", "node", "applications")


def test_a_fragment_cycle_never_reaches_a_resolver() -> None:
    """selects() follows fragments without a seen-set: validation refuses cycles first."""
    document = """
    query { candidates { ...A } }
    fragment A on CandidateConnection { edges { node { id } } ...A }
    """
    result = build_schema(compiled=False).execute_sync(document)
    assert result.data is None and result.errors
    assert "cannot spread fragment" in result.errors[0].message.lower()
