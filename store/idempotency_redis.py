"""Idempotency keys in Redis: the memory store's semantics, shared by every gateway process.

A claim is one Lua script: `SET NX` of a pending entry (fingerprint, owner token) for the key's
TTL plus a *lease* key that lives as long as the owner's request may. Other claimants poll
(20 ms doubling to 200 ms: a create takes that long anyway, and polling needs no extra
connection, unlike pub/sub) until the entry holds a result, or the lease is gone while the
entry is still pending: the owner vanished mid-write, so the outcome is unknown, and that is
what they get. A waiter whose request runs out of time first gets UPSTREAM_TIMEOUT.

While Redis is down, keys are claimed in a process-local `MemoryIdempotencyStore`, and keys
seen there stay there until they expire, so one process never writes twice for one key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from typing import Any, Protocol

from providers.errors import UpstreamOutcomeUnknown, UpstreamTimeout
from providers.upstream.resilience import remaining
from store.idempotency import Claim, MemoryIdempotencyStore
from store.redis_link import RedisLink, StoreDown

__all__ = ["OutcomeCoding", "RedisIdempotencyStore"]

POLL_FIRST, POLL_MAX = 0.02, 0.2

# KEYS: entry, lease.  ARGV: pending entry, ttl ms, lease ms, owner.  A claim whose answer was
# lost and is sent again finds its own owner token, and is still the owner.
CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
  return {1}
end
local current = redis.call('GET', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[4] then
  return {1}
end
return {0, current, redis.call('EXISTS', KEYS[2])}
"""

# KEYS: entry, lease.  ARGV: owner, finished entry ('' to release), ttl ms.
SETTLE = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['owner'] == ARGV[1] then
  if ARGV[2] == '' then
    redis.call('DEL', KEYS[1])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  end
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
"""


class OutcomeCoding(Protocol):
    def encode(self, result: object) -> dict[str, Any]: ...

    def decode(self, data: Any, *, account: str | None = None) -> object: ...


def _vanished(account: str | None) -> UpstreamOutcomeUnknown:
    return UpstreamOutcomeUnknown(
        "the first request with this idempotency key stopped before it finished; "
        "check whether the candidate exists before trying again",
        account=account,
    )


class RedisIdempotencyStore:
    def __init__(self, link: RedisLink, codec: OutcomeCoding, ttl: float, lease: float) -> None:
        self._link = link
        self._codec = codec
        self._ttl_ms = max(1, int(ttl * 1000))
        self._lease_ms = max(1, int(lease * 1000))
        self._claim = link.client.register_script(CLAIM)
        self._settle = link.client.register_script(SETTLE)
        self._local = MemoryIdempotencyStore(ttl)
        self._owned: dict[str, tuple[str, str]] = {}  # key → (owner token, fingerprint)

    def _keys(self, key: str) -> tuple[str | None, list[str]]:
        """The account a key belongs to (keys are `account\\0client\\0key`) and its Redis keys."""
        account, _, rest = key.partition("\x00")
        digest = hashlib.sha256(key.encode()).hexdigest()
        scope = account if rest else "-"
        entry = self._link.key("idem", scope, digest)
        return (account if rest else None), [entry, entry + ":lease"]

    async def claim(self, key: str, fingerprint: str) -> Claim:
        if key in self._local:
            return await self._local.claim(key, fingerprint)
        account, keys = self._keys(key)
        owner = uuid.uuid4().hex
        pending = json.dumps({"fp": fingerprint, "owner": owner})
        args: list[str | int] = [pending, self._ttl_ms, self._lease_ms, owner]
        delay = POLL_FIRST
        while True:
            try:
                answer: Any = await self._link.run(lambda r: self._claim(keys=keys, args=args))
            except StoreDown:
                return await self._local.claim(key, fingerprint)
            if int(answer[0]) == 1:
                self._owned[key] = (owner, fingerprint)
                return Claim(owner=True)
            try:
                entry = json.loads(answer[1])
            except (TypeError, ValueError):
                return Claim(owner=False, result=_vanished(account))
            if entry.get("fp") != fingerprint:
                return Claim(owner=False, conflict=True)
            if "result" in entry:
                return Claim(
                    owner=False, result=self._codec.decode(entry["result"], account=account)
                )
            if int(answer[2]) == 0:
                return Claim(owner=False, result=_vanished(account))
            left = remaining()
            if left is not None and left <= delay:
                raise UpstreamTimeout(
                    "a request with this idempotency key is still running; ask again shortly",
                    account=account,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_MAX)

    async def finish(self, key: str, result: object) -> None:
        if key not in self._owned:
            await self._local.finish(key, result)
            return
        owner, fingerprint = self._owned.pop(key)
        done = json.dumps({"fp": fingerprint, "result": self._codec.encode(result)})
        _, keys = self._keys(key)
        try:
            await self._link.run(
                lambda r: self._settle(keys=keys, args=[owner, done, self._ttl_ms])
            )
        except StoreDown:
            # Other processes will see the lease lapse (an unknown outcome); this one knows.
            await self._local.claim(key, fingerprint)
            await self._local.finish(key, result)

    async def release(self, key: str) -> None:
        if key not in self._owned:
            await self._local.release(key)
            return
        owner, _ = self._owned.pop(key)
        _, keys = self._keys(key)
        # If Redis is down, the lease lapses and repeats hear of an unknown outcome: never twice.
        with contextlib.suppress(StoreDown):
            await self._link.run(lambda r: self._settle(keys=keys, args=[owner, "", 0]))
