"""Nothing the gateway writes to Redis lives forever: after queries, persisted documents, an
idempotent create and webhook deliveries, every key under the deployment's prefix has a TTL.

A key without one outlives the account, client or credentials it was written for (a removed
account's generation, a client's registered documents, the last events of a quiet stream), so
a shared Redis would fill with what no replica will ever read again."""

from __future__ import annotations

import hashlib
import json

import httpx
from redis.asyncio import Redis

from tests.conftest import make_orgs, running_stack
from tests.live_support import GH_SECRET, body, greenhouse_signature, live_gateway, webhook_settings
from tests.redis_support import RedisServer, redis_server, unique_prefix

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here

LIST = "query Names { candidates(first: 5) { edges { node { id fullName } } } }"
CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) { created candidate { id } userErrors { code } }
}
"""


async def keys_without_ttl(url: str, prefix: str) -> dict[str, int]:
    """Every key under `prefix` and its TTL in ms, of those that have none (-1)."""
    client = Redis.from_url(url, decode_responses=True)
    try:
        found = {key: await client.pttl(key) async for key in client.scan_iter(f"{prefix}:*")}
    finally:
        await client.aclose()
    assert found, "the workload wrote nothing to Redis"
    return {key: ttl for key, ttl in found.items() if ttl < 0}


async def test_queries_documents_and_writes_leave_only_keys_that_expire(
    redis_server: RedisServer,
) -> None:
    prefix = unique_prefix()
    settings = {"store_url": redis_server.url, "store_prefix": prefix, "cache_ttl": 30.0}
    with running_stack(make_orgs(), rate_limit=(100, 1.0), **settings) as stack:
        digest = hashlib.sha256(LIST.encode()).hexdigest()
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        graphql = f"{stack.url}/graphql"
        async with httpx.AsyncClient(timeout=30) as http:
            registered = await http.post(graphql, json={"query": LIST, "extensions": extensions})
            assert registered.json()["data"]["candidates"]["edges"]
            by_hash = await http.post(graphql, json={"extensions": extensions})
            assert by_hash.json()["data"] == registered.json()["data"]
            draft = {
                "account": "acme",
                "firstName": "Ada",
                "lastName": "Expiry",
                "emails": [{"value": "ada.expiry@example.com"}],
                "idempotencyKey": "expiry-1",
            }
            created = await http.post(
                graphql, json={"query": CREATE, "variables": {"input": draft}}
            )
            assert created.json()["data"]["createCandidate"]["created"], created.text
            again = await http.post(graphql, json={"query": LIST})  # cached after the write
            assert again.json()["data"]["candidates"]["edges"]
    assert await keys_without_ttl(redis_server.url, prefix) == {}


async def test_webhook_deliveries_leave_only_keys_that_expire(redis_server: RedisServer) -> None:
    prefix = unique_prefix()
    settings = webhook_settings(store_url=redis_server.url, store_prefix=prefix)
    async with live_gateway(settings) as gateway:
        for n in range(3):
            raw = body(
                {
                    "action": "update_candidate",
                    "payload": {
                        "candidate": {"id": 4200 + n, "updated_at": "2026-11-30T10:00:00Z"}
                    },
                }
            )
            headers = {
                "Signature": greenhouse_signature(raw, GH_SECRET),
                "Greenhouse-Event-ID": f"expiry-{n}",
            }
            accepted = await gateway.post("gh", raw, headers)
            assert accepted.status_code == 202, accepted.text
            assert json.loads(accepted.text)["published"] == 1
    assert await keys_without_ttl(redis_server.url, prefix) == {}
