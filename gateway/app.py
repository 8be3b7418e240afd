"""The Starlette application: GraphQL (with GraphiQL) at /graphql, one live adapter per account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gateway.schema import schema
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
        super().__init__(schema, graphql_ide="graphiql")
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
        return RequestContext.create(self.accounts, self.cursors, self.idempotency, request_id)


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

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.accounts = accounts
    return app
