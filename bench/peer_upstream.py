"""The Talynce-shaped upstream bench.peer puts under both servers: the emulator's answers, replayed.

Both servers read the same upstream, so its cost is neither's; what matters is that it stays out
of their way on a two-core machine. The first GET of a URL (per API key) runs through the
unchanged Talynce emulator in this process, so the wire format is exactly the one the gateway's
tests use (a list without `applications`, a get-by-id with them); its status and body are kept,
and every later GET of that URL is answered from memory by an asyncio protocol on httptools,
tens of microseconds a call where Starlette would spend hundreds. Only GETs are served: the
bench reads, and an answer that depended on earlier writes could not be replayed.

`/_bench/requests?reset=1` answers the list and get calls and the connections opened since the
last reset (bench.peer reads them, to show both servers made the same calls per request and kept
their connections alive). Connections are served one
request at a time, in order: none of the clients here pipelines.

    python -m bench.peer_upstream [--candidates 100] [--latency-ms 0]

prints one JSON line (`{"port": ..., "api_key": ...}`) once it listens on a free loopback port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from typing import cast

import httptools
import httpx

from bench import topology
from bench.emulator_server import kind_of
from bench.processes import announce, exit_with_parent, listening_socket
from emulators.talynce.app import TalynceEmulator, TalynceOrg

__all__ = ["Replay", "main"]

_ADMIN = b"/_bench/requests"
_pending: set[asyncio.Future[None]] = set()
"""Answers being made, kept referenced until done (the loop holds tasks only weakly)."""
_REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}


def _response(status: int, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Replay:
    """Answers by (method, target, Authorization), asking the emulator once per key."""

    def __init__(self, emulator: TalynceEmulator) -> None:
        transport = httpx.ASGITransport(app=emulator.app)
        self._emulator = httpx.AsyncClient(transport=transport, base_url="http://talynce")
        self._answers: dict[tuple[bytes, bytes, bytes], bytes] = {}
        self.calls: Counter[str] = Counter()
        self.connections = 0
        """Connections opened: a client that keeps them alive opens about `concurrency`."""

    def cached(self, method: bytes, target: bytes, authorization: bytes) -> bytes | None:
        answer = self._answers.get((method, target, authorization))
        if answer is not None:
            self._count(method, target)
        return answer

    async def answer(self, method: bytes, target: bytes, authorization: bytes) -> bytes:
        if target.startswith(_ADMIN):
            body = json.dumps({"calls": self.calls, "connections": self.connections}).encode()
            if target.endswith(b"reset=1"):
                self.calls.clear()
                self.connections = 0
            return _response(200, body)
        if method != b"GET":
            return _response(405, b'{"error":{"code":"method_not_allowed"}}')
        self._count(method, target)
        headers = {"authorization": authorization.decode("latin-1")} if authorization else {}
        reply = await self._emulator.get(target.decode("latin-1"), headers=headers)
        answer = _response(reply.status_code, reply.content)
        self._answers[(method, target, authorization)] = answer
        return answer

    def _count(self, method: bytes, target: bytes) -> None:
        path = target.split(b"?", 1)[0].decode("latin-1")
        self.calls[kind_of(method.decode(), path)] += 1


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, parsed by httptools."""

    def __init__(self, replay: Replay, latency: float) -> None:
        self.replay = replay
        self.latency = latency
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.target = b""
        self.authorization = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.replay.connections += 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.target = b""
        self.authorization = b""

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"authorization":
            self.authorization = value

    def on_message_complete(self) -> None:
        method, keep = self.parser.get_method(), self.parser.should_keep_alive()
        answer = self.replay.cached(method, self.target, self.authorization)
        if answer is not None and self.latency <= 0:
            self._send(answer, keep)
            return
        task = asyncio.ensure_future(self._later(method, self.target, self.authorization, keep))
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    async def _later(self, method: bytes, target: bytes, authorization: bytes, keep: bool) -> None:
        answer = self.replay.cached(method, target, authorization)
        if answer is None:
            answer = await self.replay.answer(method, target, authorization)
        if self.latency > 0 and not target.startswith(_ADMIN):
            await asyncio.sleep(self.latency)
        self._send(answer, keep)

    def _send(self, answer: bytes, keep: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(answer)
        if not keep:
            self.transport.close()


def build(candidates: int) -> Replay:
    """One tenant with the bench's first org's deterministic data."""
    name, key = topology.org_name(0), topology.api_key(0)
    org = TalynceOrg.seeded(name, key, candidates=candidates, seed=1)
    return Replay(TalynceEmulator([org]))


async def _serve(replay: Replay, latency: float) -> None:
    sock = listening_socket()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(replay, latency), sock=sock)
    exit_with_parent()
    announce({"port": sock.getsockname()[1], "api_key": topology.api_key(0)})
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=topology.CANDIDATES_PER_ORG)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(build(args.candidates), args.latency_ms / 1000))
    else:
        uvloop.run(_serve(build(args.candidates), args.latency_ms / 1000))


if __name__ == "__main__":
    main()
