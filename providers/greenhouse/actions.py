"""Harvest v3's pipeline on the wire: the status filter, reject reasons, notes, and what each
action's 422 means for the client.

A refusal names the fields Greenhouse gave, mapped to the action's inputs with a stable code;
Greenhouse's own words never travel. An answer naming no field gets the action's own problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

from providers.errors import FieldProblem
from providers.model import ApplicationStatus, NoteRecord, NoteVisibility, RejectReason
from providers.wire import text_or_integer

__all__ = [
    "CREATE",
    "MOVE",
    "NOTE",
    "REJECT",
    "STATUS_FILTER",
    "UNREJECT",
    "VISIBILITY_WRITE",
    "Refusals",
    "harvest_note",
    "harvest_reject_reason",
]

STATUS_FILTER: Final = {
    ApplicationStatus.ACTIVE: "active",
    ApplicationStatus.REJECTED: "rejected",
    ApplicationStatus.HIRED: "hired",
    ApplicationStatus.OTHER: "converted",  # the one response status that maps to OTHER
}
"""`/v3/applications?status=`: the filter's words (rows come back `in_process` for `active`)."""

VISIBILITY_WRITE: Final = {
    NoteVisibility.PUBLIC: "public",
    NoteVisibility.PRIVATE: "private",
    NoteVisibility.ADMIN_ONLY: "admin_only",
}
_VISIBILITY_READ: Final = {
    **{wire: visibility for visibility, wire in VISIBILITY_WRITE.items()},
    "publicly_visible": NoteVisibility.PUBLIC,
    "privately_visible": NoteVisibility.PRIVATE,
    "admin_only_visible": NoteVisibility.ADMIN_ONLY,
}
"""A note's visibility as read (`publicly_visible`, …) or, should an answer echo it, as written."""

INVALID_STATE = FieldProblem(
    "INVALID_APPLICATION_STATE",
    "Greenhouse refused this action for the application in its current state",
)


@dataclass(frozen=True, slots=True)
class Refusals:
    """What one action's 422 means: the problem for each wire field it may name, and the one
    reported when it names none of them."""

    fields: Mapping[str, FieldProblem]
    otherwise: FieldProblem

    def problems(self, body: Any) -> list[FieldProblem]:
        """The problems of a `{message, errors}` body; errors are strings or {field: message}."""
        errors = body.get("errors") if isinstance(body, Mapping) else None
        named: Iterable[object] = (
            wire
            for item in (errors if isinstance(errors, list) else [])
            if isinstance(item, Mapping)
            for wire in item
        )
        found = dict.fromkeys(
            self.fields[wire]
            for wire in islice(named, 50)
            if isinstance(wire, str) and wire in self.fields
        )
        return list(found) or [self.otherwise]


def _refused(code: str, what: str, *path: str) -> FieldProblem:
    return FieldProblem(code, f"Greenhouse refused {what}", path)


CREATE: Final = Refusals(
    {
        "candidate_id": _refused("NOT_FOUND", "this candidate", "candidate_id"),
        "job_id": _refused("NOT_FOUND", "this job", "job_id"),
        "initial_stage_id": _refused("INVALID_STAGE", "this stage for the job", "stage_id"),
        "source_id": _refused("NOT_FOUND", "this source", "source"),
    },
    FieldProblem("BAD_USER_INPUT", "Greenhouse refused to create this application"),
)
MOVE: Final = Refusals(
    {
        "to_stage_id": _refused(
            "INVALID_STAGE", "this stage: it is not a stage of the application's job", "stage_id"
        )
    },
    INVALID_STATE,
)
REJECT: Final = Refusals(
    {
        "rejection_reason_id": _refused("NOT_FOUND", "this reject reason", "reason_id"),
        "notes": _refused("BAD_USER_INPUT", "this note", "note"),
    },
    INVALID_STATE,
)
UNREJECT: Final = Refusals({}, INVALID_STATE)
NOTE: Final = Refusals(
    {
        "candidate_id": _refused("NOT_FOUND", "this candidate", "candidate_id"),
        "body": _refused("BAD_USER_INPUT", "this note's body", "body"),
        "visibility": _refused("UNSUPPORTED_VALUE", "this visibility", "visibility"),
    },
    FieldProblem("BAD_USER_INPUT", "Greenhouse refused this note"),
)


def harvest_reject_reason(raw: Any) -> RejectReason | None:
    """One `/v3/rejection_reasons` row (`{id, name, type}`); None without an id."""
    remote_id = text_or_integer(raw, "id") if isinstance(raw, Mapping) else None
    if remote_id is None:
        return None
    return RejectReason(remote_id=remote_id, name=text_or_integer(raw, "name"))


def harvest_note(raw: Any) -> NoteRecord | None:
    """One `/v3/notes` row; None without its id, candidate or body."""
    if not isinstance(raw, Mapping):
        return None
    remote_id, candidate = text_or_integer(raw, "id"), text_or_integer(raw, "candidate_id")
    body = raw.get("body")
    if remote_id is None or candidate is None or not isinstance(body, str):
        return None
    visibility = (text_or_integer(raw, "visibility") or "").lower()
    return NoteRecord(
        remote_id=remote_id,
        candidate_remote_id=candidate,
        body=body,
        visibility=_VISIBILITY_READ.get(visibility),
        created_at=text_or_integer(raw, "created_at"),
    )
