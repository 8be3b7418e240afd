"""Merge webhooks as the emulator sends them: changed-data and deleted-data notifications.

Bodies are `{"hook": {"id", "event", "target"}, "linked_account": {…}, "data": {…}}` with
`hook.event` = `Candidate|Application|Job` + `.added|.changed|.removed`, signed
`X-Merge-Webhook-Signature: <base64url HMAC-SHA256 of the body>` with the target's key. The
linked account's `id` is derived from its account token (`linked_account_id`), so a demo can
name it in the gateway's `webhook_origin`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from typing import Any

from emulators.merge.seed import Application, Candidate, Job
from emulators.webhooks import Change, Delivery, Snapshot, WebhookTarget, diff

__all__ = ["deliveries", "linked_account_id", "snapshot"]

EVENTS = {Change.CREATED: "added", Change.UPDATED: "changed", Change.DELETED: "removed"}
MODELS = {"candidate": "Candidate", "application": "Application", "job": "Job"}


def linked_account_id(account_token: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"merge-linked-account:{account_token}"))


def snapshot(account: Any) -> Snapshot:
    """`account` is the emulator's `LinkedAccount` (not imported: its module imports this one)."""
    found: Snapshot = {}
    for kind, table in (
        ("candidate", account.candidates),
        ("application", account.applications),
        ("job", account.jobs),
    ):
        found |= {(kind, i): (repr(row), copy.copy(row)) for i, row in table.items()}
    return found


def _stamp(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _data(row: object) -> dict[str, Any]:
    if isinstance(row, Candidate):
        return {
            "id": row.id,
            "remote_id": row.remote_id,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "created_at": _stamp(row.created_at),
            "modified_at": _stamp(row.modified_at),
        }
    if isinstance(row, Application):
        return {
            "id": row.id,
            "remote_id": row.remote_id,
            "candidate": row.candidate_id,
            "job": row.job_id,
            "current_stage": row.stage_id,
            "rejected_at": _stamp(row.rejected_at),
            "created_at": _stamp(row.created_at),
        }
    if isinstance(row, Job):
        return {
            "id": row.id,
            "remote_id": row.remote_id,
            "name": row.name,
            "status": row.status,
            "modified_at": _stamp(row.modified_at or row.created_at),
        }
    return {}


def deliveries(
    account: Any, before: Snapshot, targets: tuple[WebhookTarget, ...]
) -> list[Delivery]:
    """One signed delivery per change and target, in the order the changes happened."""
    after = snapshot(account)
    linked = {
        "id": linked_account_id(account.account_token),
        "integration": account.integration,
        "category": "ats",
        "end_user_origin_id": None,
        "end_user_organization_name": account.name,
        "status": "COMPLETE",
    }
    found = []
    for change, kind, remote_id, old in diff(before, after):
        row = old if change is Change.DELETED else after[(kind, remote_id)][1]
        event = f"{MODELS[kind]}.{EVENTS[change]}"
        for target in targets:
            hook = {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, target.url)),
                "event": event,
                "target": target.url,
            }
            raw = json.dumps({"hook": hook, "linked_account": linked, "data": _data(row)}).encode()
            digest = hmac.new(target.secret.encode(), raw, hashlib.sha256).digest()
            headers = {
                "content-type": "application/json",
                "x-merge-webhook-signature": base64.urlsafe_b64encode(digest).decode(),
            }
            found.append(Delivery(target, raw, headers))
    return found
