"""OAuth access tokens kept in Redis, so N gateway processes mint one token per account, not N.

The key expires when the token is due for replacement, so whatever is found is still good; a
token the provider refused is deleted, if it is still the one kept, so no process sends it again.
Tokens are credentials: they go to Redis and to the provider, never into a log line or error.
"""

from __future__ import annotations

import contextlib

from providers.base import AccountConfig
from store.redis_link import RedisLink, StoreDown, account_scope

__all__ = ["RedisTokenCache"]

# KEYS: the token.  ARGV: the refused value.  Another process's newer token is left alone.
DROP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisTokenCache:
    def __init__(self, link: RedisLink, account: AccountConfig) -> None:
        self._link = link
        self._key = link.key("oauth", account_scope(account))
        self._drop = link.client.register_script(DROP)

    def __repr__(self) -> str:
        return f"<RedisTokenCache {self._key!r}>"

    async def load(self) -> tuple[str, float] | None:
        async def read() -> tuple[object, object]:
            async with self._link.client.pipeline(transaction=True) as pipe:
                pipe.get(self._key)
                pipe.pttl(self._key)
                value, ttl = await pipe.execute()
            return value, ttl

        try:
            value, ttl = await self._link.run(lambda _: read())
        except StoreDown:
            return None
        if not isinstance(value, str | bytes) or not isinstance(ttl, int) or ttl <= 0:
            return None
        text = value.decode() if isinstance(value, bytes) else value
        return text, ttl / 1000

    async def save(self, value: str, seconds: float) -> None:
        ms = int(seconds * 1000)
        if ms <= 0:
            return
        with contextlib.suppress(StoreDown):
            await self._link.run(lambda r: r.set(self._key, value, px=ms))

    async def drop(self, value: str) -> None:
        with contextlib.suppress(StoreDown):
            await self._link.run(lambda r: self._drop(keys=[self._key], args=[value]))
