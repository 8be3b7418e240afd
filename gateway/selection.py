"""Whether a field's selection reaches a path, read from the query's syntax tree once per document.

Resolvers ask this to spare work nobody reads (cursors) or to batch work someone will (a page's
applications and jobs). Strawberry's `info.selected_fields` answers it too, but builds a
converted copy of the whole selection on every request; the answer depends only on the
document's nodes, which the parser cache hands out again for the same text, so it is kept per
node identity (the entry holds the nodes, so their ids cannot be reused while it lives).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, SelectionNode

__all__ = ["selects"]

MAX_ANSWERS = 4096

_answers: dict[tuple[tuple[int, ...], tuple[str, ...]], tuple[bool, Sequence[FieldNode]]] = {}


def selects(info: Any, *path: str) -> bool:
    """Whether the current field's selection reaches `path` (field names, through fragments;
    a field under @skip or @include counts as selected: this only spares or batches work)."""
    raw = info._raw_info
    nodes: Sequence[FieldNode] = raw.field_nodes
    key = (tuple(map(id, nodes)), path)
    found = _answers.get(key)
    if found is not None:
        return found[0]
    answer = _reaches(nodes, raw.fragments, path)
    if len(_answers) >= MAX_ANSWERS:
        _answers.clear()
    _answers[key] = (answer, tuple(nodes))
    return answer


def _reaches(
    nodes: Sequence[FieldNode], fragments: dict[str, FragmentDefinitionNode], path: Sequence[str]
) -> bool:
    level: list[SelectionNode] = [
        child for node in nodes if node.selection_set for child in node.selection_set.selections
    ]
    for depth, name in enumerate(path):
        found: list[SelectionNode] = []
        pending = list(level)
        seen: set[str] = set()
        while pending:
            selection = pending.pop()
            if isinstance(selection, FieldNode):
                if selection.name.value != name:
                    continue
                if depth == len(path) - 1:
                    return True
                found.extend(_children(selection))
            elif isinstance(selection, FragmentSpreadNode):
                spread = selection.name.value
                fragment = fragments.get(spread)
                if fragment is not None and spread not in seen:
                    seen.add(spread)
                    pending.extend(fragment.selection_set.selections)
            else:
                pending.extend(_children(selection))
        level = found
    return False


def _children(selection: Any) -> Iterable[SelectionNode]:
    selection_set = selection.selection_set
    return () if selection_set is None else selection_set.selections
