"""graphql-transport-ws against clients that hold a socket without using it as the protocol
says: each bound is the gateway's own setting, checked over a real socket."""

from __future__ import annotations

import time

import pytest

from tests.live_support import live_gateway, webhook_settings
from tests.ws_support import WITHIN, Closed, GraphQLSocket, ws_url


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
