"""Look-ahead over a field's selection: what the page prefetches and whether cursors are signed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
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
    # Only the syntax tree: selects() never builds Strawberry's `selected_fields` copy of it.
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


def test_a_fragment_spread_twice_is_read() -> None:
    document = """
    query { candidates { ...A ...A } }
    fragment A on CandidateConnection { edges { node { id } } ...B }
    fragment B on CandidateConnection { edges { cursor } }
    """
    assert selects(info_for(document), "edges", "node", "id")
    assert selects(info_for(document), "edges", "cursor")
    assert not selects(info_for(document), "edges", "node", "applications")


def test_answers_are_kept_per_document_not_per_text_or_field() -> None:
    """Answers are remembered by the nodes' identity: the same field in another document (or
    the same text parsed again) is read from its own tree, and a remembered answer is reused."""
    with_cursor = info_for("query { candidates { edges { cursor } } }")
    without = info_for("query { candidates { edges { node { id } } } }")
    again = info_for("query { candidates { edges { cursor } } }")
    for _ in range(2):
        assert selects(with_cursor, "edges", "cursor")
        assert not selects(without, "edges", "cursor")
        assert selects(again, "edges", "cursor")
        assert not selects(with_cursor, "edges", "node")


def test_a_fragment_cycle_never_reaches_a_resolver() -> None:
    """Validation refuses fragment cycles before any resolver could follow one."""
    document = """
    query { candidates { ...A } }
    fragment A on CandidateConnection { edges { node { id } } ...A }
    """
    result = build_schema(compiled=False).execute_sync(document)
    assert result.data is None and result.errors
    assert "cannot spread fragment" in result.errors[0].message.lower()
