"""Merge ATS wire JSON ⇄ normalized records: candidates, applications, notes, write problems.

Merge's Application has no status, contacts carry Merge's own type enums, and write problems
point at the request body with JSON pointers; this module is where those facts meet the gateway's
records, so the adapter only moves requests and pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from providers.errors import FieldProblem
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    CandidateRecord,
    Contact,
    Email,
    EmailType,
    JobRecord,
    JobRef,
    JobStage,
    JobStatus,
    NoteRecord,
    NoteVisibility,
    Phone,
    PhoneType,
    RejectReason,
    Url,
    UrlType,
    WriteWarning,
)
from providers.rows import Mapper
from providers.wire import strings, text

__all__ = [
    "APPLICATION_INPUTS",
    "NOTE_INPUTS",
    "application_record",
    "application_status",
    "candidate_record",
    "contacts_out",
    "debug_logs",
    "input_path",
    "job_record",
    "list_fields",
    "modified_after",
    "note_record",
    "problems",
    "reject_reason_record",
    "stage_record",
    "unwritable",
    "url_type_warnings",
    "warnings",
]

E = TypeVar("E", bound=StrEnum)

# Merge's contact lists: the list's key, and the key of the type inside each entry.
EMAILS = ("email_addresses", "email_address_type")
PHONES = ("phone_numbers", "phone_number_type")
URLS = ("urls", "url_type")

# Our UrlTypes Merge's UrlTypeEnum lacks, and the nearest of its own each is sent as (a warning
# says so). JOB_POSTING is in Merge's enum, so only RESUME: a resume link is "other" to Merge.
URL_TYPES_OUT = {UrlType.RESUME: "OTHER"}

# Merge's JobStatusEnum → ours; PENDING (awaiting approval) has no equal and reads as OTHER,
# with the raw status kept.
JOB_STATUSES = {
    "OPEN": JobStatus.OPEN,
    "CLOSED": JobStatus.CLOSED,
    "DRAFT": JobStatus.DRAFT,
    "ARCHIVED": JobStatus.ARCHIVED,
}

# Draft fields Merge's CandidateRequest has no place for.
UNWRITABLE = (
    "skills",
    "experience_years",
    "current_compensation",
    "expected_compensation",
    "notice_period_days",
    "resume_url",
    "source",
    "external_id",
    "notes",
    "application",
)

# Request body names → the gateway's input field names (snake case), for problem paths.
FIELD_TO_INPUT = {
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "title": "title",
    "locations": "locations",
    "tags": "tags",
    "email_addresses": "emails",
    "phone_numbers": "phones",
    "urls": "urls",
}
# Where Merge points in an application or activity write → the gateway's input field names.
APPLICATION_INPUTS: Mapping[str, tuple[str, ...]] = {
    "/model/candidate": ("candidate_id",),
    "/model/job": ("job_id",),
    "/model/current_stage": ("stage_id",),
    "/model/source": ("source",),
    "/job_interview_stage": ("stage_id",),
}
NOTE_INPUTS: Mapping[str, tuple[str, ...]] = {
    "/model/candidate": ("candidate_id",),
    "/model/body": ("body",),
    "/model/visibility": ("visibility",),
}
ENTRY_TO_INPUT = {
    "value": "value",
    "email_address_type": "type",
    "phone_number_type": "type",
    "url_type": "type",
}

MAX_PROBLEMS = 50  # entries looked at in one answer's errors, warnings or logs
LOG_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
LOG_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
LOG_VIEW = re.compile(r"https://app(\.[a-z]{2})?\.merge\.dev/logs/[0-9A-Za-z-]{1,64}")

VISIBILITIES = {v.value: v for v in NoteVisibility}

# Offer statuses that mean the candidate accepted: Merge's OfferStatusEnum has SIGNED only.
ACCEPTED_OFFERS = frozenset({"SIGNED"})


def _enum(kind: type[E], raw: object) -> tuple[E | None, str | None]:
    """Our value for Merge's label, and the label itself; an unknown label reads as OTHER."""
    if not isinstance(raw, str) or not raw:
        return None, None
    try:
        return kind(raw.upper()), raw
    except ValueError:
        return kind("OTHER"), raw


def _contacts(
    raw: Mapping[str, Any], keys: tuple[str, str], kind: type[Any], types: type[E]
) -> Any:
    entries = raw.get(keys[0])
    found = []
    for entry in entries if isinstance(entries, list) else ():
        value = text(entry, "value") if isinstance(entry, Mapping) else None
        if value is not None:
            known, label = _enum(types, entry.get(keys[1]))
            found.append(kind(value=value, type=known, raw_type=label))
    return tuple(found)


def _ref(raw: object) -> tuple[str | None, Mapping[str, Any] | None]:
    """An expandable field: its id, and the object when Merge expanded it."""
    if isinstance(raw, Mapping):
        return text(raw, "id"), raw
    return (raw if isinstance(raw, str) and raw else None), None


def has_id(raw: Any) -> bool:
    """Whether a wire row can be mapped: an object with an id."""
    return isinstance(raw, Mapping) and text(raw, "id") is not None


def _candidate(raw: Mapping[str, Any]) -> CandidateRecord:
    """Maps one Merge Candidate that `has_id`.

    The ATS's own id and Merge's deletion flag are typed fields (`ats_remote_id`,
    `remote_was_deleted`), not custom fields. `remote_data` holds the whole Merge object
    (Merge's own `remote_data` array, the third party's payload, is inside it when the
    account asks for it). Applications stay
    None even when expanded: expanded ones carry no offers, so their status could not be
    derived, and the adapter loads them with offers instead.
    """
    remote_id = str(raw["id"])
    first, last = text(raw, "first_name"), text(raw, "last_name")
    extras = {
        key: raw[key]
        for key in (
            "is_private",
            "can_email",
            "last_interaction_at",
            "attachments",
            "field_mappings",
        )
        if raw.get(key) not in (None, [], {})
    }
    return CandidateRecord(
        remote_id=remote_id,
        first_name=first,
        last_name=last,
        full_name=" ".join(part for part in (first, last) if part) or None,
        company=text(raw, "company"),
        title=text(raw, "title"),
        emails=_contacts(raw, EMAILS, Email, EmailType),
        phones=_contacts(raw, PHONES, Phone, PhoneType),
        urls=_contacts(raw, URLS, Url, UrlType),
        locations=strings(raw, "locations"),
        tags=strings(raw, "tags"),
        created_at=text(raw, "remote_created_at") or text(raw, "created_at"),
        updated_at=text(raw, "remote_updated_at") or text(raw, "modified_at"),
        custom_fields=extras or None,
        remote_data=dict(raw),
        ats_remote_id=text(raw, "remote_id"),
        remote_was_deleted=raw.get("remote_was_deleted") is True,
    )


candidate_record = Mapper("merge.candidate", has_id, _candidate)
"""Maps one Merge Candidate; None when it is not an object with an id (see `_candidate`)."""


def _names(raw: object) -> tuple[str, ...]:
    """The names of an expanded list (departments, offices); ids alone name nothing."""
    if not isinstance(raw, list):
        return ()
    names = (text(item, "name") for item in raw if isinstance(item, Mapping))
    return tuple(name for name in names if name)


def stage_record(raw: Any, order: int | None = None) -> JobStage | None:
    """Maps one JobInterviewStage; Merge gives no position, so `order` is its place in Merge's
    list order (the ATS's pipeline order for the integrations that have one)."""
    if not isinstance(raw, Mapping) or text(raw, "id") is None:
        return None
    return JobStage(remote_id=str(raw["id"]), name=text(raw, "name"), order=order)


def job_record(raw: Any, stages: tuple[JobStage, ...] | None = None) -> JobRecord | None:
    """Maps one Merge Job; None when it is not an object with an id.

    Times read as a candidate's do (the ATS's own, else Merge's). Merge's Job has no opening
    or closing date (`remote_created_at` is when the ATS created it, draft or not), so those
    stay None rather than guessed.
    """
    if not isinstance(raw, Mapping) or text(raw, "id") is None:
        return None
    status = text(raw, "status")
    return JobRecord(
        remote_id=str(raw["id"]),
        name=text(raw, "name"),
        status=JOB_STATUSES.get(status or "", JobStatus.OTHER),
        raw_status=status,
        departments=_names(raw.get("departments")),
        offices=_names(raw.get("offices")),
        created_at=text(raw, "remote_created_at") or text(raw, "created_at"),
        updated_at=text(raw, "remote_updated_at") or text(raw, "modified_at"),
        stages=stages,
        remote_data=dict(raw),
    )


def modified_after(raw: Any, after: datetime) -> bool:
    """Whether Merge's `modified_at` is strictly after `after`: Merge does not say whether its
    `modified_after` filter is inclusive, so the boundary is checked here. A row without a
    readable time stays (Merge's own filter let it through)."""
    stamp = text(raw, "modified_at") if isinstance(raw, Mapping) else None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        return True
    return moment > after


def application_status(raw: Mapping[str, Any]) -> ApplicationStatus:
    """Merge has no application status, so it is derived, in this order.

    REJECTED when `rejected_at` is set; HIRED when an (expanded) offer is SIGNED, or has a
    start date and a status Merge could not map; ACTIVE otherwise.
    """
    if text(raw, "rejected_at"):
        return ApplicationStatus.REJECTED
    offers = raw.get("offers")
    for offer in offers if isinstance(offers, list) else ():
        if not isinstance(offer, Mapping):
            continue
        status = text(offer, "status")
        if status in ACCEPTED_OFFERS or (status is None and text(offer, "start_date")):
            return ApplicationStatus.HIRED
    return ApplicationStatus.ACTIVE


def reject_reason_record(raw: Any) -> RejectReason | None:
    """Maps one Merge RejectReason (listed, or expanded on an application)."""
    if not isinstance(raw, Mapping) or text(raw, "id") is None:
        return None
    return RejectReason(remote_id=str(raw["id"]), name=text(raw, "name"))


def application_record(raw: Any, candidate_id: str | None = None) -> ApplicationRecord | None:
    """Maps one Merge Application; None when it has no id or names no candidate.

    `stage_id` is the JobInterviewStage id (a job's `JobStage.remote_id`, the value a
    change-stage takes) and `stage` its name, known only when the stage was expanded.
    Times are Merge's own (`created_at`/`modified_at`); the ATS's is `applied_at`.
    """
    if not isinstance(raw, Mapping) or text(raw, "id") is None:
        return None
    owner, _ = _ref(raw.get("candidate"))
    owner = owner or candidate_id
    if owner is None:
        return None
    job_id, job = _ref(raw.get("job"))
    stage_id, stage = _ref(raw.get("current_stage"))
    reason_id, reason = _ref(raw.get("reject_reason"))
    return ApplicationRecord(
        remote_id=str(raw["id"]),
        candidate_remote_id=owner,
        job=JobRef(job_id, text(job, "name") if job else None) if job_id else None,
        status=application_status(raw),
        raw_status=None,
        stage=text(stage, "name") if stage else None,
        applied_at=text(raw, "applied_at"),
        stage_id=stage_id,
        created_at=text(raw, "created_at"),
        updated_at=text(raw, "modified_at"),
        rejected_at=text(raw, "rejected_at"),
        reject_reason=(reject_reason_record(reason) or RejectReason(reason_id))
        if reason_id
        else None,
        source=text(raw, "source"),
        remote_data=dict(raw),
    )


def note_record(raw: Any, candidate_id: str) -> NoteRecord | None:
    """Maps one Merge Activity written as a note; None when it has no id."""
    if not isinstance(raw, Mapping) or text(raw, "id") is None:
        return None
    owner, _ = _ref(raw.get("candidate"))
    visibility = text(raw, "visibility")
    return NoteRecord(
        remote_id=str(raw["id"]),
        candidate_remote_id=owner or candidate_id,
        body=text(raw, "body") or "",
        visibility=VISIBILITIES.get(visibility or ""),
        created_at=text(raw, "remote_created_at") or text(raw, "created_at"),
    )


def contacts_out(values: Iterable[Contact[Any]], type_key: str) -> list[dict[str, Any]]:
    """Our contacts as Merge request entries; a missing type is left for Merge to default."""
    entries = []
    for contact in values:
        entry: dict[str, Any] = {"value": contact.value}
        if contact.type is not None:
            entry[type_key] = URL_TYPES_OUT.get(contact.type, str(contact.type))
        entries.append(entry)
    return entries


def input_path(pointer: object) -> tuple[str, ...] | None:
    """`/model/email_addresses/0/value` → `("emails", "0", "value")`; None when it names no input.

    Merge points into the request body it was sent, so only paths under `/model` whose first
    name the adapter writes can be the client's input; a tail with no input name is cut off.
    """
    if not isinstance(pointer, str) or not pointer.startswith("/model/"):
        return None
    head, *rest = (
        part.replace("~1", "/").replace("~0", "~") for part in pointer[len("/model/") :].split("/")
    )
    if head not in FIELD_TO_INPUT:
        return None
    path = [FIELD_TO_INPUT[head]]
    if rest and rest[0].isdigit():
        path.append(rest[0])
        if len(rest) > 1 and rest[1] in ENTRY_TO_INPUT:
            path.append(ENTRY_TO_INPUT[rest[1]])
    return tuple(path)


# Merge's documented problem types, and what the gateway says for each (as an error, and as a
# warning: the same type can be either). Merge's own `detail` and `title` are the third party's
# text and reach no client; an undocumented type counts as ERROR.
PROBLEM_MESSAGES = {
    "CORRUPTED_FILE": "Merge could not read the file's contents",
    "CREDENTIAL_REFRESH_FAILED": "Merge could not refresh its credentials for the ATS",
    "DISABLED_MODEL_WRITE": "writing this kind of record is disabled for this Merge linked account",
    "DUPLICATE_MODEL_EXISTS": "the ATS already has a record with these unique values",
    "ERROR": "Merge refused the write",
    "INCORRECT_FIELD_TYPE": "Merge could not convert this value to the type the ATS expects",
    "INVALID_FIELD_CHOICE": "the ATS has no such choice for this field",
    "MISSING_REQUIRED_FIELD": "the ATS needs a value here",
    "UNRECOGNIZED_FIELD": "Merge did not recognize this field",
}
WARNING_MESSAGES = PROBLEM_MESSAGES | {
    "INCORRECT_FIELD_TYPE": "Merge converted this value to the type the ATS expects",
    "UNRECOGNIZED_FIELD": "Merge did not recognize this field; it was not saved",
    "ERROR": "Merge reported a problem with the write",
}


Inputs = Mapping[str, tuple[str, ...]] | None


def _problem_parts(
    raw: object, messages: Mapping[str, str], inputs: Inputs
) -> tuple[str, str, tuple[str, ...] | None] | None:
    if not isinstance(raw, Mapping):
        return None
    given = text(raw, "problem_type")
    code = given if given is not None and given in messages else "ERROR"
    source = raw.get("source")
    pointer = source.get("pointer") if isinstance(source, Mapping) else None
    if inputs is None:
        return code, messages[code], input_path(pointer)
    return code, messages[code], inputs.get(pointer) if isinstance(pointer, str) else None


def problems(raw: object, inputs: Inputs = None) -> list[FieldProblem]:
    """Merge `errors` entries as field problems: a documented problem_type is the code, the
    message is the gateway's, and the path is one the adapter wrote (else none). `inputs`
    places pointers of a write other than a candidate's (APPLICATION_INPUTS, NOTE_INPUTS)."""
    parts = [_problem_parts(entry, PROBLEM_MESSAGES, inputs) for entry in _entries(raw)]
    return [FieldProblem(*part) for part in dict.fromkeys(parts) if part is not None]


def warnings(raw: object, inputs: Inputs = None) -> list[WriteWarning]:
    """Merge `warnings` entries as write warnings, worded and placed as problems are."""
    parts = [_problem_parts(entry, WARNING_MESSAGES, inputs) for entry in _entries(raw)]
    return [
        WriteWarning(message, code, path)
        for code, message, path in filter(None, dict.fromkeys(parts))
    ]


def _entries(raw: object) -> list[Any]:
    return raw[:MAX_PROBLEMS] if isinstance(raw, list) else []


def debug_logs(raw: object) -> list[WriteWarning]:
    """Debug-mode `logs` as warnings, without the third party's URL (it may hold tokens).

    Each part is checked against what Merge sends (a method, a status, a dashboard link or a
    log id of its own form), so no free text of the answer reaches a client.
    """
    found = []
    for log in _entries(raw):
        if not isinstance(log, Mapping):
            continue
        summary = log.get("log_summary")
        summary = summary if isinstance(summary, Mapping) else {}
        method = summary.get("method")
        status = summary.get("status_code")
        method = method if isinstance(method, str) and method in LOG_METHODS else "?"
        status = status if isinstance(status, int) and 100 <= status <= 599 else "?"
        view, log_id = text(log, "dashboard_view"), text(log, "log_id")
        where = (
            view
            if view is not None and LOG_VIEW.fullmatch(view)
            else log_id
            if log_id is not None and LOG_ID.fullmatch(log_id)
            else "no log id"
        )
        found.append(
            WriteWarning(f"Merge debug log: {method} → HTTP {status}; {where}", "MERGE_DEBUG_LOG")
        )
    return found


LIST_FIELDS: Mapping[str, tuple[str, str | None]] = {
    "emails": ("email_addresses", "email_address_type"),
    "phones": ("phone_numbers", "phone_number_type"),
    "urls": ("urls", "url_type"),
    "locations": ("locations", None),
    "tags": ("tags", None),
}


def list_fields(values: Mapping[str, Sequence[Any]], *, send_empty: bool) -> dict[str, Any]:
    """The list fields of a request model; an empty one is sent only to clear it (PATCH)."""
    model: dict[str, Any] = {}
    for name, items in values.items():
        key, type_key = LIST_FIELDS[name]
        if items or send_empty:
            model[key] = contacts_out(items, type_key) if type_key else list(items)
    return model


def url_type_warnings(urls: Iterable[Url]) -> list[WriteWarning]:
    """A warning per url whose type Merge cannot hold, saying which type was sent instead."""
    return [
        WriteWarning(
            f"Merge has no url type {url.type}; it was sent as {URL_TYPES_OUT[url.type]}",
            "ADJUSTED_FIELD",
            ("urls", str(n), "type"),
        )
        for n, url in enumerate(urls)
        if url.type in URL_TYPES_OUT
    ]


def unwritable(values: Mapping[str, Any]) -> list[WriteWarning]:
    return [
        WriteWarning(
            f"Merge candidates have no place for {name}; it was not saved", "IGNORED_FIELD", (name,)
        )
        for name, value in values.items()
        if value not in (None, (), "")
    ]
