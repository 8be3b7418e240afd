"""Who may call, and what every response carries: client keys, request limits, headers.

Client keys are stored as SHA-256 digests (keys are long random tokens, not passwords, so a
plain digest is enough) and compared in constant time against every configured digest, so
neither a match nor its position shows in the timing. With no keys configured the gateway is
open, which the CLI allows on loopback only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.graphiql import GRAPHIQL_CSP
from gateway.negotiation import negotiate, refusal

__all__ = [
    "ANONYMOUS",
    "Client",
    "GuardMiddleware",
    "bearer_matches",
    "hash_key",
    "is_page",
    "new_key",
]

API_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
NO_STORE = (b"cache-control", b"no-store")
STATIC_CACHE = (b"cache-control", b"public, max-age=86400")  # versioned vendor files


def new_key() -> str:
    return "atsg_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # surrogatepass: a socket's connection_init is JSON, which may carry a lone surrogate that
    # plain UTF-8 refuses (an unhandled error); configured keys never hold one, so it never matches.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Client:
    """A caller: the accounts it may see (None means all) and whether it may write."""

    name: str
    key_sha256: str
    accounts: frozenset[str] | None = None
    write: bool = False


ANONYMOUS = Client("anonymous", "", None, True)


def identify(clients: Iterable[Client], authorization: str | None) -> Client | None:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    digest = hash_key(key.strip())
    found = None
    for client in clients:
        if hmac.compare_digest(digest, client.key_sha256) and found is None:
            found = client
    return found


def is_page(scope: Scope, graphiql: bool) -> bool:
    """A browser asking for the GraphiQL page: a GET that names text/html, with GraphiQL on.

    The page is served as a page whatever the query string says (it never executes a `query`
    parameter), so it needs no key; with GraphiQL off the same request is an API request.
    """
    if not graphiql or scope["method"] != "GET":
        return False
    return negotiate(Headers(scope=scope).get("accept")).html


def bearer_matches(authorization: str | None, digest: str) -> bool:
    """True when `authorization` carries the key whose SHA-256 is `digest` (constant time)."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return False
    return hmac.compare_digest(hash_key(key.strip()), digest)


def _size(message: Message) -> int:
    data = message.get("bytes")
    return len(data) if data is not None else len((message.get("text") or "").encode())


class GuardMiddleware:
    """Authenticates GraphQL calls, bounds request bodies, and adds security headers.

    Every request to `path` is authenticated except the GraphiQL page (see `is_page`), which
    the view serves without executing anything. The authenticated client is put in
    `scope["state"]["client"]`; the view refuses a request that arrives without one, so no
    request can run as someone it did not prove to be. With no clients configured at all the
    client is ANONYMOUS (the CLI only allows that on loopback).

    A WebSocket to `path` may authenticate in its upgrade request (the same header) or, as
    browsers cannot set headers on a socket, in its `connection_init` payload: the guard puts
    `admit` in the scope for the view to check that payload with, and the view accepts no
    operation before one of the two named a client. An upgrade with a wrong key, and sockets to
    any other path, are refused (403). A socket message is bounded like a body: one over
    `max_body_bytes` closes the socket (1009) before the view reads it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        clients: tuple[Client, ...],
        max_body_bytes: int,
        path: str,
        graphiql: bool = True,
        body_timeout: float = 10.0,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        if body_timeout <= 0:
            raise ValueError("body_timeout must be positive")
        self.app = app
        self.clients = clients
        self.max_body_bytes = max_body_bytes
        self.path = path
        self.graphiql = graphiql
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = is_page(scope, self.graphiql)
        csp = GRAPHIQL_CSP if page else API_CSP

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                # An answer that chose its own caching (a private, hash-named GET) keeps it.
                chosen = any(name.lower() == b"cache-control" for name, _ in headers)
                cache = STATIC_CACHE if scope["path"].startswith("/static/") else NO_STORE
                message["headers"] = [
                    *headers,
                    *SECURITY_HEADERS,
                    *(() if chosen else (cache,)),
                    (b"content-security-policy", csp.encode()),
                ]
            await send(message)

        if scope["path"] != self.path or page:
            await self.app(scope, receive, send_secured)
            return
        headers = Headers(scope=scope)
        refused, body = await self._check(scope, headers, receive)
        if refused is not None:
            scope.setdefault("state", {})["outcome"] = "refused"  # for the request's log line
            await refused(scope, receive, send_secured)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send_secured)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != self.path:
            await send({"type": "websocket.close", "code": 1008})
            return
        state = scope.setdefault("state", {})
        state["admit"] = self.admit
        authorization = Headers(scope=scope).get("authorization")
        client = self.admit(authorization)
        if client is None and authorization is not None:
            await send({"type": "websocket.close", "code": 1008})  # a wrong key: 403
            return
        if client is not None:
            state["client"] = client
        closed = False

        async def bounded() -> Message:
            """The next message, or a disconnect once one is over the body limit (1009)."""
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive" and _size(message) > self.max_body_bytes:
                closed = True
                await send({"type": "websocket.close", "code": 1009, "reason": "too big"})
                return {"type": "websocket.disconnect", "code": 1009}
            return message

        async def unless_closed(message: Message) -> None:
            if not closed:
                await send(message)

        await self.app(scope, bounded, unless_closed)

    def admit(self, authorization: str | None) -> Client | None:
        """The client `authorization` names (ANONYMOUS when the gateway is open), or None."""
        if not self.clients:
            return ANONYMOUS
        return identify(self.clients, authorization)

    def _refuse(
        self, headers: Headers, status: int, code: str, message: str, **extra: str
    ) -> Response:
        return refusal(status, code, message, headers.get("accept"), extra or None)

    async def _check(
        self, scope: Scope, headers: Headers, receive: Receive
    ) -> tuple[Response | None, bytes]:
        if self.clients:
            client = identify(self.clients, headers.get("authorization"))
            if client is None:
                return self._refuse(
                    headers,
                    401,
                    "UNAUTHENTICATED",
                    "send a client key as 'Authorization: Bearer <key>'",
                    **{"WWW-Authenticate": "Bearer"},
                ), b""
        else:
            client = ANONYMOUS
        scope.setdefault("state", {})["client"] = client
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._too_large(headers), b""
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await self._read_body(receive)
        except TimeoutError:
            return self._refuse(
                headers,
                408,
                "REQUEST_TIMEOUT",
                f"the request body did not arrive within {self.body_timeout:g} s",
                connection="close",
            ), b""
        if body is None:
            return self._too_large(headers), b""
        if body.lstrip().startswith(b"["):
            return self._refuse(
                headers, 400, "BAD_USER_INPUT", "batched operations are not accepted"
            ), b""
        return None, body

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it is over the limit (the rest is left unread)."""
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self, headers: Headers) -> Response:
        return self._refuse(
            headers, 413, "BAD_USER_INPUT", f"request body is over {self.max_body_bytes} bytes"
        )
