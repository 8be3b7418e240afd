"""Change notifications, normalized: what changed at a provider, whoever told us.

A `ChangeEvent` names one candidate, application or job of one account and says it was
created, updated or deleted. It carries ids, never the object: whoever shows it fetches the
current object through the normal adapters, so an event cannot be stale or carry another
tenant's data. Webhook readers (`providers/<name>/webhooks.py`, listed in `providers.webhooks`)
make them from signed deliveries; the Talynce poller (`resolvers.polling`) makes them from reads.

A reader's contract: `verify` checks the signature over the raw bytes, in constant time, before
anything is parsed; `read` maps a verified body to events, and reports the provider event names
it mapped to nothing (the gateway counts and drops those).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from providers.wire import instant

__all__ = [
    "ChangeEvent",
    "ChangeKind",
    "ForeignDelivery",
    "ObjectType",
    "WebhookAccount",
    "WebhookReader",
    "WebhookReading",
    "content_dedupe_id",
    "decode_body",
    "delivery_digest",
    "events_of",
    "header",
    "hmac_sha256",
    "parse_time",
]


class ChangeKind(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class ObjectType(enum.StrEnum):
    CANDIDATE = "CANDIDATE"
    APPLICATION = "APPLICATION"
    JOB = "JOB"


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One object of one account changed.

    `parent_remote_id` is an application's candidate (the gateway's application IDs are built
    from both, see `resolvers.ids`), None for candidates and jobs. `dedupe_id` is the same for
    every delivery of one change (from what the provider signed, or a hash of what a poll read),
    so the bus keeps one of them. `occurred_at` is the provider's time when it gives one, else
    receipt time.
    """

    account: str
    object_type: ObjectType
    kind: ChangeKind
    remote_id: str
    occurred_at: datetime
    dedupe_id: str
    parent_remote_id: str | None = None


def content_dedupe_id(*parts: object) -> str:
    """A dedupe id for a change the provider gave no id for: a digest of what identifies it."""
    material = "\x1f".join("" if part is None else str(part) for part in parts)
    return "sha256:" + hashlib.sha256(material.encode()).hexdigest()[:32]


def delivery_digest(body: bytes) -> str:
    """A dedupe id's part for a signed delivery: a digest of its raw body. Only what the
    signature covers may tell deliveries apart; an unsigned header (a delivery id) would let
    anyone holding one signed body replay it as new events by changing the header."""
    return hashlib.sha256(body).hexdigest()[:32]


def hmac_sha256(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def parse_time(value: object, default: datetime | None = None) -> datetime:
    """A provider timestamp as an aware datetime; `default` (or now) when it is absent or bad."""
    return instant(value) or default or datetime.now(UTC)


def decode_body(body: bytes) -> object:
    """A verified body's JSON; ValueError for anything that is not JSON."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("nested too deeply") from None


@dataclass(frozen=True, slots=True)
class WebhookAccount:
    """What verifying an account's deliveries needs: its id, the secret the provider signs with
    and, where one signing key serves many accounts (a Merge organisation), the provider's own id
    for this account (`origin`), so a delivery meant for another account is refused."""

    account: str
    secret: str = field(repr=False)
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookReading:
    """A verified delivery's events, and the provider event names that mapped to none."""

    events: tuple[ChangeEvent, ...]
    unmapped: tuple[str, ...] = ()


class WebhookReader(Protocol):
    """Reads one provider's webhook deliveries."""

    def verify(self, body: bytes, headers: Mapping[str, str], account: WebhookAccount) -> bool:
        """Whether the delivery is signed with the account's secret (constant time)."""
        ...

    def read(
        self, body: bytes, headers: Mapping[str, str], account: WebhookAccount
    ) -> WebhookReading:
        """The events of a verified delivery; raises ValueError for a body it cannot read, and
        `ForeignDelivery` for one that names another of the provider's accounts."""
        ...


class ForeignDelivery(ValueError):
    """A correctly signed delivery about another account (one key signs for many)."""


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (Starlette's Headers already are; plain dicts are not)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def events_of(items: Sequence[ChangeEvent | None]) -> tuple[ChangeEvent, ...]:
    return tuple(item for item in items if item is not None)
