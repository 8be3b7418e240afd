"""Merge webhooks: the signature check and the map from `hook.event` to normalized events.

A delivery is `{"hook": {"id", "event", "target"}, "linked_account": {"id", …}, "data": {…}}`
with `X-Merge-Webhook-Signature`: HMAC-SHA256 of the raw body with the organisation's webhook
signature key, base64url-encoded (compared with or without padding). "Changed data" and "Deleted
data" webhooks name the common model and the change: `<Model>.added`, `.changed`, `.removed`.

One key signs for every linked account of a Merge organisation, so a body signed for one
account would verify on another: an account that sets `webhook_origin` (its linked account's id
as Merge reports it) refuses deliveries naming any other linked account.

`hook.id` names the webhook's configuration, not the delivery, so it cannot tell deliveries
apart: the dedupe id is a digest of the raw body, which a retried delivery repeats exactly.

- Candidate.added / .changed / .removed → candidate CREATED / UPDATED / DELETED
- Application.added / .changed / .removed → application CREATED / UPDATED / DELETED, when
  `data.candidate` names its candidate (an application is addressed through it)
- Job.added / .changed / .removed → job CREATED / UPDATED / DELETED

Everything else (LinkedAccount.*, Issue.*, other common models, sync notices) maps to none.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from typing import Any

from providers.events import (
    ChangeEvent,
    ChangeKind,
    ForeignDelivery,
    ObjectType,
    WebhookAccount,
    WebhookReading,
    decode_body,
    delivery_digest,
    header,
    hmac_sha256,
    parse_time,
)

__all__ = ["READER", "MergeWebhooks"]

MODELS = {
    "candidate": ObjectType.CANDIDATE,
    "application": ObjectType.APPLICATION,
    "job": ObjectType.JOB,
}
CHANGES = {
    "added": ChangeKind.CREATED,
    "changed": ChangeKind.UPDATED,
    "removed": ChangeKind.DELETED,
}


def _id(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


class MergeWebhooks:
    """Reads deliveries of Merge's changed-data and deleted-data webhooks."""

    def verify(self, body: bytes, headers: Mapping[str, str], account: WebhookAccount) -> bool:
        given = (header(headers, "X-Merge-Webhook-Signature") or "").strip().rstrip("=")
        if not given:
            return False
        expected = base64.urlsafe_b64encode(hmac_sha256(account.secret, body)).rstrip(b"=")
        return hmac.compare_digest(expected, given.encode(errors="replace"))

    def read(
        self, body: bytes, headers: Mapping[str, str], account: WebhookAccount
    ) -> WebhookReading:
        document = decode_body(body)
        if not isinstance(document, Mapping):
            raise ValueError("not a Merge webhook body")
        hook = document.get("hook")
        if not isinstance(hook, Mapping) or not isinstance(hook.get("event"), str):
            raise ValueError("not a Merge webhook body")
        linked = _id(document.get("linked_account"))
        if account.origin is not None and linked != account.origin:
            raise ForeignDelivery("the delivery names another linked account")
        event: str = hook["event"]
        model, _, change = event.partition(".")
        object_type, kind = MODELS.get(model.lower()), CHANGES.get(change.lower())
        data: Mapping[str, Any] = document.get("data") or {}
        if not isinstance(data, Mapping):
            raise ValueError("data is not an object")
        remote_id = _id(data.get("id"))
        parent = _id(data.get("candidate"))
        mapped = (
            object_type is not None
            and kind is not None
            and remote_id is not None
            and (object_type is not ObjectType.APPLICATION or parent is not None)
        )
        if not mapped or object_type is None or kind is None or remote_id is None:
            return WebhookReading((), (event,))
        when = data.get("modified_at") or data.get("remote_updated_at")
        return WebhookReading(
            (
                ChangeEvent(
                    account=account.account,
                    object_type=object_type,
                    kind=kind,
                    remote_id=remote_id,
                    parent_remote_id=parent if object_type is ObjectType.APPLICATION else None,
                    occurred_at=parse_time(when),
                    dedupe_id=f"merge:{delivery_digest(body)}",
                ),
            )
        )


READER = MergeWebhooks()
