"""An idempotency key kept in a shared store belongs to the upstream tenant its account pointed
at when it was used: Redis outlives a config, and a config that points an account id at another
tenant (another host, other credentials) must not replay the first tenant's outcome there."""

from __future__ import annotations

from typing import Any

from tests.conftest import Stack, make_orgs, running_stack
from tests.redis_support import RedisServer, redis_server, unique_prefix

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here

CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) { created candidate { id } userErrors { code } }
}
"""
DRAFT = {
    "account": "acme",
    "firstName": "Grace",
    "lastName": "Tenant",
    "emails": [{"value": "grace.tenant@example.com"}],
    "idempotencyKey": "tenant-key-1",
}


def create(stack: Stack) -> dict[str, Any]:
    body = stack.graphql(CREATE, {"input": DRAFT})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createCandidate"]
    return payload


def posts(stack: Stack) -> int:
    return sum(1 for r in stack.calls("acme") if r.method == "POST")


def test_a_key_used_with_one_tenant_is_unused_with_another_behind_the_same_account_id(
    redis_server: RedisServer,
) -> None:
    shared = {"store_url": redis_server.url, "store_prefix": unique_prefix()}
    with (
        running_stack(make_orgs(), **shared) as first,
        running_stack(make_orgs(), **shared) as moved,  # "acme", on another host
    ):
        created = create(first)
        assert created["created"] and posts(first) == 1
        assert create(first) == created and posts(first) == 1  # a repeat replays, as ever
        elsewhere = create(moved)
        assert elsewhere["created"] and posts(moved) == 1
        assert elsewhere["candidate"]["id"] != created["candidate"]["id"]
