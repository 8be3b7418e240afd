"""A lean pooled HTTP/1.1 client for upstream calls, speaking httpx's Request and Response types.

Measured on the bench machine, one upstream GET through `httpx.AsyncClient` (default httpcore
transport) costs about 970 µs of client CPU, some 480 µs of it in httpcore (socket checks on
every reuse, anyio), and about 120 µs in the client's cookie, redirect and auth machinery that
the gateway never uses. A bare asyncio Protocol feeding `httptools` costs 16-34 µs. The gateway
makes 24 upstream calls per benchmark request, so that difference was most of its CPU.
`python -m bench.transport` measures both clients side by side.

`ConnectionPool` is an `httpx.AsyncBaseTransport` (keep-alive connections per origin, a bound on
their number, timeouts) and `LeanClient` builds requests the way `httpx.AsyncClient` does for
the gateway's calls, without cookies, redirects or auth flows. Failures surface as the httpx
exceptions `upstream.http` already handles; their messages never carry a URL, header or body.

An answer is bounded: past `max_response_bytes` as sent (a Content-Length over it is refused
before its body is read; other bodies are counted as they arrive) or once decoded (gzip and
deflate are inflated with that many bytes at most), it raises `ResponseTooLarge` and the
connection is closed, never reused. Its head (status line and headers) is bounded apart, by
`MAX_HEAD_BYTES`, as it arrives; a chunked body's trailer fields are counted and dropped.

`LeanClient` writes the request bytes itself and answers with a `LeanReply`: building and
parsing `httpx.URL`, `httpx.Request` and `httpx.Response` for every call cost about 18 µs,
as much again as the exchange on the socket. A URL it cannot prove plain (absolute, with a
query of its own, odd characters or dot segments) still goes through `httpx.URL`, and an
encoded body through httpx's decoders.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import os
import re
import socket
import ssl
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import urlencode

import certifi
import httptools
import httpx

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ConnectionPool",
    "LeanClient",
    "LeanReply",
    "Reply",
    "ReplyHeaders",
    "ResponseTooLarge",
    "Sender",
]

Endpoint = tuple[bytes, bytes, int]  # (scheme, host, port): one connection pool per endpoint
QueryParams = Mapping[str, str | int | float | None]

_ABSOLUTE = re.compile(r"https?://", re.IGNORECASE)
# A relative path httpx sends byte for byte as written: RFC 3986 path characters and percent
# escapes. Anything else (and any "." or ".." segment, which httpx resolves) takes the long way.
_PLAIN_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_NO_HEAD = "ConnectionPool does not send HEAD: its parser expects a body"
_CLOSE_GRACE = 1.0
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
# An answer's status line and headers, as h11 (httpx's own parser) bounds them, if more loosely.
# httptools gives a header only once it is complete, so without this an endless one would be
# read (and copied again with every chunk) until the deadline, past every other bound.
MAX_HEAD_BYTES = 64 * 1024


class ResponseTooLarge(httpx.DecodingError):
    """An answer past the pool's `max_response_bytes`, as sent or once decoded.

    A `DecodingError`, not a `TransportError`: the answer arrived (a write it answers happened),
    and asking again would bring the same answer.
    """


class Reply(Protocol):
    """What adapters read of an upstream answer: `httpx.Response` is one, `LeanReply` another."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...


class ReplyHeaders(Mapping[str, str]):
    """An answer's headers, looked up case-insensitively; a repeated header reads as its values
    joined with ", " and values are decoded as `httpx.Headers` decodes them (UTF-8, else
    Latin-1). A dict built in one pass: `httpx.Headers` normalised every header on
    construction and scanned them all on each lookup, ~10 us over an answer's few lookups."""

    __slots__ = ("_fields",)

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        pairs = list(raw)
        try:
            decoded = [(n.decode().lower(), v.decode()) for n, v in pairs]
        except UnicodeDecodeError:
            decoded = [(n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in pairs]
        fields: dict[str, str] = {}
        for name, value in decoded:
            fields[name] = f"{fields[name]}, {value}" if name in fields else value
        self._fields = fields

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"ReplyHeaders({sorted(self._fields)!r})"  # names only: values may be secrets


@dataclass(frozen=True, slots=True)
class LeanReply:
    """A complete answer, its body decoded; `headers` is case-insensitive."""

    status_code: int
    headers: ReplyHeaders
    content: bytes


class Sender(Protocol):
    """What `providers.upstream.http.Upstream` calls: `LeanClient`, or any `httpx.AsyncClient`."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool


def _reason(exc: OSError) -> str:
    """An OS error's description without the addresses asyncio writes into its message."""
    if isinstance(exc, ssl.SSLError):
        return f"TLS failure ({exc.reason or type(exc).__name__})"
    if isinstance(exc, socket.gaierror) or not exc.errno:
        return exc.strerror or type(exc).__name__
    return os.strerror(exc.errno)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection carrying one exchange at a time.

    The read timeout is one timer per exchange that re-arms itself for whatever is left of the
    quiet period when it fires, so bytes arriving cost a clock read rather than a timer.
    """

    def __init__(self, pool: ConnectionPool, origin: Endpoint, loop: asyncio.AbstractEventLoop):
        self.origin = origin
        self.idle_since = 0.0
        self.reusable = True
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._pool = pool
        self._loop = loop
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[_Answer] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timeout = 0.0
        self._until: float | None = None
        self._last_read = 0.0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._received = False
        self._limit = pool.max_response_bytes
        self._size = 0
        self._head_size = 0
        self._refused = False

    @property
    def usable(self) -> bool:
        return self.reusable and self.transport is not None and not self.transport.is_closing()

    def exchange(
        self, message: bytes, timeout: float, until: float | None = None
    ) -> asyncio.Future[_Answer]:
        """Sends one request; the future holds its complete response, or TimeoutError once
        the loop's clock reaches `until` (the request's deadline) before it is complete."""
        assert self.transport is not None
        self._waiter = waiter = self._loop.create_future()
        self._headers, self._body = [], []
        self._headers_done = self._received = False
        self._size = self._head_size = 0
        self._timeout = timeout
        self._until = until
        self._last_read = now = self._loop.time()
        wait = timeout if until is None else min(timeout, until - now)
        self._timer = self._loop.call_later(wait, self._check_timeout)
        self.transport.write(message)
        return waiter

    def close(self, *, abort: bool = False) -> None:
        self.reusable = False
        self._stop_timer()
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()
            return
        self._received = True
        self._last_read = self._loop.time()
        if not self._headers_done:
            self._head_size += len(data)
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.reusable = False
            self._fail(httpx.RemoteProtocolError("the server sent a malformed response"))
            return
        # Still in the head after all of `data`: every byte of it was head.
        if not self._headers_done and self._head_size > MAX_HEAD_BYTES and not self._refused:
            self._refuse(f"the answer's headers are larger than {MAX_HEAD_BYTES} bytes")

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._stop_timer()
        if not self.closed.done():
            self.closed.set_result(None)
        if self._waiter is not None and not self._waiter.done():
            if self._headers_done and self._ends_at_close():
                self._finish(keep_alive=False)
            elif isinstance(exc, OSError):
                self._fail(httpx.ReadError(f"the connection failed: {_reason(exc)}"))
            elif not self._received:
                self._fail(httpx.RemoteProtocolError("the server closed the connection unanswered"))
            else:
                self._fail(httpx.RemoteProtocolError("the server closed the connection mid-answer"))
        self._pool._forget(self)

    def on_message_begin(self) -> None:
        if self._waiter is None or self._waiter.done():
            self.reusable = False

    def on_header(self, name: bytes, value: bytes) -> None:
        # Past the head, a chunked body's trailer fields: counted, never kept, since nothing
        # read of an answer may change after its body (RFC 9110 §6.5.1), and joining a header
        # repeated for a whole answer would hold the event loop for minutes.
        if self._count(len(name) + len(value)) and not self._headers_done:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        if self._parser.get_status_code() < 200:
            return
        for name, value in self._headers:
            if name.lower() == b"content-length" and value.strip().isdigit():
                if int(value) > self._limit:
                    self._refuse()  # before a byte of it is read
                return

    def on_body(self, body: bytes) -> None:
        if self._count(len(body)):
            self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._parser.get_status_code() < 200:
            self._headers, self._body, self._headers_done = [], [], False
            self._size = self._head_size = 0
            return
        self._finish(keep_alive=self._parser.should_keep_alive())

    def _count(self, size: int) -> bool:
        """Adds `size` bytes to the answer's; False (and the answer refused) past the limit."""
        if self._refused:
            return False
        self._size += size
        if self._size > self._limit:
            self._refuse()
            return False
        return True

    def _refuse(self, why: str | None = None) -> None:
        """Fails the exchange as too large and drops the connection: what is left of the
        answer is never read, so the connection cannot carry another."""
        self._refused = True
        self._headers, self._body = [], []
        self._fail(ResponseTooLarge(why or f"the answer is larger than {self._limit} bytes"))
        self.close(abort=True)

    def _ends_at_close(self) -> bool:
        """The body is delimited by the connection closing: no length and not chunked."""
        status = self._parser.get_status_code()
        if status in (204, 304) or status < 200:
            return False
        framing = (b"content-length", b"transfer-encoding")
        return not any(name.lower() in framing for name, _ in self._headers)

    def _finish(self, *, keep_alive: bool) -> None:
        self._stop_timer()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            status = self._parser.get_status_code()
            waiter.set_result(_Answer(status, self._headers, b"".join(self._body), keep_alive))

    def _fail(self, error: Exception) -> None:
        self._stop_timer()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def _check_timeout(self) -> None:
        now = self._loop.time()
        until = self._until
        quiet = now - self._last_read
        if quiet < self._timeout and (until is None or now < until):
            wait = (
                self._timeout - quiet if until is None else min(self._timeout - quiet, until - now)
            )
            self._timer = self._loop.call_later(wait, self._check_timeout)
            return
        self._timer = None
        self.reusable = False
        if until is not None and now >= until:
            self._fail(TimeoutError("no complete answer before the request's deadline"))
        else:
            self._fail(httpx.ReadTimeout("the server sent nothing within the timeout"))

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _message(
    method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """The request line, headers and body as one buffer; refuses CR or LF inside a header."""
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    lines = 2
    framed = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue
        framed = framed or lowered == b"content-length"
        parts += (name, b": ", value, b"\r\n")
        lines += 1
    if body and not framed:
        parts += (b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n")
        lines += 1
    parts.append(b"\r\n")
    head = b"".join(parts)
    if head.count(b"\n") != lines or head.count(b"\r") != lines:
        raise httpx.LocalProtocolError("a header name or value holds a line break")
    return head + body if body else head


def _origin(url: httpx.URL) -> Endpoint:
    port = _DEFAULT_PORTS.get(url.raw_scheme)
    if port is None:
        raise httpx.UnsupportedProtocol("only http and https URLs are supported")
    return (url.raw_scheme, url.raw_host, url.port or port)


class ConnectionPool(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connections, at most `max_connections` of them over all origins.

    Idle connections are kept per origin and reused newest first; one idle for longer than
    `keepalive_expiry` is closed instead, which (below uvicorn's 5 s) keeps requests off
    connections the server is about to close. `timeout` bounds connecting, waiting for a free
    connection, and each wait for response bytes. A connection goes back to the pool only after
    a complete response that allows keep-alive; any failure or cancellation closes it.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        timeout: float,
        keepalive_expiry: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be at least 1")
        self.max_response_bytes = max_response_bytes
        self._max = max_connections
        self._timeout = timeout
        self._expiry = keepalive_expiry
        self._ssl = ssl_context
        self._idle: dict[Endpoint, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            raise ValueError(_NO_HEAD)
        if isinstance(request.stream, httpx.SyncByteStream):
            body = request.read()
        else:
            body = await request.aread()
        try:
            url = request.url
            message = _message(
                request.method.encode("ascii"), url.raw_path, request.headers.raw, body
            )
            answer = await self.exchange(_origin(url), message)
        except httpx.RequestError as error:
            error.request = request
            raise
        headers = httpx.Headers(answer.headers)
        if "content-encoding" in headers:
            try:  # httpx's own decoders inflate without a bound: check the size first
                _decoded(answer.body, headers["content-encoding"], self.max_response_bytes)
            except httpx.DecodingError as error:
                error.request = request
                raise
        response = httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(answer.body),
            request=request,
        )
        response.read()
        return response

    async def exchange(
        self, origin: Endpoint, message: bytes, deadline: float | None = None
    ) -> _Answer:
        """Sends one complete request message to `origin` over a pooled connection.

        `deadline`: seconds the whole exchange may take (waiting for a connection, connecting,
        the answer), past which it raises TimeoutError, as `asyncio.timeout` would; it is kept
        on the timers the pool runs anyway, so a call costs no timer of its own."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._adopt(loop)
        until = None if deadline is None else self._now() + deadline
        connection = self._reuse(origin) or await self._acquire(origin, until)
        try:
            answer = await connection.exchange(message, self._timeout, until)
        except BaseException:
            self._discard(connection, abort=True)
            raise
        if answer.keep_alive and connection.usable:
            self._release(connection)
        else:
            self._discard(connection)
        return answer

    async def aclose(self) -> None:
        """Closes every connection, idle or busy, and waits briefly for their sockets to shut."""
        if asyncio.get_running_loop() is not self._loop:
            return
        connections = list(self._open)
        for connection in connections:
            self._discard(connection)
        if connections:
            await asyncio.wait([c.closed for c in connections], timeout=_CLOSE_GRACE)

    async def _acquire(self, origin: Endpoint, until: float | None) -> _Connection:
        deadline: float | None = None
        while True:
            connection = self._reuse(origin)
            if connection is not None:
                return connection
            if len(self._open) + self._opening < self._max or self._evict_idle():
                return await self._connect(origin, until)
            deadline = self._now() + self._timeout if deadline is None else deadline
            await self._wait(deadline, until)

    def _reuse(self, origin: Endpoint) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = self._now()
        while idle and now - idle[0].idle_since >= self._expiry:
            self._discard(idle.pop(0))
        while idle:
            connection = idle.pop()
            if connection.usable:
                return connection
            self._discard(connection)
        return None

    def _evict_idle(self) -> bool:
        """Closes the longest-idle connection of any origin to make room; False if none is."""
        oldest = min(
            (idle for idle in self._idle.values() if idle),
            key=lambda idle: idle[0].idle_since,
            default=None,
        )
        if oldest is None:
            return False
        self._discard(oldest.pop(0))
        return True

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serves `loop` from now on; connections of an earlier loop (a test's) are left to it."""
        self._loop = loop
        self._idle.clear()
        self._open.clear()
        self._opening = 0
        self._waiters.clear()

    async def _wait(self, deadline: float, until: float | None) -> None:
        """Until a connection may be free; PoolTimeout at `deadline`, and TimeoutError at the
        request's `until` if that comes first."""
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout_at(deadline if until is None else min(deadline, until)):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._wake()
            if isinstance(exc, TimeoutError) and (until is None or deadline < until):
                raise httpx.PoolTimeout("no connection became free within the timeout") from None
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(self, origin: Endpoint, until: float | None) -> _Connection:
        """A new connection; ConnectTimeout after the pool's timeout, and TimeoutError at the
        request's `until` if that comes first."""
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        secure = scheme == b"https"
        if secure and self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        self._opening += 1
        limit = self._now() + self._timeout
        try:
            async with asyncio.timeout_at(limit if until is None else min(limit, until)):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self, origin, loop),
                    host.decode("ascii"),
                    port,
                    ssl=self._ssl if secure else None,
                    server_hostname=host.decode("ascii") if secure else None,
                )
        except BaseException as exc:
            self._opening -= 1
            self._wake()
            if isinstance(exc, TimeoutError) and (until is None or limit < until):
                raise httpx.ConnectTimeout("no connection within the timeout") from None
            if isinstance(exc, OSError):
                raise httpx.ConnectError(f"could not connect: {_reason(exc)}") from None
            raise
        self._opening -= 1
        self._open.add(connection)
        if not connection.usable:
            self._discard(connection)
            raise httpx.ConnectError("the server closed the connection on connect")
        return connection

    def _release(self, connection: _Connection) -> None:
        connection.idle_since = self._now()
        self._idle.setdefault(connection.origin, []).append(connection)
        self._wake()

    def _discard(self, connection: _Connection, *, abort: bool = False) -> None:
        connection.close(abort=abort)
        self._forget(connection)

    def _forget(self, connection: _Connection) -> None:
        if connection not in self._open:
            return
        self._open.remove(connection)
        idle = self._idle.get(connection.origin)
        if idle:
            with contextlib.suppress(ValueError):
                idle.remove(connection)
        self._wake()


def _text(value: str | int | float | None) -> str:
    """A query value as httpx writes it: booleans in JSON's spelling, None as empty."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


class LeanClient:
    """Builds requests as `httpx.AsyncClient` would for the gateway's calls, and sends them
    straight to a `ConnectionPool`: no cookies, redirects, auth flows or event hooks."""

    def __init__(
        self, base_url: str, pool: ConnectionPool, headers: Mapping[str, str] | None = None
    ) -> None:
        self._base = base_url if base_url.endswith("/") else base_url + "/"
        self._pool = pool
        defaults = {
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
            "Connection": "keep-alive",
            "User-Agent": f"python-httpx/{httpx.__version__}",
            **(headers or {}),
        }
        self._headers = _encoded(defaults)
        self._plain_base = _plain_base(self._base)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> LeanReply:
        """`deadline`: seconds the call may take in all (see `ConnectionPool.exchange`)."""
        verb = method.upper()
        if verb == "HEAD":
            raise ValueError(_NO_HEAD)
        origin, target, host = self.target(url, params)
        fields = {**self._headers, **_encoded(headers)} if headers else self._headers
        body = b""
        kind = None
        if json is not None:
            text = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            body, kind = text.encode("utf-8"), b"application/json"
        elif data:
            body, kind = urlencode(data).encode("utf-8"), b"application/x-www-form-urlencoded"
        lines = [(b"Host", host)]
        if body or verb in ("POST", "PUT", "PATCH"):
            lines.append((b"Content-Length", str(len(body)).encode("ascii")))
            if kind is not None and b"content-type" not in fields:
                lines.append((b"Content-Type", kind))
        lines += fields.values()
        answer = await self._pool.exchange(
            origin, _message(verb.encode("ascii"), target, lines, body), deadline
        )
        return _reply(answer, self._pool.max_response_bytes)

    def target(self, url: str, params: QueryParams | None) -> tuple[Endpoint, bytes, bytes]:
        """(origin, request target, Host value) for `url` and `params`, as httpx would send them."""
        if self._plain_base is not None and not _ABSOLUTE.match(url):
            relative = url.lstrip("/")
            if params:
                relative = relative.partition("?")[0]
            if _PLAIN_PATH.fullmatch(relative) and not _dot_segments(relative):
                origin, base_path, host = self._plain_base
                target = base_path + relative.encode("ascii")
                if params:
                    target += b"?" + _query(params).encode("ascii")
                return origin, target, host
        return self.parsed_target(url, params)

    def parsed_target(self, url: str, params: QueryParams | None) -> tuple[Endpoint, bytes, bytes]:
        """`target` the long way: the whole URL through `httpx.URL`."""
        target = url if _ABSOLUTE.match(url) else self._base + url.lstrip("/")
        if params:
            target = target.partition("?")[0] + "?" + _query(params)
        parsed = httpx.URL(target)
        return _origin(parsed), parsed.raw_path, parsed.netloc

    async def aclose(self) -> None:
        await self._pool.aclose()


def _encoded(headers: Mapping[str, str]) -> dict[bytes, tuple[bytes, bytes]]:
    """Headers by lowercased name, encoded as httpx encodes them (ASCII)."""
    return {
        name.lower().encode("ascii"): (name.encode("ascii"), value.encode("ascii"))
        for name, value in headers.items()
    }


def _query(params: QueryParams) -> str:
    return urlencode([(key, _text(value)) for key, value in params.items()])


def _dot_segments(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


def _plain_base(base: str) -> tuple[Endpoint, bytes, bytes] | None:
    """The base URL's origin, path and Host, when relative paths can simply be appended."""
    try:
        parsed = httpx.URL(base)
        origin = _origin(parsed)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        return None
    if parsed.query or parsed.fragment:
        return None
    return origin, parsed.raw_path, parsed.netloc


def _reply(answer: _Answer, limit: int) -> LeanReply:
    headers = ReplyHeaders(answer.headers)
    encoding = headers.get("content-encoding")
    if encoding is None:
        return LeanReply(answer.status, headers, answer.body)
    return LeanReply(answer.status, headers, _decoded(answer.body, encoding, limit))


def _decoded(body: bytes, encoding: str, limit: int) -> bytes:
    """The body with its content codings (`encoding`, every Content-Encoding value joined with
    commas) undone as httpx would (gzip and deflate; codings it cannot decode are left as they
    are), never inflating past `limit` bytes."""
    codings = [c.strip().lower() for c in encoding.split(",")]
    try:
        for coding in reversed(codings):
            if coding == "gzip":
                body = _inflate(zlib.decompressobj(zlib.MAX_WBITS | 16), body, limit)
            elif coding == "deflate":
                try:
                    body = _inflate(zlib.decompressobj(), body, limit)
                except zlib.error:  # raw deflate, without the zlib header, as some servers send
                    body = _inflate(zlib.decompressobj(-zlib.MAX_WBITS), body, limit)
    except zlib.error:
        raise httpx.DecodingError("the answer's content encoding is corrupt") from None
    return body


def _inflate(inflater: zlib._Decompress, body: bytes, limit: int) -> bytes:
    # One byte past the limit is enough to know it is passed; `flush` would inflate the rest.
    out = inflater.decompress(body, limit + 1)
    if len(out) > limit:
        raise ResponseTooLarge(f"the answer is larger than {limit} bytes once decoded")
    rest = inflater.flush()
    if len(out) + len(rest) > limit:
        raise ResponseTooLarge(f"the answer is larger than {limit} bytes once decoded")
    return out + rest if rest else out
