"""The mapping tables: each provider event to the normalized events it means (or none).

Bodies follow the shapes the providers document (Greenhouse's `{"action", "payload"}` web
hooks; Merge's `{"hook", "linked_account", "data"}`), trimmed to the fields that matter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from providers.events import ChangeEvent, ChangeKind, ForeignDelivery, ObjectType, WebhookAccount
from providers.greenhouse.webhooks import READER as GREENHOUSE
from providers.merge.webhooks import READER as MERGE
from resolvers.ids import GlobalId, decode_id
from resolvers.live import global_id
from tests.live_support import body

C, A, J = ObjectType.CANDIDATE, ObjectType.APPLICATION, ObjectType.JOB
NEW, UPD, DEL = ChangeKind.CREATED, ChangeKind.UPDATED, ChangeKind.DELETED
GH = WebhookAccount("gh", "s")
APPLICATION = {
    "id": 71980812,
    "applied_at": "2026-11-01T10:00:00Z",
    "last_activity_at": "2026-11-02T10:00:00Z",
    "candidate": {"id": 60304594, "created_at": "2026-11-01T10:00:00Z"},
    "jobs": [{"id": 274075}],
}
OLD_CANDIDATE = {**APPLICATION, "candidate": {"id": 60304594, "created_at": "2025-01-01T00:00:00Z"}}

GREENHOUSE_TABLE: list[tuple[str, dict[str, Any], list[tuple[Any, ...]]]] = [
    (
        "new_candidate_application",
        {"application": APPLICATION},
        [(A, NEW, "71980812", "60304594"), (C, NEW, "60304594", None)],
    ),
    (
        "new_candidate_application",
        {"application": OLD_CANDIDATE},
        [(A, NEW, "71980812", "60304594"), (C, UPD, "60304594", None)],
    ),
    (
        "new_prospect_application",
        {"application": APPLICATION},
        [(A, NEW, "71980812", "60304594"), (C, NEW, "60304594", None)],
    ),
    *[
        (action, {"application": APPLICATION}, [(A, UPD, "71980812", "60304594")])
        for action in (
            "application_updated",
            "candidate_stage_change",
            "hire_candidate",
            "unhire_candidate",
            "reject_candidate",
            "unreject_candidate",
        )
    ],
    (
        "delete_application",
        {"application": {"id": 46194062, "candidate_id": 37031511, "job_id": 371417}},
        [(A, DEL, "46194062", "37031511")],
    ),
    ("update_candidate", {"candidate": {"id": 15696179}}, [(C, UPD, "15696179", None)]),
    (
        "delete_candidate",
        {"person": {"id": 37031511, "deleted_application_ids": [46196263, 46196258]}},
        [
            (C, DEL, "37031511", None),
            (A, DEL, "46196263", "37031511"),
            (A, DEL, "46196258", "37031511"),
        ],
    ),
    (
        "merge_candidate",
        {"person": {"id": 37031511, "new_candidate_id": 457456}},
        [(C, DEL, "37031511", None), (C, UPD, "457456", None)],
    ),
    ("job_created", {"job": {"id": 371417}}, [(J, NEW, "371417", None)]),
    ("job_updated", {"job": {"id": 371417}}, [(J, UPD, "371417", None)]),
    ("job_deleted", {"job": {"id": 371417}}, [(J, DEL, "371417", None)]),
    ("ping", {"web_hook_id": 1}, []),
    ("offer_created", {"id": 1, "application_id": 2}, []),
    ("interview_deleted", {"interview": {"id": 1}}, []),
    ("update_candidate", {"candidate": {}}, []),  # names nothing: nothing to emit
]


def shapes(reading: Any) -> list[tuple[Any, ...]]:
    return [(e.object_type, e.kind, e.remote_id, e.parent_remote_id) for e in reading.events]


@pytest.mark.parametrize(("action", "payload", "expected"), GREENHOUSE_TABLE)
def test_greenhouse_actions(action: str, payload: dict[str, Any], expected: list[Any]) -> None:
    raw = body({"action": action, "payload": payload})
    reading = GREENHOUSE.read(raw, {"Greenhouse-Event-ID": "e-1"}, GH)
    assert shapes(reading) == expected
    assert reading.unmapped == (() if expected else (action,))
    assert all(e.account == "gh" for e in reading.events)
    assert len({e.dedupe_id for e in reading.events}) == len(expected)  # one per event


def test_greenhouse_dedupe_ids_follow_the_signed_body_not_the_event_id_header() -> None:
    raw = body({"action": "update_candidate", "payload": {"candidate": {"id": 1}}})
    first = GREENHOUSE.read(raw, {"greenhouse-event-id": "abc"}, GH).events[0]
    replayed = GREENHOUSE.read(raw, {"greenhouse-event-id": "xyz"}, GH).events[0]
    unnamed = GREENHOUSE.read(raw, {}, GH).events[0]
    assert first.dedupe_id == replayed.dedupe_id == unnamed.dedupe_id
    changed = raw.replace(b'"id": 1', b'"id": 2')
    assert GREENHOUSE.read(changed, {}, GH).events[0].dedupe_id != first.dedupe_id


MERGE_TABLE: list[tuple[str, dict[str, Any], list[tuple[Any, ...]]]] = [
    ("Candidate.added", {"id": "c1"}, [(C, NEW, "c1", None)]),
    ("Candidate.changed", {"id": "c1"}, [(C, UPD, "c1", None)]),
    ("Candidate.removed", {"id": "c1"}, [(C, DEL, "c1", None)]),
    ("Application.added", {"id": "a1", "candidate": "c1"}, [(A, NEW, "a1", "c1")]),
    ("Application.changed", {"id": "a1", "candidate": {"id": "c1"}}, [(A, UPD, "a1", "c1")]),
    ("Application.removed", {"id": "a1", "candidate": "c1"}, [(A, DEL, "a1", "c1")]),
    ("Application.changed", {"id": "a1"}, []),  # no candidate: it cannot be addressed
    ("Job.added", {"id": "j1"}, [(J, NEW, "j1", None)]),
    ("Job.changed", {"id": "j1"}, [(J, UPD, "j1", None)]),
    ("Job.removed", {"id": "j1"}, [(J, DEL, "j1", None)]),
    ("LinkedAccount.synced", {"account_token": "t"}, []),
    ("Issue.created", {"id": "i1"}, []),
    ("Offer.changed", {"id": "o1"}, []),
    ("Candidate.sneezed", {"id": "c1"}, []),
]


@pytest.mark.parametrize(("event", "data", "expected"), MERGE_TABLE)
def test_merge_events(event: str, data: dict[str, Any], expected: list[Any]) -> None:
    raw = body({"hook": {"id": "h", "event": event}, "linked_account": {"id": "l1"}, "data": data})
    reading = MERGE.read(raw, {}, WebhookAccount("mg", "s", "l1"))
    assert shapes(reading) == expected
    assert reading.unmapped == (() if expected else (event,))


def test_merge_refuses_another_linked_accounts_delivery_and_dedupes_by_body() -> None:
    document = {"hook": {"id": "h", "event": "Candidate.changed"}, "linked_account": {"id": "l2"}}
    raw = body({**document, "data": {"id": "c1"}})
    with pytest.raises(ForeignDelivery):
        MERGE.read(raw, {}, WebhookAccount("mg", "s", "l1"))
    unpinned = WebhookAccount("mg", "s")
    first, again = (MERGE.read(raw, {}, unpinned).events[0] for _ in range(2))
    changed = MERGE.read(body({**document, "data": {"id": "c1", "x": 1}}), {}, unpinned)
    assert first.dedupe_id == again.dedupe_id != changed.events[0].dedupe_id


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"payload": {}}', b"\xff\xfe", b"[" * 5000])
def test_bodies_that_are_not_deliveries_raise_value_error(raw: bytes) -> None:
    for reader, account in ((GREENHOUSE, GH), (MERGE, WebhookAccount("mg", "s"))):
        with pytest.raises(ValueError):
            reader.read(raw, {}, account)


def test_an_events_global_id_is_the_one_queries_return() -> None:
    when = datetime.now(UTC)
    application = ChangeEvent("gh", A, UPD, "71", when, "d", parent_remote_id="60")
    assert decode_id(global_id(application), expect="Application") == GlobalId(
        "Application", "gh", "71", "60"
    )
    job = ChangeEvent("gh", J, NEW, "9", when, "d", parent_remote_id="ignored")
    assert decode_id(global_id(job), expect="Job") == GlobalId("Job", "gh", "9")
