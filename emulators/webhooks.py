"""Emulators' outgoing webhooks: after a write, tell the configured targets what changed.

Off by default. The demo (and tests) give an emulator a `WebhookOutbox` and, per tenant (a
Greenhouse organisation, a Merge linked account), the targets to notify: a URL and the secret
to sign with. Each provider package composes and signs its own provider's bodies
(`emulators/<name>/webhooks.py`); this module finds what changed and delivers.

What changed is found by diffing a tenant's records around each write request
(`Snapshot`): so every write path, including ones added later, sends webhooks with no change to
its handler. Deliveries leave in order, one at a time, off the request path (a queue and one
task per outbox); a target that fails is logged and skipped, as a provider's retries are not
what the demo needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import httpx

__all__ = ["Change", "Delivery", "Snapshot", "WebhookOutbox", "WebhookTarget", "diff"]

log = logging.getLogger("emulators.webhooks")
QUEUE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    url: str
    secret: str = field(repr=False)


class Change(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


Snapshot = dict[tuple[str, str], tuple[str, object]]
"""(record kind, id) → (a fingerprint of the record, a detail the composer wants: e.g. the
stage an application was in)."""


def diff(before: Snapshot, after: Snapshot) -> list[tuple[Change, str, str, object]]:
    """(change, kind, id, detail before) for every record created, updated or deleted."""
    changes: list[tuple[Change, str, str, object]] = []
    for key, (fingerprint, _) in after.items():
        if key not in before:
            changes.append((Change.CREATED, *key, None))
        elif before[key][0] != fingerprint:
            changes.append((Change.UPDATED, *key, before[key][1]))
    changes += [
        (Change.DELETED, *key, detail) for key, (_, detail) in before.items() if key not in after
    ]
    return changes


@dataclass(frozen=True, slots=True)
class Delivery:
    target: WebhookTarget
    body: bytes
    headers: Mapping[str, str]


class WebhookOutbox:
    """Sends deliveries in order from one task; `sent` counts the ones a target accepted."""

    def __init__(self, targets: Mapping[str, Iterable[WebhookTarget]]) -> None:
        self.targets = {tenant: tuple(found) for tenant, found in targets.items()}
        self.sent = 0
        self.failed = 0
        self._queue: asyncio.Queue[Delivery] | None = None
        self._task: asyncio.Task[None] | None = None

    def enqueue(self, deliveries: Iterable[Delivery]) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue(QUEUE_LIMIT)
            self._task = asyncio.create_task(self._deliver(self._queue))
        for delivery in deliveries:
            try:
                self._queue.put_nowait(delivery)
            except asyncio.QueueFull:
                self.failed += 1
                log.warning("emulator webhook outbox is full; a delivery was dropped")

    async def _deliver(self, queue: asyncio.Queue[Delivery]) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                delivery = await queue.get()
                try:
                    response = await client.post(
                        delivery.target.url, content=delivery.body, headers=dict(delivery.headers)
                    )
                    ok = response.status_code < 300
                except httpx.HTTPError as error:
                    ok = False
                    log.warning("emulator webhook delivery failed: %s", type(error).__name__)
                self.sent += ok
                self.failed += not ok

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
