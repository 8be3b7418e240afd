"""The emulator's Harvest v3 pipeline routes: rejection reasons and sources, creating an
application, its lifecycle actions (move, reject, unreject) and notes on a candidate.

Facts followed (reference/providers.md §G4, G6, and the vendor's reference pages as quoted by
third parties): `POST /v3/applications` answers 201 with the application; `move` takes
`to_stage_id` / `to_job_id` (both blank: advance one stage; a job alone: that job's first stage);
`reject` takes `rejection_reason_id` (required) and `notes`; `unreject` reinstates and clears
the reason; `POST /v3/notes` takes `candidate_id`, `body`, `note_type` and a write-side
`visibility` (public | private | admin_only) that reads back as `publicly_visible` and so on.
Where the documents are silent the emulator picks and says so: move answers 200 with the
application, reject and unreject answer 204 without a body, a create's stage is
`initial_stage_id` (v1's name for it), and refusals are 422 `{message, errors}` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Final

from emulators.greenhouse.calls import DIGITS, Call, Result, iso, now_ms
from emulators.greenhouse.errors import HarvestError, unprocessable
from emulators.greenhouse.harvest import (
    harvest_application_row,
    ids_filter,
    list_page,
    list_request,
)
from emulators.greenhouse.store import (
    GhApplication,
    GhJobStage,
    GhNote,
    GhRejectionReason,
    GreenhouseOrg,
)

__all__ = [
    "NOTE_VISIBILITY",
    "harvest_application_create",
    "harvest_application_move",
    "harvest_application_reject",
    "harvest_application_unreject",
    "harvest_note_create",
    "harvest_rejection_reasons",
    "harvest_sources",
]

NOTE_VISIBILITY: Final = {
    "public": "publicly_visible",
    "private": "privately_visible",
    "admin_only": "admin_only_visible",
}
"""A note's visibility as written → as read back."""
_NOTE_TYPES: Final = ("NOTE", "ACTIVITY")  # EMAIL also needs subject/from/to: not emulated


def harvest_rejection_reasons(call: Call) -> Result:
    """`/v3/rejection_reasons`: the organisation's own, plus Greenhouse's with include_defaults."""
    listing = list_request(call.query, frozenset({"ids", "include_defaults"}))
    ids = ids_filter(listing.filters, "ids")
    defaults = listing.filters.get("include_defaults", "false")
    if defaults not in ("true", "false"):
        raise unprocessable({"include_defaults": "must be a boolean"})
    rows = [
        r
        for r in sorted(call.org.rejection_reasons.values(), key=lambda r: r.id)
        if (ids is None or r.id in ids) and (defaults == "true" or not r.default)
    ]

    def render(reason: GhRejectionReason) -> dict[str, object]:
        kind = reason.type_key.replace("_", " ").capitalize()
        return {
            "id": reason.id,
            "name": reason.name,
            "type": {"key": reason.type_key, "name": kind},
        }

    return list_page(call, listing, rows, render)


def harvest_sources(call: Call) -> Result:
    listing = list_request(call.query, frozenset({"ids"}))
    ids = ids_filter(listing.filters, "ids")
    rows = [
        s
        for s in sorted(call.org.sources.values(), key=lambda s: s.id)
        if ids is None or s.id in ids
    ]
    return list_page(call, listing, rows, lambda s: {"id": s.id, "name": s.name, "type": None})


def _body(call: Call, allowed: frozenset[str], *, optional: bool = False) -> dict[str, object]:
    if optional and not call.body_is_json:
        return {}
    body = call.json_body(lambda m: HarvestError(400, "Bad Request", [m]))
    if not isinstance(body, dict):
        raise HarvestError(400, "Bad Request", ["Request body must be a JSON object"])
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise unprocessable(*({name: "is not a permitted field"} for name in unknown))
    return body


def _reference(
    body: Mapping[str, object], name: str, table: Mapping[int, object], *, required: bool
) -> int | None:
    """An id field of a body that must name a row of `table` (a wrong id is a 422, not a 404)."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value not in table:
        raise unprocessable({name: "must be the id of an existing record"})
    return value


def _application(call: Call) -> GhApplication:
    raw = call.request.path_params["application_id"]
    application = call.org.applications.get(int(raw)) if DIGITS.match(raw) else None
    if application is None:
        raise HarvestError(404, "Resource not found")
    return application


def _place(org: GreenhouseOrg, application: GhApplication, stage: GhJobStage) -> None:
    application.job_id = stage.job_id
    application.job_interview_stage_id = stage.id
    application.stage_name = stage.name
    application.stage_entry = org.next_stage_entry()
    _touch(application)


def _touch(application: GhApplication) -> None:
    application.updated_at = max(now_ms(), application.updated_at + timedelta(milliseconds=1))


def _stage_of(org: GreenhouseOrg, body: Mapping[str, object], name: str, job_id: int) -> GhJobStage:
    stage_id = _reference(body, name, org.job_stages, required=True)
    stage = org.job_stages[stage_id or 0]
    if stage.job_id != job_id:
        raise unprocessable({name: "must be an interview stage of the application's job"})
    return stage


_CREATE_FIELDS: Final = frozenset({"candidate_id", "job_id", "initial_stage_id", "source_id"})


def harvest_application_create(call: Call) -> Result:
    org = call.org
    body = _body(call, _CREATE_FIELDS)
    candidate_id = _reference(body, "candidate_id", org.candidates, required=True) or 0
    job_id = _reference(body, "job_id", org.jobs, required=True) or 0
    plan = org.plan(job_id)
    if "initial_stage_id" in body:
        stage: GhJobStage | None = _stage_of(org, body, "initial_stage_id", job_id)
    else:
        stage = plan[0] if plan else None
    source_id = _reference(body, "source_id", org.sources, required=False)
    now = now_ms()
    application = GhApplication(
        org.next_id(org.applications, 0),
        candidate_id,
        job_id,
        "in_process",
        stage.name if stage else None,
        now,
        now,
        job_interview_stage_id=stage.id if stage else None,
        source_id=source_id,
    )
    org.add_application(application)
    return 201, harvest_application_row(application), {}


def _active(application: GhApplication, action: str) -> None:
    if application.status != "in_process":
        raise unprocessable(f"Only an active application can be {action}.")


def harvest_application_move(call: Call) -> Result:
    """`/move`: to a stage of the application's job (or of `to_job_id`'s), or one stage on."""
    org, application = call.org, _application(call)
    body = _body(call, frozenset({"to_stage_id", "to_job_id"}))
    _active(application, "moved")
    job_id = _reference(body, "to_job_id", org.jobs, required=False) or application.job_id
    if job_id is None:
        raise unprocessable({"to_job_id": "is required to move a prospect without a job"})
    plan = org.plan(job_id)
    if body.get("to_stage_id") is not None:
        stage = _stage_of(org, body, "to_stage_id", job_id)
    elif job_id != application.job_id:
        stage = plan[0]
    else:
        ids = [s.id for s in plan]
        current = application.job_interview_stage_id
        at = ids.index(current) if current in ids else -1
        if at + 1 >= len(plan):
            raise unprocessable("The application is in the last stage of its job.")
        stage = plan[at + 1]
    _place(org, application, stage)
    return 200, harvest_application_row(application), {}


_REJECT_FIELDS: Final = frozenset({"rejection_reason_id", "notes", "rejection_email"})


def harvest_application_reject(call: Call) -> Result:
    org, application = call.org, _application(call)
    body = _body(call, _REJECT_FIELDS)
    reason = _reference(body, "rejection_reason_id", org.rejection_reasons, required=True)
    notes = body.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise unprocessable({"notes": "must be a string"})
    if body.get("rejection_email") is not None and not isinstance(body["rejection_email"], dict):
        raise unprocessable({"rejection_email": "must be an object"})
    _active(application, "rejected")
    application.status = "rejected"
    application.rejection_reason_id = reason
    _touch(application)
    application.rejected_at = application.updated_at
    if notes:
        _add_note(org, call, application.candidate_id, notes, "privately_visible", application.id)
    return 204, None, {}


def harvest_application_unreject(call: Call) -> Result:
    application = _application(call)
    _body(call, frozenset(), optional=True)
    if application.status != "rejected":
        raise unprocessable("Only a rejected application can be unrejected.")
    application.status = "in_process"
    application.rejection_reason_id = None
    application.rejected_at = None
    _touch(application)
    return 204, None, {}


def _add_note(
    org: GreenhouseOrg,
    call: Call,
    candidate_id: int,
    body: str,
    visibility: str,
    application_id: int | None = None,
    note_type: str = "NOTE",
) -> GhNote:
    user = int(call.user) if DIGITS.match(call.user) else None
    note = GhNote(
        org.next_id(org.notes, 80_000_000),
        candidate_id,
        body,
        visibility,
        user,
        now_ms(),
        application_id,
        note_type,
    )
    org.notes[note.id] = note
    return note


def _note_row(note: GhNote) -> dict[str, object]:
    moment = iso(note.created_at)
    return {
        "id": note.id,
        "candidate_id": note.candidate_id,
        "application_id": note.application_id,
        "body": note.body,
        "subject": None,
        "type": note.note_type,
        "user_id": note.user_id,
        "visibility": note.visibility,
        "created_at": moment,
        "updated_at": moment,
    }


_NOTE_FIELDS: Final = frozenset(
    {"candidate_id", "application_id", "body", "note_type", "visibility"}
)


def _choice(
    body: Mapping[str, object],
    name: str,
    allowed: Mapping[str, str] | tuple[str, ...],
    default: str,
) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or value not in allowed:
        raise unprocessable({name: f"must be one of {', '.join(allowed)}"})
    return value


def harvest_note_create(call: Call) -> Result:
    org = call.org
    body = _body(call, _NOTE_FIELDS)
    candidate_id = _reference(body, "candidate_id", org.candidates, required=True) or 0
    application_id = _reference(body, "application_id", org.applications, required=False)
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        raise unprocessable({"body": "is required"})
    kind = _choice(body, "note_type", _NOTE_TYPES, "NOTE")
    visibility = NOTE_VISIBILITY[_choice(body, "visibility", NOTE_VISIBILITY, "public")]
    note = _add_note(org, call, candidate_id, text, visibility, application_id, kind)
    return 201, _note_row(note), {}


ROUTES: Final[Mapping[str, Mapping[str, Callable[[Call], Result]]]] = {
    "/v3/rejection_reasons": {"GET": harvest_rejection_reasons},
    "/v3/sources": {"GET": harvest_sources},
    "/v3/applications/{application_id}/move": {"POST": harvest_application_move},
    "/v3/applications/{application_id}/reject": {"POST": harvest_application_reject},
    "/v3/applications/{application_id}/unreject": {"POST": harvest_application_unreject},
    "/v3/notes": {"POST": harvest_note_create},
}
"""Paths → handlers by method, for the app's route table (POST /v3/applications is added there)."""
