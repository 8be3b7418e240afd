"""The Starlette application: GraphQL (with GraphiQL) at /graphql, one live adapter per account."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

from gateway.graphiql import static_app
from gateway.logs import RequestLog, configure_logging
from gateway.metrics import Metrics
from gateway.negotiation import refusal
from gateway.persisted import TrustedDocuments
from gateway.redaction import install_redaction
from gateway.schema import build_schema
from gateway.security import GuardMiddleware, bearer_matches
from gateway.settings import Settings, load_settings
from gateway.store import Store, open_store
from gateway.tracing import Tracing, tracing_from_setting
from gateway.view import GraphQLView
from gateway.webhooks import webhook_endpoint
from providers.registry import PROVIDERS
from providers.upstream.http import build_client
from providers.webhooks import WEBHOOKS
from resolvers.accounts import Accounts, ServedAccount
from resolvers.changes import ChangeFeed
from resolvers.pagination import CursorCodec
from resolvers.polling import ChangePoller

__all__ = ["app_from_environment", "build_accounts", "create_app", "settle_heap"]

_heap_settled = False


def settle_heap() -> None:
    """Moves what startup built (schema, clients, modules) out of the collector's sight, once
    per process. Every full collection otherwise walks those long-lived objects again; under
    scenario A's load that was about 30% of the gateway's CPU. Only the first app of a process
    does it, so a test session that builds hundreds of apps does not pin them all.
    """
    global _heap_settled
    if _heap_settled:
        return
    _heap_settled = True
    gc.collect()
    gc.freeze()


def build_accounts(settings: Settings, store: Store | None = None) -> Accounts:
    """One pooled HTTP client and one adapter per configured account.

    With a `store`, adapters share rate budgets and tokens through it and sit behind its
    response cache; without one (check-config --ping), everything is this process's own.
    """
    accounts = []
    sharing = None if store is None else store.sharing
    for config in settings.accounts:
        spec = PROVIDERS[config.provider]
        provider = spec.build(config, build_client(config), sharing)
        if store is not None:
            provider = store.cached(config, provider, spec.read_ahead)
        accounts.append(ServedAccount(config, provider))
    return Accounts(accounts)


def create_app(settings: Settings, *, tracing: Tracing | None = None) -> Starlette:
    """The gateway for `settings`; `tracing` overrides the configured tracing (tests pass one)."""
    metrics = Metrics()
    store = open_store(settings, metrics.registry)
    accounts = build_accounts(settings, store)
    # Live updates: webhooks and the Talynce poller publish change events to the bus;
    # subscriptions follow it (`resolvers.changes`).
    events = store.events()
    poller = ChangePoller(
        accounts,
        events.publish,
        polled=[a.id for a in settings.accounts if a.provider not in WEBHOOKS],
        interval=settings.poll_interval,
        max_rows=settings.poll_max_rows,
        timeout=settings.request_timeout,
        observer=metrics,
    )
    changes = ChangeFeed(events, accounts, poller, timeout=settings.request_timeout)
    graphql = GraphQLView(
        build_schema(
            settings.limits,
            introspection=settings.introspection,
            compiled=settings.compiled_execution,
        ),
        accounts,
        CursorCodec(settings.cursor_secret),
        store.idempotency(accounts),
        request_timeout=settings.request_timeout,
        socket_init_timeout=settings.header_timeout,
        graphiql=settings.graphiql,
        metrics=metrics,
        tracing=tracing or tracing_from_setting(settings.tracing),
        compression=settings.compression,
        persisted=settings.persisted_queries,
        documents=store.documents(),
        trusted=None
        if settings.trusted_documents is None
        else TrustedDocuments(settings.trusted_documents),
        changes=changes,
        socket_origins=settings.cors_origins,
    )
    providers = {a.id: a.provider for a in settings.accounts}
    webhooks = webhook_endpoint(
        accounts={id_: (providers[id_], hook) for id_, hook in settings.webhooks.items()},
        readers=WEBHOOKS,
        bus=events,
        registry=metrics.registry,
        max_bytes=settings.webhook_max_bytes,
        body_timeout=settings.request_timeout,
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def operator(request: Request) -> bool:
        """Who may read /metrics and the detailed /readyz: the holder of the metrics key; with
        no metrics key, anyone only in open mode (no clients, which the CLI keeps on loopback)."""
        if settings.metrics_key_sha256 is not None:
            authorization = request.headers.get("authorization")
            return bearer_matches(authorization, settings.metrics_key_sha256)
        return not settings.clients

    async def readyz(request: Request) -> Response:
        """Ready when configured and at least one account's breaker lets calls through.

        Breakers are asked now (an open one past its cooldown lets a probe through), so an
        instance that a load balancer took out comes back without needing traffic first.
        Account ids and the store's state are for the operator only.
        """
        open_ = [account.id for account in accounts if account.breaker_state() == "open"]
        ready = len(accounts) > 0 and len(open_) < len(accounts)
        status: dict[str, object] = {"status": "ready" if ready else "unavailable"}
        if operator(request):
            status |= {"accounts": len(accounts), "store": store.status, "breakers_open": open_}
        return JSONResponse(status, status_code=200 if ready else 503)

    async def metrics_endpoint(request: Request) -> Response:
        if operator(request):
            return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
        accept = request.headers.get("accept")
        if settings.metrics_key_sha256 is None:
            message = "metrics are private: set [gateway] metrics_key_sha256 to read them"
            return refusal(403, "FORBIDDEN", message, accept)
        message = "send the metrics key as 'Authorization: Bearer <key>'"
        return refusal(401, "UNAUTHENTICATED", message, accept, {"WWW-Authenticate": "Bearer"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settle_heap()
        try:
            yield
        finally:
            await poller.aclose()
            await events.aclose()
            await accounts.aclose()
            await store.aclose()

    middleware = [
        Middleware(
            GuardMiddleware,
            clients=settings.clients,
            max_body_bytes=settings.limits.max_body_bytes,
            path="/graphql",
            graphiql=settings.graphiql,
            body_timeout=settings.request_timeout,
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
    middleware.insert(0, Middleware(RequestLog))  # outermost: it sees every answer
    install_redaction(settings.secrets())
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            Route("/webhooks/{account}", webhooks, methods=["POST"]),
            Mount("/static/graphiql", GZipMiddleware(static_app()), name="graphiql-static"),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.accounts = accounts
    app.state.metrics = metrics
    app.state.store = store
    app.state.events = events
    app.state.poller = poller
    app.state.changes = changes
    return app


def app_from_environment() -> Starlette:
    """For `serve --workers N`: each worker process loads the file the parent named."""
    configure_logging(os.environ.get("ATS_GATEWAY_LOG_FORMAT", "auto"))
    settings = load_settings(Path(os.environ["ATS_GATEWAY_CONFIG"]))
    if settings.store_url is None:
        logging.getLogger("gateway.store").warning(
            "with store = memory each worker keeps its own idempotency keys, rate budgets, "
            "change events%s; "
            "set [gateway] store to a redis:// URL for workers to act as one gateway",
            " and response cache" if settings.cache_ttl > 0 else "",
        )
    return create_app(settings)
