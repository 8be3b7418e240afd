"""What a turn of the loop asks for is fetched together, and every caller gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from store.turn_batch import TurnBatch


class Fetches:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    async def __call__(self, keys: list[str]) -> list[str]:
        self.calls.append(keys)
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        return [key.upper() for key in keys]


async def test_one_fetch_per_turn_and_each_caller_its_own_values() -> None:
    fetch = Fetches()
    batch: TurnBatch[str] = TurnBatch(fetch)
    found = await asyncio.gather(batch.get(["a"]), batch.get(["b", "c"]), batch.get(["a"]))
    assert found == [["A"], ["B", "C"], ["A"]]
    assert fetch.calls == [["a", "b", "c", "a"]]
    assert await batch.get(["d"]) == ["D"]  # a later turn fetches again
    assert len(fetch.calls) == 2


async def test_a_failed_fetch_reaches_every_caller_of_its_turn() -> None:
    batch: TurnBatch[str] = TurnBatch(Fetches(fail=ConnectionError("down")))
    found = await asyncio.gather(batch.get(["a"]), batch.get(["b"]), return_exceptions=True)
    assert [type(error) for error in found] == [ConnectionError, ConnectionError]


async def test_a_caller_that_gave_up_does_not_hold_back_the_others() -> None:
    fetch = Fetches()
    batch: TurnBatch[str] = TurnBatch(fetch)
    leaving = asyncio.ensure_future(batch.get(["a"]))
    staying = asyncio.ensure_future(batch.get(["b"]))
    await asyncio.sleep(0)
    leaving.cancel()
    assert await staying == ["B"]
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert fetch.calls == [["a", "b"]]
