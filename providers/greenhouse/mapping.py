"""Greenhouse wire JSON ⇄ records, shared by the Partner and Harvest v3 adapters.

Reading turns either API's candidates and applications into records; writing turns drafts into
the typed entries both APIs take, with a field problem for each value Greenhouse would refuse.
The tables here (statuses, contact types, the draft fields each API ignores) are what both
adapters share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar

from providers.errors import FieldProblem
from providers.model import Address as AddressRecord
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    CandidateDraft,
    CandidateRecord,
    Contact,
    Email,
    EmailType,
    JobRef,
    Phone,
    PhoneType,
    RejectReason,
    Url,
    UrlType,
    WriteWarning,
)
from providers.rows import Mapper
from providers.wire import mappings, text_or_integer

__all__ = [
    "DIGITS",
    "EMAIL",
    "EMAIL_TYPES",
    "HARVEST_IGNORES",
    "HARVEST_PHONE_TYPES",
    "NAME",
    "PARTNER_IGNORES",
    "PARTNER_PHONE_TYPES",
    "STAGE_WARNING",
    "WEBSITE_TYPES",
    "harvest_application",
    "harvest_record",
    "partner_record",
    "split_name",
]

NAME = "greenhouse"
MAX_PROBLEMS = 50  # field names looked at in one error answer
MAX_IDS = 50  # Harvest's documented cap on `ids`; Partner's `candidate_ids` cap is undocumented
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DIGITS = re.compile(r"^[0-9]+$")

PARTICLES = frozenset(
    {"al", "bin", "da", "das", "de", "del", "della", "der", "di", "dos", "du", "el", "ibn"}
    | {"la", "le", "st", "st.", "ten", "ter", "van", "von"}
)
SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})

PARTNER_STATUS = {
    "active": ApplicationStatus.ACTIVE,
    "rejected": ApplicationStatus.REJECTED,
    "hired": ApplicationStatus.HIRED,
}
HARVEST_STATUS = {
    "in_process": ApplicationStatus.ACTIVE,
    "rejected": ApplicationStatus.REJECTED,
    "hired": ApplicationStatus.HIRED,
    "converted": ApplicationStatus.OTHER,
}

EMAIL_TYPES = {t: t.value.lower() for t in (EmailType.PERSONAL, EmailType.WORK, EmailType.OTHER)}
PARTNER_PHONE_TYPES = {
    t: t.value.lower() for t in (PhoneType.MOBILE, PhoneType.HOME, PhoneType.WORK, PhoneType.OTHER)
}
HARVEST_PHONE_TYPES = {**PARTNER_PHONE_TYPES, PhoneType.SKYPE: "skype"}
WEBSITE_TYPES = {
    t: t.value.lower()
    for t in (UrlType.PERSONAL, UrlType.COMPANY, UrlType.PORTFOLIO, UrlType.BLOG, UrlType.OTHER)
}

# Greenhouse's field names → the gateway's input field names (snake case), for error paths.
WIRE_TO_INPUT = {
    "emails": ("emails",),
    "email_addresses": ("emails",),
    "phone_numbers": ("phones",),
    "websites": ("urls",),
    "website": ("urls",),
    "website_addresses": ("urls",),
    "social_media": ("urls",),
    "social_media_addresses": ("urls",),
    "addresses": ("locations",),
    "resume": ("resume_url",),
    "job_id": ("application", "job_id"),
    "application": ("application", "job_id"),
    **{name: (name,) for name in ("first_name", "last_name", "company", "title", "tags")},
    **{name: (name,) for name in ("external_id", "notes")},
}

# Draft fields each API has no place for: sent nowhere, reported as warnings.
PARTNER_IGNORES = (
    "tags",
    "skills",
    "experience_years",
    "current_compensation",
    "expected_compensation",
    "notice_period_days",
    "source",
)
HARVEST_IGNORES = (
    "skills",
    "experience_years",
    "current_compensation",
    "expected_compensation",
    "notice_period_days",
    "resume_url",
    "source",
    "external_id",
    "notes",
)
STAGE_WARNING = WriteWarning(
    "Greenhouse starts a new application at the job's first stage; status and notes were not saved",
    "IGNORED_FIELD",
    ("application",),
)

C = TypeVar("C", bound=Contact[Any])


# --- reading: wire JSON → records ---------------------------------------------------------------


def record_id(raw: Any) -> str | None:
    return text_or_integer(raw, "id") if isinstance(raw, Mapping) else None


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """Splits Greenhouse's one `name` string; the last word is the last name.

    Greenhouse builds `name` from first and last name, and a two-word first name ("Mary Ann")
    is likelier than a two-word last name, except where a particle ("van", "de") or a suffix
    ("Jr.") says the last name runs longer.
    """
    words = (name or "").split()
    if len(words) < 2:
        return (words[0] if words else None), None
    cut = len(words) - 1
    if words[cut].casefold() in SUFFIXES and cut > 1:
        cut -= 1
    while cut > 1 and words[cut - 1].casefold() in PARTICLES:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


def _status(raw: str | None, table: Mapping[str, ApplicationStatus]) -> ApplicationStatus:
    return table.get((raw or "").strip().lower(), ApplicationStatus.OTHER)


def person_url(application_url: str | None) -> str | None:
    """The person's page: an application's profile URL without its `application_id` query."""
    return application_url.split("?", 1)[0] if application_url else None


def _partner_application(raw: Mapping[str, Any], candidate_id: str) -> ApplicationRecord | None:
    remote_id, status, job = (
        record_id(raw),
        text_or_integer(raw, "status"),
        text_or_integer(raw, "job"),
    )
    if remote_id is None:
        return None
    return ApplicationRecord(
        remote_id=remote_id,
        candidate_remote_id=candidate_id,
        job=JobRef(remote_id=None, name=job) if job else None,
        status=_status(status, PARTNER_STATUS),
        raw_status=status,
        stage=text_or_integer(raw, "stage"),
        profile_url=text_or_integer(raw, "profile_url"),
    )


def partner_record(raw: Any) -> CandidateRecord | None:
    """Maps one Partner API candidate (`{id, name, external_id, applications}`); None without id."""
    remote_id = record_id(raw)
    if remote_id is None:
        return None
    name = text_or_integer(raw, "name")
    first, last = split_name(name)
    applications = tuple(
        a for item in mappings(raw, "applications") if (a := _partner_application(item, remote_id))
    )
    return CandidateRecord(
        remote_id=remote_id,
        first_name=first,
        last_name=last,
        full_name=name.strip() if name else None,
        external_id=text_or_integer(raw, "external_id"),
        profile_url=next((person_url(a.profile_url) for a in applications if a.profile_url), None),
        remote_data=dict(raw),
        applications=applications,
    )


def _contacts(
    raw: Mapping[str, Any], key: str, kind: type[C], table: Mapping[Any, str], other: Any
) -> list[C]:
    """Typed contacts; an unknown label becomes `other`, and `raw_type` keeps every label."""
    by_label = {label: kind_ for kind_, label in table.items()}
    found = []
    for item in mappings(raw, key):
        value, label = (
            text_or_integer(item, "value"),
            (text_or_integer(item, "type") or "").strip().lower(),
        )
        if value:
            type_ = by_label.get(label, other) if label else None
            found.append(kind(value=value, type=type_, raw_type=label or None))
    return found


def harvest_application(raw: Any) -> ApplicationRecord | None:
    """Maps one Harvest v3 application (flat ids, `stage_name`, `status`); None without ids.

    `stage_id` is the job's interview stage (`job_interview_stage_id`, one of the ids
    `/v3/job_interview_stages` lists), not the row's own `stage_id`, which names its
    `/v3/application_stages` entry and is no stage a move takes. The reject reason carries its
    id only and `source` stays None: v3 sends ids, which the adapter resolves to names.
    """
    remote_id = record_id(raw)
    candidate_id = text_or_integer(raw, "candidate_id") if remote_id is not None else None
    if remote_id is None or candidate_id is None:
        return None
    status, job_id = text_or_integer(raw, "status"), text_or_integer(raw, "job_id")
    reason = text_or_integer(raw, "rejection_reason_id")
    return ApplicationRecord(
        remote_id=remote_id,
        candidate_remote_id=candidate_id,
        job=JobRef(remote_id=job_id) if job_id else None,
        status=_status(status, HARVEST_STATUS),
        raw_status=status,
        stage=text_or_integer(raw, "stage_name"),
        applied_at=text_or_integer(raw, "created_at"),
        stage_id=text_or_integer(raw, "job_interview_stage_id"),
        created_at=text_or_integer(raw, "created_at"),
        updated_at=text_or_integer(raw, "updated_at"),
        rejected_at=text_or_integer(raw, "rejected_at"),
        reject_reason=RejectReason(remote_id=reason) if reason else None,
        remote_data=dict(raw),
    )


def has_record_id(raw: Any) -> bool:
    """Whether a wire row can be mapped: an object with an id."""
    return record_id(raw) is not None


def _harvest(raw: Mapping[str, Any]) -> CandidateRecord:
    """Maps one Harvest v3 candidate that `has_record_id`; v3 embeds no applications, so they
    stay None (not loaded)."""
    remote_id = str(record_id(raw))
    first, last = text_or_integer(raw, "first_name"), text_or_integer(raw, "last_name")
    urls = _contacts(raw, "website_addresses", Url, WEBSITE_TYPES, UrlType.OTHER)
    urls += [
        Url(value=value, type=UrlType.SOCIAL_MEDIA, raw_type="social_media")
        for item in mappings(raw, "social_media_addresses")
        if (value := text_or_integer(item, "value"))
    ]
    addresses = tuple(
        AddressRecord(value=value, type=text_or_integer(item, "type"))
        for item in mappings(raw, "addresses")
        if (value := text_or_integer(item, "value"))
    )

    tags = raw.get("tags")
    extras = {
        key: raw[key]
        for key in ("preferred_name", "private", "can_email", "time_zone", "last_activity_at")
        if raw.get(key) is not None
    }
    if isinstance(raw.get("custom_fields"), Mapping) and raw["custom_fields"]:
        extras["custom_fields"] = dict(raw["custom_fields"])
    return CandidateRecord(
        remote_id=remote_id,
        first_name=first,
        last_name=last,
        full_name=" ".join(part for part in (first, last) if part) or None,
        company=text_or_integer(raw, "company"),
        title=text_or_integer(raw, "title"),
        emails=tuple(_contacts(raw, "email_addresses", Email, EMAIL_TYPES, EmailType.OTHER)),
        phones=tuple(_contacts(raw, "phone_numbers", Phone, HARVEST_PHONE_TYPES, PhoneType.OTHER)),
        addresses=addresses,
        urls=tuple(urls),
        locations=tuple(a.value for a in addresses),
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        created_at=text_or_integer(raw, "created_at"),
        updated_at=text_or_integer(raw, "updated_at"),
        custom_fields=extras or None,
        remote_data=dict(raw),
    )


harvest_record = Mapper("greenhouse.harvest.candidate", has_record_id, _harvest)
"""Maps one Harvest v3 candidate; None when it is not an object with an id."""


# --- writing: drafts → wire JSON ----------------------------------------------------------------


def _wire_type(contact: Contact[Any], table: Mapping[Any, str], default: str) -> str | None:
    """The provider's label for a contact's type: `default` when none was given, None when bad."""
    kind: Any = contact.type if contact.type is not None else contact.raw_type
    if kind is None:
        return default
    if kind in table:
        return table[kind]
    label = str(kind).strip().lower()
    return label if label in table.values() else None


def typed_entries(
    values: Sequence[Contact[Any]],
    field_name: str,
    table: Mapping[Any, str],
    value_key: str,
    problems: list[FieldProblem],
    default: str = "other",
) -> list[dict[str, str]]:
    """Wire entries for typed contacts; `default=""` leaves out a type the client did not give."""
    entries = []
    for n, contact in enumerate(values):
        wire = _wire_type(contact, table, default)
        if wire is None:
            allowed = ", ".join(label.upper() for label in table.values())
            problems.append(
                FieldProblem(
                    "UNSUPPORTED_VALUE",
                    f"Greenhouse accepts these {field_name} types: {allowed}",
                    (field_name, str(n), "type"),
                )
            )
        else:
            entries.append({value_key: contact.value, **({"type": wire} if wire else {})})
    return entries


def split_urls(values: Sequence[Url]) -> tuple[list[Url], list[Url]]:
    """(websites, social media links): Greenhouse keeps them apart, and social links untyped."""
    social = [
        url
        for url in values
        if url.type is UrlType.SOCIAL_MEDIA or (url.type is None and url.raw_type == "social_media")
    ]
    return [url for url in values if url not in social], social


def draft_names(
    first: str | None, last: str | None, full: str | None, problems: list[FieldProblem]
) -> tuple[str, str]:
    if not (first and last) and full:
        split_first, split_last = split_name(full)
        first, last = first or split_first, last or split_last
    for value, name in ((first, "first_name"), (last, "last_name")):
        if not value:
            label = name.replace("_", " ")
            problems.append(FieldProblem("REQUIRED", f"Greenhouse needs a {label}", (name,)))
    return first or "", last or ""


def draft_job_id(draft: CandidateDraft, problems: list[FieldProblem]) -> int | None:
    if draft.application is None:
        return None
    if DIGITS.match(draft.application.job_remote_id):
        return int(draft.application.job_remote_id)
    problems.append(
        FieldProblem("NOT_FOUND", "no such job in this account", ("application", "job_id"))
    )
    return None


def ignored_warnings(names: Iterable[str], api: str) -> list[WriteWarning]:
    return [
        WriteWarning(
            f"the Greenhouse {api} API has no place for {name}; it was not saved",
            "IGNORED_FIELD",
            (name,),
        )
        for name in names
    ]


def _input_path(wire: object) -> tuple[str, ...] | None:
    if not isinstance(wire, str) or not wire:
        return None
    return WIRE_TO_INPUT.get(wire) or WIRE_TO_INPUT.get(re.split(r"[.\[]", wire, maxsplit=1)[0])


def refused_values(wires: Iterable[object]) -> list[FieldProblem]:
    """One problem per input Greenhouse named among `wires` (field names from an error answer),
    or one without a path. Greenhouse's own messages are its text and reach no client; a field
    name it gives that the gateway does not know is not passed on either."""
    paths = dict.fromkeys(_input_path(wire) for wire in islice(wires, MAX_PROBLEMS))
    return [
        FieldProblem("BAD_USER_INPUT", "Greenhouse refused this value as invalid", path)
        for path in paths or (None,)
    ]


def without_empty(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, [], "")}


def id_chunks(remote_ids: Sequence[str]) -> list[list[str]]:
    """Distinct ids in groups of 50; ids that are not numbers cannot exist, so they are dropped."""
    ids = list(dict.fromkeys(i for i in remote_ids if DIGITS.match(i)))
    return [ids[n : n + MAX_IDS] for n in range(0, len(ids), MAX_IDS)]
