"""Look-ahead over a field's selection: what the page prefetches and whether cursors are signed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse

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
    return SimpleNamespace(_raw_info=SimpleNamespace(field_nodes=[root], fragments=fragments))


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


def test_a_fragment_spread_twice_or_in_a_cycle_is_read_once() -> None:
    document = """
    query { candidates { ...A ...A } }
    fragment A on CandidateConnection { edges { node { id } } ...A }
    """
    assert selects(info_for(document), "edges", "node", "id")
    assert not selects(info_for(document), "edges", "node", "applications")
