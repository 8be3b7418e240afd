"""Registered documents in Redis, shared by every gateway process: the memory twin's semantics.

Keys: `<prefix>:apq:<scope>:<digest>` holds a document; `<prefix>:apq-index:<scope>` is a sorted
set of the scope's keys by registration time, so each scope stays bounded: a registration that
takes its scope over `per_scope` deletes that scope's oldest ones in the same Lua script, and
no scope's registrations push another's out. A registry Redis cannot
serve reads as empty (the client sends the full document again, which runs) and skips writes.
"""

from __future__ import annotations

import contextlib
import time

from store.redis_link import RedisLink, StoreDown

__all__ = ["RedisDocumentStore"]

# KEYS: document, its scope's index.  ARGV: document text, score (ms), most documents kept.
REGISTER = """
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #popped, 2 do
    redis.call('DEL', popped[i])
  end
end
return 1
"""


class RedisDocumentStore:
    def __init__(self, link: RedisLink, per_scope: int) -> None:
        self._link = link
        self._max = per_scope
        self._register = link.client.register_script(REGISTER)

    def _key(self, scope: str, digest: str) -> str:
        return self._link.key("apq", scope, digest)

    async def get(self, scope: str, digest: str) -> str | None:
        key = self._key(scope, digest)
        try:
            found = await self._link.run(lambda r: r.get(key))
        except StoreDown:
            return None
        return None if found is None else str(found)

    async def put(self, scope: str, digest: str, document: str) -> None:
        keys = [self._key(scope, digest), self._link.key("apq-index", scope)]
        args: list[str | int] = [document, int(time.time() * 1000), self._max]
        with contextlib.suppress(StoreDown):
            await self._link.run(lambda r: self._register(keys=keys, args=args))
