"""The circuit breaker counts logical calls, probes with one request, and ignores what was
never sent; checked through `Upstream` against a loopback server that counts requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.base import AccountConfig
from providers.errors import UpstreamRateLimited, UpstreamUnavailable
from providers.upstream.http import Upstream, build_client
from providers.upstream.resilience import deadline_scope
from tests.servers import serve_in_thread

COOLDOWN = 0.3


@dataclass
class Upstage:
    url: str
    status: int = 503
    requests: int = 0


@pytest.fixture
def server() -> Iterator[Upstage]:
    stage = Upstage("")

    async def answer(request: Request) -> Response:
        stage.requests += 1
        if stage.status == 200:
            return JSONResponse({"ok": True})
        return Response("down", status_code=stage.status)

    with serve_in_thread(Starlette(routes=[Route("/{rest:path}", answer)])) as url:
        stage.url = url
        yield stage


def upstream_for(server: Upstage, **fields: object) -> Upstream:
    account = AccountConfig(
        id="acme",
        name="Acme",
        provider="talynce",
        base_url=server.url,
        retries=3,
        breaker_threshold=5,
        breaker_cooldown=COOLDOWN,
        **fields,  # type: ignore[arg-type]
    )
    return Upstream(account, build_client(account))


async def call(upstream: Upstream) -> None:
    with deadline_scope(5.0):
        await upstream.send("GET", "things")


async def test_the_threshold_counts_logical_calls_not_their_retries(server: Upstage) -> None:
    upstream = upstream_for(server)
    for n in range(5):
        assert upstream.breaker.state == "closed", n
        with pytest.raises(UpstreamUnavailable):
            await call(upstream)
    assert server.requests == 5 * 4  # each logical call tried four times (three retries)
    assert upstream.breaker.state == "open"
    with pytest.raises(UpstreamUnavailable) as fast:
        await call(upstream)
    assert fast.value.retry_after is not None and 0 < fast.value.retry_after <= COOLDOWN
    assert server.requests == 20  # failed fast
    await upstream.aclose()


async def test_a_half_open_probe_is_one_request(server: Upstage) -> None:
    upstream = upstream_for(server)
    for _ in range(5):
        with pytest.raises(UpstreamUnavailable):
            await call(upstream)
    before = server.requests
    await asyncio.sleep(COOLDOWN + 0.05)
    with pytest.raises(UpstreamUnavailable):
        await call(upstream)  # the probe: a retryable 503, yet not retried
    assert server.requests == before + 1
    assert upstream.breaker.state == "open"
    server.status = 200
    await asyncio.sleep(COOLDOWN + 0.05)
    await call(upstream)
    assert server.requests == before + 2
    assert upstream.breaker.state == "closed"
    await upstream.aclose()


async def test_a_probe_refused_by_the_budget_leaves_the_breaker_to_the_next_call(
    server: Upstage,
) -> None:
    upstream = upstream_for(server)
    for _ in range(5):
        with pytest.raises(UpstreamUnavailable):
            await call(upstream)
    before = server.requests
    await asyncio.sleep(COOLDOWN + 0.05)
    upstream.budget.block_for(5.0)  # e.g. a Retry-After another call was told
    with deadline_scope(1.0), pytest.raises(UpstreamRateLimited):
        await upstream.send("GET", "things")
    assert server.requests == before  # nothing was sent ...
    assert upstream.breaker.state == "half-open"  # ... so nothing was decided
    await upstream.aclose()


async def test_calls_refused_before_sending_never_open_the_breaker(server: Upstage) -> None:
    server.status = 200
    upstream = upstream_for(server, rate_limit=(1, 30.0))
    await call(upstream)
    began = time.monotonic()
    for _ in range(10):
        with deadline_scope(0.5), pytest.raises(UpstreamRateLimited) as refused:
            await upstream.send("GET", "things")
        assert refused.value.retry_after is not None and refused.value.retry_after > 25
    assert time.monotonic() - began < 1.0  # each refused at once, none waited its deadline
    assert upstream.breaker.state == "closed" and upstream.breaker.failures == 0
    assert server.requests == 1
    await upstream.aclose()
