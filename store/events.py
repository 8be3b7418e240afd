"""The event bus: where normalized change events go once received, and where subscribers read them.

Two twins behind one protocol, chosen like the rest of the store (`gateway.store`): this
process's memory (`MemoryEventBus`, one process delivers to its own subscribers) or Redis
(`store.events_redis.RedisEventBus`, every replica delivers every event to its subscribers).

For the subscription layer, the whole API is:

    position = await bus.publish(event)       # None when its dedupe id was seen within the TTL
    stream = await bus.subscribe(after=last_id)   # after=None: from now (this call)
    async for item in stream:
        if isinstance(item, Refetch): ...     # events were missed: refetch, then keep reading
        else: item.id, item.event             # BusEvent: send it; item.id resumes after it

The gateway builds one bus per process (`gateway.store.Store.events`) and keeps it as
`app.state.events`, beside `app.state.poller` (`resolvers.polling.ChangePoller`: hold
`poller.watch(account, object_type)` open while anyone subscribes to a Talynce account).
`resolvers.live.global_id(event)` is the ID a client knows the event's object by.

Guarantees, on both twins:
- Deduplicated: a second publish with the same (account, dedupe id) within `dedupe_ttl`
  seconds is dropped (providers deliver at least once).
- One order: every subscriber sees events in the order the bus took them (so, per object, in
  the order they were published), each once. Ids are opaque: compare none, resume after one.
- Replay: `subscribe(after=id)` first delivers what came after `id`, when the bus still holds
  all of it: events stay for `window` seconds (at most `max_events` of them). When something
  after `id` has already left the window, or `id` is not one this bus issued (another process's
  memory, a Redis that restarted empty), the first item is `Refetch` and reading goes on from
  now: never silence in place of a gap. A subscriber that falls behind by more than the window
  is told the same way. So is one whose `id` has more than `replay_max` events after it: each
  replayed event is fetched upstream for the subscriber, and one resume should not cost
  thousands of upstream calls. Only events the subscriber would see count towards `replay_max`
  (`subscribe(accepts=…)`): the events of accounts it may not see must not decide, by a refetch
  or its absence, anything it is told, and they cost it no upstream call either.
- `publish` raises `BusUnavailable` when the event could not be stored (Redis down): a webhook
  endpoint answers 503 so the provider delivers again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from providers.events import ChangeEvent, ChangeKind, ObjectType
from store.sealed import SealedNumbers

__all__ = [
    "REPLAY_MAX",
    "Accepts",
    "BusEvent",
    "BusUnavailable",
    "EventBus",
    "EventRing",
    "MemoryEventBus",
    "Refetch",
    "accepted",
    "decode_event",
    "encode_event",
]

Key = tuple[int, int]
Accepts = Callable[[ChangeEvent], bool]
"""Which events a subscriber would see (None: all): only those count towards `replay_max`."""
REPLAY_MAX = 500
"""Events one resume replays at most (`subscribe(after=…)`); past that, `Refetch`."""


@dataclass(frozen=True, slots=True)
class BusEvent:
    """An event as the bus holds it; `id` is its position, to resume after it."""

    id: str
    event: ChangeEvent


@dataclass(frozen=True, slots=True)
class Refetch:
    """Events a subscriber asked for are gone (or were never this bus's): it must refetch.

    `reason` is "window" (they left the replay window, or more of them are left than one resume
    replays: `REPLAY_MAX`) or "unknown-id".
    """

    reason: str


class BusUnavailable(Exception):
    """The bus could not store an event (its Redis is unreachable)."""


class EventBus(Protocol):
    async def publish(self, event: ChangeEvent) -> str | None:
        """Stores `event`; its bus id, or None when it is a duplicate."""
        ...

    async def subscribe(
        self, after: str | None = None, accepts: Accepts | None = None
    ) -> AsyncIterator[BusEvent | Refetch]:
        """Events from now (this call), or from just after `after` (see the module docstring);
        with `accepts`, only the events it accepts."""
        ...

    async def aclose(self) -> None: ...


def encode_event(event: ChangeEvent) -> str:
    return json.dumps(
        [
            event.account,
            event.object_type.value,
            event.kind.value,
            event.remote_id,
            event.parent_remote_id,
            event.occurred_at.isoformat(),
            event.dedupe_id,
        ],
        separators=(",", ":"),
    )


def decode_event(raw: str) -> ChangeEvent | None:
    """The event `encode_event` wrote; None for anything else (a newer format, a stray entry)."""
    try:
        account, object_type, kind, remote_id, parent, occurred, dedupe = json.loads(raw)
        return ChangeEvent(
            account=account,
            object_type=ObjectType(object_type),
            kind=ChangeKind(kind),
            remote_id=remote_id,
            parent_remote_id=parent,
            occurred_at=datetime.fromisoformat(occurred),
            dedupe_id=dedupe,
        )
    except (ValueError, TypeError):
        return None


class EventRing:
    """The recent events of one bus in order, and a condition to wait on for the next.

    Complete after `start`: every event with a key above it is here, until evicted (by age or
    count), which moves `start` up to the evicted key. Both twins fan out to their process's
    subscribers from one ring; the Redis twin fills it from the stream.
    """

    def __init__(self, start: Key, window: float, max_events: int) -> None:
        self.start = start
        self.window = window
        self.max_events = max_events
        self._entries: deque[tuple[Key, float, BusEvent]] = deque()
        self.changed = asyncio.Condition()

    @property
    def last(self) -> Key:
        return self._entries[-1][0] if self._entries else self.start

    async def append(self, key: Key, item: BusEvent) -> None:
        async with self.changed:
            self._entries.append((key, time.monotonic(), item))
            self._evict()
            self.changed.notify_all()

    def _evict(self) -> None:
        oldest = time.monotonic() - self.window
        while self._entries and (
            len(self._entries) > self.max_events or self._entries[0][1] < oldest
        ):
            self.start = self._entries.popleft()[0]

    def since(self, key: Key) -> list[tuple[Key, BusEvent]] | None:
        """What came after `key`, oldest first; None when the ring no longer holds all of it."""
        self._evict()
        if key < self.start:
            return None
        newer = []
        for k, _, item in reversed(self._entries):  # subscribers mostly wait at the tail
            if k <= key:
                break
            newer.append((k, item))
        newer.reverse()
        return newer

    async def wait_after(self, key: Key) -> list[tuple[Key, BusEvent]] | None:
        """Like `since`, but waits while there is nothing new."""
        async with self.changed:
            while True:
                found = self.since(key)
                if found is None or found:
                    return found
                await self.changed.wait()


class Dedupe:
    """Dedupe ids seen within `ttl` seconds, at most `limit` of them (the oldest go first)."""

    def __init__(self, ttl: float, limit: int = 100_000) -> None:
        self.ttl = ttl
        self.limit = limit
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen and (
            len(self._seen) >= self.limit or next(iter(self._seen.values())) <= now
        ):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now + self.ttl
        return True


def dedupe_key(event: ChangeEvent) -> str:
    return f"{event.account}:{event.dedupe_id}"


def accepted(items: Iterable[BusEvent], accepts: Accepts | None) -> list[BusEvent]:
    """The items a subscriber that `accepts` would see, in order."""
    return [item for item in items if accepts is None or accepts(item.event)]


class MemoryEventBus:
    """The bus in this process's memory. Ids carry a per-process epoch, so an id from another
    process (or from before a restart) is recognised as unknown rather than misread, and the
    sequence number sealed (`store.sealed`)."""

    def __init__(
        self, *, window: float, max_events: int, dedupe_ttl: float, replay_max: int = REPLAY_MAX
    ) -> None:
        self._replay_max = replay_max
        self._epoch = secrets.token_hex(4)
        self._sealed = SealedNumbers(secrets.token_bytes(16))
        self._seq = 0
        self._ring = EventRing((0, 0), window, max_events)
        self._dedupe = Dedupe(dedupe_ttl)

    def _id(self, key: Key) -> str:
        return f"m{self._epoch}-{self._sealed.token(key[1])}"

    def _key(self, value: str) -> Key | None:
        epoch, _, sealed = value.partition("-")
        seq = self._sealed.read(sealed) if epoch == f"m{self._epoch}" else None
        return None if seq is None or seq > self._seq else (0, seq)

    async def publish(self, event: ChangeEvent) -> str | None:
        if not self._dedupe.first(dedupe_key(event)):
            return None
        self._seq += 1
        key = (0, self._seq)
        item = BusEvent(self._id(key), event)
        await self._ring.append(key, item)
        return item.id

    async def subscribe(
        self, after: str | None = None, accepts: Accepts | None = None
    ) -> AsyncIterator[BusEvent | Refetch]:
        cursor, first = self._ring.last, []
        if after is not None:
            known = self._key(after)
            backlog = None if known is None else self._ring.since(known)
            if known is None:
                first.append(Refetch("unknown-id"))
            elif (
                backlog is not None
                and len(accepted((item for _, item in backlog), accepts)) > self._replay_max
            ):
                first.append(Refetch("window"))  # more to replay than one resume may cost
            else:
                cursor = known
        return self._follow(cursor, first, accepts)

    async def _follow(
        self, cursor: Key, first: list[Refetch], accepts: Accepts | None
    ) -> AsyncIterator[BusEvent | Refetch]:
        for signal in first:
            yield signal
        while True:
            found = await self._ring.wait_after(cursor)
            if found is None:
                cursor = self._ring.last
                yield Refetch("window")
                continue
            for key, item in found:
                cursor = key
                if accepts is None or accepts(item.event):
                    yield item

    async def aclose(self) -> None:
        return None
