"""Every way into the gateway, with every key: nothing runs unauthenticated, no key sees more.

Each route is asked with each method, each Accept header and each kind of key, always carrying
a query string (and, for POST, a body) that would run a GraphQL operation listing candidates of
every account. The GraphiQL page is served only as a page, and nothing else answers without a
valid key.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from hashlib import sha256
from itertools import product
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.routing import Route

from gateway.app import create_app
from gateway.security import Client, hash_key
from gateway.view import GraphQLView
from tests.conftest import Stack, gateway_settings, make_orgs, running_stack
from tests.live_support import (
    GH_SECRET,
    body,
    greenhouse_signature,
    live_gateway,
    webhook_settings,
)
from tests.servers import serve_in_thread

WIDE, NARROW = "wide-key-0123456789abcdef", "narrow-key-0123456789abcdef"
CLIENTS = (
    Client("wide", hash_key(WIDE), None, True),
    Client("narrow", hash_key(NARROW), frozenset({"acme"}), True),
)
HIDDEN_FROM_NARROW = ("globex", "initech")
QUERY = "{ accounts { id name } candidates(first: 3) { edges { node { account { id } } } } }"
ROUTES = (
    "/",
    "/graphql",
    "/graphql/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/graphiql/x",
    "/unknown",
    "/GRAPHQL",
    "/webhooks/acme",
)
METHODS = ("GET", "POST", "HEAD", "OPTIONS")
ACCEPTS = ("text/html", "*/*", "application/json", "application/graphql-response+json", None)
KEYS = {"none": None, "wrong": "wrong-key-0123456789abcdef", "narrow": NARROW}


@pytest.fixture(scope="module", params=[True, False], ids=["graphiql-on", "graphiql-off"])
def gateway(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running_stack(make_orgs(), clients=CLIENTS, graphiql=request.param) as stack:
        yield stack


def ask(
    client: httpx.Client, stack: Stack, route: str, method: str, accept: str | None, key: str | None
) -> httpx.Response:
    headers = {}
    if accept is not None:
        headers["accept"] = accept
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    kwargs: dict[str, object] = {}
    if method == "POST":
        kwargs["json"] = {"query": QUERY}
    return client.request(
        method,
        f"{stack.url}{route}",
        params={"query": QUERY, "variables": "{}"},
        headers=headers,
        follow_redirects=False,
        **kwargs,  # type: ignore[arg-type]
    )


def test_nothing_runs_without_a_valid_key_and_no_key_sees_past_its_accounts(
    gateway: Stack,
) -> None:
    answers = {}
    with httpx.Client(timeout=30) as client:
        for (kind, key), route, method, accept in product(KEYS.items(), ROUTES, METHODS, ACCEPTS):
            before = {name: len(gateway.calls(name)) for name in gateway.orgs}
            response = ask(client, gateway, route, method, accept, key)
            answers[(kind, route, method, accept)] = response.status_code
            where = f"{kind} key, {method} {route}, accept {accept}: {response.status_code}"
            text = response.text
            called = {n for n in gateway.orgs if len(gateway.calls(n)) > before[n]}
            assert response.status_code != 500, where
            for hidden in HIDDEN_FROM_NARROW:
                assert hidden not in text.lower(), where
            assert not called & set(HIDDEN_FROM_NARROW), where
            if kind != "narrow":
                assert not called, where
                assert '"data"' not in text and "acme" not in text.lower(), where
                assert '"accounts"' not in text, where
    # The matrix is not vacuous: the narrow key does run operations, on its own account only.
    assert answers[("narrow", "/graphql", "POST", "application/json")] == 200
    assert answers[("none", "/graphql", "POST", "application/json")] == 401
    assert answers[("none", "/graphql", "GET", "*/*")] == 401


def test_the_graphiql_page_is_served_as_a_page_and_runs_nothing() -> None:
    with running_stack(make_orgs(), clients=CLIENTS) as stack:
        before = len(stack.emulator.requests)
        page = httpx.get(
            f"{stack.url}/graphql",
            params={"query": QUERY},
            headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        )
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "graphiql" in page.text.lower() and "acme" not in page.text
        assert len(stack.emulator.requests) == before


def test_with_graphiql_off_a_browser_get_is_an_api_request_that_needs_a_key() -> None:
    with running_stack(make_orgs(), clients=CLIENTS, graphiql=False) as stack:
        url = f"{stack.url}/graphql"
        browser = {"accept": "text/html,*/*;q=0.8"}
        refused = httpx.get(url, params={"query": QUERY}, headers=browser)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        keyed = httpx.get(
            url, params={"query": QUERY}, headers=browser | {"authorization": f"Bearer {NARROW}"}
        )
        assert keyed.status_code == 200
        assert [a["id"] for a in keyed.json()["data"]["accounts"]] == ["acme"]


def test_the_graphql_view_has_no_fallback_identity() -> None:
    """Reached without the guard's verdict (a route added without it), the view refuses."""
    orgs = make_orgs()
    for clients in (CLIENTS, ()):
        app = create_app(gateway_settings("http://127.0.0.1:9", orgs, clients=clients))
        [view] = [
            r.endpoint
            for r in app.routes
            if isinstance(r, Route) and isinstance(r.endpoint, GraphQLView)
        ]
        with serve_in_thread(view) as url:
            for request in (
                httpx.post(url, json={"query": "{ accounts { id } }"}),
                httpx.get(url, params={"query": "{ accounts { id } }"}),
            ):
                assert request.status_code == 401, request.text
                assert "data" not in request.json()


def _upgrade(url: str, path: str, key: str | None) -> bytes:
    """The status line a WebSocket upgrade to `path` gets, with `key` in its header."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        auth = f"Authorization: Bearer {key}\r\n" if key else ""
        sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n"
                f"{auth}\r\n"
            ).encode()
        )
        return sock.recv(4096).split(b"\r\n", 1)[0]


@pytest.mark.parametrize("path", ["/graphql/", "/"])
def test_websockets_elsewhere_are_refused(gateway: Stack, path: str) -> None:
    """Only /graphql serves sockets, with or without a key."""
    for key in (None, NARROW):
        assert _upgrade(gateway.url, path, key).split()[1] == b"403"


def test_a_websocket_upgrade_with_a_wrong_key_is_refused(gateway: Stack) -> None:
    """A key in the upgrade request is checked there: a wrong one never gets a socket. One that
    names no key may still authenticate in connection_init (tests/test_subscriptions.py)."""
    assert _upgrade(gateway.url, "/graphql", "atsg_not_a_key").split()[1] == b"403"
    assert _upgrade(gateway.url, "/graphql", NARROW).split()[1] == b"101"


def _persisted_shapes(text: str) -> dict[str, tuple[str, dict[str, object]]]:
    """Every way a persisted query arrives: (method, httpx keyword arguments)."""
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(text.encode()).hexdigest()}}
    as_params = {"extensions": json.dumps(extensions)}
    return {
        "POST hash and query": ("POST", {"json": {"query": text, "extensions": extensions}}),
        "POST hash only": ("POST", {"json": {"extensions": extensions}}),
        "POST documentId": (
            "POST",
            {"json": {"documentId": f"sha256:{sha256(text.encode()).hexdigest()}"}},
        ),
        "GET hash only": ("GET", {"params": as_params}),
        "GET hash and query": ("GET", {"params": as_params | {"query": text}}),
    }


def test_persisted_queries_neither_run_nor_register_without_a_valid_key(gateway: Stack) -> None:
    registered = QUERY + " # registered by the narrow key"
    fresh = QUERY + " # offered without a key"
    narrow = {"authorization": f"Bearer {NARROW}"}
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        method, kwargs = _persisted_shapes(registered)["POST hash and query"]
        assert client.request(method, "/graphql", headers=narrow, **kwargs).json()["data"]  # type: ignore[arg-type]
        before = len(gateway.emulator.requests)
        for text in (registered, fresh):
            for shape, (method, kwargs) in _persisted_shapes(text).items():
                for kind in ("none", "wrong"):
                    key = KEYS[kind]
                    headers = {} if key is None else {"authorization": f"Bearer {key}"}
                    response = client.request(method, "/graphql", headers=headers, **kwargs)  # type: ignore[arg-type]
                    assert response.status_code == 401, f"{kind} key, {shape}"
                    assert '"data"' not in response.text, f"{kind} key, {shape}"
        assert len(gateway.emulator.requests) == before
        method, kwargs = _persisted_shapes(fresh)["POST hash only"]
        missing = client.request(method, "/graphql", headers=narrow, **kwargs)  # type: ignore[arg-type]
        assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_webhooks_are_authenticated_by_signature_not_by_client_key() -> None:
    """A client key neither opens nor is needed for /webhooks: the provider's signature is the
    credential. A signed body that also carries a GraphQL query (in the body and the query
    string) is read as a delivery; nothing executes it."""
    delivery = body(
        {
            "action": "update_candidate",
            "payload": {"candidate": {"id": 1}},
            "query": QUERY,
        }
    )
    signed = {"Signature": greenhouse_signature(delivery, GH_SECRET)}
    async with live_gateway(webhook_settings(clients=CLIENTS)) as gateway:
        url = f"{gateway.url}/webhooks/gh"
        graphql = await gateway.http.post(f"{gateway.url}/graphql", json={"query": QUERY})
        assert graphql.status_code == 401  # the gateway does require keys...
        by_key = await gateway.http.post(
            url, content=delivery, headers={"authorization": f"Bearer {WIDE}"}
        )
        assert by_key.status_code == 401  # ...but a key is not a webhook's credential
        accepted = await gateway.http.post(
            url, content=delivery, params={"query": QUERY}, headers=signed
        )
        assert accepted.status_code == 202, accepted.text
        assert accepted.json() == {"events": 1, "published": 1}
        assert "data" not in accepted.json()
