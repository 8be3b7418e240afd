"""An account's request budget shared by every gateway process on one Redis.

A sorted set per account holds the times of granted calls, past and reserved. One Lua script
(atomic, on Redis's own clock, so hosts' clocks never disagree) grants the earliest time that
keeps at most `limit` calls in any `window`, after any hold the provider asked for; the caller
sleeps until then, holding nothing. Reserving ahead keeps callers first come, first served
across processes, instead of all of them polling for the next free slot; a caller that cannot be
served within its wait is refused at once and reserves nothing (the rules of `RateBudget`).

While Redis is down, calls count against a process-local `RateBudget` of the same size.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Coroutine
from math import ceil
from typing import Any

from providers.base import AccountConfig
from providers.upstream.resilience import RateBudget
from store.redis_link import RedisLink, StoreDown, account_scope

__all__ = ["RedisRateBudget"]

# KEYS: sent (sorted set), hold (blocked-until, ms).  ARGV: limit (-1: none), window ms,
# max wait ms (-1: none), member, hold this process knows of (ms from now).
# Returns {granted 0|1, wait ms}.
RESERVE = """
local limit, window, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local at = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'), now + tonumber(ARGV[5]))
if limit >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[1])
  if count >= limit then
    local nth = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
    at = math.max(at, tonumber(nth[2]) + window)
  end
  if count > 0 then
    local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
    at = math.max(at, tonumber(last[2]))
  end
end
local wait = at - now
if max_wait >= 0 and wait > max_wait then
  return {0, wait}
end
if limit >= 0 then
  redis.call('ZADD', KEYS[1], at, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], wait + window + 1000)
end
return {1, wait}
"""

# KEYS: hold.  ARGV: ms from now.  Extends the hold, never shortens it.
HOLD = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '0') < until_ms then
  redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000)
end
return 1
"""


class RedisRateBudget:
    def __init__(self, link: RedisLink, account: AccountConfig) -> None:
        limit, window = account.rate_limit or (None, 60.0)
        self._link = link
        self._limit = -1 if limit is None else limit
        self._window_ms = round(window * 1000)
        scope = account_scope(account)
        self._keys = [link.key("rate", scope, "sent"), link.key("rate", scope, "hold")]
        self._reserve = link.client.register_script(RESERVE)
        self._hold = link.client.register_script(HOLD)
        self._local = RateBudget(limit, window)
        self._pending: set[asyncio.Task[None]] = set()

    async def acquire(self, max_wait: float | None) -> float | None:
        """Waits for a slot; returns None when taken, or the wait that was too long to make."""
        began = time.monotonic()
        held = self._local.held(began)  # a hold Redis may not have heard of yet
        if max_wait is not None and held > max_wait:
            return held
        limit_ms = -1 if max_wait is None else max(0, int(max_wait * 1000))
        member = uuid.uuid4().hex
        args: list[int | str] = [self._limit, self._window_ms, limit_ms, member, ceil(held * 1000)]
        try:
            answer: Any = await self._link.run(lambda r: self._reserve(keys=self._keys, args=args))
        except StoreDown:
            return await self._local.acquire(max_wait)
        granted, wait_ms = int(answer[0]), int(answer[1])
        if not granted:
            return wait_ms / 1000
        at = time.monotonic() + wait_ms / 1000  # from the answer: never before Redis's time
        latest = None if max_wait is None else began + max_wait
        try:
            while True:
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                now = time.monotonic()
                left = self._local.held(now)  # a pause the provider asked for meanwhile
                if left <= 0:
                    return None
                if latest is not None and now + left > latest:
                    self._spawn(self._forget(member))
                    return left
                at = now + left
        except asyncio.CancelledError:
            self._spawn(self._forget(member))
            raise

    def learn_limit(self, limit: int) -> None:
        """As `RateBudget.learn_limit`, for the calls this process reserves."""
        if self._limit >= 0 and 1 <= limit < self._limit:
            self._limit = limit
        self._local.learn_limit(limit)

    def block_for(self, seconds: float) -> None:
        """Holds this process at once, and every other process as soon as Redis has heard."""
        self._local.block_for(seconds)
        self._spawn(self._share_hold(seconds))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _forget(self, member: str) -> None:
        """Gives back a reserved slot that will not be used."""
        with contextlib.suppress(StoreDown):
            await self._link.run(lambda r: r.zrem(self._keys[0], member))

    async def _share_hold(self, seconds: float) -> None:
        ms = max(1, round(seconds * 1000))
        with contextlib.suppress(StoreDown):
            await self._link.run(lambda r: self._hold(keys=self._keys[1:], args=[ms]))
