"""Automatic persisted queries over HTTP (Apollo's `extensions.persistedQuery` protocol)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.persisted import PersistedQueries
from gateway.security import Client, hash_key
from store.documents import MemoryDocumentStore
from store.documents_redis import RedisDocumentStore
from store.redis_link import RedisLink, connect
from tests.conftest import Stack, make_orgs, running_stack
from tests.redis_support import RedisServer, redis_server, unique_prefix
from tests.ws_support import GraphQLSocket, graphql_socket, until, ws_url

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here

QUERY = "query Names { candidates(first: 2) { edges { node { id fullName } } } }"
KEY_A, KEY_B = "apq-key-a-0123456789abcdef", "apq-key-b-0123456789abcdef"
CLIENTS = (Client("a", hash_key(KEY_A), None, False), Client("b", hash_key(KEY_B), None, False))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str, *, with_query: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest(text)}}
    }
    return body | {"query": text} if with_query else body


def post(stack: Stack, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    return httpx.post(f"{stack.url}/graphql", json=body, headers=headers, timeout=30)


def get(stack: Stack, text: str, key: str | None = None) -> httpx.Response:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest(text)}}
    headers = {} if key is None else {"authorization": f"Bearer {key}"}
    params = {"extensions": json.dumps(extensions), "operationName": "Names"}
    return httpx.get(f"{stack.url}/graphql", params=params, headers=headers, timeout=30)


def code(response: httpx.Response) -> str:
    body = response.json()
    assert "data" not in body, body
    value: str = body["errors"][0]["extensions"]["code"]
    return value


@pytest.fixture
def keyed() -> Iterator[Stack]:
    with running_stack(make_orgs(), clients=CLIENTS) as stack:
        yield stack


def test_an_unknown_hash_asks_for_the_query_and_runs_nothing(shared_stack: Stack) -> None:
    before = len(shared_stack.emulator.requests)
    text = QUERY + " # unknown"
    response = post(shared_stack, persisted(text, with_query=False))
    assert response.status_code == 200  # as Apollo Server: the link retries on 200
    assert code(response) == "PERSISTED_QUERY_NOT_FOUND"
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert len(shared_stack.emulator.requests) == before


def test_a_registered_query_runs_by_hash_over_post_and_get(shared_stack: Stack) -> None:
    text = QUERY + " # registered"
    first = post(shared_stack, persisted(text, with_query=True))
    assert first.status_code == 200 and first.json()["data"]["candidates"]["edges"]
    by_hash = post(shared_stack, persisted(text, with_query=False))
    assert by_hash.json() == first.json()
    over_get = get(shared_stack, text)
    assert over_get.status_code == 200
    assert over_get.json() == first.json()
    assert over_get.headers["cache-control"] == "no-store"  # max_age 0, the default
    by_document_id = post(shared_stack, {"documentId": f"sha256:{digest(text)}"})
    assert by_document_id.json() == first.json()


def test_a_hash_that_does_not_match_is_refused_and_never_registered(shared_stack: Stack) -> None:
    text = QUERY + " # mismatch"
    body = persisted(text, with_query=True) | {"query": QUERY + " # other text"}
    refused = post(shared_stack, body)
    assert refused.status_code == 400
    assert code(refused) == "BAD_USER_INPUT"
    assert code(post(shared_stack, persisted(text, with_query=False))) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )
    assert code(post(shared_stack, persisted(QUERY + " # other text", with_query=False))) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": "x"},
    ],
)
def test_malformed_persisted_queries_are_bad_input(
    shared_stack: Stack, extensions: dict[str, Any]
) -> None:
    response = post(shared_stack, {"extensions": extensions})
    assert response.status_code == 400 and code(response) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "text",
    [
        "{ " + " ".join(f"a{n}: accounts {{ id }}" for n in range(31)) + " }",  # over max_aliases
        "{ candidates(first: 2) { nope } }",  # invalid
        "{ candidates(first: 2) { ",  # does not parse
    ],
    ids=["over-a-limit", "invalid", "unparsable"],
)
def test_a_document_that_does_not_run_is_not_registered(shared_stack: Stack, text: str) -> None:
    response = post(shared_stack, persisted(text, with_query=True))
    assert "data" not in response.json()
    assert code(post(shared_stack, persisted(text, with_query=False))) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


def test_registrations_are_per_client_and_need_a_key(keyed: Stack) -> None:
    text = QUERY + " # keyed"
    before = len(keyed.emulator.requests)
    for anonymous in (
        post(keyed, persisted(text, with_query=True)),
        post(keyed, persisted(text, with_query=True), "wrong-key-0123456789abcdef"),
        get(keyed, text),
    ):
        assert anonymous.status_code == 401
    assert len(keyed.emulator.requests) == before
    assert code(post(keyed, persisted(text, with_query=False), KEY_A)) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )
    assert post(keyed, persisted(text, with_query=True), KEY_A).json()["data"]
    assert post(keyed, persisted(text, with_query=False), KEY_A).json()["data"]
    assert code(post(keyed, persisted(text, with_query=False), KEY_B)) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


def test_when_disabled_clients_are_told_to_fall_back() -> None:
    with running_stack(make_orgs(), persisted_queries=PersistedQueries(enabled=False)) as stack:
        for body in (persisted(QUERY, with_query=False), persisted(QUERY, with_query=True)):
            response = post(stack, body)
            assert response.status_code == 200
            assert code(response) == "PERSISTED_QUERY_NOT_SUPPORTED"
            assert response.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
        assert post(stack, {"query": QUERY}).json()["data"]


def test_long_documents_run_but_are_not_kept() -> None:
    with running_stack(make_orgs(), persisted_queries=PersistedQueries(max_bytes=40)) as stack:
        assert post(stack, persisted(QUERY, with_query=True)).json()["data"]
        assert code(post(stack, persisted(QUERY, with_query=False))) == (
            "PERSISTED_QUERY_NOT_FOUND"
        )


def test_a_hash_only_get_may_be_kept_privately_when_configured() -> None:
    settings = PersistedQueries(max_age=30)
    with running_stack(make_orgs(), clients=CLIENTS, persisted_queries=settings) as stack:
        missing = get(stack, QUERY, KEY_A)
        assert code(missing) == "PERSISTED_QUERY_NOT_FOUND"
        assert missing.headers["cache-control"] == "no-store"
        registered = post(stack, persisted(QUERY, with_query=True), KEY_A)
        assert registered.headers["cache-control"] == "no-store"  # a POST
        answer = get(stack, QUERY, KEY_A)
        assert answer.json()["data"]
        assert answer.headers["cache-control"] == "private, max-age=30"
        vary = {v.strip().lower() for v in answer.headers["vary"].split(",")}
        assert {"authorization", "accept", "accept-encoding"} <= vary


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_the_registry_is_bounded_and_scoped(
    backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "memory":
        store: Any = MemoryDocumentStore(2)
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        link = RedisLink(connect(server.url), unique_prefix())
        store = RedisDocumentStore(link, 2)
    for n in range(3):
        await store.put("a", f"{n:064x}", f"document {n}")
    assert await store.get("a", f"{0:064x}") is None  # the oldest went
    assert await store.get("a", f"{2:064x}") == "document 2"
    assert await store.get("b", f"{2:064x}") is None
    for n in range(10, 20):  # another client registering many pushes none of a's out
        await store.put("b", f"{n:064x}", f"document {n}")
    assert await store.get("a", f"{1:064x}") == "document 1"
    assert await store.get("a", f"{2:064x}") == "document 2"
    assert await store.get("b", f"{19:064x}") == "document 19"
    assert await store.get("b", f"{17:064x}") is None  # b's own oldest went
    if backend == "redis":
        await link.aclose()


def test_replicas_sharing_a_redis_share_registrations(redis_server: RedisServer) -> None:
    prefix = unique_prefix()
    with (
        running_stack(make_orgs(), store_url=redis_server.url, store_prefix=prefix) as one,
        running_stack(make_orgs(), store_url=redis_server.url, store_prefix=prefix) as two,
    ):
        text = QUERY + " # shared"
        assert post(one, persisted(text, with_query=True)).json()["data"]
        assert post(two, persisted(text, with_query=False)).json()["data"]


SUBSCRIPTION = 'subscription Changes { candidateChanged(accounts: ["initech"]) { kind id } }'


async def test_a_socket_registers_and_runs_persisted_queries() -> None:
    """Over graphql-transport-ws as over POST: a hash alone asks for the text, the text with
    its hash registers it (a subscription's at its first event), a wrong hash registers
    nothing, and a document registered for one client is not another's."""
    with running_stack(make_orgs(), clients=CLIENTS, poll_interval=0.05) as stack:
        async with graphql_socket(ws_url(stack.url), KEY_A) as sock:
            await _send(sock, "1", persisted(QUERY, with_query=False))
            assert await _refusal(sock, "1") == (
                "PERSISTED_QUERY_NOT_FOUND",
                "PersistedQueryNotFound",
            )
            await _send(sock, "2", persisted(QUERY, with_query=True))
            first = await _result(sock, "2")
            assert first["data"]["candidates"]["edges"]
            await _send(sock, "3", persisted(QUERY, with_query=False))
            assert await _result(sock, "3") == first

            other = QUERY.replace("first: 2", "first: 3")
            wrong = persisted(other + " ", with_query=False)
            await _send(sock, "4", wrong | {"query": other})
            assert (await _refusal(sock, "4"))[0] == "BAD_USER_INPUT"
            for id, named in (("5", wrong), ("6", persisted(other, with_query=False))):
                await _send(sock, id, named)
                assert (await _refusal(sock, id))[0] == "PERSISTED_QUERY_NOT_FOUND"

            await _send(sock, "7", persisted(SUBSCRIPTION, with_query=True))
            await _retitle_when_polled(stack, 0)
            change = await _result(sock, "7")
            assert change["data"]["candidateChanged"]["kind"] == "UPDATED"
            await sock.send({"id": "7", "type": "complete"})
            await _send(sock, "8", persisted(SUBSCRIPTION, with_query=False))
            await _retitle_when_polled(stack, 1)
            change = await _result(sock, "8")  # registered at its first event: runs by hash
            assert change["data"]["candidateChanged"]["kind"] == "UPDATED"
        async with graphql_socket(ws_url(stack.url), KEY_B) as sock:
            await _send(sock, "1", persisted(QUERY, with_query=False))
            assert (await _refusal(sock, "1"))[0] == "PERSISTED_QUERY_NOT_FOUND"


async def _send(sock: GraphQLSocket, id: str, payload: dict[str, Any]) -> None:
    await sock.send({"id": id, "type": "subscribe", "payload": payload})


async def _result(sock: GraphQLSocket, id: str) -> dict[str, Any]:
    """The next `next` message's payload, skipping the `complete` of earlier operations."""
    while True:
        message = await sock.receive()
        if message["type"] != "complete":
            break
    assert message["type"] == "next" and message["id"] == id, message
    assert "errors" not in message["payload"], message
    payload: dict[str, Any] = message["payload"]
    return payload


async def _refusal(sock: GraphQLSocket, id: str) -> tuple[str, str]:
    while True:
        message = await sock.receive()
        if message["type"] != "complete":
            break
    assert message["type"] == "error" and message["id"] == id, message
    error = message["payload"][0]
    return error["extensions"]["code"], error["message"]


async def _retitle_when_polled(stack: Stack, nth: int) -> None:
    """Changes a candidate once the poller has read the account twice since now (so its
    baseline is taken), as Talynce would when a recruiter edits it."""

    def lists() -> int:
        return sum(1 for r in stack.calls("initech") if r.path == "/api/v1/candidates")

    start = lists()
    await until(lambda: lists() >= start + 2)
    org = stack.orgs["initech"]
    remote_id = sorted(org.candidates)[nth]
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.patch(
            f"{stack.upstream}/api/v1/candidates/{remote_id}",
            json={"current_designation": f"Persisted {nth}"},
            headers={"authorization": f"Bearer {org.api_key}"},
        )
    assert answer.status_code == 200, answer.text
