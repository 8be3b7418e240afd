"""store.write_behind: read-ahead's shared pages are written after the caller moved on.

The backend behind it here is the in-memory one with a gate on `write`, so each test decides
when the "Redis" write may finish and sees what the caller saw meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from store.cache import Kind, MemoryCacheBackend, Miss
from store.write_behind import WriteBehind


class GatedBackend(MemoryCacheBackend):
    """Writes wait for `gate`; `fail` makes them raise instead."""

    def __init__(self) -> None:
        super().__init__(ttl=60)
        self.gate = asyncio.Event()
        self.fail = False

    async def write(
        self, scope: str, generation: str, kind: Kind, entries: Mapping[str, object]
    ) -> None:
        await self.gate.wait()
        if self.fail:
            raise ConnectionError("the store went away")
        await super().write(scope, generation, kind, entries)


async def test_a_write_returns_before_the_backend_has_written() -> None:
    inner = GatedBackend()
    behind = WriteBehind(inner)
    await asyncio.wait_for(behind.write("acme", "0", "ahead", {"p": "page"}), timeout=1)
    assert await inner.read("acme", "0", "ahead", ["p"]) == [Miss.MISS]
    inner.gate.set()
    await asyncio.wait_for(behind.flushed(), timeout=5)
    assert await behind.read("acme", "0", "ahead", ["p"]) == ["page"]
    assert behind.counts.written == 1


async def test_writes_beyond_the_cap_are_dropped_and_counted() -> None:
    inner = GatedBackend()
    behind = WriteBehind(inner, max_pending=2)
    for n in range(5):  # the first is taken by the background task, two wait, two are dropped
        await behind.write("acme", "0", "ahead", {f"p{n}": n})
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert behind.counts.dropped == 2
    inner.gate.set()
    await asyncio.wait_for(behind.flushed(), timeout=5)
    found = await inner.read("acme", "0", "ahead", [f"p{n}" for n in range(5)])
    assert found == [0, 1, 2, Miss.MISS, Miss.MISS]
    assert behind.counts.written == 3


async def test_a_failed_write_is_counted_and_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inner = GatedBackend()
    inner.fail = True
    inner.gate.set()
    behind = WriteBehind(inner)
    await behind.write("acme", "0", "ahead", {"p": "page"})
    await asyncio.wait_for(behind.flushed(), timeout=5)
    assert behind.counts.failed == 1
    assert "read-ahead page was not shared (ConnectionError)" in caplog.text
    inner.fail = False
    await behind.write("acme", "0", "ahead", {"p": "page"})  # the next write still goes out
    await asyncio.wait_for(behind.flushed(), timeout=5)
    assert behind.counts.written == 1


async def test_closing_drops_what_is_queued_and_stops_the_task() -> None:
    inner = GatedBackend()
    behind = WriteBehind(inner)
    await behind.write("acme", "0", "ahead", {"p": "page"})
    await asyncio.sleep(0)
    await asyncio.wait_for(behind.aclose(), timeout=5)
    inner.gate.set()
    await asyncio.sleep(0)
    assert await inner.read("acme", "0", "ahead", ["p"]) == [Miss.MISS]
