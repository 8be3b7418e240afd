"""graphql-transport-ws against clients that hold a socket open without initialising it, or
run more on it than one socket may: each bound checked over a real socket."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from gateway.sockets import MAX_SOCKET_OPERATIONS
from tests.conftest import Stack
from tests.live_support import live_gateway, webhook_settings
from tests.ws_support import WITHIN, Closed, GraphQLSocket, graphql_socket, ws_url

SUBSCRIPTION = "subscription { jobChanged { refetch } }"


async def test_a_socket_that_never_sends_connection_init_is_closed_at_the_header_timeout() -> None:
    """A socket with no key on its upgrade was held for Strawberry's default of 60 s waiting for
    `connection_init`, where an HTTP request head gets `header_timeout` (10 s)."""
    header_timeout = 1.0
    async with live_gateway(webhook_settings(header_timeout=header_timeout)) as gateway:
        sock = await GraphQLSocket.open(ws_url(gateway.url))
        opened = time.monotonic()
        try:
            with pytest.raises(Closed) as closed:
                await sock.receive()  # sends nothing: waits for the server to close it
        finally:
            await sock.close()
        waited = time.monotonic() - opened
    assert closed.value.code == 4408  # graphql-transport-ws: connection initialisation timeout
    assert header_timeout * 0.9 <= waited < WITHIN / 2, waited


async def test_an_operation_past_the_socket_limit_is_refused_with_a_code(
    shared_stack: Stack,
) -> None:
    """Strawberry answered the operation past a socket's limit with an `error` message whose
    error had no `extensions.code`, the one error of the API without one."""
    async with graphql_socket(ws_url(shared_stack.url)) as sock:
        for n in range(MAX_SOCKET_OPERATIONS):
            await sock.subscribe(str(n), SUBSCRIPTION)
        await sock.subscribe("over", SUBSCRIPTION)
        refused = await answer_to(sock, "over")
        assert refused["type"] == "error", refused
        [error] = refused["payload"]
        assert error["extensions"] == {"code": "TOO_MANY_OPERATIONS"}, error
        # The limit counts operations running now: with one completed, the next one runs.
        await sock.send({"id": "0", "type": "complete"})
        await sock.subscribe("next", "{ __typename }")
        assert (await answer_to(sock, "next"))["payload"] == {"data": {"__typename": "Query"}}
    async with httpx.AsyncClient(timeout=WITHIN) as http:
        metrics = (await http.get(f"{shared_stack.url}/metrics")).text
    assert 'gateway_graphql_errors_total{code="TOO_MANY_OPERATIONS",transport="ws"}' in metrics


async def answer_to(sock: GraphQLSocket, id: str) -> dict[str, Any]:
    """The first message for operation `id` (other operations' events may come between)."""
    while True:
        message = await sock.receive()
        if message.get("id") == id:
            return message
