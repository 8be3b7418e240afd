"""Holes an adversarial audit found at the HTTP edge, each with the request that showed it."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.ws_support import Closed, graphql_socket, ws_url

SUBSCRIPTION = "subscription { jobChanged { refetch } }"
MUTATION = (
    'mutation { createCandidate(input: {account: "acme", fullName: "Via Get", '
    'emails: [{value: "via-get@example.com"}]}) { created } }'
)


def sse_payloads(response: httpx.Response) -> list[Any]:
    """The `data` of each `next` event of a finished GraphQL-over-SSE answer."""
    payloads, event = [], ""
    for line in response.text.splitlines():
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:") and event == "next":
            payloads.append(json.loads(line.partition(":")[2]))
    return payloads


def no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text[-2000:]


def test_a_subscription_without_a_stream_is_bad_input_not_internal(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscription sent as a plain GET or JSON POST ran as a query: its field returned a
    stream where a value was due, and the client read INTERNAL while the log took a traceback."""
    url = f"{shared_stack.url}/graphql"
    with caplog.at_level(logging.INFO):
        answers = [
            httpx.post(url, json={"query": SUBSCRIPTION}),
            httpx.get(url, params={"query": SUBSCRIPTION}),
        ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "text/event-stream" in error["message"]
        assert "data" not in answer.json()
    no_error_logged(caplog)


def test_sse_requests_that_name_nothing_runnable_are_bad_input_not_internal(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Over SSE no query, an unknown operation name, a document of fragments only and a
    mutation sent with GET each came back as INTERNAL, logged as a bug with its traceback."""
    url = f"{shared_stack.url}/graphql"
    sse = {"accept": "text/event-stream"}
    two = "query a { __typename } query b { __typename }"
    with caplog.at_level(logging.INFO):
        answers = [
            httpx.post(url, json={"variables": {}}, headers=sse),
            httpx.post(url, json={"query": two, "operationName": "c"}, headers=sse),
            httpx.post(url, json={"query": "fragment F on Query { __typename }"}, headers=sse),
            httpx.get(url, params={"query": MUTATION}, headers=sse),
        ]
    for answer in answers:
        payloads = sse_payloads(answer)
        assert len(payloads) == 1, answer.text
        codes = [e["extensions"]["code"] for e in payloads[0]["errors"]]
        assert codes == ["BAD_USER_INPUT"], payloads
    no_error_logged(caplog)
    written = httpx.post(url, json={"query": '{ candidates(search: "Via Get") { totalCount } }'})
    assert written.json()["data"]["candidates"]["totalCount"] == 0


async def test_a_socket_message_is_bounded_like_a_body(shared_stack: Stack) -> None:
    """A POST body is at most `max_body_bytes` (64 KiB), but a socket took messages up to the
    server's 16 MiB: megabytes of document or variables parsed and ran. A message over the
    limit now closes the socket with 1009 (message too big), before anything reads it."""
    async with graphql_socket(ws_url(shared_stack.url)) as sock:
        await sock.subscribe("1", "{ __typename }")
        assert (await sock.receive())["type"] == "next"
        assert (await sock.receive())["type"] == "complete"
        padded = "{ __typename }" + " " * (64 * 1024)
        await sock.subscribe("2", padded)
        with pytest.raises(Closed) as closed:
            await sock.receive()
        assert closed.value.code == 1009


UNPARSABLE = ("{ accounts {", "{ accounts { id " + "id " * 3000 + "} }")


async def test_a_document_that_does_not_parse_is_answered_over_sse_and_sockets(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Strawberry's stream let the parser's error escape: over SSE the answer was cut off
    mid-body, over a socket the operation completed without a word, and each logged an ERROR
    with a traceback. It is a request error, as over a plain POST."""
    url = f"{shared_stack.url}/graphql"
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient(timeout=10) as http:
            for document in UNPARSABLE:
                answer = await http.post(
                    url, json={"query": document}, headers={"accept": "text/event-stream"}
                )
                [payload] = sse_payloads(answer)
                assert [e["extensions"]["code"] for e in payload["errors"]] == ["BAD_USER_INPUT"]
                assert "event: complete" in answer.text
        async with graphql_socket(ws_url(shared_stack.url)) as sock:
            for n, document in enumerate(UNPARSABLE):
                await sock.subscribe(str(n), document)
                try:
                    message = await sock.receive()
                except Closed as closed:  # graphql-transport-ws: 4400 for an invalid document
                    assert closed.code == 4400
                    break
                assert message["type"] == "error" and message["id"] == str(n), message
    no_error_logged(caplog)


async def test_socket_request_errors_carry_a_code_like_a_posts(shared_stack: Stack) -> None:
    """A document that does not validate came back over a socket as an `error` message whose
    errors had no `extensions.code` (and one that does not parse closed the whole socket, every
    other subscription on it too), where a POST and SSE say BAD_USER_INPUT."""
    documents = ("{ nope }", *UNPARSABLE, "query($x: Int) { accounts { id } }")
    async with graphql_socket(ws_url(shared_stack.url)) as sock:
        for n, document in enumerate(documents):
            await sock.subscribe(str(n), document)
            message = await sock.receive()
            assert message["type"] == "error" and message["id"] == str(n), message
            assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_USER_INPUT"]
        await sock.subscribe("ok", "{ __typename }")
        assert (await sock.receive())["payload"] == {"data": {"__typename": "Query"}}
