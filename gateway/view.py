"""The GraphQL HTTP endpoint: per-request context, error shaping, and GraphQL over HTTP.

Beyond Strawberry's defaults it follows the GraphQL-over-HTTP spec: a client that accepts
`application/graphql-response+json` gets that media type, and a request error (the operation
never ran: parse, validation or variable coercion failed) comes back as 400 with no `data`
entry; `application/json` clients keep the classic 200. Protocol refusals are JSON with a code:
405 for other methods and for mutations over GET, 415 for other request bodies, 406 when the
client accepts neither JSON media type.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from gateway.errors import shape_errors
from gateway.graphiql import graphiql_html
from gateway.logs import request_logger
from gateway.metrics import Metrics
from gateway.schema import GatewaySchema
from gateway.security import ANONYMOUS, Client
from gateway.tracing import Fanout, Tracing
from providers.observe import Observer, watch_request
from providers.resilience import set_deadline
from resolvers.accounts import Accounts
from resolvers.context import RequestContext
from resolvers.idempotency import IdempotencyStore
from resolvers.pagination import CursorCodec

__all__ = ["GraphQLView"]

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
ACCEPTABLE = (GRAPHQL_RESPONSE, JSON, "application/*", "*/*")


def _accepts(accept: str) -> tuple[bool, bool]:
    """(acceptable at all, prefers application/graphql-response+json)."""
    if not accept.strip():
        return True, False
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return any(t in ACCEPTABLE for t in types), GRAPHQL_RESPONSE in types


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    code = "BAD_USER_INPUT"
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never ran, so there is no `data` to speak of."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


class GraphQLView(GraphQL[RequestContext, None]):
    def __init__(
        self,
        schema: GatewaySchema,
        accounts: Accounts,
        cursors: CursorCodec,
        idempotency: IdempotencyStore,
        *,
        request_timeout: float,
        graphiql: bool,
        metrics: Metrics,
        tracing: Tracing | None = None,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self.metrics = metrics
        self.tracing = tracing
        self.observer: Observer = Fanout(metrics, tracing) if tracing is not None else metrics
        self.accounts = accounts
        self.cursors = cursors
        self.idempotency = idempotency
        self.request_timeout = request_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        watch = watch_request(self.observer)
        request = Request(scope, receive)
        accept = request.headers.get("accept", "")
        is_page = request.method == "GET" and "text/html" in accept
        acceptable, _ = _accepts(accept)
        if request.method not in ("GET", "POST"):
            response = _refusal(405, "GraphQL is served over GET and POST", {"Allow": "GET, POST"})
        elif not acceptable and not is_page:
            response = _refusal(406, f"answers are {JSON} or {GRAPHQL_RESPONSE}")
        elif request.method == "POST" and not request.headers.get(
            "content-type", ""
        ).lower().startswith(JSON):
            response = _refusal(415, f"send the operation as {JSON}")
        else:
            with self._span(request) as span:
                try:
                    response = await self.run(request)
                except HTTPException as error:
                    response = self._protocol_error(error)
                if span is not None:
                    context = state.get("graphql_context")
                    span.set_attribute(
                        "graphql.operation.name", (context and context.operation_name) or ""
                    )
                    span.set_attribute("http.response.status_code", response.status_code)
                    span.set_attribute("ats.outcome", state.get("outcome", "refused"))
        response.headers.setdefault("x-request-id", request_id)
        context = state.get("graphql_context")
        operation = context.operation_name if context is not None else None
        outcome = "page" if is_page else state.get("outcome", "refused")
        seconds = time.perf_counter() - began
        if not is_page:
            self.metrics.request(operation, outcome, seconds)
        request_logger.info(
            "%s %s %s",
            request.method,
            scope["path"],
            response.status_code,
            extra={
                "request_id": request_id,
                "operation": operation,
                "outcome": outcome,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "upstream_calls": watch.calls,
            },
        )
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from this server's own files: it works offline and under a strict CSP."""
        return HTMLResponse(graphiql_html())

    @contextlib.contextmanager
    def _span(self, request: Request) -> Iterator[Any]:
        if self.tracing is None:
            yield None
        else:
            with self.tracing.request(request.method, request.url.path) as span:
                yield span

    @staticmethod
    def _protocol_error(error: HTTPException) -> Response:
        if error.status_code == 400 and "mutations are not allowed" in error.reason:
            return _refusal(405, "mutations are sent with POST", {"Allow": "POST"})
        return _refusal(error.status_code, error.reason)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        state = request.scope.setdefault("state", {})
        request_id = state.get("request_id") or uuid.uuid4().hex[:16]
        if isinstance(response, Response):
            response.headers["x-request-id"] = request_id
            state["sub_response"] = response
        # The request's own task runs the whole operation, so every upstream call inherits this.
        set_deadline(self.request_timeout)
        client: Client = state.get("client", ANONYMOUS)
        context = RequestContext.create(
            self.accounts.visible(client.accounts),
            self.cursors,
            self.idempotency,
            request_id,
            can_write=client.write,
            client=client.name,
        )
        state["graphql_context"] = context
        return context

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        state = request.scope.get("state", {})
        shape_errors(result, state.get("graphql_context"))
        body: dict[str, Any] = dict(process_result(result))
        _, modern = _accepts(request.headers.get("accept", ""))
        sub_response = state.get("sub_response")
        if modern and isinstance(sub_response, Response):
            sub_response.media_type = GRAPHQL_RESPONSE
            if _is_request_error(result):
                sub_response.status_code = 400
        if _is_request_error(result):
            body.pop("data", None)
            state["outcome"] = "rejected"
        elif result.errors:
            state["outcome"] = "partial" if result.data is not None else "error"
        else:
            state["outcome"] = "ok"
        return body  # type: ignore[return-value]

    def encode_json(self, data: object) -> bytes:
        """orjson, several times faster than the standard library on large answers; values it
        refuses (integers beyond 64 bits in a provider's raw JSON) fall back to the standard one."""
        try:
            return orjson.dumps(data)
        except TypeError:
            return json.dumps(data, separators=(",", ":")).encode()

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type:
            response.headers["content-type"] = sub_response.media_type
        return response
