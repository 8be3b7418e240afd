"""Who may call, and what every response carries: client keys, request limits, headers.

Client keys are stored as SHA-256 digests (keys are long random tokens, not passwords, so a
plain digest is enough) and compared in constant time against every configured digest, so
neither a match nor its position shows in the timing. With no keys configured the gateway is
open, which the CLI allows on loopback only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.graphiql import GRAPHIQL_CSP

__all__ = ["ANONYMOUS", "Client", "GuardMiddleware", "hash_key", "new_key"]

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
    return hashlib.sha256(key.encode()).hexdigest()


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


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


class GuardMiddleware:
    """Authenticates GraphQL calls, bounds request bodies, and adds security headers.

    The authenticated client is put in `scope["state"]["client"]` for the GraphQL context.
    """

    def __init__(
        self, app: ASGIApp, *, clients: tuple[Client, ...], max_body_bytes: int, path: str
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.app = app
        self.clients = clients
        self.max_body_bytes = max_body_bytes
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        is_page = scope["method"] == "GET" and "text/html" in headers.get("accept", "")
        csp = GRAPHIQL_CSP if is_page else API_CSP

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *SECURITY_HEADERS,
                    STATIC_CACHE if scope["path"].startswith("/static/") else NO_STORE,
                    (b"content-security-policy", csp.encode()),
                ]
            await send(message)

        if scope["path"] != self.path or is_page:
            await self.app(scope, receive, send_secured)
            return
        refusal, body = await self._check(scope, headers, receive)
        if refusal is not None:
            await refusal(scope, receive, send_secured)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send_secured)

    async def _check(
        self, scope: Scope, headers: Headers, receive: Receive
    ) -> tuple[Response | None, bytes]:
        if self.clients:
            client = identify(self.clients, headers.get("authorization"))
            if client is None:
                return _error(
                    401,
                    "UNAUTHENTICATED",
                    "send a client key as 'Authorization: Bearer <key>'",
                    {"WWW-Authenticate": "Bearer"},
                ), b""
        else:
            client = ANONYMOUS
        scope.setdefault("state", {})["client"] = client
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._too_large(), b""
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return self._too_large(), b""
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.lstrip().startswith(b"["):
            return _error(400, "BAD_USER_INPUT", "batched operations are not accepted"), b""
        return None, body

    def _too_large(self) -> Response:
        return _error(413, "BAD_USER_INPUT", f"request body is over {self.max_body_bytes} bytes")
