"""The GraphQL HTTP endpoint: per-request context, error shaping, and GraphQL over HTTP.

Beyond Strawberry's defaults it follows the GraphQL-over-HTTP spec: a client that accepts
`application/graphql-response+json` gets that media type, and a request error (the operation
never ran: parse, validation or variable coercion failed) comes back as 400 with no `data`
entry; `application/json` clients keep the classic 200. Protocol refusals are JSON with a code:
405 for other methods and for mutations over GET, 415 for other request bodies, 406 when the
client accepts neither JSON media type.

Nothing here runs without the guard's verdict: the GraphiQL page (`security.is_page`) is served
before Strawberry sees the request, so its query string never executes, and any other request
that arrives without an authenticated client in its scope is refused with 401; there is no
fallback identity. Refusals share one shape (`negotiation.refusal`).

Subscriptions are served here too: over GraphQL over SSE (a POST that accepts
`text/event-stream`; the same guard, limits and documents as any POST) and over
graphql-transport-ws on the same path (`gateway.sockets`, which admits a socket by its key).

A request that names its document by hash gets the text from `gateway.persisted` before
anything parses it (`parse_http_body`), and every response, answer or refusal, leaves through
`gateway.compression` (the end of `__call__`): one place for both.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from gateway.compression import Compression, compress_response
from gateway.errors import shape_errors
from gateway.graphiql import graphiql_html
from gateway.live_operations import LiveOperation, operation_type
from gateway.metrics import Metrics
from gateway.negotiation import GRAPHQL_RESPONSE, JSON, negotiate, refusal
from gateway.persisted import (
    DocumentRefused,
    PersistedQueries,
    Resolved,
    TrustedDocuments,
    resolve,
)
from gateway.schema import GatewaySchema
from gateway.security import Client, is_page
from gateway.sockets import MAX_SOCKET_OPERATIONS, TransportWSHandler
from gateway.tracing import Fanout, Tracing
from providers.upstream.observe import Observer, watch_request
from providers.upstream.resilience import set_deadline
from resolvers.accounts import Accounts
from resolvers.changes import ChangeFeed
from resolvers.context import RequestContext
from resolvers.loaders import Loaders
from resolvers.pagination import CursorCodec
from store.documents import DocumentStore, MemoryDocumentStore
from store.idempotency import IdempotencyStore

__all__ = ["GraphQLView"]


def _refusal(
    status: int, message: str, accept: str, headers: dict[str, str] | None = None
) -> Response:
    return refusal(status, "BAD_USER_INPUT", message, accept, headers)


class _RequestAdapter(StarletteRequestAdapter):
    """Strawberry's, with the request's scope state in reach of `parse_http_body`."""

    @property
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self._request.scope.setdefault("state", {})
        return state


def _is_json(content_type: str) -> bool:
    """`application/json`, with or without parameters (`; charset=utf-8`): the media type
    itself, not a prefix of it (`application/jsonx` is another type)."""
    return content_type.partition(";")[0].strip().lower() == JSON


def _is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never ran, so there is no `data` to speak of."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


class GraphQLView(GraphQL[RequestContext, None]):
    request_adapter_class = _RequestAdapter
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self,
        schema: GatewaySchema,
        accounts: Accounts,
        cursors: CursorCodec,
        idempotency: IdempotencyStore,
        *,
        request_timeout: float,
        socket_init_timeout: float,
        graphiql: bool,
        metrics: Metrics,
        tracing: Tracing | None = None,
        compression: Compression | None = None,
        persisted: PersistedQueries | None = None,
        documents: DocumentStore | None = None,
        trusted: TrustedDocuments | None = None,
        changes: ChangeFeed | None = None,
        socket_origins: tuple[str, ...] = (),
    ) -> None:
        """`socket_origins`: pages on other origins that may open a socket (the CORS origins);
        same-origin pages and non-browser clients always may. `socket_init_timeout`: seconds a
        socket may take to send `connection_init` (the server's `header_timeout`, as a socket
        with no key on its upgrade has shown nothing more than a request head), after which it
        is closed with 4408; Strawberry's own default held such a socket for a minute."""
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
            allowed_origins=socket_origins,
            connection_init_wait_timeout=timedelta(seconds=socket_init_timeout),
            max_subscriptions_per_connection=MAX_SOCKET_OPERATIONS,
        )
        self.changes = changes
        self.graphiql = graphiql
        self.metrics = metrics
        self.tracing = tracing
        self.observer: Observer = Fanout(metrics, tracing) if tracing is not None else metrics
        self.accounts = accounts
        self.cursors = cursors
        self.idempotency = idempotency
        self.request_timeout = request_timeout
        self.compression = compression or Compression(enabled=False)
        self.persisted = persisted or PersistedQueries()
        self.documents = documents or MemoryDocumentStore(self.persisted.max_documents)
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a socket: `gateway.sockets` admits it
            await super().__call__(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        watch = watch_request(self.observer)
        request = Request(scope, receive)
        accept = request.headers.get("accept", "")
        page = is_page(scope, self.graphiql)
        negotiated = negotiate(accept)
        streams = self._get_stream_transport_from_headers(request.headers) is not None
        if page:
            response = await self.render_graphql_ide(request)  # executes nothing, needs no key
        elif not isinstance(state.get("client"), Client):
            # Only the guard authenticates; arriving without its verdict is never a pass.
            response = refusal(
                401,
                "UNAUTHENTICATED",
                "send a client key as 'Authorization: Bearer <key>'",
                accept,
                {"WWW-Authenticate": "Bearer"},
            )
        elif request.method not in ("GET", "POST"):
            response = _refusal(
                405, "GraphQL is served over GET and POST", accept, {"Allow": "GET, POST"}
            )
        elif not negotiated.acceptable and not streams:
            response = _refusal(406, f"answers are {JSON} or {GRAPHQL_RESPONSE}", accept)
        elif request.method == "POST" and not _is_json(request.headers.get("content-type", "")):
            response = _refusal(415, f"send the operation as {JSON}", accept)
        else:
            with self._span(request) as span:
                try:
                    response = await self.run(request)
                except HTTPException as error:
                    response = self._protocol_error(error, accept)
                if span is not None:
                    context = state.get("graphql_context")
                    span.set_attribute(
                        "graphql.operation.name", (context and context.operation_name) or ""
                    )
                    span.set_attribute("http.response.status_code", response.status_code)
                    span.set_attribute("ats.outcome", state.get("outcome", "refused"))
        if state.get("outcome") == "ok":
            self._allow_private_caching(request, response, state.get("persisted"))
        response.headers.setdefault("x-request-id", request_id)
        context = state.get("graphql_context")
        operation = context.operation_name if context is not None else None
        outcome = "page" if page else state.get("outcome", "refused")
        if "live" not in state:  # a stream is counted and logged as it ends (LiveOperation)
            if not page:
                self.metrics.request(operation, outcome, time.perf_counter() - began)
            # For the request's log line (`gateway.logs.RequestLog`), written once it is answered.
            state["operation"] = operation
            state["outcome"] = outcome
            state["upstream_calls"] = watch.calls
        compress_response(response, request.headers.get("accept-encoding"), self.compression)
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

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Never from inside the GraphQL handler: `__call__` serves the page before it."""
        return False

    def parse_json(self, data: str | bytes) -> Any:
        """Anything undecodable is a 400: malformed, not UTF-8, or nested deeper than the
        parser's recursion allows (which Strawberry would let through as a 500). orjson reads
        the usual body several times as fast; the standard parser decides the rest."""
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # what orjson refuses (NaN, integers past 64 bits, lone surrogates) json reads
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise HTTPException(400, "Unable to parse request body as JSON") from None

    def _allow_private_caching(
        self, request: Request, response: Response, resolved: Resolved | None
    ) -> None:
        """A GET naming its document by hash alone has a short, stable URL: with
        `persisted_query_max_age` set, its successful answer may be kept by the client's own
        cache for that long. Never by a shared one: the answer is this key's accounts only."""
        if self.persisted.max_age <= 0 or request.method != "GET":
            return
        if resolved is None or not resolved.by_hash:
            return
        response.headers["cache-control"] = f"private, max-age={self.persisted.max_age}"
        vary = response.headers.get("vary")
        response.headers["vary"] = "Authorization, Accept" + (f", {vary}" if vary else "")

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        """As Strawberry's for GET and JSON (the only bodies `__call__` lets through), with the
        document a persisted query or trusted document names put in place of `query`."""
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        else:
            data = self.parse_json(await request.get_body())
        if not isinstance(data, dict):
            raise HTTPException(400, "send one operation as a JSON object")
        state = request.state if isinstance(request, _RequestAdapter) else {}
        client = state.get("client")
        if not isinstance(client, Client):  # get_context refused it already; a second lock
            raise HTTPException(401, "send a client key as 'Authorization: Bearer <key>'")
        transport = self._get_stream_transport_from_headers(request.headers)
        try:
            resolved = await resolve(
                data, client.name, self.persisted, self.documents, self.trusted
            )
        except DocumentRefused as refused:
            if transport is not None:
                self.metrics.graphql_error(refused.code, "sse")
            raise
        state["persisted"] = resolved
        if transport is not None:
            state["operation_sent"] = data.get("operationName")
        return GraphQLRequestData(
            query=resolved.query,
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
            protocol=transport.protocol if transport is not None else "http",
        )

    @staticmethod
    def _protocol_error(error: HTTPException, accept: str) -> Response:
        if isinstance(error, DocumentRefused):
            return refusal(error.status_code, error.code, error.reason, accept)
        if error.status_code == 400 and "mutations are not allowed" in error.reason:
            return _refusal(405, "mutations are sent with POST", accept, {"Allow": "POST"})
        if error.status_code == 400 and "subscriptions are not allowed" in error.reason:
            message = "subscriptions are served over SSE (Accept: text/event-stream) or a socket"
            return _refusal(400, message, accept)
        if error.status_code == 401:
            return refusal(401, "UNAUTHENTICATED", error.reason, accept)
        return _refusal(error.status_code, error.reason, accept)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        state = request.scope.setdefault("state", {})
        request_id = state.get("request_id") or secrets.token_hex(8)
        if isinstance(response, Response):
            response.headers["x-request-id"] = request_id
            state["sub_response"] = response
        # The request's own task runs the whole operation, so every upstream call inherits this.
        set_deadline(self.request_timeout)
        client = state.get("client")
        if isinstance(request, WebSocket) and not isinstance(client, Client):
            # Nothing runs until `connection_init` names a client (`gateway.sockets`).
            client = Client("", "", frozenset(), write=False)
        if not isinstance(client, Client):
            raise HTTPException(401, "send a client key as 'Authorization: Bearer <key>'")
        context = RequestContext.create(
            self.accounts.visible(client.accounts),
            self.cursors,
            self.idempotency,
            request_id,
            can_write=client.write,
            client=client.name,
            changes=self.changes,
        )
        state["graphql_context"] = context
        return context

    def admit(self, context: RequestContext, client: Client) -> None:
        """Gives a socket's context the client its `connection_init` named."""
        context.accounts = self.accounts.visible(client.accounts)
        context.loaders = Loaders(context.accounts, context.request_id)
        context.can_write = client.write
        context.client = client.name

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        state = request.scope.get("state", {})
        shape_errors(result, state.get("graphql_context"))
        body: dict[str, Any] = dict(process_result(result))
        modern = negotiate(request.headers.get("accept")).modern
        sub_response = state.get("sub_response")
        if modern and isinstance(sub_response, Response):
            sub_response.media_type = GRAPHQL_RESPONSE
            if _is_request_error(result):
                sub_response.status_code = 400
        if _is_request_error(result):
            body.pop("data", None)
            state["outcome"] = "rejected"
            return body  # type: ignore[return-value]
        state["outcome"] = (
            ("partial" if result.data is not None else "error") if result.errors else "ok"
        )
        if isinstance(live := state.get("live"), LiveOperation):
            if live.events == 0 and _is_request_error(result):
                live.rejected_by(result.errors)
            else:
                live.delivered(result.errors)
        resolved = state.get("persisted")
        if isinstance(resolved, Resolved) and resolved.register and resolved.query:
            # Only now: the document parsed, validated and passed every limit, for a client
            # the guard let in.
            await self.documents.put(resolved.scope, resolved.register, resolved.query)
        return body  # type: ignore[return-value]

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        """An SSE operation: counted as it starts, and as it ends with one log line (however
        it ends: completed, the client gone, the server stopping)."""
        state = request.scope.setdefault("state", {})
        resolved = state.get("persisted")
        query = resolved.query if isinstance(resolved, Resolved) else None
        live = LiveOperation.start(
            self.metrics,
            "sse",
            state.get("request_id") or secrets.token_hex(8),
            operation_type(query, state.get("operation_sent")),
        )
        state["live"] = live

        async def observed() -> AsyncIterator[str]:
            try:
                async for chunk in stream():
                    yield chunk
            finally:
                context = state.get("graphql_context")
                live.end(context.operation_name if context is not None else None)

        return await super().create_streaming_response(request, observed, sub_response, headers)

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
