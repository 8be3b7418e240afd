"""`POST /webhooks/{account}`: providers' change notifications in, normalized events onto the bus.

Authenticated by the provider's signature, not by a client key: the account's config names the
secret (`webhook_secret_env`), and the reader of the account's provider (`providers.webhooks`)
checks it over the raw bytes, in constant time, before anything is parsed. Refusals emit no
event and log one line, which names the account and the reason, never a secret or the body:

- 401 UNAUTHENTICATED: signature missing or wrong, or (Merge) a delivery for another account;
  also no such account, or one without a webhook secret: that answer is the bad signature's,
  byte for byte and after the same work (the body read, a signature checked against a secret
  no one holds), so the route cannot be used to learn which account ids exist;
- 413 BAD_USER_INPUT: a body over `webhook_max_bytes` (read no further than that);
- 400 BAD_USER_INPUT: signed, but not a body the provider sends.

A verified delivery is published and answered 202 at once: nothing is fetched here and no
GraphQL runs, so a provider's delivery timeout is never spent on upstream calls. When the bus
cannot take the events (Redis down), 503 tells the provider to deliver again later; the dedupe
ids make the retry harmless.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CollectorRegistry, Counter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from gateway.negotiation import refusal
from providers.events import ForeignDelivery, WebhookAccount, WebhookReader
from store.events import BusUnavailable, EventBus

__all__ = ["webhook_endpoint"]

log = logging.getLogger("gateway.webhooks")
EVENT_NAME = re.compile(r"^[A-Za-z0-9_.]{1,64}$")
MAX_EVENT_NAMES = 100
ACCOUNT_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class WebhookMetrics:
    """Deliveries by account and outcome; provider events that mapped to nothing, by name (an
    unusual or the 101st distinct name counts as "other", so series stay bounded)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "gateway_webhook_deliveries",
            "Webhook deliveries by account and outcome",
            ["account", "outcome"],
            registry=registry,
        )
        self.unmapped = Counter(
            "gateway_webhook_unmapped_events",
            "Provider webhook events that map to no change event, counted and dropped",
            ["account", "event"],
            registry=registry,
        )
        self.events = Counter(
            "gateway_change_events",
            "Change events published to the bus, by account and outcome (published, duplicate)",
            ["account", "outcome"],
            registry=registry,
        )
        self._names: set[str] = set()

    def event_label(self, name: str) -> str:
        if not EVENT_NAME.match(name):
            return "other"
        if name not in self._names and len(self._names) >= MAX_EVENT_NAMES:
            return "other"
        self._names.add(name)
        return name


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is over `limit` bytes (the rest is never read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_endpoint(
    *,
    accounts: Mapping[str, tuple[str, WebhookAccount]],
    readers: Mapping[str, WebhookReader],
    bus: EventBus,
    registry: CollectorRegistry,
    max_bytes: int,
    body_timeout: float,
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint for `accounts` (id → (provider, `WebhookAccount`)), publishing to `bus`."""
    metrics = WebhookMetrics(registry)
    # What an unknown account is checked against: a real reader and a secret no one holds.
    decoy = (min(readers), WebhookAccount("", secrets.token_urlsafe(32)))

    def refuse(
        request: Request, label: str, status: int, code: str, message: str, why: str
    ) -> Response:
        metrics.deliveries.labels(label, why).inc()
        log.warning("webhook for account %s refused (%d): %s", label, status, why)
        return refusal(status, code, message, request.headers.get("accept"))

    async def endpoint(request: Request) -> Response:
        account_id = request.path_params["account"]
        label = account_id if ACCOUNT_LABEL.match(account_id) else "invalid"
        configured = accounts.get(account_id)
        if configured is None:
            label = "unknown" if label != "invalid" else label
        provider, hook = configured or decoy
        reader = readers[provider]
        try:
            async with asyncio.timeout(body_timeout):
                body = await _bounded_body(request, max_bytes)
        except TimeoutError:
            message = f"the body did not arrive within {body_timeout:g} s"
            return refuse(request, label, 408, "REQUEST_TIMEOUT", message, "slow-body")
        except ClientDisconnect:
            return Response(status_code=400)
        if body is None:
            message = f"request body is over {max_bytes} bytes"
            return refuse(request, label, 413, "BAD_USER_INPUT", message, "too-large")
        if not reader.verify(body, request.headers, hook) or configured is None:
            message = "the webhook signature is missing or wrong"
            why = "bad-signature" if configured is not None else "no-such-account"
            return refuse(request, label, 401, "UNAUTHENTICATED", message, why)
        try:
            reading = reader.read(body, request.headers, hook)
        except ForeignDelivery:
            message = "the delivery is for another account"
            return refuse(request, label, 401, "UNAUTHENTICATED", message, "foreign-account")
        except ValueError:
            message = "not a webhook body this provider sends"
            return refuse(request, label, 400, "BAD_USER_INPUT", message, "unreadable")
        for name in reading.unmapped:
            metrics.unmapped.labels(label, metrics.event_label(name)).inc()
        published = 0
        try:
            for event in reading.events:
                fresh = await bus.publish(event) is not None
                published += fresh
                metrics.events.labels(label, "published" if fresh else "duplicate").inc()
        except BusUnavailable:
            metrics.deliveries.labels(label, "bus-unavailable").inc()
            log.warning("webhook for account %s not stored: the event bus is unavailable", label)
            return refusal(
                503,
                "INTERNAL",
                "the event bus is unavailable; deliver again later",
                request.headers.get("accept"),
                {"Retry-After": "5"},
            )
        metrics.deliveries.labels(label, "accepted").inc()
        return JSONResponse(
            {"events": len(reading.events), "published": published}, status_code=202
        )

    return endpoint
