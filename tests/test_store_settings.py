"""The `store`, `store_url_env`, `store_prefix`, `cache_ttl` and `read_ahead*` settings of
`[gateway]`."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.security import Client
from gateway.settings import ConfigError, Settings, parse_settings
from gateway.store import open_store
from providers.events import ChangeEvent, ChangeKind, ObjectType
from store.cache import MemoryCacheBackend
from store.cache_redis import RedisCacheBackend
from store.events import BusEvent, Refetch
from store.idempotency import MemoryIdempotencyStore
from store.idempotency_redis import RedisIdempotencyStore
from store.write_behind import WriteBehind

ACCOUNT = {"id": "a", "provider": "talynce", "base_url": "http://x", "api_key_env": "K"}
PASSWORD = "hunter2-redis-password"


def parsed(gateway: dict[str, Any], **env: str) -> Settings:
    return parse_settings({"gateway": gateway, "accounts": [ACCOUNT]}, {"K": "k", **env})


def test_memory_is_the_default_with_the_cache_off() -> None:
    settings = parsed({})
    assert (settings.store_url, settings.cache_ttl, settings.store_prefix) == (
        None,
        0.0,
        "ats-gateway",
    )
    assert parsed({"store": "memory"}).store_url is None
    store = open_store(settings)
    assert store.cache is None and store.sharing is None and store.status == "memory"
    assert isinstance(store.idempotency(None), MemoryIdempotencyStore)  # type: ignore[arg-type]
    assert isinstance(open_store(parsed({"cache_ttl": 5})).cache, MemoryCacheBackend)


async def test_a_redis_url_makes_every_piece_shared() -> None:
    settings = parsed({"store": "redis://cache.internal:6380/2", "cache_ttl": 2.5})
    assert settings.store_url == "redis://cache.internal:6380/2" and settings.cache_ttl == 2.5
    store = open_store(settings)
    assert isinstance(store.cache, RedisCacheBackend) and store.sharing is not None
    assert isinstance(store.idempotency(None), RedisIdempotencyStore)  # type: ignore[arg-type]
    await store.aclose()


async def test_a_shared_store_without_a_shared_cursor_secret_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Replicas on one Redis refuse each other's cursors and event ids unless they share the
    secret; a made-up one per process is what the operator gets without cursor_secret_env."""
    url = "redis://cache.internal:6380/2"
    with caplog.at_level(logging.WARNING, logger="gateway.store"):
        await open_store(parsed({"store": url})).aclose()
    assert [r.message for r in caplog.records if "cursor_secret_env" in r.message]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gateway.store"):
        await open_store(parsed({"store": url, "cursor_secret_env": "S"}, S="s" * 32)).aclose()
        open_store(parsed({}))
    assert not [r for r in caplog.records if "cursor_secret_env" in r.message]


def test_a_url_with_a_password_comes_from_the_environment_and_stays_secret() -> None:
    url = f"redis://:{PASSWORD}@10.0.0.5:6379/0"
    settings = parsed({"store_url_env": "GW_REDIS"}, GW_REDIS=url)
    assert settings.store_url == url
    assert PASSWORD not in repr(settings)
    assert PASSWORD in settings.secrets()  # so log redaction masks it


@pytest.mark.parametrize(
    ("gateway", "env", "message"),
    [
        ({"store": "mysql://db"}, {}, 'gateway.store: expected "memory" or redis://'),
        ({"store": "redis://"}, {}, "the host is missing"),
        ({"store": "redis://h:port/0"}, {}, "gateway.store: not a valid URL"),
        ({"store": "redis://h:6379/zero"}, {}, "the database must be a number"),
        ({"store": 6379}, {}, 'gateway.store: expected "memory"'),
        ({"store": f"redis://:{PASSWORD}@h/0"}, {}, "a password does not go in the file"),
        ({"store_url_env": "NOT_SET"}, {}, "environment variable NOT_SET is not set"),
        ({"store_url_env": "GW_REDIS"}, {"GW_REDIS": f"http://:{PASSWORD}@h"}, "GW_REDIS"),
        ({"store": "memory", "store_url_env": "GW_REDIS"}, {}, "not both"),
        ({"cache_ttl": -1}, {}, "gateway.cache_ttl"),
        ({"store_prefix": "a:b"}, {}, "gateway.store_prefix"),
    ],
)
def test_bad_store_settings_are_refused_without_repeating_a_password(
    gateway: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parsed(gateway, **env)
    assert message in str(raised.value)
    assert PASSWORD not in str(raised.value)


async def test_read_ahead_is_on_by_default_and_kept_where_the_store_is() -> None:
    default = open_store(parsed({})).ahead
    assert isinstance(default, MemoryCacheBackend) and (default.ttl, default.max_entries) == (
        60.0,
        2000,
    )
    assert open_store(parsed({"read_ahead": False})).ahead is None
    settings = parsed({"read_ahead_ttl": 5, "read_ahead_max_pages": 10})
    kept = open_store(settings).ahead
    assert isinstance(kept, MemoryCacheBackend) and (kept.ttl, kept.max_entries) == (5, 10)
    shared = open_store(parsed({"store": "redis://cache.internal:6380/2"}))
    assert isinstance(shared.ahead, WriteBehind)  # sent to Redis after the answer
    assert isinstance(shared.ahead_near, MemoryCacheBackend)
    await shared.aclose()


@pytest.mark.parametrize(
    ("gateway", "message"),
    [
        ({"read_ahead": "yes"}, "gateway.read_ahead: expected true or false"),
        ({"read_ahead_ttl": 0}, "gateway.read_ahead_ttl: expected a number ≥ 0.1"),
        ({"read_ahead_max_pages": 0}, "gateway.read_ahead_max_pages: expected an integer ≥ 1"),
        ({"read_ahead_max_pages": 2.5}, "gateway.read_ahead_max_pages: expected an integer ≥ 1"),
    ],
)
def test_read_ahead_settings_are_checked(gateway: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parsed(gateway)


async def test_event_replay_max_is_a_setting_the_bus_keeps_to() -> None:
    assert parsed({}).event_replay_max == 500
    with pytest.raises(ConfigError, match="event_replay_max"):
        parsed({"event_replay_max": 0})
    bus = open_store(parsed({"event_replay_max": 2})).events()
    positions = [await bus.publish(_event(n)) for n in range(4)]
    assert positions[0] is not None and positions[1] is not None
    [signal] = [item async for item in _first(await bus.subscribe(after=positions[0]), 1)]
    assert signal == Refetch("window")  # three events after it: past the setting
    replayed = [item async for item in _first(await bus.subscribe(after=positions[1]), 2)]
    assert [item.id for item in replayed if isinstance(item, BusEvent)] == positions[2:]
    await bus.aclose()


def _event(n: int) -> ChangeEvent:
    return ChangeEvent(
        account="a",
        object_type=ObjectType.CANDIDATE,
        kind=ChangeKind.UPDATED,
        remote_id=f"c{n}",
        occurred_at=datetime.now(UTC),
        dedupe_id=f"d{n}",
    )


async def _first(stream: AsyncIterator[BusEvent | Refetch], n: int) -> AsyncIterator[object]:
    async for item in stream:
        yield item
        n -= 1
        if n == 0:
            return


def test_each_client_gets_its_share_of_the_persisted_documents() -> None:
    settings = parsed({"persisted_queries_max": 10})
    clients = tuple(Client(f"c{n}", f"{n:064x}") for n in range(3))
    assert open_store(settings).documents().per_scope == 10  # type: ignore[attr-defined]
    shared = open_store(dataclasses.replace(settings, clients=clients)).documents()
    assert shared.per_scope == 3  # type: ignore[attr-defined]
