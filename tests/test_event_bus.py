"""The event bus's guarantees, on both twins (memory, and a real redis-server): dedupe, one order
and each event once per subscriber, replay from a last id, and a distinct refetch signal when
the id is unknown or what followed it has left the window; and Redis's ids are sealed, readable by
every replica sharing the cursor secret and revealing no stream position."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from providers.events import ChangeEvent, ChangeKind, ObjectType
from store.events import BusEvent, EventBus, MemoryEventBus, Refetch
from store.events_redis import EVENT_IDS, RedisEventBus
from store.redis_link import RedisLink, connect
from store.sealed import SealedNumbers, derived_key
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


SECRET = b"event-bus-test-cursor-secret"


@asynccontextmanager
async def opened(
    twin: str, url: str, prefix: str, *, secret: bytes = SECRET, **window: float
) -> AsyncIterator[EventBus]:
    settings = {"window": 60.0, "max_events": 1000, "dedupe_ttl": 60.0} | window
    bus: EventBus
    if twin == "memory":
        bus = MemoryEventBus(**settings)  # type: ignore[arg-type]
    else:
        link = RedisLink(connect(url), prefix)
        bus = RedisEventBus(link, secret=secret, **settings)  # type: ignore[arg-type]
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
async def test_a_resume_replays_at_most_replay_max_events_else_refetch(
    twin: str, redis_url: str
) -> None:
    """Each replayed event costs the subscriber an upstream fetch: one resume from far back
    is told to refetch instead of replaying the whole window."""
    async with opened(twin, redis_url, unique_prefix(), replay_max=4) as bus:
        sent = [event(n) for n in range(9)]
        positions = [await bus.publish(e) for e in sent]
        assert positions[3] is not None and positions[4] is not None
        far = await bus.subscribe(after=positions[3])  # five events after it
        [signal] = await take(far, 1)
        assert signal == Refetch("window")
        near = await bus.subscribe(after=positions[4])  # four: replayed, all of them
        assert ids(await take(near, 4)) == [e.dedupe_id for e in sent[5:]]
        live = event(99)
        await bus.publish(live)
        for stream in (far, near):  # both go on from now
            assert ids(await take(stream, 1)) == [live.dedupe_id]


@pytest.mark.parametrize("twin", TWINS)
async def test_only_the_events_a_subscriber_accepts_count_towards_replay_max(
    twin: str, redis_url: str
) -> None:
    """Other accounts' events must not decide whether a resume is told to refetch (that told
    a client how busy accounts it may not see were), however many of them, past a batch of
    the stream's reads too; the replay holds the accepted ones, then goes on from now."""
    async with opened(twin, redis_url, unique_prefix(), replay_max=2) as bus:
        start = await bus.publish(event(0))
        assert start is not None
        for n in range(450):
            await bus.publish(event(n, account="globex"))
        mine = [event(n) for n in (1, 2)]
        for item in mine:
            await bus.publish(item)
        resumed = await bus.subscribe(after=start, accepts=lambda e: e.account == "acme")
        assert ids(await take(resumed, 2)) == [e.dedupe_id for e in mine]
        live = event(99)
        await bus.publish(live)
        assert ids(await take(resumed, 1)) == [live.dedupe_id]
        await bus.publish(event(3))
        over = await bus.subscribe(after=start, accepts=lambda e: e.account == "acme")
        assert await take(over, 1) == [Refetch("window")]  # four of its own: too many


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


async def stream_ids(url: str, prefix: str) -> list[str]:
    """The stream's own entry ids, read straight from Redis (what ids used to be)."""
    client = connect(url)
    try:
        rows: Any = await client.xrange(f"{prefix}:events:stream")
        return [entry_id for entry_id, _ in rows]
    finally:
        await client.aclose()


async def first_of(bus: EventBus, after: str) -> BusEvent | Refetch:
    """What a subscription resuming after `after` delivers first (failing rather than hanging)."""
    async with asyncio.timeout(10):
        stream = await bus.subscribe(after=after)
    [item] = await take(stream, 1)
    return item


async def test_redis_event_ids_reveal_no_position_and_changed_ones_are_unknown(
    redis_server: RedisServer,
) -> None:
    """Ids were stream ids ("<ms>-<seq>"): one bus serves every client key, so they told any
    key when accounts it may not see last had events, and ordered like the stream. Now they
    hold no position in the clear, order by nothing, and an id with a character changed
    resumes nowhere: its subscriber is told to refetch."""
    prefix = unique_prefix()
    async with opened("redis", redis_server.url, prefix) as bus:
        issued = [await bus.publish(event(n)) for n in range(20)]
        positions = await stream_ids(redis_server.url, prefix)
        assert len(positions) == 20
        for event_id, position in zip(issued, positions, strict=True):
            assert event_id is not None
            assert position.partition("-")[0] not in event_id
        assert sorted(map(str, issued)) != issued
        first = str(issued[0])
        changed = {first[:-1] + c for c in "0123456789abcdef"} | {
            first[:8] + c + first[9:] for c in "0123456789abcdef"
        }
        for event_id in sorted(changed - {first}):
            assert isinstance(await first_of(bus, event_id), Refetch), event_id
        resumed = await first_of(bus, first)  # the id itself still resumes right after it
        assert isinstance(resumed, BusEvent) and resumed.id == issued[1]


async def test_a_made_up_stream_id_is_unknown(redis_server: RedisServer) -> None:
    """A stream id the client made up (or read off the old ids) no longer resumes: it is not an
    id this bus issues. Nor does one Redis refuses, or, sealed with the right key, the last
    possible stream id (nothing can follow it) or one between two entries: an id resumes only
    from an entry, so one opened from random numbers cannot; unknown, not an error or a hang."""
    prefix = unique_prefix()
    async with opened("redis", redis_server.url, prefix) as bus:
        for n in range(3):
            await bus.publish(event(n))
        first, *_ = await stream_ids(redis_server.url, prefix)
        ms, _, _ = first.partition("-")
        sealed = SealedNumbers(
            derived_key(SECRET, EVENT_IDS, f"{prefix}:events:stream".encode()), bits=128
        )
        last_possible = "r" + sealed.token((1 << 128) - 1)
        between = "r" + sealed.token(int(ms) << 64 | 999)  # sealed right, but no entry's id
        made_up = [first, f"{ms}-0", f"{int(ms) - 1}-0", "99999999999999999999999-0"]
        for event_id in [
            *made_up,
            "18446744073709551615-18446744073709551615",
            last_possible,
            between,
        ]:
            assert await first_of(bus, event_id) == Refetch("unknown-id"), event_id


async def test_replica_b_resumes_after_replica_a_ids_and_another_secret_cannot(
    redis_server: RedisServer,
) -> None:
    """Replicas share the cursor secret, so an id one issued resumes on another, right after its
    event and each event once; a bus under another secret (not this deployment) reads it as
    unknown."""
    prefix = unique_prefix()
    async with (
        opened("redis", redis_server.url, prefix) as a,
        opened("redis", redis_server.url, prefix) as b,
        opened("redis", redis_server.url, prefix, secret=b"another-deployment") as other,
    ):
        sent = [event(n) for n in range(5)]
        issued = [await a.publish(item) for item in sent]
        assert issued[1] is not None
        on_b = await b.subscribe(after=issued[1])
        replayed = await take(on_b, 3)
        assert ids(replayed) == [e.dedupe_id for e in sent[2:]]
        assert [item.id for item in replayed if isinstance(item, BusEvent)] == issued[2:]
        live = event(9)
        await a.publish(live)
        assert ids(await take(on_b, 1)) == [live.dedupe_id]
        assert await first_of(other, issued[1]) == Refetch("unknown-id")


def test_a_redis_bus_needs_a_secret(redis_server: RedisServer) -> None:
    """Ids are sealed under a key derived from the secret: an empty one would seal nothing."""
    link = RedisLink(connect(redis_server.url), unique_prefix())
    with pytest.raises(ValueError):
        RedisEventBus(link, secret=b"", window=60.0, max_events=10, dedupe_ttl=60.0)
