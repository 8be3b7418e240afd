"""The event bus in Redis: one stream every replica appends to and reads, so a webhook received
by one replica reaches subscribers on all of them (guarantees: `store.events`).

`publish` is one script: `SET NX PX` on the dedupe key, and only when that is new, `XADD` with
`MAXLEN` and an `XTRIM MINID` of the window (by Redis's clock, so replicas agree). Trimming
happens only as events come, so the stream also expires once nothing was published for the
window or the dedupe TTL, whichever is longer: a resume after that is told to refetch (as after
a Redis that restarted empty), and the last events do not stay in Redis forever. Each process
runs one reader (`XREAD BLOCK` from the last id it saw) that fills an `EventRing`, and its
subscribers read from that ring, so a thousand subscribers cost one Redis connection, not a
thousand. A subscriber resuming from an id older than the ring reads the stream itself
(`XRANGE`) in the same script that checks `max-deleted-entry-id`: if anything after its id was
trimmed, it is told to refetch instead of being handed a stream with a hole in it.

Subscribers never see a stream id: its milliseconds and sequence would tell any client key when
(and how often) accounts it may not see had events, and an id made up with other numbers would
resume anywhere. An event id is the stream id's two numbers as one sealed 128-bit block
(`store.sealed`) under a key derived from the deployment's cursor secret, which replicas share,
so every replica reads every other's ids. An id resumes only when it opens to an entry the
stream holds (or its last id); anything else, a foreign or made-up id included, is unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from functools import partial
from typing import Any

from redis.asyncio import Redis

from providers.events import ChangeEvent
from store.events import (
    REPLAY_MAX,
    Accepts,
    BusEvent,
    BusUnavailable,
    EventRing,
    Key,
    Refetch,
    accepted,
    decode_event,
    dedupe_key,
    encode_event,
)
from store.redis_link import RedisLink, StoreDown
from store.sealed import SealedNumbers, derived_key

__all__ = ["RedisEventBus"]

PUBLISH = """
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return false end
local now = redis.call('TIME')
local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[3])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[4], '*', 'e', ARGV[1])
redis.call('XTRIM', KEYS[1], 'MINID', tostring(oldest))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return id
"""

BACKLOG = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'', '', '0-0', {}, 0} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local fields = {}
for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
local trimmed = tonumber(fields['entries-added']) > tonumber(fields['length'])
local first = fields['first-entry']
-- the newest id a reader cannot get any more: trimming removes from the head, so it is just
-- below the first entry (or everything, when the stream was trimmed empty)
local lost = fields['max-deleted-entry-id']
if trimmed and type(first) == 'table' then lost = 'before:' .. first[1] end
if trimmed and type(first) ~= 'table' then lost = fields['last-generated-id'] end
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
local held = #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
return {lost, fields['last-generated-id'], fields['max-deleted-entry-id'], entries, held}
"""

BATCH = 200
BLOCK_MS = 500  # under the client's socket timeout (store.redis_link.REDIS_TIMEOUT)
EVENT_IDS = b"ats-gw.event-ids"  # the purpose an event-id key is derived for (`derived_key`)
HALF = 64  # bits of each of a stream id's two numbers
LAST_KEY = ((1 << HALF) - 1, (1 << HALF) - 1)  # nothing follows it: XRANGE refuses "(" of it


def stream_key(value: str) -> Key | None:
    """A stream id ("<ms>-<seq>") as a comparable pair; None for anything else."""
    ms, dash, seq = value.partition("-")
    if not dash or not ms.isdigit() or not seq.isdigit():
        return None
    return (int(ms), int(seq))


def _lost_after(lost: str, after: Key) -> bool:
    """Whether a trimmed entry came after `after`. "before:<id>" is the first entry left after
    trimming: entries just below it are gone, and `after` is conservatively taken to precede
    them unless it is that entry or later (a refetch is always safe; a hole never is)."""
    first = stream_key(lost.removeprefix("before:")) if lost.startswith("before:") else None
    if first is not None:
        return after < first
    newest_lost = stream_key(lost)
    return newest_lost is not None and after < newest_lost


class EventIds:
    """Stream ids as event ids and back: `r` and a stream id's two numbers sealed as one block.

    The key is derived from `secret` (the deployment's cursor secret) for this purpose and this
    stream, so replicas sharing the secret and the stream read each other's ids, and no one
    else can read or make one up."""

    def __init__(self, secret: bytes, stream: str) -> None:
        self._sealed = SealedNumbers(derived_key(secret, EVENT_IDS, stream.encode()), bits=2 * HALF)

    def event_id(self, key: Key) -> str:
        return "r" + self._sealed.token(key[0] << HALF | key[1])

    def key(self, event_id: str) -> Key | None:
        """The stream id `event_id` seals; None for anything else."""
        number = self._sealed.read(event_id[1:]) if event_id.startswith("r") else None
        if number is None:
            return None
        key = (number >> HALF, number & (1 << HALF) - 1)
        return None if key == LAST_KEY else key


def _entries(raw: Any, ids: EventIds) -> list[tuple[Key, BusEvent]]:
    found = []
    for entry_id, fields in raw or ():
        key = stream_key(entry_id)
        values = (
            fields
            if isinstance(fields, dict)
            else dict(zip(fields[::2], fields[1::2], strict=False))
        )
        event = decode_event(values.get("e", ""))
        if key is not None and event is not None:
            found.append((key, BusEvent(ids.event_id(key), event)))
    return found


class RedisEventBus:
    """The bus in Redis. `secret` is the deployment's cursor secret (`Settings.cursor_secret`):
    event ids are sealed under a key derived from it, so every replica must have the same."""

    def __init__(
        self,
        link: RedisLink,
        *,
        secret: bytes,
        window: float,
        max_events: int,
        dedupe_ttl: float,
        replay_max: int = REPLAY_MAX,
    ) -> None:
        self._link = link
        self._replay_max = replay_max
        self._window = window
        self._max_events = max_events
        self._dedupe_ttl = dedupe_ttl
        self._stream = link.key("events", "stream")
        self._ids = EventIds(secret, self._stream)
        self._publish = link.client.register_script(PUBLISH)
        self._backlog = link.client.register_script(BACKLOG)
        self._ring: EventRing | None = None
        self._reader: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._closed = False

    async def publish(self, event: ChangeEvent) -> str | None:
        args: list[str | int] = [
            encode_event(event),
            int(self._dedupe_ttl * 1000),
            int(self._window * 1000),
            self._max_events,
            int(max(self._window, self._dedupe_ttl) * 1000),
        ]
        keys = [self._stream, self._link.key("events", "seen", dedupe_key(event))]
        try:
            answer: Any = await self._link.run(lambda r: self._publish(keys=keys, args=args))
        except StoreDown:
            raise BusUnavailable from None
        key = stream_key(answer) if isinstance(answer, str) else None
        return None if key is None else self._ids.event_id(key)

    async def subscribe(
        self, after: str | None = None, accepts: Accepts | None = None
    ) -> AsyncIterator[BusEvent | Refetch]:
        ring = await self._started()
        cursor, first = ring.last, list[BusEvent | Refetch]()
        if after is not None:
            key = self._ids.key(after)
            read = Refetch("unknown-id") if key is None else await self._replay(key, accepts)
            if isinstance(read, Refetch):
                first.append(read)
            else:
                cursor, replayed = read
                first.extend(replayed)
        return self._follow(ring, cursor, first, accepts)

    async def _replay(
        self, after: Key, accepts: Accepts | None
    ) -> tuple[Key, list[BusEvent]] | Refetch:
        """What a resume after `after` replays (the events `accepts`), and the key it read to;
        `Refetch` when that is more than `replay_max`, or the stream no longer holds it all.
        Read in batches: the stream holds at most `max_events`, so this ends."""
        replayed: list[BusEvent] = []
        cursor, issued = after, True
        for _ in range(self._max_events // BATCH + 1):
            read = await self._read_stream(cursor, issued=issued, count=BATCH)
            if isinstance(read, Refetch):
                return read
            replayed += accepted((item for _, item in read), accepts)
            if len(replayed) > self._replay_max:  # more to replay than one resume may cost
                return Refetch("window")
            if read:
                cursor = read[-1][0]
            if len(read) < BATCH:
                break
            issued = False
        return cursor, replayed

    async def _follow(
        self,
        ring: EventRing,
        cursor: Key,
        first: list[BusEvent | Refetch],
        accepts: Accepts | None,
    ) -> AsyncIterator[BusEvent | Refetch]:
        for item in first:
            yield item
        while True:
            newer = await ring.wait_after(cursor)
            if newer is None:  # older than this process's ring: the stream may still hold it
                read = await self._read_stream(cursor)
                if isinstance(read, Refetch):
                    cursor = ring.last
                    yield read
                    continue
                newer = read
                if not newer:
                    cursor = max(cursor, ring.start)
            for key, item in newer:
                cursor = key
                if accepts is None or accepts(item.event):
                    yield item

    async def _read_stream(
        self, after: Key, *, issued: bool = False, count: int = BATCH
    ) -> list[tuple[Key, BusEvent]] | Refetch:
        """What the stream holds after `after` (up to `count`), or `Refetch` when some of it is
        gone (trimmed) or `after` is past anything the stream ever held. With `issued`, `after`
        came from a client, and is unknown unless it is an entry the stream still holds or its
        last id: an id that opened to anything else is not one a bus issued (a made-up one
        opens to random numbers, and those must not resume anywhere)."""
        keys = [self._stream]
        args: list[str | int] = [f"{after[0]}-{after[1]}", count]
        while True:
            try:
                lost, last, deleted, raw, held = await self._link.run(
                    lambda r: self._backlog(keys=keys, args=args)
                )
                break
            except StoreDown:
                await asyncio.sleep(self._link.pause)
        if not last or after > (stream_key(last) or (0, 0)):
            return Refetch("unknown-id")
        if after < (stream_key(deleted) or (0, 0)) or _lost_after(lost, after):
            return Refetch("window")
        if issued and not held and after != stream_key(last):
            return Refetch("unknown-id")
        return _entries(raw, self._ids)

    async def _started(self) -> EventRing:
        async with self._starting:
            if self._ring is None:
                start = await self._last_id()
                self._ring = EventRing(start, self._window, self._max_events)
                self._reader = asyncio.create_task(self._read(self._ring))
            return self._ring

    async def _last_id(self) -> Key:
        while True:
            try:
                rows: Any = await self._link.run(
                    lambda r: r.xrevrange(self._stream, "+", "-", count=1)
                )
                return (stream_key(rows[0][0]) or (0, 0)) if rows else (0, 0)
            except StoreDown:
                await asyncio.sleep(self._link.pause)

    async def _read(self, ring: EventRing) -> None:
        """This process's one reader: the stream, in order, into the ring."""
        cursor = f"{ring.start[0]}-{ring.start[1]}"
        while not self._closed:
            try:
                reply: Any = await self._link.run(partial(self._next, cursor))
            except StoreDown:
                await asyncio.sleep(self._link.pause)
                continue
            for _, raw in reply or ():
                for entry_id, _fields in raw:
                    cursor = entry_id
                for key, item in _entries(raw, self._ids):
                    await ring.append(key, item)

    def _next(self, cursor: str, client: Redis) -> Awaitable[Any]:
        return client.xread({self._stream: cursor}, count=BATCH, block=BLOCK_MS)

    async def aclose(self) -> None:
        # A cancelled blocking read can surface as a connection error, which the loop would
        # ride over: the flag ends it by the next read at the latest (BLOCK_MS).
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait({self._reader}, timeout=2 * BLOCK_MS / 1000)
