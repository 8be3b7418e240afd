"""The response cache's shared backend: JSON entries in Redis, one generation key per account.

Keys: `<prefix>:cache:<scope>:gen` holds the scope's generation, a random token (so a
generation key lost to eviction or expiry can never bring back entries of an older one);
`<prefix>:cache:<scope>:<generation>:<kind>:<name>` holds an entry for the configured TTL.
Nothing lives forever: a generation key expires one TTL after it was set or last written
under, so it outlives every entry written while it was current, and a scope no one reads (an
account removed, its credentials changed) leaves nothing behind.
A renewal that cannot reach Redis is retried before the scope is read again; until it
succeeds the scope reads uncached, so a write during an outage is never followed by a read
of what it changed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from store.cache import Kind, Miss
from store.records_json import (
    any_page_from_json,
    any_page_to_json,
    application_from_json,
    candidate_from_json,
    page_from_json,
    to_json,
)
from store.redis_link import RedisLink, StoreDown
from store.turn_batch import TurnBatch

__all__ = ["RedisCacheBackend"]

log = logging.getLogger("gateway.store")


def _encode(kind: Kind, value: object) -> Any:
    if kind == "ahead":
        return any_page_to_json(value)  # type: ignore[arg-type]
    if isinstance(value, list | tuple):  # a candidate's applications
        return [to_json(item) for item in value]
    return None if value is None else to_json(value)


def _dumps(value: Any) -> bytes | str:
    """orjson: a kept 100-row page is written in a fraction of json's time, on the loop that
    serves the pages waiting for it. What orjson cannot write (integers past 64 bits) json
    writes; a NaN it writes as null, as the gateway's answers show one anyway."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value)


def _loads(text: bytes | str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # what json wrote for orjson (integers past 64 bits)


def _decoder(kind: Kind) -> Callable[[Any], object]:
    if kind == "list":
        return page_from_json
    if kind == "ahead":
        return any_page_from_json
    if kind == "candidate":
        return lambda data: None if data is None else candidate_from_json(data)
    return lambda data: [application_from_json(item) for item in data]


class RedisCacheBackend:
    """`space` names the key family (`cache`; `ahead` for read-ahead pages), so two backends
    on one Redis keep their own generations and entries."""

    def __init__(self, link: RedisLink, ttl: float, space: str = "cache") -> None:
        self._link = link
        self._space = space
        self._ttl_ms = max(1, int(ttl * 1000))
        self._stale: set[str] = set()
        self._batch: TurnBatch[Any] = TurnBatch(lambda keys: link.run(lambda r: r.mget(keys)))

    def _key(self, scope: str, *parts: str) -> str:
        return self._link.key(self._space, scope, *parts)

    async def generation(self, scope: str) -> str | None:
        """The scope's generation as Redis holds it now (asked with the turn's other reads)."""
        try:
            if scope in self._stale:
                await self.renew(scope)
                if scope in self._stale:
                    return None
            key = self._key(scope, "gen")
            [value] = await self._batch.get([key])
            if value is None:
                value = await self._first(key)
        except StoreDown:
            return None  # the store cannot be used now: read through
        return value.decode() if isinstance(value, bytes) else value

    async def _first(self, key: str) -> Any:
        """A generation for a scope that has none (never set, or evicted): whoever sets one
        first sets it for all."""
        token = uuid.uuid4().hex
        await self._link.run(lambda r: r.set(key, token, nx=True, px=self._ttl_ms))
        return await self._link.run(lambda r: r.get(key))

    async def renew(self, scope: str) -> None:
        key = self._key(scope, "gen")
        try:
            await self._link.run(lambda r: r.set(key, uuid.uuid4().hex, px=self._ttl_ms))
        except StoreDown:
            self._stale.add(scope)
        else:
            self._stale.discard(scope)

    async def read(
        self, scope: str, generation: str, kind: Kind, names: Sequence[str]
    ) -> list[object]:
        keys = [self._key(scope, generation, kind, name) for name in names]
        try:
            raw = await self._batch.get(keys)
        except StoreDown:
            return [Miss.MISS] * len(names)
        decode = _decoder(kind)
        found: list[object] = []
        for text in raw:
            try:
                found.append(Miss.MISS if text is None else decode(_loads(text)))
            except (ValueError, TypeError, KeyError):
                found.append(Miss.MISS)  # another version's entry: read it afresh
        return found

    async def write(
        self, scope: str, generation: str, kind: Kind, entries: Mapping[str, object]
    ) -> None:
        encoded: dict[str, bytes | str] = {}
        for name, value in entries.items():
            try:
                encoded[self._key(scope, generation, kind, name)] = _dumps(_encode(kind, value))
            except (TypeError, ValueError):
                log.debug("a %s entry is not JSON-serializable; it is not cached", kind)

        async def store() -> None:
            async with self._link.client.pipeline(transaction=False) as pipe:
                for key, text in encoded.items():
                    pipe.set(key, text, px=self._ttl_ms)
                # Kept until the newest entry expires; a newer generation's is harmlessly kept.
                pipe.pexpire(self._key(scope, "gen"), self._ttl_ms)
                await pipe.execute()

        if encoded:
            with contextlib.suppress(StoreDown):
                await self._link.run(lambda _: store())
