"""Reading a listing's rows: the readable ones mapped, the unreadable ones left out and counted.

One row a provider sends without an id (or not as an object) is that row's failure, not its
account's: the rest of its page is still served, and the page says how many were left out
and where (`Page.gaps`), so positions that count the provider's rows pass over them and the
gateway reports them as a partial error.

A `Mapper` that can tell a readable row apart without mapping it lets `read_rows` map rows
when they are first read (`LazyRecords`): read-ahead keeps whole provider pages (100 rows)
of which a page of a listing shows a few, and mapping every row up front cost ~25 µs a row
on one core before the page could answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar, overload

__all__ = ["LazyRecords", "Mapper", "Rows", "gaps_after", "kept", "read_rows"]

T = TypeVar("T")
Rows: TypeAlias = tuple[Sequence[T], tuple[int, ...]]
"""Records read from a page, and where its unreadable rows were among them."""


_MAPPERS: dict[str, Mapper[Any]] = {}


@dataclass(frozen=True, slots=True)
class Mapper(Generic[T]):
    """A row mapping in two steps: `readable` (cheap, and the only way a row fails) and `read`,
    which maps a readable row and never fails. Called, it is the one-step mapping: the record,
    or None for a row it cannot read.

    `name` is unique: a page kept outside the process (Redis) stores its rows as the provider
    sent them with the name of their mapper, so it is mapped as it is read there too."""

    name: str
    readable: Callable[[Any], bool]
    read: Callable[[Any], T]

    def __post_init__(self) -> None:
        if self.name in _MAPPERS:
            raise ValueError(f"a row mapper is already named {self.name!r}")
        _MAPPERS[self.name] = self

    def __call__(self, raw: Any) -> T | None:
        return self.read(raw) if self.readable(raw) else None

    @staticmethod
    def named(name: str) -> Mapper[Any]:
        """The mapper of that name; KeyError when none is."""
        return _MAPPERS[name]


_UNREAD: Any = object()


class LazyRecords(Sequence[T]):
    """Readable rows, each mapped the first time it is read and then kept; a slice shares
    them, so a row kept in a read-ahead page is mapped once whichever page shows it."""

    __slots__ = ("_done", "_rows", "_start", "_stop", "mapper")

    def __init__(
        self,
        rows: Sequence[Any],
        mapper: Mapper[T],
        done: list[Any] | None = None,
        start: int = 0,
        stop: int | None = None,
    ) -> None:
        self._rows = rows
        self.mapper = mapper
        self._done = done if done is not None else [_UNREAD] * len(rows)
        self._start = start
        self._stop = len(rows) if stop is None else stop

    def __len__(self) -> int:
        return self._stop - self._start

    def _at(self, index: int) -> T:
        record = self._done[index]
        if record is _UNREAD:
            record = self._done[index] = self.mapper.read(self._rows[index])
        return record  # type: ignore[no-any-return]

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> LazyRecords[T]: ...

    def __getitem__(self, index: int | slice) -> T | LazyRecords[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("LazyRecords slices take every row")
            stop = max(start, stop)
            return LazyRecords(
                self._rows, self.mapper, self._done, self._start + start, self._start + stop
            )
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("record index out of range")
        return self._at(self._start + index)

    def rows(self) -> list[Any]:
        """The provider's rows these records are read from, as it sent them."""
        return list(self._rows[self._start : self._stop])

    def __iter__(self) -> Iterator[T]:
        for index in range(self._start, self._stop):
            yield self._at(index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"LazyRecords({tuple(self)!r})"


def read_rows(
    rows: Iterable[Any],
    mapper: Callable[[Any], T | None],
    keep: Callable[[T], bool] | None = None,
) -> Rows[T]:
    """The records `mapper` reads from `rows` (those `keep` keeps, if given), and for each row it
    cannot read (None) the number of those records before it. With a `Mapper` and nothing to
    keep by, the records are mapped as they are first read."""
    gaps: list[int] = []
    if isinstance(mapper, Mapper) and keep is None:
        readable: list[Any] = []
        for row in rows:
            if mapper.readable(row):
                readable.append(row)
            else:
                gaps.append(len(readable))
        return LazyRecords(readable, mapper), tuple(gaps)
    records: list[T] = []
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
