"""Access control and hardening: client keys, tenant isolation, limits, headers, URL safety."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from gateway.limits import QueryLimits
from gateway.redaction import RedactSecrets
from gateway.security import Client, hash_key
from resolvers.ids import encode_id
from tests.conftest import Stack, make_orgs, running_stack

ADMIN, READER, ACME_ONLY = "admin-key-0123456789", "reader-key-0123456789", "acme-key-0123456789"
CLIENTS = (
    Client("admin", hash_key(ADMIN), None, True),
    Client("reader", hash_key(READER), None, False),
    Client("acme-app", hash_key(ACME_ONLY), frozenset({"acme"}), True),
)


@pytest.fixture(scope="module")
def keyed() -> Iterator[Stack]:
    with running_stack(
        make_orgs(),
        clients=CLIENTS,
        limits=QueryLimits(
            max_depth=8, max_aliases=5, max_tokens=400, max_cost=500, max_body_bytes=4096
        ),
        cors_origins=("https://app.example",),
    ) as stack:
        yield stack


def post(
    stack: Stack, key: str | None, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.post(
        f"{stack.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        **kw,
    )


def ask(
    stack: Stack, key: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = post(stack, key, query, variables)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_missing_or_unknown_keys_get_401_unauthenticated(keyed: Stack) -> None:
    before = len(keyed.emulator.requests)
    for key in (None, "wrong-key", ADMIN + "x"):
        response = post(keyed, key, "{ accounts { id } }")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    basic = httpx.post(
        f"{keyed.url}/graphql",
        json={"query": "{ accounts { id } }"},
        headers={"authorization": f"Basic {ADMIN}"},
    )
    assert basic.status_code == 401
    assert len(keyed.emulator.requests) == before


def test_a_read_only_key_may_read_but_not_write(keyed: Stack) -> None:
    assert len(ask(keyed, READER, "{ accounts { id } }")["data"]["accounts"]) == 3
    before = len(keyed.emulator.requests)
    body = ask(
        keyed,
        READER,
        'mutation { createCandidate(input: {account: "acme", fullName: "X", emails: [{value: "x@example.com"}]}) { created } }',
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    someone = encode_id("Candidate", "acme", keyed.orgs["acme"].ordered_candidates()[0].id)
    body = ask(
        keyed,
        READER,
        'mutation($id: ID!) { updateCandidate(id: $id, input: {company: "X"}) { candidate { id } } }',
        {"id": someone},
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(keyed.emulator.requests) == before


def test_a_scoped_key_sees_only_its_accounts(keyed: Stack) -> None:
    assert ask(keyed, ACME_ONLY, "{ accounts { id } }")["data"]["accounts"] == [{"id": "acme"}]
    before = {name: len(keyed.calls(name)) for name in keyed.orgs}
    page = ask(
        keyed,
        ACME_ONLY,
        "{ candidates(first: 30) { totalCount sources { account { id } } edges { node { account { id } } } } }",
    )
    listing = page["data"]["candidates"]
    assert listing["totalCount"] == 100
    assert {e["node"]["account"]["id"] for e in listing["edges"]} == {"acme"}
    assert [s["account"]["id"] for s in listing["sources"]] == ["acme"]
    assert (
        len(keyed.calls("globex")) == before["globex"]
        and len(keyed.calls("initech")) == before["initech"]
    )


def same_shape(
    hidden: dict[str, Any], missing: dict[str, Any], hidden_name: str, missing_name: str
) -> None:
    """What a hidden account answers must read exactly like what a nonexistent one answers."""
    assert str(hidden).replace(hidden_name, "X") == str(missing).replace(missing_name, "X")


def test_ids_of_hidden_accounts_read_like_ids_that_do_not_exist(keyed: Stack) -> None:
    globex_id = keyed.orgs["globex"].ordered_candidates()[0].id
    query = "query($id: ID!) { candidate(id: $id) { id } node(id: $id) { id } }"
    hidden = ask(keyed, ACME_ONLY, query, {"id": encode_id("Candidate", "globex", globex_id)})
    missing = ask(keyed, ACME_ONLY, query, {"id": encode_id("Candidate", "nope", globex_id)})
    assert hidden == missing == {"data": {"candidate": None, "node": None}}
    visible_to_admin = ask(keyed, ADMIN, query, {"id": encode_id("Candidate", "globex", globex_id)})
    assert visible_to_admin["data"]["candidate"] is not None


def test_hidden_accounts_in_arguments_read_like_unknown_ones(keyed: Stack) -> None:
    listing = "query($a: [ID!], $j: ID) { candidates(accounts: $a, jobId: $j) { totalCount } }"
    for variables_hidden, variables_missing in [
        ({"a": ["globex"]}, {"a": ["nope"]}),
        (
            {"j": encode_id("Job", "globex", keyed.orgs["globex"].jobs[0].id)},
            {"j": encode_id("Job", "nope", keyed.orgs["globex"].jobs[0].id)},
        ),
    ]:
        before = len(keyed.emulator.requests)
        hidden = ask(keyed, ACME_ONLY, listing, variables_hidden)
        missing = ask(keyed, ACME_ONLY, listing, variables_missing)
        assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        same_shape(hidden, missing, "globex", "nope")
        assert len(keyed.emulator.requests) == before


def test_a_cursor_from_a_wider_key_is_refused(keyed: Stack) -> None:
    page = ask(keyed, ADMIN, "{ candidates(first: 3) { pageInfo { endCursor } } }")
    cursor = page["data"]["candidates"]["pageInfo"]["endCursor"]
    before = len(keyed.emulator.requests)
    body = ask(
        keyed,
        ACME_ONLY,
        "query($c: String) { candidates(first: 3, after: $c) { totalCount } }",
        {"c": cursor},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_CURSOR"
    assert len(keyed.emulator.requests) == before


def test_mutations_on_hidden_accounts_read_like_unknown_ones(keyed: Stack) -> None:
    earlier = len(keyed.calls("globex"))  # the module's stack: other tests may write first
    create = 'mutation($a: ID!) { createCandidate(input: {account: $a, fullName: "X", emails: [{value: "x@example.com"}]}) { userErrors { field code message } } }'
    hidden = ask(keyed, ACME_ONLY, create, {"a": "globex"})
    missing = ask(keyed, ACME_ONLY, create, {"a": "nope"})
    assert hidden["data"]["createCandidate"]["userErrors"][0]["code"] == "NOT_FOUND"
    same_shape(hidden, missing, "globex", "nope")
    update = 'mutation($id: ID!) { updateCandidate(id: $id, input: {company: "X"}) { userErrors { field code message } } }'
    globex_id = keyed.orgs["globex"].ordered_candidates()[0].id
    hidden = ask(keyed, ACME_ONLY, update, {"id": encode_id("Candidate", "globex", globex_id)})
    missing = ask(keyed, ACME_ONLY, update, {"id": encode_id("Candidate", "nope", globex_id)})
    assert hidden == missing
    assert hidden["data"]["updateCandidate"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert not [r for r in keyed.calls("globex")[earlier:] if r.method in ("POST", "PATCH")]


@pytest.mark.parametrize(
    "query",
    [
        "{ candidates { edges { node { applications { candidate { applications { candidate { applications { candidate { id } } } } } } } } } }",
        "{ a: accounts { id } b: accounts { id } c: accounts { id } d: accounts { id } e: accounts { id } f: accounts { id } }",
        "fragment F on Query { a: accounts { id } b: accounts { id } c: accounts { id } } { ...F x: accounts { id } y: accounts { id } z: accounts { id } }",
        "{ a: candidates(first: 100) { edges { node { applications { id } } } } }",
        "query($n: Int) { candidates(first: $n) { edges { node { applications { id } } } } }",
    ],
    ids=["depth", "aliases", "aliases-through-fragments", "cost", "cost-of-a-variable"],
)
def test_queries_over_the_limits_are_refused_before_running(keyed: Stack, query: str) -> None:
    before = len(keyed.emulator.requests)
    body = ask(keyed, ADMIN, query)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
    assert "data" not in body or body["data"] is None
    assert len(keyed.emulator.requests) == before


def test_too_many_tokens_too_large_bodies_and_batches_are_refused(keyed: Stack) -> None:
    many_tokens = "{ " + " ".join("accounts { id }" for _ in range(120)) + " }"
    body = ask(keyed, ADMIN, many_tokens)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    huge = post(keyed, ADMIN, "{ accounts { id } }", {"pad": "x" * 5000})
    assert huge.status_code == 413
    assert huge.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    batch = httpx.post(
        f"{keyed.url}/graphql",
        json=[{"query": "{ accounts { id } }"}] * 2,
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert batch.status_code == 400
    assert batch.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_security_headers_and_cors_allow_list(keyed: Stack) -> None:
    response = (
        post(keyed, ADMIN, "{ accounts { id } }", headers_extra=None)
        if False
        else httpx.post(
            f"{keyed.url}/graphql",
            json={"query": "{ accounts { id } }"},
            headers={"authorization": f"Bearer {ADMIN}", "origin": "https://app.example"},
        )
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.post(
        f"{keyed.url}/graphql",
        json={"query": "{ accounts { id } }"},
        headers={"authorization": f"Bearer {ADMIN}", "origin": "https://evil.example"},
    )
    assert "access-control-allow-origin" not in other.headers
    page = httpx.get(f"{keyed.url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp


def test_introspection_and_graphiql_can_be_switched_off() -> None:
    with running_stack(make_orgs(), introspection=False, graphiql=False) as stack:
        body = stack.graphql("{ __schema { types { name } } }")
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        page = httpx.get(f"{stack.url}/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()


@pytest.mark.parametrize(
    "remote_id", ["../../admin", "1?x=y", "%2e%2e", "..", "a\r\nX-Injected: 1", "a/b#c"]
)
def test_ids_cannot_change_the_upstream_request(shared_stack: Stack, remote_id: str) -> None:
    before = len(shared_stack.emulator.requests)
    body = shared_stack.graphql(
        "query($id: ID!) { candidate(id: $id) { id } }",
        {"id": encode_id("Candidate", "acme", remote_id)},
    )
    assert body == {"data": {"candidate": None}}
    [call] = shared_stack.emulator.requests[before:]
    assert call.method == "GET"
    assert call.query == {}
    # The emulator sees the whole ID as the path after candidates/ (Starlette re-escapes some
    # characters in what it reports and drops control characters; one request line it stayed).
    visible = remote_id.replace("\r", "").replace("\n", "")
    assert unquote(call.path) == unquote("/api/v1/candidates/" + visible)


def test_search_text_is_sent_as_one_encoded_value(shared_stack: Stack) -> None:
    before = len(shared_stack.emulator.requests)
    shared_stack.graphql(
        'query($s: String) { candidates(search: $s, accounts: ["acme"]) { totalCount } }',
        {"s": "a&limit=1&x=../"},
    )
    [call] = shared_stack.emulator.requests[before:]
    assert call.query["search"] == "a&limit=1&x=../"
    assert call.query["limit"] != "1"


def test_log_redaction_masks_secrets_in_messages_and_tracebacks() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactSecrets({"super-secret-token"}))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("token is %s", "super-secret-token")
        try:
            raise RuntimeError("failed with super-secret-token")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    assert records and all("super-secret-token" not in r for r in records)
    assert "[redacted]" in records[0] and "RuntimeError" in records[1]


def test_the_standard_introspection_query_passes_the_limits(keyed: Stack) -> None:
    """GraphiQL's docs panel depends on it; its depth comes from the schema, not from data."""
    from graphql import get_introspection_query

    body = ask(keyed, ADMIN, get_introspection_query())
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_redaction_keeps_the_shape_of_format_arguments() -> None:
    """uvicorn's access formatter unpacks record.args itself; masking must not break it."""
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/x?token=super-secret-token", "1.1", 200),
        None,
    )
    RedactSecrets({"super-secret-token"}).filter(record)
    line = AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s").format(record)
    assert "super-secret-token" not in line and "[redacted]" in line and "200" in line


def test_an_idempotency_key_reveals_nothing_about_hidden_accounts(keyed: Stack) -> None:
    create = 'mutation($a: ID!, $k: String) { createCandidate(input: {account: $a, fullName: "K", emails: [{value: "k@example.com"}], idempotencyKey: $k}) { created userErrors { field code } } }'
    first = ask(keyed, ADMIN, create, {"a": "globex", "k": "shared-key"})
    assert first["data"]["createCandidate"]["created"] is True
    hidden = ask(keyed, ACME_ONLY, create, {"a": "globex", "k": "shared-key"})
    missing = ask(keyed, ACME_ONLY, create, {"a": "nope", "k": "shared-key"})
    same_shape(hidden, missing, "globex", "nope")
    assert hidden["data"]["createCandidate"]["userErrors"] == [
        {"field": ["input", "account"], "code": "NOT_FOUND"}
    ]


def test_a_second_app_in_one_process_gets_its_secrets_masked_too() -> None:
    from gateway.redaction import install_redaction

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    logger = logging.getLogger("test.redaction.second")
    logger.addHandler(handler)
    try:
        install_redaction({"first-app-secret"})
        install_redaction({"second-app-secret"})
        logger.warning("keys %s and %s", "first-app-secret", "second-app-secret")
    finally:
        logger.removeHandler(handler)
    assert records == ["keys [redacted] and [redacted]"]
