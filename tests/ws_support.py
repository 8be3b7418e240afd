"""Clients for subscription tests: graphql-transport-ws (on websocket-client, each blocking call
in a thread so an async test's own gateway keeps serving) and GraphQL over SSE (httpx), with
deadlines instead of sleeps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websocket

__all__ = ["Closed", "GraphQLSocket", "sse_events", "until", "ws_url"]

WITHIN = 10.0  # seconds: a message that has not come by then is not coming


class Closed(Exception):
    """The server closed the socket; `code` is its close code."""

    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


def ws_url(http_url: str) -> str:
    return "ws" + http_url.removeprefix("http") + "/graphql"


class GraphQLSocket:
    """One graphql-transport-ws connection."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws

    @classmethod
    async def open(
        cls, url: str, headers: dict[str, str] | None = None, origin: str | None = None
    ) -> GraphQLSocket:
        ws = await asyncio.to_thread(
            websocket.create_connection,
            url,
            subprotocols=["graphql-transport-ws"],
            header=[f"{k}: {v}" for k, v in (headers or {}).items()],
            timeout=WITHIN,
            origin=origin,
        )
        return cls(ws)

    async def send(self, message: dict[str, Any]) -> None:
        await asyncio.to_thread(self.ws.send, json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        """The next text message; `Closed` with the server's code when it closes instead."""
        opcode, data = await asyncio.to_thread(self.ws.recv_data, True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise Closed(int.from_bytes(data[:2], "big") if len(data) >= 2 else None)
        message: dict[str, Any] = json.loads(data)
        return message

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload or {}})
        return await self.receive()

    async def subscribe(
        self, id: str, query: str, variables: dict[str, Any] | None = None, **more: Any
    ) -> None:
        payload = {"query": query, "variables": variables or {}, **more}
        await self.send({"id": id, "type": "subscribe", "payload": payload})

    async def close(self) -> None:
        await asyncio.to_thread(self.ws.close)


@asynccontextmanager
async def graphql_socket(
    url: str, key: str | None = None, *, in_header: bool = False
) -> AsyncIterator[GraphQLSocket]:
    """A connection acknowledged for `key` (in `connection_init`, or in the upgrade request)."""
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    sock = await GraphQLSocket.open(url, auth if in_header else None)
    try:
        ack = await sock.init(None if in_header else auth)
        assert ack["type"] == "connection_ack", ack
        yield sock
    finally:
        await sock.close()


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) of a GraphQL-over-SSE response, as they come."""
    event, data = "", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data = line.partition(":")[2].strip()
        elif line == "" and event:
            yield event, json.loads(data) if data else None
            event, data = "", ""


async def until(check: Callable[[], bool | Awaitable[bool]], within: float = WITHIN) -> None:
    """Waits for `check` to hold (a state with no event to await, e.g. a server's count)."""
    async with asyncio.timeout(within):
        while True:
            outcome = check()
            if not isinstance(outcome, bool):
                outcome = await outcome
            if outcome:
                return
            await asyncio.sleep(0.01)
