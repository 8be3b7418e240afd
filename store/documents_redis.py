"""Registered documents in Redis, shared by every gateway process: the memory twin's semantics.

Keys: `<prefix>:apq:<scope>:<digest>` holds a document; `<prefix>:apq-index:<scope>` is a sorted
set of the scope's keys by last use (registration or read, by Redis's clock so replicas agree),
so each scope stays bounded: a registration that takes its scope over `per_scope` deletes that
scope's least recently used ones in the same Lua script, and no scope's registrations push
another's out. Nothing lives forever: a document expires `DOCUMENT_TTL` after its last use (the
client then sends its text again, as after any eviction), and each use keeps the index at least
as long as the documents in it, so every document alive is one the index counts. A registry
Redis cannot serve reads as empty (the client sends the full document again, which runs) and
skips writes.
"""

from __future__ import annotations

import contextlib

from store.redis_link import RedisLink, StoreDown

__all__ = ["DOCUMENT_TTL", "RedisDocumentStore"]

DOCUMENT_TTL = 7 * 24 * 3600.0
"""Seconds a registered document is kept after its last use."""

# KEYS: document, its scope's index.  ARGV: document text, most documents kept, ttl ms.
REGISTER = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[2])
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #popped, 2 do
    redis.call('DEL', popped[i])
  end
end
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
"""

# KEYS: document, its scope's index.  ARGV: ttl ms.
READ = """
local found = redis.call('GET', KEYS[1])
if found then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], now, KEYS[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return found
"""


class RedisDocumentStore:
    def __init__(self, link: RedisLink, per_scope: int, ttl: float = DOCUMENT_TTL) -> None:
        self._link = link
        self._max = per_scope
        self._ttl_ms = max(1, int(ttl * 1000))
        self._register = link.client.register_script(REGISTER)
        self._read = link.client.register_script(READ)

    def _keys(self, scope: str, digest: str) -> list[str]:
        return [self._link.key("apq", scope, digest), self._link.key("apq-index", scope)]

    async def get(self, scope: str, digest: str) -> str | None:
        keys, args = self._keys(scope, digest), [self._ttl_ms]
        try:
            found = await self._link.run(lambda r: self._read(keys=keys, args=args))
        except StoreDown:
            return None
        return None if found is None else str(found)

    async def put(self, scope: str, digest: str, document: str) -> None:
        keys = self._keys(scope, digest)
        args: list[str | int] = [document, self._max, self._ttl_ms]
        with contextlib.suppress(StoreDown):
            await self._link.run(lambda r: self._register(keys=keys, args=args))
