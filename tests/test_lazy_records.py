"""Rows mapped when first read (`providers.rows.LazyRecords`) behave as the tuple they replace."""

from __future__ import annotations

from typing import Any

import pytest

from providers.base import CandidatePage, Position
from providers.rows import LazyRecords, Mapper, read_rows
from providers.talynce.adapter import candidate_record
from store.records_json import any_page_from_json, any_page_to_json

ROWS: list[Any] = [{"id": n, "full_name": f"Person {n}"} for n in range(6)]


def counting() -> tuple[Mapper[str], list[Any]]:
    seen: list[Any] = []

    def read(raw: Any) -> str:
        seen.append(raw["id"])
        return f"record {raw['id']}"

    return Mapper(lambda raw: isinstance(raw, dict) and "id" in raw, read), seen


def test_rows_are_mapped_when_read_once_and_slices_share_them() -> None:
    mapper, seen = counting()
    records, gaps = read_rows([ROWS[0], "not an object", *ROWS[1:]], mapper)
    assert gaps == (1,) and len(records) == 6 and seen == []
    middle = records[2:4]
    assert list(middle) == ["record 2", "record 3"] and seen == [2, 3]
    assert records[3] == "record 3" and records[-1] == "record 5" and seen == [2, 3, 5]
    assert middle[1:] == ("record 3",) and records[4:2] == () and seen == [2, 3, 5]
    with pytest.raises(IndexError):
        middle[2]
    with pytest.raises(ValueError):
        records[::2]


def test_a_filter_maps_every_row_as_before() -> None:
    mapper, seen = counting()
    records, gaps = read_rows(ROWS, mapper, keep=lambda record: record != "record 1")
    assert records == tuple(f"record {n}" for n in (0, 2, 3, 4, 5)) and gaps == ()
    assert seen == list(range(6))


def test_a_page_of_lazy_records_equals_and_encodes_as_a_mapped_one() -> None:
    lazy, _ = read_rows(ROWS, candidate_record)
    assert isinstance(lazy, LazyRecords)
    eager = tuple(candidate_record.read(row) for row in ROWS)
    pages = [CandidatePage(lazy, Position("0"), "6"), CandidatePage(eager, Position("0"), "6")]
    assert pages[0] == pages[1] and eager == lazy
    assert any_page_to_json(pages[0]) == any_page_to_json(pages[1])
    assert any_page_from_json(any_page_to_json(pages[0])) == pages[1]
