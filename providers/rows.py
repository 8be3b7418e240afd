"""Reading a listing's rows: the readable ones mapped, the unreadable ones left out and counted.

One row a provider sends without an id (or not as an object) is that row's failure, not its
account's: the rest of its page is still served, and the page says how many were left out
and where (`Page.gaps`), so positions that count the provider's rows pass over them and the
gateway reports them as a partial error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias, TypeVar

__all__ = ["Rows", "gaps_after", "kept", "read_rows"]

T = TypeVar("T")
Rows: TypeAlias = tuple[tuple[T, ...], tuple[int, ...]]
"""Records read from a page, and where its unreadable rows were among them."""


def read_rows(
    rows: Iterable[Any],
    mapper: Callable[[Any], T | None],
    keep: Callable[[T], bool] | None = None,
) -> Rows[T]:
    """The records `mapper` reads from `rows` (those `keep` keeps, if given), and for each row it
    cannot read (None) the number of those records before it."""
    records: list[T] = []
    gaps: list[int] = []
    for row in rows:
        record = mapper(row)
        if record is None:
            gaps.append(len(records))
        elif keep is None or keep(record):
            records.append(record)
    return tuple(records), tuple(gaps)


def kept(records: Sequence[T], gaps: tuple[int, ...], keep: Callable[[T], bool]) -> Rows[T]:
    """`records` filtered by `keep`, with `gaps` placed among the records kept."""
    before = [0]
    for record in records:
        before.append(before[-1] + bool(keep(record)))
    return tuple(r for r in records if keep(r)), tuple(before[gap] for gap in gaps)


def gaps_after(gaps: tuple[int, ...], skip: int) -> tuple[int, ...]:
    """The gaps of a page read again from its start with its first `skip` records passed over:
    those after the `skip`th record (the read that used it reported the ones before), counted
    from the first record handed out."""
    return tuple(gap - skip for gap in gaps if gap > skip or skip == 0)
