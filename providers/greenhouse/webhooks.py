"""Greenhouse web hooks: the signature check and the map from `action` to normalized events.

A delivery is `{"action": "<event>", "payload": {…}}` with `Signature: sha256 <hex>` (HMAC-SHA256
of the raw body with the web hook's secret key) and `Greenhouse-Event-ID` (one per delivery).
Deliveries are at least once, and a redelivery repeats the body, so the dedupe id of a change is
a digest of the signed body and the change's place in it; the event id header is not signed, so
it must not tell deliveries apart (a replayed body with a fresh header is still a duplicate).
Greenhouse configures one secret per web hook, so a gateway account's secret is its own and a
body signed for one account fails on another.

- new_candidate_application, new_prospect_application → application CREATED, and its candidate
  CREATED when the candidate was created with it (within a minute), else UPDATED
- application_updated, candidate_stage_change, hire_candidate, unhire_candidate,
  reject_candidate, unreject_candidate → application UPDATED
- delete_application → application DELETED
- update_candidate → candidate UPDATED
- delete_candidate → candidate DELETED, and each of its `deleted_application_ids` DELETED
- merge_candidate → candidate DELETED; the surviving `new_candidate_id` UPDATED
- job_created, job_updated, job_deleted → job CREATED, UPDATED, DELETED

Everything else (ping, offers, interviews, scorecards, departments, …) maps to none.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from providers.events import (
    ChangeEvent,
    ChangeKind,
    ObjectType,
    WebhookAccount,
    WebhookReading,
    decode_body,
    delivery_digest,
    header,
    hmac_sha256,
    parse_time,
)

__all__ = ["READER", "GreenhouseWebhooks"]

SCHEME = "sha256"
CREATED_WITH = timedelta(minutes=1)
APPLICATION_UPDATES = frozenset(
    {
        "application_updated",
        "candidate_stage_change",
        "hire_candidate",
        "unhire_candidate",
        "reject_candidate",
        "unreject_candidate",
    }
)
JOB_KINDS = {
    "job_created": ChangeKind.CREATED,
    "job_updated": ChangeKind.UPDATED,
    "job_deleted": ChangeKind.DELETED,
}

_Change = tuple[ObjectType, ChangeKind, str, str | None, object]  # type, kind, id, parent, time


def _id(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return None
    return str(value)


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _application_created(payload: Mapping[str, Any]) -> list[_Change]:
    application = _table(payload.get("application"))
    candidate = _table(application.get("candidate"))
    app_id = _id(application.get("id"))
    candidate_id = _id(candidate.get("id")) or _id(application.get("candidate_id"))
    if app_id is None or candidate_id is None:
        return []
    applied = application.get("applied_at") or application.get("created_at")
    born = candidate.get("created_at")
    new_candidate = bool(born) and abs(parse_time(applied) - parse_time(born)) <= CREATED_WITH
    return [
        (ObjectType.APPLICATION, ChangeKind.CREATED, app_id, candidate_id, applied),
        (
            ObjectType.CANDIDATE,
            ChangeKind.CREATED if new_candidate else ChangeKind.UPDATED,
            candidate_id,
            None,
            applied,
        ),
    ]


def _application_changed(payload: Mapping[str, Any], kind: ChangeKind) -> list[_Change]:
    application = _table(payload.get("application"))
    app_id = _id(application.get("id"))
    candidate_id = _id(_table(application.get("candidate")).get("id")) or _id(
        application.get("candidate_id")
    )
    if app_id is None or candidate_id is None:
        return []
    when = application.get("last_activity_at") or application.get("updated_at")
    return [(ObjectType.APPLICATION, kind, app_id, candidate_id, when)]


def _candidate_updated(payload: Mapping[str, Any]) -> list[_Change]:
    candidate = _table(payload.get("candidate"))
    candidate_id = _id(candidate.get("id"))
    if candidate_id is None:
        return []
    return [
        (ObjectType.CANDIDATE, ChangeKind.UPDATED, candidate_id, None, candidate.get("updated_at"))
    ]


def _candidate_gone(payload: Mapping[str, Any], merged: bool) -> list[_Change]:
    person = _table(payload.get("person"))
    person_id = _id(person.get("id"))
    if person_id is None:
        return []
    changes: list[_Change] = [(ObjectType.CANDIDATE, ChangeKind.DELETED, person_id, None, None)]
    deleted = person.get("deleted_application_ids")
    for app_id in deleted if isinstance(deleted, list) else ():
        if (app := _id(app_id)) is not None:
            changes.append((ObjectType.APPLICATION, ChangeKind.DELETED, app, person_id, None))
    survivor = _id(person.get("new_candidate_id")) if merged else None
    if survivor is not None:
        changes.append((ObjectType.CANDIDATE, ChangeKind.UPDATED, survivor, None, None))
    return changes


def _job(payload: Mapping[str, Any], kind: ChangeKind) -> list[_Change]:
    job = _table(payload.get("job"))
    job_id = _id(job.get("id"))
    if job_id is None:
        return []
    return [(ObjectType.JOB, kind, job_id, None, job.get("updated_at"))]


def _changes(action: str, payload: Mapping[str, Any]) -> list[_Change]:
    mapped: dict[str, Callable[[], list[_Change]]] = {
        "new_candidate_application": lambda: _application_created(payload),
        "new_prospect_application": lambda: _application_created(payload),
        "delete_application": lambda: _application_changed(payload, ChangeKind.DELETED),
        "update_candidate": lambda: _candidate_updated(payload),
        "delete_candidate": lambda: _candidate_gone(payload, merged=False),
        "merge_candidate": lambda: _candidate_gone(payload, merged=True),
    }
    if action in APPLICATION_UPDATES:
        return _application_changed(payload, ChangeKind.UPDATED)
    if action in JOB_KINDS:
        return _job(payload, JOB_KINDS[action])
    make = mapped.get(action)
    return [] if make is None else make()


class GreenhouseWebhooks:
    """Reads deliveries of Greenhouse web hooks (see the module's table)."""

    def verify(self, body: bytes, headers: Mapping[str, str], account: WebhookAccount) -> bool:
        scheme, _, given = (header(headers, "Signature") or "").strip().partition(" ")
        if scheme.lower() != SCHEME or not given.strip():
            return False
        expected = hmac_sha256(account.secret, body).hex()
        return hmac.compare_digest(expected.encode(), given.strip().lower().encode())

    def read(
        self, body: bytes, headers: Mapping[str, str], account: WebhookAccount
    ) -> WebhookReading:
        document = decode_body(body)
        if not isinstance(document, Mapping) or not isinstance(document.get("action"), str):
            raise ValueError("not a Greenhouse web hook body")
        action: str = document["action"]
        changes = _changes(action, _table(document.get("payload")))
        if not changes:
            return WebhookReading((), (action,))
        delivery = delivery_digest(body)
        now = parse_time(None)
        events = tuple(
            ChangeEvent(
                account=account.account,
                object_type=object_type,
                kind=kind,
                remote_id=remote_id,
                parent_remote_id=parent,
                occurred_at=parse_time(when, now),
                dedupe_id=f"greenhouse:{delivery}:{n}",
            )
            for n, (object_type, kind, remote_id, parent, when) in enumerate(changes)
        )
        return WebhookReading(events)


READER = GreenhouseWebhooks()
