"""What the Merge emulator checks in a write body, and how it words problems as Merge does.

Merge answers a write with `errors` (nothing was written) and `warnings` (written, with caveats),
each `{source: {pointer}, title, detail, problem_type}`, the pointer naming a place in the body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final

from emulators.merge.seed import Candidate

if TYPE_CHECKING:
    from emulators.merge.app import LinkedAccount

__all__ = [
    "CREATABLE",
    "PATCHABLE",
    "Write",
    "apply_write",
    "check_user",
    "check_write",
    "envelope",
    "missing",
    "parse_time",
    "problem",
]

EMAIL_RE: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_RE: Final = re.compile(r"^https?://\S+$")
CONTACTS: Final = {
    "email_addresses": ("email_address_type", frozenset({"PERSONAL", "WORK", "OTHER"})),
    "phone_numbers": ("phone_number_type", frozenset({"HOME", "WORK", "MOBILE", "SKYPE", "OTHER"})),
    "urls": (
        "url_type",
        frozenset(
            {"PERSONAL", "COMPANY", "PORTFOLIO", "BLOG", "SOCIAL_MEDIA", "OTHER", "JOB_POSTING"}
        ),
    ),
}
TEXT: Final = ("first_name", "last_name", "company", "title", "remote_template_id")
FLAGS: Final = ("is_private", "can_email")
STRING_LISTS: Final = ("locations", "tags", "applications", "attachments")
OBJECTS: Final = ("integration_params", "linked_account_params")
PATCHABLE: Final = frozenset(
    (*TEXT, *FLAGS, *STRING_LISTS, *OBJECTS, *CONTACTS, "last_interaction_at")
)
CREATABLE: Final = PATCHABLE | {"remote_id", "remote_created_at", "remote_updated_at"}


def problem(problem_type: str, title: str, detail: str, pointer: str) -> dict[str, object]:
    return {
        "source": {"pointer": pointer},
        "title": title,
        "detail": detail,
        "problem_type": problem_type,
    }


def missing(pointer: str, name: str) -> dict[str, object]:
    return problem(
        "MISSING_REQUIRED_FIELD",
        "Missing Required Field",
        f"{name} is a required field on model.",
        pointer,
    )


def _incorrect(pointer: str, detail: str) -> dict[str, object]:
    return problem("INCORRECT_FIELD_TYPE", "Incorrect Field Type", detail, pointer)


@dataclass
class Write:
    """A write request's model, checked field by field as Merge reports problems."""

    model: dict[str, object]
    errors: list[dict[str, object]] = field(default_factory=list)
    warnings: list[dict[str, object]] = field(default_factory=list)


def check_user(account: LinkedAccount, user: object) -> list[dict[str, object]]:
    """The body's `remote_user_id`: required, and one of the linked account's RemoteUsers."""
    if not isinstance(user, str) or not user:
        return [missing("/remote_user_id", "remote_user_id")]
    if user not in account.remote_users:
        detail = "remote_user_id does not match a RemoteUser of this Linked Account."
        return [problem("ERROR", "Error", detail, "/remote_user_id")]
    return []


def envelope(account: LinkedAccount, body: object, allowed: frozenset[str]) -> Write:
    """A `{"model", "remote_user_id"}` body checked as Merge does; unknown fields are dropped
    with an UNRECOGNIZED_FIELD warning."""
    if not isinstance(body, dict):
        return Write({}, errors=[missing("/model", "model")])
    model = body.get("model")
    write = Write(dict(model) if isinstance(model, dict) else {})
    if not isinstance(model, dict):
        write.errors.append(missing("/model", "model"))
    write.errors += check_user(account, body.get("remote_user_id"))
    for name in list(write.model):
        if name not in allowed or name in account.unrecognized_fields:
            detail = f"An unrecognized field, {name}, was passed in with request data."
            write.warnings.append(
                problem("UNRECOGNIZED_FIELD", "Unrecognized Field", detail, f"/model/{name}")
            )
            del write.model[name]
    return write


def check_write(
    account: LinkedAccount, body: object, *, creating: bool, own_id: str | None = None
) -> Write:
    """Checks a candidate write body as Merge does; unknown fields are dropped."""
    write = envelope(account, body, CREATABLE if creating else PATCHABLE)
    for name, value in write.model.items():
        _check_field(write, name, value)
    _check_required(account, write, creating)
    _check_duplicates(account, write, own_id)
    return write


def _check_field(write: Write, name: str, value: object) -> None:
    pointer = f"/model/{name}"
    if name in TEXT and value is not None and not isinstance(value, str):
        write.errors.append(_incorrect(pointer, f"{name} must be a string."))
    elif name in FLAGS and value is not None and not isinstance(value, bool):
        write.errors.append(_incorrect(pointer, f"{name} must be a boolean."))
    elif (
        name in STRING_LISTS
        and value is not None
        and (not isinstance(value, list) or not all(isinstance(v, str) for v in value))
    ):
        write.errors.append(_incorrect(pointer, f"{name} must be a list of strings."))
    elif name in CONTACTS:
        _check_contacts(write, name, value)


def _check_contacts(write: Write, name: str, value: object) -> None:
    type_key, allowed = CONTACTS[name]
    if not isinstance(value, list):
        write.errors.append(_incorrect(f"/model/{name}", f"{name} must be a list."))
        return
    for n, entry in enumerate(value):
        pointer = f"/model/{name}/{n}"
        if not isinstance(entry, dict):
            write.errors.append(_incorrect(pointer, f"{name} entries must be objects."))
            continue
        text = entry.get("value")
        pattern = {"email_addresses": EMAIL_RE, "urls": URL_RE}.get(name)
        if not isinstance(text, str) or (pattern is not None and not pattern.match(text)):
            write.errors.append(_incorrect(f"{pointer}/value", f"{text!r} is not a valid value."))
        kind = entry.get(type_key)
        if kind is not None and kind not in allowed:
            write.errors.append(_incorrect(f"{pointer}/{type_key}", f"{kind!r} is not valid."))


def _check_required(account: LinkedAccount, write: Write, creating: bool) -> None:
    for name in account.required_fields:
        if (creating or name in write.model) and write.model.get(name) in (None, "", []):
            write.errors.append(missing(f"/model/{name}", name))


def _check_duplicates(account: LinkedAccount, write: Write, own_id: str | None) -> None:
    if not account.unique_emails or not isinstance(write.model.get("email_addresses"), list):
        return
    entries = write.model["email_addresses"]
    for n, entry in enumerate(entries if isinstance(entries, list) else []):
        text = str(entry.get("value", "")).casefold() if isinstance(entry, dict) else ""
        owners = [
            c.id
            for c in account.candidates.values()
            if any(str(e["value"]).casefold() == text for e in c.email_addresses)
        ]
        if any(owner != own_id for owner in owners):
            detail = "A candidate with this email address already exists."
            pointer = f"/model/email_addresses/{n}/value"
            write.errors.append(
                problem("DUPLICATE_MODEL_EXISTS", "Duplicate Model Exists", detail, pointer)
            )


def apply_write(candidate: Candidate, model: Mapping[str, object], now: datetime) -> None:
    """Stores a checked model on a candidate, as the linked ATS would keep it."""
    for name, value in model.items():
        if name in CONTACTS:
            type_key = CONTACTS[name][0]
            entries = value if isinstance(value, list) else []
            setattr(
                candidate, name, [{"value": e["value"], type_key: e.get(type_key)} for e in entries]
            )
        elif name in ("locations", "tags", "attachments"):
            setattr(candidate, name, list(value) if isinstance(value, list) else [])
        elif name == "last_interaction_at":
            candidate.last_interaction_at = parse_time(value) or candidate.last_interaction_at
        elif name in (*TEXT, *FLAGS, "remote_id") and name != "remote_template_id":
            setattr(candidate, name, value)
    candidate.modified_at = now


def parse_time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
