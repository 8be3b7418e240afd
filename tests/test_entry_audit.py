"""Holes a second adversarial audit of the entry points found, each with the request that showed it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from gateway.security import Client, hash_key
from tests.conftest import Stack, make_orgs, running_stack
from tests.ws_support import Closed, GraphQLSocket, graphql_socket, ws_url

KEY = "audit-key-0123456789abcdef"


@pytest.fixture(scope="module")
def keyed() -> Iterator[Stack]:
    with running_stack(make_orgs(), clients=(Client("audit", hash_key(KEY)),)) as stack:
        yield stack


def no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text[-2000:]


LONG = "9" * 4301  # one digit past what Python's int() reads by default
UNREADABLE = (
    "{ candidates(first: " + LONG + ") { edges { node { id } } } }",
    "query($f: Int = " + LONG + ") { candidates(first: $f) { edges { node { id } } } }",
)


@pytest.mark.parametrize("query", UNREADABLE, ids=["page-size", "default"])
def test_an_integer_literal_of_thousands_of_digits_is_bad_input_not_internal(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    """graphql-core reads Int literals with int(), which Python refuses past 4300 digits (and
    the cost check did the same for `first`): the document was answered INTERNAL, with a
    traceback logged, instead of as the client's mistake."""
    answer = shared_stack.graphql(query)
    assert answer.get("data") is None
    codes = {error["extensions"]["code"] for error in answer["errors"]}
    assert codes == {"BAD_USER_INPUT"}, answer
    no_error_logged(caplog)


def test_a_lone_surrogate_quoted_in_a_refusal_is_escaped_not_a_500(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown operationName is quoted in the refusal; JSON may carry a lone surrogate
    (`\\ud800`), which Starlette's JSONResponse could not encode as UTF-8: the answer was a
    500 with a traceback (or a reset connection)."""
    body = b'{"query": "{ accounts { id } }", "operationName": "\\ud800"}'
    answer = httpx.post(
        f"{shared_stack.url}/graphql",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    no_error_logged(caplog)


async def test_a_lone_surrogate_in_a_socket_s_key_is_refused_like_any_wrong_key(
    keyed: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """connection_init is JSON, so its key may hold a lone surrogate, which the key's hashing
    could not encode: the socket was dropped without a close code and a traceback logged."""
    sock = await GraphQLSocket.open(ws_url(keyed.url))
    try:
        await sock.send(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {KEY}\ud800"}}
        )
        with pytest.raises(Closed) as closed:
            await sock.receive()
        assert closed.value.code == 4403
    finally:
        await sock.close()
    no_error_logged(caplog)


@pytest.mark.parametrize(
    ("member", "value"),
    [("query", ["{ accounts { id } }"]), ("variables", [1]), ("operationName", {"a": 1})],
)
async def test_a_socket_payload_of_the_wrong_shape_is_refused_like_a_post(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture, member: str, value: object
) -> None:
    """Only the HTTP view checked the payload's members: over a socket a list `query` reached
    the parser's cache (a TypeError, logged, and the operation ended with no error at all),
    and any `operationName` came back quoted as a Python repr."""
    payload = {"query": "{ accounts { id } }", member: value}
    async with graphql_socket(ws_url(shared_stack.url)) as sock:
        await sock.send({"id": "1", "type": "subscribe", "payload": payload})
        answer = await sock.receive()
    assert answer["type"] == "error", answer
    assert answer["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"`{member}`" in answer["payload"][0]["message"]
    no_error_logged(caplog)


def test_an_operation_name_that_is_not_a_string_is_refused(shared_stack: Stack) -> None:
    """It came back quoted as a Python repr ("Unknown operation named \\"{'a': 1}\\"")."""
    answer = httpx.post(
        f"{shared_stack.url}/graphql",
        json={"query": "{ accounts { id } }", "operationName": {"a": 1}},
        timeout=30,
    )
    assert answer.status_code == 400
    assert "`operationName`" in answer.json()["errors"][0]["message"]


def test_a_persisted_query_text_with_a_lone_surrogate_is_bad_input_not_a_500(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The text was UTF-8 encoded to check it against its hash, which a lone surrogate
    (valid in JSON) made fail with a 500."""
    extensions = b'{"persistedQuery": {"version": 1, "sha256Hash": "' + b"a" * 64 + b'"}}'
    answer = httpx.post(
        f"{shared_stack.url}/graphql",
        content=b'{"query": "\\ud800", "extensions": ' + extensions + b"}",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    no_error_logged(caplog)


def test_fields_compared_past_the_overlap_budget_are_refused_before_they_run(
    shared_stack: Stack,
) -> None:
    """Fields sharing a response name are compared pairwise by graphql-core's
    OverlappingFieldsCanBeMerged, which the query limits do not bound. Under graphql-core's
    own budget `{ accounts { id } … }` 740 times (9 KB, within every limit) held the event loop
    for two to three seconds, and this document, 200 fragments spreading one field, passed
    after about a second of comparisons. The gateway's budget stops both at a tenth of that."""
    count = 200
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = " ".join(f"fragment F{i} on Query {{ accounts {{ id }} }}" for i in range(count))
    answer = shared_stack.graphql(f"{{ {spreads} }} {fragments}")
    assert "data" not in answer, answer
    assert answer["errors"][0]["message"] == "Validation aborted."


def test_repeated_introspection_is_refused_before_it_runs(shared_stack: Stack) -> None:
    """Introspection counted for neither depth nor cost ("bounded by the schema"), but an
    operation may repeat it under aliases: twelve `__schema { types { fields { … type { fields
    { … } } } } }` (12 KB) answered 2.6 MB after six seconds of the event loop. Ten of this
    lighter one already ask for more than twice what the fullest introspection query does."""
    one = "__schema { types { fields { type { fields { type { name } } } } } }"
    query = "{ " + " ".join(f"a{i}: {one}" for i in range(10)) + " }"
    answer = shared_stack.graphql(query)
    assert "data" not in answer, str(answer)[:200]
    assert answer["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "introspection" in answer["errors"][0]["message"]
    assert "errors" not in shared_stack.graphql("{ " + one + " }")


SEARCH = "query($s: String) { candidates(search: $s) { edges { node { id } } } }"


def _with_search(query: str, escaped: str) -> str:
    """A body whose search term is written with JSON escapes as given (json.dumps would refuse
    a lone surrogate's)."""
    return '{"query": "' + query + '", "variables": {"s": "' + escaped + '"}}'


def test_a_lone_surrogate_in_a_variable_is_bad_input_and_reaches_no_provider(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """JSON may escape half a UTF-16 pair: such a search term was sent on, failed to encode
    for the provider and read as every account's UPSTREAM_UNAVAILABLE, after spending its rate
    budget. It is the client's mistake, refused before anything runs."""
    before = len(shared_stack.calls())
    body = _with_search(SEARCH, "ab\\udc00")
    answer = httpx.post(
        f"{shared_stack.url}/graphql",
        content=body.encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "surrogate" in error["message"]
    assert len(shared_stack.calls()) == before
    no_error_logged(caplog)
    paired = _with_search(SEARCH, "\\ud83d\\ude00")  # a whole pair
    answer = httpx.post(
        f"{shared_stack.url}/graphql",
        content=paired.encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text


@pytest.mark.parametrize("kind", ["application/jsonx", "application/json-seq"])
def test_a_media_type_that_only_starts_like_json_is_refused(shared_stack: Stack, kind: str) -> None:
    """The body must be `application/json`; a prefix of it is another media type."""
    answer = httpx.post(
        f"{shared_stack.url}/graphql",
        content=b'{"query": "{ accounts { id } }"}',
        headers={"content-type": kind},
        timeout=30,
    )
    assert answer.status_code == 415, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    ok = httpx.post(
        f"{shared_stack.url}/graphql",
        content=b'{"query": "{ accounts { id } }"}',
        headers={"content-type": "Application/JSON ; charset=utf-8"},
        timeout=30,
    )
    assert ok.status_code == 200, ok.text
