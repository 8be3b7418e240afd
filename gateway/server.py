"""How uvicorn serves the gateway: connection limits and a deadline on each request's head.

uvicorn bounds a request head's size under h11 (`h11_max_incomplete_event_size`), idle keep-alive
connections (`timeout_keep_alive`) and open connections (`limit_concurrency`, answered with 503),
but not the time a head takes to arrive: a client sending one byte every half second would hold
its connection forever. `HeadDeadlineProtocol` closes a connection whose request head is not
complete `header_timeout` seconds after the connection opened (or after the previous response).
Under httptools, which buffers a head of any size, the same protocol also answers 400 to a head
over MAX_HEAD_BYTES, as h11 does.
The body's time is bounded by the guard (`request_timeout`, answered with 408). A reverse proxy
in front still does this better (see README, Security).

On SIGTERM uvicorn stops accepting, lets every request in flight finish (a write is answered,
never cut) and only then exits. A subscription over SSE never finishes by itself, so one open
stream would hold the process until it is killed, and every write then in flight with it:
`_end_stream_at_shutdown` closes the connection of a response that is streaming, which the
stream sees as its client leaving; the client reconnects (with its last event id) elsewhere.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from gateway.settings import Settings

__all__ = [
    "GatewayConfig",
    "HeadDeadlineHttpToolsProtocol",
    "HeadDeadlineProtocol",
    "server_config",
]

MAX_HEAD_BYTES = 16 * 1024


class GatewayConfig(uvicorn.Config):
    """uvicorn's config plus the head deadline; a class of its own so workers can unpickle it."""

    def __init__(self, app: Any, *, header_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.header_timeout = header_timeout


class _HeadDeadline:
    """Closes the connection when a request head is still incomplete `header_timeout` seconds
    after the connection opened or the previous response ended."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.timer: asyncio.TimerHandle | None = None
        self.awaiting = False
        self.received = 0  # bytes read since the head was awaited

    def arm(self) -> None:
        self.disarm()
        self.awaiting = True
        self.received = 0
        seconds = getattr(self.protocol.config, "header_timeout", 10.0)
        self.timer = self.protocol.loop.call_later(seconds, self._expire)

    def disarm(self) -> None:
        self.awaiting = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expire(self) -> None:
        self.timer = None
        transport = self.protocol.transport
        if self.awaiting and not transport.is_closing():
            transport.close()


def _end_stream_at_shutdown(protocol: Any) -> None:
    """At shutdown, a response already started and not complete is a stream (a buffered one is
    written whole as soon as it starts): its connection is closed, as a leaving client's is."""
    cycle = protocol.cycle
    if cycle is not None and cycle.response_started and not cycle.response_complete:
        protocol.transport.close()


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_deadline = _HeadDeadline(self)
        self.head_deadline.arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.head_deadline.disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self.head_deadline.disarm()  # the head is in: the guard bounds the body

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.head_deadline.arm()  # the next request on this connection gets its own

    def shutdown(self) -> None:
        super().shutdown()
        _end_stream_at_shutdown(self)


def _httptools_protocol() -> type[asyncio.Protocol] | None:
    """The same deadline on uvicorn's faster httptools protocol, when httptools is installed."""
    if importlib.util.find_spec("httptools") is None:
        return None
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeadDeadlineHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.head_deadline = _HeadDeadline(self)
            self.head_deadline.arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self.head_deadline.disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            deadline = self.head_deadline
            if deadline.awaiting:
                deadline.received += len(data)
            super().data_received(data)
            # httptools keeps what it has of a header until the header ends: however long.
            over = deadline.awaiting and deadline.received > MAX_HEAD_BYTES
            if over and not self.transport.is_closing():
                deadline.disarm()
                self.send_400_response("Request head too large.")

        def on_headers_complete(self) -> None:
            self.head_deadline.disarm()
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > MAX_HEAD_BYTES:
                raise ValueError("request head too large")  # httptools: uvicorn answers 400
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and not self.pipeline:
                self.head_deadline.arm()

        def shutdown(self) -> None:
            super().shutdown()
            _end_stream_at_shutdown(self)

    return HeadDeadlineHttpToolsProtocol


HeadDeadlineHttpToolsProtocol = _httptools_protocol()


def server_config(app: Any, settings: Settings | None, **kwargs: Any) -> GatewayConfig:
    """The uvicorn config for `app` with the limits `settings` name (defaults without them)."""
    defaults = Settings(accounts=())
    chosen = settings or defaults
    return GatewayConfig(
        app,
        # By name, so `serve --workers` can send the config to its worker processes.
        http="gateway.server:"
        + (
            "HeadDeadlineHttpToolsProtocol"
            if HeadDeadlineHttpToolsProtocol
            else "HeadDeadlineProtocol"
        ),
        header_timeout=chosen.header_timeout,
        timeout_keep_alive=int(chosen.keep_alive_timeout),
        limit_concurrency=chosen.max_connections,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        ws="wsproto",  # a declared dependency: subscriptions never depend on what else is installed
        ws_max_size=chosen.limits.max_body_bytes,  # a message is bounded like a body (the guard)
        # `gateway.logs.RequestLog` writes each request's line, with more in it than uvicorn's.
        access_log=False,
        **kwargs,
    )
