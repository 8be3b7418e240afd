"""The Starlette application: GraphQL (with GraphiQL) at /graphql, one live adapter per account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from gateway.errors import shape_errors
from gateway.redaction import install_redaction
from gateway.schema import build_schema
from gateway.security import ANONYMOUS, Client, GuardMiddleware
from gateway.settings import Settings
from providers.http import build_client
from providers.registry import PROVIDERS
from providers.resilience import set_deadline
from resolvers.accounts import Account, Accounts
from resolvers.context import RequestContext
from resolvers.idempotency import MemoryIdempotencyStore
from resolvers.pagination import CursorCodec

__all__ = ["build_accounts", "create_app"]


def build_accounts(settings: Settings) -> Accounts:
    """One pooled HTTP client and one adapter per configured account."""
    return Accounts(
        [
            Account(config, PROVIDERS[config.provider].build(config, build_client(config)))
            for config in settings.accounts
        ]
    )


class GraphQLView(GraphQL[RequestContext, None]):
    def __init__(self, accounts: Accounts, settings: Settings) -> None:
        super().__init__(
            build_schema(settings.limits, introspection=settings.introspection),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
        )
        self.accounts = accounts
        self.cursors = CursorCodec(settings.cursor_secret)
        self.idempotency = MemoryIdempotencyStore(settings.idempotency_ttl)
        self.request_timeout = settings.request_timeout

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        request_id = uuid.uuid4().hex[:16]
        if isinstance(response, Response):
            response.headers["x-request-id"] = request_id
        # The request's own task runs the whole operation, so every upstream call inherits this.
        set_deadline(self.request_timeout)
        state = request.scope.setdefault("state", {})
        client: Client = state.get("client", ANONYMOUS)
        context = RequestContext.create(
            self.accounts.visible(client.accounts),
            self.cursors,
            self.idempotency,
            request_id,
            can_write=client.write,
        )
        state["graphql_context"] = context
        return context

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        shape_errors(result, request.scope.get("state", {}).get("graphql_context"))
        return process_result(result)


def create_app(settings: Settings) -> Starlette:
    accounts = build_accounts(settings)
    graphql = GraphQLView(accounts, settings)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "accounts": len(accounts)})

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await accounts.aclose()

    middleware = [
        Middleware(
            GuardMiddleware,
            clients=settings.clients,
            max_body_bytes=settings.limits.max_body_bytes,
            path="/graphql",
        )
    ]
    if settings.cors_origins:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            ),
        )
    install_redaction(settings.secrets())
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.accounts = accounts
    return app
