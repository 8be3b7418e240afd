"""Subscribers for `bench.subscribers`, in a process of their own (so their CPU is not the
gateway's): each one a graphql-transport-ws connection (wsproto over an asyncio protocol, the
library uvicorn serves with) or a GraphQL-over-SSE stream (httpx), with one subscription.

    python -m bench.subscribers_client SPEC.json

SPEC names the transport, the document, and per subscriber its replica, client key and the
account it watches. The process prints a status line (JSON: connected, warm, received, closed)
every quarter second; on the line `stop SENDS.json OUT` on stdin it judges every subscriber
against the events the sender's file says were accepted, writes OUT.json (one outcome per
subscriber) and OUT.lat (each delivery's latency in ms, doubles) and exits.

A delivery is read with string searches, not a JSON parse: at tens of thousands of messages a
second the client's own parsing would otherwise take the CPU the gateways are measured on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from array import array
from functools import partial
from pathlib import Path
from typing import Any, cast

import httpx
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from bench.processes import exit_with_parent
from bench.subscribers_stats import SubscriberLog, judge, seq_of

__all__ = ["main"]

STATUS_EVERY = 0.25
_OCCURRED = '"occurredAt":"'


@dataclasses.dataclass
class Counters:
    connected: int = 0
    closed: int = 0


def read_delivery(text: str, log: SubscriberLog, now: float) -> None:
    """One `next` payload (a graphql-transport-ws message or an SSE data line) into `log`."""
    if '"errors"' in text:
        log.errors += 1
    start = text.find(_OCCURRED)
    if start < 0:
        log.errors += 1
        return
    start += len(_OCCURRED)
    seq = seq_of(text[start : text.index('"', start)].replace("Z", "+00:00"))
    if seq is None:
        log.errors += 1
        return
    if '"candidate":null' in text:
        log.empty += 1
    log.record(seq, now)


class SocketSubscriber(asyncio.Protocol):
    """One graphql-transport-ws connection with one subscription."""

    def __init__(
        self, host: str, key: str, query: str, log: SubscriberLog, counters: Counters
    ) -> None:
        self.host = host
        self.key = key
        self.query = query
        self.log = log
        self.counters = counters
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.transport: asyncio.Transport | None = None
        self._text: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it
        request = Request(self.host, "/graphql", subprotocols=["graphql-transport-ws"])
        self.transport.write(self.ws.send(request))

    def _send(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(self.ws.send(TextMessage(json.dumps(message))))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, Message):  # Strawberry's JSON may come as a binary frame
                body: str | bytes = event.data
                self._text.append(body.decode() if isinstance(body, bytes) else body)
                if event.message_finished:
                    text = "".join(self._text)
                    self._text.clear()
                    self._message(text, now)
            elif isinstance(event, AcceptConnection):
                auth = {"Authorization": f"Bearer {self.key}"}
                self._send({"type": "connection_init", "payload": auth})
            elif isinstance(event, Ping):
                assert self.transport is not None
                self.transport.write(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection | RejectConnection):
                self.counters.closed += 1
                assert self.transport is not None
                self.transport.close()

    def _message(self, text: str, now: float) -> None:
        if '"type":"next"' in text:
            read_delivery(text, self.log, now)
        elif '"type":"connection_ack"' in text:
            self.counters.connected += 1
            payload = {"query": self.query, "variables": {}}
            self._send({"id": "1", "type": "subscribe", "payload": payload})
        elif '"type":"ping"' in text:
            self._send({"type": "pong"})
        elif '"type":"error"' in text or '"type":"complete"' in text:
            self.log.errors += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.counters.closed += 1


async def sse_subscriber(
    http: httpx.AsyncClient, url: str, key: str, query: str, log: SubscriberLog, counters: Counters
) -> None:
    """One GraphQL-over-SSE stream (distinct connections mode: one POST per subscription)."""
    headers = {"accept": "text/event-stream", "authorization": f"Bearer {key}"}
    try:
        async with http.stream(
            "POST", f"{url}/graphql", json={"query": query}, headers=headers
        ) as stream:
            if stream.status_code != 200:
                log.errors += 1
                return
            counters.connected += 1
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    read_delivery(line, log, time.monotonic())
    except httpx.HTTPError:
        log.errors += 1
    finally:
        counters.closed += 1


async def _status(logs: list[SubscriberLog], counters: Counters) -> None:
    while True:
        line = {
            "connected": counters.connected,
            "warm": sum(log.warm for log in logs),
            "received": sum(log.deliveries for log in logs),
            "closed": counters.closed,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        await asyncio.sleep(STATUS_EVERY)


async def _stop_command() -> list[str]:
    loop = asyncio.get_running_loop()
    while True:
        line: str = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            raise SystemExit("stdin closed before stop")
        words = line.split()
        if words and words[0] == "stop":
            return words[1:]


def _finish(logs: list[SubscriberLog], accounts: int, sends: Path, out: Path) -> None:
    sent_at: list[float | None] = json.loads(sends.read_text())
    latencies: array[float] = array("d")
    outcomes = [dataclasses.asdict(judge(log, sent_at, accounts, latencies)) for log in logs]
    out.with_suffix(".json").write_text(json.dumps(outcomes))
    with out.with_suffix(".lat").open("wb") as sink:
        latencies.tofile(sink)


async def run(spec: dict[str, Any]) -> None:
    query: str = spec["query"]
    logs = [SubscriberLog(int(s["account"])) for s in spec["subscribers"]]
    counters = Counters()
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[Any]] = [asyncio.create_task(_status(logs, counters))]
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None), limits=limits) as http:
        for one, log in zip(spec["subscribers"], logs, strict=True):
            url: str = one["url"]
            if spec["transport"] == "sse":
                sub = sse_subscriber(http, url, one["key"], query, log, counters)
                tasks.append(asyncio.create_task(sub))
                continue
            host, port = url.removeprefix("http://").split(":")
            await loop.create_connection(
                partial(SocketSubscriber, f"{host}:{port}", one["key"], query, log, counters),
                host,
                int(port),
            )
        sends, out = await _stop_command()
        for task in tasks:
            task.cancel()
    _finish(logs, int(spec["accounts"]), Path(sends), Path(out))


def main() -> None:
    exit_with_parent()
    spec = json.loads(Path(sys.argv[1]).read_text())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(spec))


if __name__ == "__main__":
    main()
