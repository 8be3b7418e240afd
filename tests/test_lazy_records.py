"""Rows mapped when first read (`providers.rows.LazyRecords`) behave as the tuple they replace."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from providers.base import CandidatePage, Position
from providers.rows import LazyRecords, Mapper, read_rows
from providers.talynce import adapter as talynce_adapter
from providers.talynce.adapter import candidate_record
from store.records_json import any_page_from_json, any_page_to_json
from tests.conftest import make_orgs, running_stack

ROWS: list[Any] = [{"id": n, "full_name": f"Person {n}"} for n in range(6)]


def counting() -> tuple[Mapper[str], list[Any]]:
    seen: list[Any] = []

    def read(raw: Any) -> str:
        seen.append(raw["id"])
        return f"record {raw['id']}"

    named = f"test.counting.{uuid.uuid4()}"
    return Mapper(named, lambda raw: isinstance(raw, dict) and "id" in raw, read), seen


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


def test_a_page_of_lazy_records_equals_and_stores_as_a_mapped_one() -> None:
    lazy, _ = read_rows(ROWS, candidate_record)
    assert isinstance(lazy, LazyRecords)
    eager = tuple(candidate_record.read(row) for row in ROWS)
    pages = [CandidatePage(lazy, Position("0"), "6"), CandidatePage(eager, Position("0"), "6")]
    assert pages[0] == pages[1] and eager == lazy
    assert any_page_from_json(any_page_to_json(pages[0])) == pages[1]


def test_a_kept_page_is_stored_as_the_providers_rows_and_read_back_lazily() -> None:
    """Written to Redis, a read-ahead page is its rows and its mapper's name: writing it maps
    nothing, and the copy read back maps each row when it is read, to the same record."""
    mapper, seen = counting()
    records, _ = read_rows(ROWS, mapper)
    page = CandidatePage(records[2:5], Position("0", 2), "6", gaps=(1,))
    stored = json.loads(json.dumps(any_page_to_json(page)))
    assert stored["page"]["rows"] == ROWS[2:5] and "records" not in stored["page"]
    assert seen == []
    back = any_page_from_json(stored)
    assert isinstance(back.records, LazyRecords) and seen == []
    assert back == page and sorted(seen) == [2, 2, 3, 3, 4, 4]  # each copy maps its own


@pytest.mark.parametrize(
    "change",
    [{"mapper": "no such mapper"}, {"rows": [{"name": "no id"}]}, {"rows": "not a list"}],
)
def test_a_kept_page_that_cannot_be_read_back_is_refused(change: dict[str, Any]) -> None:
    records, _ = read_rows(ROWS, candidate_record)
    stored = any_page_to_json(CandidatePage(records, Position("0"), None))
    stored["page"].update(change)
    with pytest.raises(ValueError):
        any_page_from_json(stored)


LISTING = """
{ candidates(first: 30) {
    edges { node { remoteId account { id } } }
    sources { account { id } status error { code } }
} }
"""


def test_a_row_whose_mapping_fails_fails_its_account_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are mapped when first read, after the adapter returned: whatever a mapping raises
    is still its account's failure alone (INTERNAL, named), and the other accounts answer."""
    orgs = make_orgs()
    broken = {candidate.id for candidate in orgs["globex"].ordered_candidates()}
    original = talynce_adapter.candidate_record

    def read(raw: Any) -> Any:
        if str(raw["id"]) in broken:
            raise RuntimeError("a mapping bug")
        return original.read(raw)

    failing = Mapper(f"test.failing.{uuid.uuid4()}", original.readable, read)
    monkeypatch.setattr(talynce_adapter, "candidate_record", failing)
    with running_stack(orgs) as stack:
        body = stack.graphql(LISTING)
    listing = body["data"]["candidates"]
    shown = {edge["node"]["account"]["id"] for edge in listing["edges"]}
    assert shown == {"acme", "initech"} and len(listing["edges"]) == 30
    sources = {source["account"]["id"]: source for source in listing["sources"]}
    assert sources["globex"]["status"] == "ERROR"
    assert sources["globex"]["error"]["code"] == "INTERNAL"
    assert sources["acme"]["error"] is None and sources["initech"]["error"] is None
