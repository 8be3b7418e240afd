"""The event bus's guarantees, on both twins (memory, and a real redis-server): dedupe, one order
and each event once per subscriber, replay from a last id, and a distinct refetch signal when
the id is unknown or what followed it has left the window."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from providers.events import ChangeEvent, ChangeKind, ObjectType
from store.events import BusEvent, EventBus, MemoryEventBus, Refetch
from store.events_redis import RedisEventBus
from store.redis_link import RedisLink, connect
from tests.live_support import take
from tests.redis_support import RedisServer, redis_server, unique_prefix

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


def event(n: int, *, account: str = "acme", dedupe: str | None = None) -> ChangeEvent:
    return ChangeEvent(
        account=account,
        object_type=ObjectType.CANDIDATE,
        kind=ChangeKind.UPDATED,
        remote_id=f"c{n % 3}",
        occurred_at=datetime.now(UTC),
        dedupe_id=dedupe or f"d{n}-{uuid.uuid4().hex[:6]}",
    )


@asynccontextmanager
async def opened(twin: str, url: str, prefix: str, **window: float) -> AsyncIterator[EventBus]:
    settings = {"window": 60.0, "max_events": 1000, "dedupe_ttl": 60.0} | window
    bus: EventBus
    if twin == "memory":
        bus = MemoryEventBus(**settings)  # type: ignore[arg-type]
    else:
        bus = RedisEventBus(RedisLink(connect(url), prefix), **settings)  # type: ignore[arg-type]
    try:
        yield bus
    finally:
        await bus.aclose()


TWINS = ["memory", "redis"]


def ids(items: list[BusEvent | Refetch]) -> list[str]:
    return [item.event.dedupe_id for item in items if isinstance(item, BusEvent)]


@pytest.mark.parametrize("twin", TWINS)
async def test_each_subscriber_gets_every_event_once_in_publish_order(
    twin: str, redis_url: str
) -> None:
    async with opened(twin, redis_url, unique_prefix()) as bus:
        first, second = await bus.subscribe(), await bus.subscribe()
        sent = [event(n) for n in range(30)]
        for item in sent:
            assert await bus.publish(item) is not None
        expected = [e.dedupe_id for e in sent]
        for stream in (first, second):
            got = await take(stream, 30)
            assert ids(got) == expected
            positions = [item.id for item in got if isinstance(item, BusEvent)]
            assert len(set(positions)) == 30


@pytest.mark.parametrize("twin", TWINS)
async def test_a_dedupe_id_is_published_once_per_account(twin: str, redis_url: str) -> None:
    async with opened(twin, redis_url, unique_prefix()) as bus:
        stream = await bus.subscribe()
        assert await bus.publish(event(1, dedupe="same")) is not None
        assert await bus.publish(event(2, dedupe="same")) is None
        assert await bus.publish(event(3, account="globex", dedupe="same")) is not None
        assert await bus.publish(event(4, dedupe="last")) is not None
        got = await take(stream, 3)
        assert [(i.event.account, i.event.dedupe_id) for i in got if isinstance(i, BusEvent)] == [
            ("acme", "same"),
            ("globex", "same"),
            ("acme", "last"),
        ]


@pytest.mark.parametrize("twin", TWINS)
async def test_resuming_after_a_last_id_replays_what_followed_it(twin: str, redis_url: str) -> None:
    async with opened(twin, redis_url, unique_prefix()) as bus:
        sent = [event(n) for n in range(6)]
        positions = [await bus.publish(e) for e in sent]
        assert positions[2] is not None
        resumed = await bus.subscribe(after=positions[2])
        replayed = await take(resumed, 3)
        assert ids(replayed) == [e.dedupe_id for e in sent[3:]]
        live = event(99)
        await bus.publish(live)
        assert ids(await take(resumed, 1)) == [live.dedupe_id]


@pytest.mark.parametrize("twin", TWINS)
async def test_an_id_past_the_window_or_unknown_gets_a_refetch_signal(
    twin: str, redis_url: str
) -> None:
    async with opened(twin, redis_url, unique_prefix(), max_events=3) as bus:
        positions = [await bus.publish(event(n)) for n in range(6)]
        assert positions[0] is not None
        gone = await bus.subscribe(after=positions[0])
        [signal] = await take(gone, 1)
        assert signal == Refetch("window")
        for bad in ("junk", "m00000000-1", "99999999999999-0"):
            [unknown] = await take(await bus.subscribe(after=bad), 1)
            assert unknown == Refetch("unknown-id"), bad
        # After the signal, the subscription goes on from now.
        later = event(7)
        await bus.publish(later)
        assert ids(await take(gone, 1)) == [later.dedupe_id]


async def test_a_slow_memory_subscriber_is_told_it_fell_behind() -> None:
    async with opened("memory", "", "", max_events=2) as bus:
        stream = await bus.subscribe()
        for n in range(5):
            await bus.publish(event(n))
        [signal] = await take(stream, 1)
        assert signal == Refetch("window")


async def test_two_redis_buses_share_one_stream(redis_server: RedisServer) -> None:
    """Two buses over one Redis (as two replicas have): what one publishes, the other delivers."""
    prefix = unique_prefix()
    async with (
        opened("redis", redis_server.url, prefix) as a,
        opened("redis", redis_server.url, prefix) as b,
    ):
        on_b = await b.subscribe()
        sent = [event(n) for n in range(5)]
        for item in sent:
            await a.publish(item)
        assert await b.publish(sent[0]) is None  # deduplicated across replicas too
        assert ids(await take(on_b, 5)) == [e.dedupe_id for e in sent]
