"""The in-memory idempotency store: replay, conflict, expiry and a bounded size."""

from __future__ import annotations

import asyncio

from store.idempotency import MemoryIdempotencyStore


async def test_a_finished_key_replays_and_conflicts_on_other_input() -> None:
    store = MemoryIdempotencyStore(ttl=60)
    assert (await store.claim("k", "a")).owner
    await store.finish("k", "first")
    assert (await store.claim("k", "a")).result == "first"
    assert (await store.claim("k", "b")).conflict


async def test_waiters_get_the_owners_result() -> None:
    store = MemoryIdempotencyStore(ttl=60)
    await store.claim("k", "a")
    waiter = asyncio.create_task(store.claim("k", "a"))
    await asyncio.sleep(0)
    await store.finish("k", "done")
    assert (await waiter).result == "done"


async def test_keys_expire_after_the_ttl() -> None:
    store = MemoryIdempotencyStore(ttl=0.05)
    await store.claim("k", "a")
    await store.finish("k", "x")
    await asyncio.sleep(0.06)
    assert (await store.claim("k", "b")).owner


async def test_the_store_keeps_at_most_max_entries_finished_keys() -> None:
    store = MemoryIdempotencyStore(ttl=3600, max_entries=100)
    for n in range(1000):
        await store.claim(f"k{n}", "a")
        await store.finish(f"k{n}", n)
    assert len(store._entries) <= 101
    assert (await store.claim("k999", "a")).result == 999
    assert (await store.claim("k0", "other")).owner  # the oldest were forgotten first
