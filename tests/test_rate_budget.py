"""Rate budgets: reservations made at once, waits slept with nothing held, refusals prompt.

The budgets are tested alone (`RateBudget`, and `RedisRateBudget` on a real redis-server), then
through `Upstream` against a loopback server that answers with the headers providers send.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from gateway.store import connect
from providers.base import AccountConfig
from providers.redis_link import RedisLink
from providers.resilience import Budget, RateBudget
from providers.shared_budget import RedisRateBudget
from tests.redis_support import RedisServer, redis_server, unique_prefix

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here


async def _refused_promptly_while_another_waits(budget: Budget) -> None:
    assert await budget.acquire(None) is None  # the window's one call
    waiting = asyncio.create_task(budget.acquire(5.0))  # waits about a window for its slot
    await asyncio.sleep(0.05)
    began = time.monotonic()
    refused = await budget.acquire(0.1)
    assert time.monotonic() - began < 0.3  # not queued behind the waiting call
    assert refused is not None and refused > 0.1
    assert not waiting.done()
    assert await waiting is None


async def test_a_short_acquire_is_refused_at_once_while_another_waits() -> None:
    await _refused_promptly_while_another_waits(RateBudget(1, 1.0))


async def test_a_hold_is_refused_at_once_while_another_waits_it_out() -> None:
    budget = RateBudget()
    budget.block_for(1.0)
    waiting = asyncio.create_task(budget.acquire(5.0))
    await asyncio.sleep(0.05)
    began = time.monotonic()
    refused = await budget.acquire(0.1)
    assert time.monotonic() - began < 0.3
    assert refused is not None and 0.5 < refused <= 1.0
    assert await waiting is None


async def test_reservations_keep_the_limit_and_come_first_come_first_served() -> None:
    budget = RateBudget(3, 0.3)
    granted: list[tuple[int, float]] = []

    async def call(n: int) -> None:
        assert await budget.acquire(None) is None
        granted.append((n, time.monotonic()))

    began = time.monotonic()
    await asyncio.gather(*(call(n) for n in range(9)))
    assert [n for n, _ in granted] == list(range(9))
    times = [t for _, t in granted]
    assert all(
        later - earlier >= 0.3 - 0.02 for earlier, later in zip(times, times[3:], strict=False)
    )
    assert times[-1] - began < 0.3 * 2 + 0.25  # reserved, not polled: no window is lost


async def test_a_hold_asked_for_while_a_call_waits_is_honoured_or_refused() -> None:
    budget = RateBudget(1, 0.2)
    assert await budget.acquire(None) is None
    short = asyncio.create_task(budget.acquire(0.5))
    await asyncio.sleep(0.05)
    budget.block_for(5.0)  # the provider said stop while the call waited
    refused = await short
    assert refused is not None and refused > 4.0


async def test_a_cancelled_wait_gives_its_slot_back() -> None:
    budget = RateBudget(1, 0.5)
    assert await budget.acquire(None) is None
    waiting = asyncio.create_task(budget.acquire(None))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    began = time.monotonic()
    assert await budget.acquire(None) is None
    assert time.monotonic() - began < 0.5 + 0.1  # one window after the first, not two


# --- the shared budget follows the same rules ---------------------------------------------------


@pytest.fixture
async def link(redis_server: RedisServer) -> AsyncIterator[RedisLink]:
    shared = RedisLink(connect(redis_server.url), unique_prefix())
    yield shared
    await shared.aclose()


def _account(rate_limit: tuple[int, float] | None) -> AccountConfig:
    return AccountConfig(
        id="acme", name="Acme", provider="talynce", base_url="http://x", rate_limit=rate_limit
    )


async def test_the_shared_budget_refuses_at_once_while_another_waits(link: RedisLink) -> None:
    await _refused_promptly_while_another_waits(RedisRateBudget(link, _account((1, 1.0))))


async def test_the_shared_budget_takes_a_local_hold_in_its_reservation(link: RedisLink) -> None:
    budget = RedisRateBudget(link, _account((100, 60.0)))
    budget.block_for(0.4)
    began = time.monotonic()
    assert await budget.acquire(5.0) is None
    assert time.monotonic() - began >= 0.35
    other = RedisRateBudget(link, _account((100, 60.0)))
    assert await other.acquire(0.1) is None  # the hold has passed everywhere


async def test_the_shared_budget_honours_a_hold_that_comes_while_waiting(link: RedisLink) -> None:
    budget = RedisRateBudget(link, _account((1, 0.3)))
    assert await budget.acquire(None) is None
    short = asyncio.create_task(budget.acquire(0.6))
    await asyncio.sleep(0.05)
    budget.block_for(5.0)
    refused = await short
    assert refused is not None and refused > 4.0
