"""Rate budgets: reservations made at once, waits slept with nothing held, refusals prompt.

The budgets are tested alone (`RateBudget`, and `RedisRateBudget` on a real redis-server), then
through `Upstream` against a loopback server that answers with the headers providers send.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.base import AccountConfig
from providers.errors import UpstreamRateLimited, UpstreamUnavailable
from providers.upstream import resilience
from providers.upstream.http import Upstream, build_client
from providers.upstream.resilience import Budget, RateBudget, deadline_scope
from store.budget import RedisRateBudget
from store.redis_link import RedisLink, connect
from tests.redis_support import RedisServer, redis_server, unique_prefix
from tests.servers import serve_in_thread

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


class _FirstTimerArmedLate:
    """`asyncio` as the budget sees it, except that the first sleep with a delay starts 0.2 s
    late, as a timer armed just after the process was paused does."""

    def __init__(self) -> None:
        self.delayed = False

    def __getattr__(self, name: str) -> object:
        return getattr(asyncio, name)

    async def sleep(self, delay: float) -> None:
        if delay > 0 and not self.delayed:
            self.delayed = True
            delay += 0.2
        await asyncio.sleep(delay)


async def test_waiters_go_in_the_order_they_came_when_their_timers_fire_out_of_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resilience, "asyncio", _FirstTimerArmedLate())
    budget = RateBudget(1, 0.1)
    granted: list[int] = []

    async def call(n: int) -> None:
        assert await budget.acquire(None) is None
        granted.append(n)

    await asyncio.gather(*(call(n) for n in range(3)))
    assert granted == [0, 1, 2]


async def test_a_waiter_that_gives_up_lets_the_next_one_go() -> None:
    budget = RateBudget(1, 0.2)
    assert await budget.acquire(None) is None
    first = asyncio.create_task(budget.acquire(None))
    second = asyncio.create_task(budget.acquire(None))
    await asyncio.sleep(0.05)
    first.cancel()
    assert await asyncio.wait_for(second, 2.0) is None  # at its own slot, not stuck behind


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


async def test_an_announced_limit_tightens_the_budget_but_never_loosens_it() -> None:
    budget = RateBudget(5, 10.0)
    budget.learn_limit(2)
    assert [await budget.acquire(0) for _ in range(3)][2] is not None
    budget.learn_limit(1000)
    assert budget.limit == 2


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


# --- through Upstream: what providers' headers say ---------------------------------------------


@dataclass
class Script:
    """What a loopback upstream answers, one (status, headers) per request, then 200s."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    seen: list[float] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def upstream() -> Iterator[tuple[str, Script]]:
    script = Script()

    async def answer(request: Request) -> Response:
        script.seen.append(time.monotonic())
        if script.answers:
            status, headers = script.answers.pop(0)
            return Response("busy", status_code=status, headers=headers)
        return JSONResponse({"ok": True}, headers=script.headers)

    app = Starlette(routes=[Route("/{rest:path}", answer)])
    with serve_in_thread(app) as url:
        yield url, script


def _upstream(url: str, **fields: object) -> Upstream:
    account = AccountConfig(id="acme", name="Acme", provider="talynce", base_url=url, **fields)  # type: ignore[arg-type]
    return Upstream(account, build_client(account))


async def _calls(upstream: Upstream, count: int, seconds: float = 5.0) -> None:
    with deadline_scope(seconds):
        for _ in range(count):
            await upstream.send("GET", "things")


@pytest.mark.parametrize(
    "reset",
    [
        pytest.param(lambda: str(int(time.time()) + 2), id="epoch-seconds-as-greenhouse"),
        pytest.param(lambda: "2", id="seconds-from-now"),
    ],
)
async def test_remaining_zero_holds_calls_until_the_reset(
    upstream: tuple[str, Script], reset: Callable[[], str]
) -> None:
    url, script = upstream
    client = _upstream(url)
    script.headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset()}
    await _calls(client, 1)
    with deadline_scope(0.5), pytest.raises(UpstreamRateLimited) as refused:
        await client.send("GET", "things")
    assert refused.value.retry_after is not None and 0.5 < refused.value.retry_after <= 2.1
    assert len(script.seen) == 1  # refused before sending
    await client.aclose()


async def test_an_announced_limit_lower_than_the_configured_one_is_kept(
    upstream: tuple[str, Script],
) -> None:
    url, script = upstream
    client = _upstream(url, rate_limit=(50, 10.0))
    script.headers = {"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1"}
    await _calls(client, 2)
    with deadline_scope(0.5), pytest.raises(UpstreamRateLimited):
        await client.send("GET", "things")
    assert len(script.seen) == 2
    await client.aclose()


async def test_a_503_with_retry_after_is_waited_out_then_retried(
    upstream: tuple[str, Script],
) -> None:
    url, script = upstream
    client = _upstream(url)
    script.answers = [(503, {"Retry-After": "1"})]
    began = time.monotonic()
    await _calls(client, 1)
    assert len(script.seen) == 2 and script.seen[1] - script.seen[0] >= 0.95
    assert time.monotonic() - began < 3
    await client.aclose()


async def test_a_503_with_retry_after_past_the_deadline_reports_it(
    upstream: tuple[str, Script],
) -> None:
    url, script = upstream
    client = _upstream(url)
    script.answers = [(503, {"Retry-After": "20"})]
    with deadline_scope(1.0), pytest.raises(UpstreamUnavailable) as caught:
        await client.send("GET", "things")
    assert caught.value.retry_after == 20
    assert len(script.seen) == 1
    await client.aclose()


# --- documented defaults ------------------------------------------------------------------------


def _configured(provider: str, **table: object) -> tuple[int, float] | None:
    from gateway.settings import parse_settings

    credentials = {
        "talynce": {"api_key_env": "K"},
        "merge": {"api_key_env": "K", "account_token_env": "K"},
        "greenhouse": {"client_id_env": "K", "client_secret_env": "K"},
    }[provider]
    account = {"id": "a", "provider": provider, "base_url": "https://x.example", **credentials}
    if provider == "greenhouse":
        account["options"] = {"api": "harvest", "user_id": 1}
    [config] = parse_settings({"accounts": [account | table]}, {"K": "k"}).accounts
    return config.rate_limit


def test_accounts_default_to_their_providers_documented_budget() -> None:
    assert _configured("merge") == (100, 60.0)  # Merge's Launch plan, per linked account
    assert _configured("greenhouse") == (50, 10.0)  # Harvest, per 10 s
    assert _configured("talynce") is None  # Talynce documents no number: its 429s govern
    assert _configured("merge", rate_limit=[400, 60]) == (400, 60.0)
