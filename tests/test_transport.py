"""The lean HTTP/1.1 pool against real loopback servers that misbehave on cue.

Most tests talk to `RawServer`, an asyncio server whose answers each test writes byte by byte,
so keep-alive, framing and every failure are exactly what the test says; a few use uvicorn.
The tests that need no fixture run again on uvloop, the loop the gateway serves on.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from providers.base import AccountConfig
from providers.errors import UpstreamBadResponse, UpstreamOutcomeUnknown, UpstreamUnavailable
from providers.greenhouse.harvest import next_link
from providers.upstream.http import Upstream, build_client
from providers.upstream.transport import (
    ConnectionPool,
    LeanClient,
    ResponseTooLarge,
)
from tests.servers import serve_in_thread

SECRET = "sk-live-do-not-leak"


@dataclass
class Seen:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    reader: asyncio.StreamReader = field(repr=False)


Handler = Callable[[Seen, asyncio.StreamWriter], Awaitable[bool]]


def answer(body: bytes = b"ok", *, status: int = 200, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode("ascii") + body
    )


async def ok(seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(answer(seen.target.encode()))
    return True


async def hang(seen: Seen, writer: asyncio.StreamWriter) -> bool:
    """Answers nothing until the client closes the connection."""
    await seen.reader.readexactly(1)
    return False


@dataclass
class RawServer:
    """A loopback HTTP/1.1 server that counts connections; `handler` writes each answer and
    says whether to keep the connection open."""

    handler: Handler = ok
    tls: ssl.SSLContext | None = None
    connections: int = 0
    client_closes: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while await self._one(reader, writer):
                pass
        except asyncio.IncompleteReadError as exc:
            self.client_closes += not exc.partial
        except ConnectionError:
            self.client_closes += 1
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ")
        headers = dict(line.lower().split(": ", 1) for line in head[1:] if line)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        seen = Seen(method, target, headers, body, reader)
        self.seen.append(seen)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            keep = await self.handler(seen, writer)
            await writer.drain()
        finally:
            self.in_flight -= 1
        return keep


def client(server: RawServer, **pool: Any) -> LeanClient:
    settings = {"max_connections": 4, "timeout": 5.0, **pool}
    return LeanClient(server.url + "/api/v1/", ConnectionPool(**settings))


async def test_sequential_requests_share_one_connection() -> None:
    async with RawServer() as server:
        lean = client(server)
        for n in range(5):
            response = await lean.request("GET", f"candidates/{n}", params={"limit": 2})
            assert response.content == f"/api/v1/candidates/{n}?limit=2".encode()
        await lean.aclose()
    assert server.connections == 1


async def test_concurrency_is_bounded_by_max_connections() -> None:
    async def slow(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        writer.write(answer())
        return True

    async with RawServer(slow) as server:
        lean = client(server, max_connections=3)
        responses = await asyncio.gather(*(lean.request("GET", "x") for _ in range(12)))
        await lean.aclose()
    assert [r.status_code for r in responses] == [200] * 12
    assert server.connections == 3 and server.most_in_flight == 3


async def test_a_wait_for_a_free_connection_is_bounded_by_the_timeout() -> None:
    async def trickle(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 X\r\ncontent-length: 10\r\n\r\n")
        for _ in range(10):
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"x")
        return True

    async with RawServer(trickle) as server:
        lean = client(server, max_connections=1, timeout=0.2)
        first = asyncio.create_task(lean.request("GET", "slow"))
        await asyncio.sleep(0.02)
        with pytest.raises(httpx.PoolTimeout):
            await lean.request("GET", "queued")
        assert (await first).content == b"x" * 10
        await lean.aclose()


async def test_chunked_bodies_are_joined_and_the_connection_reused() -> None:
    async def chunked(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 X\r\ntransfer-encoding: chunked\r\n\r\n")
        for piece in (b"hello ", b"chunked ", b"world"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        return True

    async with RawServer(chunked) as server:
        lean = client(server)
        for _ in range(2):
            assert (await lean.request("GET", "c")).content == b"hello chunked world"
        await lean.aclose()
    assert server.connections == 1


async def test_a_connection_close_answer_is_not_reused() -> None:
    async def closing(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(extra="connection: close\r\n"))
        return True  # the server would keep it; the client must not

    async with RawServer(closing) as server:
        lean = client(server)
        for _ in range(3):
            assert (await lean.request("GET", "x")).status_code == 200
        await lean.aclose()
    assert server.connections == 3


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    async def once(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer())
        return False

    async with RawServer(once) as server:
        lean = client(server)
        assert (await lean.request("GET", "a")).status_code == 200
        await asyncio.sleep(0.05)
        assert (await lean.request("GET", "b")).status_code == 200
        await lean.aclose()
    assert server.connections == 2


async def test_idle_connections_past_the_keepalive_expiry_are_closed_not_reused() -> None:
    async with RawServer() as server:
        lean = client(server, keepalive_expiry=0.1)
        await lean.request("GET", "a")
        await asyncio.sleep(0.15)
        await lean.request("GET", "b")
        await asyncio.sleep(0.02)
        assert server.connections == 2 and server.client_closes == 1
        await lean.aclose()


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lean = LeanClient(f"http://127.0.0.1:{port}/", ConnectionPool(max_connections=1, timeout=1))
    with pytest.raises(httpx.ConnectError):
        await lean.request("GET", "x")


async def test_a_server_that_never_answers_is_a_read_timeout_within_the_timeout() -> None:
    async with RawServer(hang) as server:
        lean = client(server, timeout=0.3)
        began = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await lean.request("GET", "x")
        assert 0.29 <= time.monotonic() - began < 1.0
        await lean.aclose()


async def test_a_request_deadline_ends_the_exchange_before_the_read_timeout() -> None:
    """The deadline rides on the answer's own timer (no asyncio.timeout per call): it raises
    TimeoutError, as asyncio.timeout did, and the connection it cut is never reused."""
    async with RawServer(hang) as server:
        lean = client(server, timeout=5.0)
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            await lean.request("GET", "x", deadline=0.3)
        assert 0.29 <= time.monotonic() - began < 2.0
        for _ in range(100):  # the cut connection is closed, so the server reads its end
            if server.client_closes:
                break
            await asyncio.sleep(0.01)
        assert server.client_closes == 1
        await lean.aclose()


async def test_the_read_timeout_is_per_wait_not_per_response() -> None:
    async def slow_bytes(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 X\r\ncontent-length: 5\r\n\r\n")
        for _ in range(5):
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.write(b"x")
        return True

    async with RawServer(slow_bytes) as server:
        lean = client(server, timeout=0.25)
        assert (await lean.request("GET", "x")).content == b"xxxxx"
        await lean.aclose()


async def test_a_body_cut_short_by_a_close_is_a_protocol_error() -> None:
    async def truncated(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b'HTTP/1.1 200 X\r\ncontent-length: 100\r\n\r\n{"data": [')
        return False

    async with RawServer(truncated) as server:
        lean = client(server)
        with pytest.raises(httpx.RemoteProtocolError):
            await lean.request("GET", "x")
        await lean.aclose()


async def test_a_reset_is_a_read_error_and_garbage_a_protocol_error() -> None:
    async def reset(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False

    async def garbage(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SMTP ready\r\n\r\n")
        return True

    async with RawServer(reset) as server:
        lean = client(server)
        with pytest.raises(httpx.ReadError):
            await lean.request("GET", "x")
        server.handler = garbage
        with pytest.raises(httpx.RemoteProtocolError):
            await lean.request("GET", "x")
        await lean.aclose()


async def test_a_body_ended_by_the_close_is_complete() -> None:
    async def until_close(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 X\r\n\r\nall of it")
        return False

    async with RawServer(until_close) as server:
        lean = client(server)
        assert (await lean.request("GET", "x")).content == b"all of it"
        await lean.aclose()


async def test_cancelling_mid_response_closes_the_connection_and_frees_its_slot() -> None:
    async def partial_then_ok(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.target.endswith("/stall"):
            writer.write(b"HTTP/1.1 200 X\r\ncontent-length: 50\r\n\r\npartial")
            return await hang(seen, writer)
        writer.write(answer(b"fine"))
        return True

    async with RawServer(partial_then_ok) as server:
        lean = client(server, max_connections=1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await lean.request("GET", "stall")
        assert (await lean.request("GET", "next")).content == b"fine"
        await asyncio.sleep(0.02)
        assert server.connections == 2 and server.client_closes == 1
        await lean.aclose()


async def test_gzip_bodies_are_decoded() -> None:
    payload = json.dumps({"data": ["é"] * 200}).encode()

    async def gzipped(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        assert "gzip" in seen.headers["accept-encoding"]
        writer.write(answer(gzip.compress(payload), extra="content-encoding: gzip\r\n"))
        return True

    async with RawServer(gzipped) as server:
        lean = client(server)
        response = await lean.request("GET", "x")
        assert response.content == payload and json.loads(response.content)["data"][0] == "é"
        await lean.aclose()


async def test_json_and_form_bodies_arrive_as_httpx_would_send_them() -> None:
    document = {"name": "Zoë", "tags": ["a", "b"], "n": 1.5, "none": None}
    form = {"grant_type": "client_credentials", "sub": "a b&c"}
    async with RawServer() as server:
        lean = client(server)
        await lean.request("POST", "candidates", json=document, headers={"X-Key": SECRET})
        await lean.request("POST", "token", data=form)
        await lean.request("PATCH", "candidates/1", json={})
        await lean.aclose()
    sent_json, sent_form, empty = server.seen
    assert sent_json.body == httpx.Request("POST", server.url, json=document).content
    assert (
        sent_json.body == json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert sent_json.headers["content-type"] == "application/json"
    assert sent_json.headers["x-key"] == SECRET
    assert sent_form.body == b"grant_type=client_credentials&sub=a+b%26c"
    assert sent_form.body == httpx.Request("POST", server.url, data=form).content
    assert sent_form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (empty.method, empty.body, empty.headers["content-length"]) == ("PATCH", b"{}", "2")
    for seen in server.seen:
        assert seen.headers["host"] == server.url.removeprefix("http://")
        assert seen.headers["user-agent"].startswith("python-httpx/")


async def test_absolute_urls_pass_through_and_params_replace_the_query() -> None:
    async with RawServer() as base, RawServer() as other:
        lean = client(base)
        response = await lean.request("GET", f"{other.url}/oauth/token?grant=1")
        assert response.content == b"/oauth/token?grant=1"
        response = await lean.request("GET", f"{other.url}/next?cursor=old", params={"cursor": 7})
        assert response.content == b"/next?cursor=7"
        response = await lean.request("GET", "/leading/slash", params={"flag": True, "q": "a/b"})
        assert response.content == b"/api/v1/leading/slash?flag=true&q=a%2Fb"
        await lean.aclose()
    assert (base.connections, other.connections) == (1, 1)


async def test_aclose_closes_every_socket() -> None:
    async def slow(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.02)
        writer.write(answer())
        return True

    async with RawServer(slow) as server:
        lean = client(server, max_connections=3)
        await asyncio.gather(*(lean.request("GET", "x") for _ in range(3)))
        await lean.aclose()
        await asyncio.sleep(0.02)
        assert server.connections == 3 and server.client_closes == 3


async def test_head_is_refused_plainly() -> None:
    lean = LeanClient("http://127.0.0.1:9/", ConnectionPool(max_connections=1, timeout=1))
    with pytest.raises(ValueError, match="HEAD"):
        await lean.request("HEAD", "x")


async def test_a_line_break_in_a_header_is_refused_before_sending() -> None:
    async with RawServer() as server:
        lean = client(server)
        with pytest.raises(httpx.LocalProtocolError):
            await lean.request("GET", "x", headers={"Authorization": "Bearer a\r\nX-Evil: 1"})
        await lean.aclose()
    assert server.seen == []


async def test_no_failure_message_names_the_url_or_a_header() -> None:
    async def reset(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        writer.transport.abort()
        return False

    async def truncated(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 X\r\ncontent-length: 9\r\n\r\n{")
        return False

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{probe.getsockname()[1]}"
    failures: list[BaseException] = []
    for handler in (hang, reset, truncated, None):
        async with RawServer(handler or ok) as server:
            base = server.url if handler else refused
            pool = ConnectionPool(max_connections=1, timeout=0.2)
            lean = LeanClient(f"{base}/api/{SECRET}/", pool, headers={"X-Key": SECRET})
            with pytest.raises(httpx.TransportError) as caught:
                await lean.request("GET", "x", params={"api_key": SECRET})
            failures.append(caught.value)
            await lean.aclose()
    assert {type(f) for f in failures} == {
        httpx.ReadTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
        httpx.ConnectError,
    }
    for failure in failures:
        text = f"{failure} {failure!r} {failure.__cause__}"
        assert SECRET not in text and "127.0.0.1" not in text and "/api" not in text, text


async def test_an_httpx_client_can_use_the_pool_as_its_transport() -> None:
    async with RawServer() as server:
        pool = ConnectionPool(max_connections=2, timeout=5)
        async with httpx.AsyncClient(transport=pool, base_url=server.url) as plain:
            for _ in range(3):
                assert (await plain.get("/x", params={"a": 1})).text == "/x?a=1"
        await asyncio.sleep(0.02)
    assert server.connections == 1 and server.client_closes == 1


async def test_an_accounts_client_keeps_as_many_connections_as_calls_it_may_make() -> None:
    async def slow(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.02)
        writer.write(answer(b'{"data": []}'))
        return True

    async with RawServer(slow) as server:
        account = AccountConfig(
            "acme", "Acme", "talynce", f"{server.url}/api/v1", max_concurrency=2
        )
        upstream = Upstream(account, build_client(account))
        for _ in range(2):
            await asyncio.gather(*(upstream.send("GET", "candidates") for _ in range(6)))
        await upstream.aclose()
    assert server.connections == 2 and server.most_in_flight == 2
    assert {seen.target for seen in server.seen} == {"/api/v1/candidates"}


async def test_a_write_refused_before_sending_is_not_reported_as_unknown() -> None:
    async with RawServer() as server:
        account = AccountConfig("acme", "Acme", "talynce", server.url, retries=3)
        upstream = Upstream(account, build_client(account))
        with pytest.raises(UpstreamUnavailable) as caught:
            await upstream.send("POST", "candidates", json={}, headers={"X-Token": "a\r\nb: c"})
        assert not isinstance(caught.value, UpstreamOutcomeUnknown)
        assert upstream.calls == 1 and upstream.breaker.state == "closed"
        await upstream.aclose()
    assert server.connections == 0


MiB = 1024 * 1024


def bomb(size: int, wbits: int) -> bytes:
    """`size` bytes of JSON whitespace, compressed (wbits 31: gzip, 15: zlib, -15: raw deflate)."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [squeeze.compress(b"[")]
    parts += [squeeze.compress(b" " * MiB) for _ in range(size // MiB)]
    return b"".join([*parts, squeeze.compress(b"]"), squeeze.flush()])


async def until_closed(server: RawServer, closes: int) -> None:
    for _ in range(1000):
        if server.client_closes >= closes:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the client closed {server.client_closes} connections, not {closes}")


@pytest.mark.parametrize(
    ("coding", "wbits"), [("gzip", 31), ("deflate", 15), ("deflate", -15)], ids=str
)
async def test_a_compression_bomb_is_refused_while_inflating(coding: str, wbits: int) -> None:
    packed = bomb(64 * MiB, wbits)

    async def bomb_then_ok(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.target.endswith("/bomb"):
            writer.write(answer(packed, extra=f"content-encoding: {coding}\r\n"))
        else:
            writer.write(answer(b"fine"))
        return True

    async with RawServer(bomb_then_ok) as server:
        lean = client(server, max_response_bytes=MiB)
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge):
                await lean.request("GET", "bomb")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 16 * MiB  # the whole 64 MiB was never inflated
        assert (await lean.request("GET", "next")).content == b"fine"
        pool = ConnectionPool(max_connections=1, timeout=5, max_response_bytes=MiB)
        async with httpx.AsyncClient(transport=pool, base_url=server.url) as plain:
            with pytest.raises(ResponseTooLarge):
                await plain.get("/bomb")
        await lean.aclose()


async def test_an_answer_exactly_at_the_cap_is_whole_and_one_byte_more_is_refused() -> None:
    async def sized(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        size = int(seen.target.rsplit("/", 1)[1])
        packed = gzip.compress(b"y" * size)
        writer.write(answer(packed, extra="content-encoding: gzip\r\n"))
        return True

    async with RawServer(sized) as server:
        lean = client(server, max_response_bytes=4096)
        assert (await lean.request("GET", "4096")).content == b"y" * 4096
        with pytest.raises(ResponseTooLarge):
            await lean.request("GET", "4097")
        await lean.aclose()
    assert ConnectionPool(max_connections=1, timeout=1).max_response_bytes == 8 * MiB
    assert AccountConfig("a", "A", "talynce", "http://x").max_response_bytes == 8 * MiB


async def test_a_content_length_over_the_cap_is_refused_before_the_body_is_read() -> None:
    async def huge(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 X\r\ncontent-length: 68719476736\r\n\r\n" + b"x" * 1000)
        return await hang(seen, writer)

    async with RawServer(huge) as server:
        lean = client(server, timeout=5.0, max_response_bytes=MiB)
        began = time.monotonic()
        with pytest.raises(ResponseTooLarge):
            await lean.request("GET", "x")
        assert time.monotonic() - began < 2.5  # refused at the headers, not after a timeout
        await until_closed(server, 1)
        await lean.aclose()
    assert server.connections == 1


async def test_a_chunked_body_past_the_cap_is_refused_as_it_arrives_and_its_connection_closed() -> (
    None
):
    sent = 0

    async def endless(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        nonlocal sent
        if not seen.target.endswith("/endless"):
            writer.write(answer(b"fine"))
            return True
        writer.write(b"HTTP/1.1 200 X\r\ntransfer-encoding: chunked\r\n\r\n")
        piece = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
        while sent < 512 * MiB:
            writer.write(piece)
            sent += len(piece)
            await writer.drain()
        return False

    async with RawServer(endless) as server:
        lean = client(server, max_response_bytes=MiB)
        async with asyncio.timeout(20):
            with pytest.raises(ResponseTooLarge):
                await lean.request("GET", "endless")
        assert (await lean.request("GET", "next")).content == b"fine"
        await until_closed(server, 1)
        await lean.aclose()
    assert server.connections == 2  # the refused connection was not reused
    assert sent < 64 * MiB


async def test_a_too_large_answer_is_a_bad_response_to_a_read_and_unknown_to_a_write() -> None:
    async def big(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        if seen.target.endswith("/corrupt"):
            writer.write(answer(b"not gzip at all", extra="content-encoding: gzip\r\n"))
            return True
        writer.write(answer(b" " * 2048))
        return True

    async with RawServer(big) as server:
        account = AccountConfig(
            "acme", "Acme", "talynce", server.url, retries=3, max_response_bytes=1024
        )
        upstream = Upstream(account, build_client(account))
        with pytest.raises(UpstreamBadResponse) as read:
            await upstream.send("GET", "candidates")
        with pytest.raises(UpstreamOutcomeUnknown) as write:
            await upstream.send("POST", "candidates", json={})
        with pytest.raises(UpstreamBadResponse) as corrupt:
            await upstream.send("GET", "corrupt")
        assert upstream.calls == 3  # none retried: the same answer would come again
        for caught in (read, write, corrupt):
            assert caught.value.account == "acme" and server.url not in caught.value.message
        assert "max_response_bytes" in read.value.message
        await upstream.aclose()
    assert server.connections == 3  # a refused answer's connection is not reused


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_verifies_the_server_with_the_given_context(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    async with RawServer(tls=tls) as server:
        trusting = ssl.create_default_context(cafile=str(cert))
        pool = ConnectionPool(max_connections=1, timeout=5, ssl_context=trusting)
        lean = LeanClient(server.url, pool)
        for _ in range(2):
            assert (await lean.request("GET", "x")).content == b"/x"
        await lean.aclose()
        stranger = LeanClient(server.url, ConnectionPool(max_connections=1, timeout=5))
        with pytest.raises(httpx.ConnectError, match="TLS") as caught:
            await stranger.request("GET", "x")
        assert "127.0.0.1" not in str(caught.value)
    assert server.connections == 1


async def streamed(request: Request) -> Response:
    async def pieces() -> Any:
        for n in range(50):
            yield f"line {n}\n".encode()

    if request.url.path == "/gzip":
        return Response(gzip.compress(b"z" * 5000), headers={"content-encoding": "gzip"})
    return StreamingResponse(pieces(), media_type="text/plain")


async def test_uvicorn_streams_and_gzip_come_through_whole() -> None:
    app = Starlette(routes=[Route("/{path:path}", streamed)])
    with serve_in_thread(app) as url:
        lean = LeanClient(url, ConnectionPool(max_connections=2, timeout=5))
        text = (await lean.request("GET", "stream")).content.decode()
        assert text == "".join(f"line {n}\n" for n in range(50))
        assert (await lean.request("GET", "gzip")).content == b"z" * 5000
        await lean.aclose()


ON_UVLOOP = [
    test_sequential_requests_share_one_connection,
    test_concurrency_is_bounded_by_max_connections,
    test_a_wait_for_a_free_connection_is_bounded_by_the_timeout,
    test_chunked_bodies_are_joined_and_the_connection_reused,
    test_a_connection_the_server_closed_while_idle_is_replaced,
    test_idle_connections_past_the_keepalive_expiry_are_closed_not_reused,
    test_a_refused_connection_is_a_connect_error,
    test_a_server_that_never_answers_is_a_read_timeout_within_the_timeout,
    test_a_body_cut_short_by_a_close_is_a_protocol_error,
    test_a_reset_is_a_read_error_and_garbage_a_protocol_error,
    test_cancelling_mid_response_closes_the_connection_and_frees_its_slot,
    test_json_and_form_bodies_arrive_as_httpx_would_send_them,
    test_aclose_closes_every_socket,
    test_no_failure_message_names_the_url_or_a_header,
]


@pytest.mark.parametrize("case", ON_UVLOOP, ids=lambda case: case.__name__.removeprefix("test_"))
def test_on_uvloop(case: Callable[[], Coroutine[Any, Any, None]]) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)
        runner.run(case())


def test_the_micro_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.transport", "--requests", "40", "--concurrency", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert {(row[0], row[1]) for row in rows if row[0] in ("httpx", "lean")} == {
        (client, loop) for client in ("httpx", "lean") for loop in ("asyncio", "uvloop")
    }


PATH_SEGMENTS = st.lists(
    st.sampled_from([".", "..", "", "%2E", "%zz", "%"])
    | st.text(
        alphabet=st.sampled_from(list("abXZ09-._~!$&'()*+,;=:@%? #é\\[]{}^|\"<>`")), max_size=8
    ),
    max_size=5,
).map("/".join)
QUERY_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.floats(allow_nan=False)
)


@given(
    base=st.sampled_from(
        ["http://127.0.0.1:8080/api/v1/", "https://h.example/", "http://h/a%20b/", "http://h"]
    ),
    url=PATH_SEGMENTS | PATH_SEGMENTS.map(lambda path: "/" + path),
    params=st.none() | st.dictionaries(st.text(max_size=5), QUERY_VALUES, max_size=3),
)
@settings(max_examples=500, deadline=None)
def test_request_targets_written_directly_are_the_ones_httpx_would_send(
    base: str, url: str, params: dict[str, Any] | None
) -> None:
    """The shortcut that skips `httpx.URL` for plain relative paths sends the same bytes."""
    lean = LeanClient(base, ConnectionPool(max_connections=1, timeout=1))
    try:
        expected = lean.parsed_target(url, params)
    except httpx.InvalidURL:
        return
    assert lean.target(url, params) == expected


def test_the_next_link_is_read_from_a_link_header() -> None:
    assert next_link(None) is None
    assert next_link('<https://h/c?cursor=a,b>; rel="prev"') is None
    assert next_link('<https://h/c?cursor=1>; rel="prev", <https://h/c?cursor=2>; rel="next"') == (
        "https://h/c?cursor=2"
    )
    assert next_link("<https://h/c?cursor=3>;rel=next") == "https://h/c?cursor=3"
    assert next_link('<https://h/c?x=1,2>; title="a"; REL="last next"') == "https://h/c?x=1,2"
