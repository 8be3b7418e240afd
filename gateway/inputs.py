"""GraphQL input types and their translation into provider-neutral drafts and patches."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import strawberry

from gateway.types import CompensationPeriod, EmailType, PhoneType, UrlType
from providers.model import (
    UNSET as MODEL_UNSET,
)
from providers.model import (
    ApplicationDraft,
    CandidateDraft,
    CandidatePatch,
    Compensation,
    Contact,
    Email,
    Phone,
    Url,
)

__all__ = ["CreateCandidateInput", "UpdateCandidateInput"]


TYPE_NOTE = " Null leaves the type to the provider; one it cannot hold is a userError."


@strawberry.input(description="An email address to save.")
class EmailInput:
    value: str = strawberry.field(description="A valid email address (checked before sending).")
    type: EmailType | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="What it is for." + TYPE_NOTE
    )


@strawberry.input(description="A phone number to save.")
class PhoneInput:
    value: str = strawberry.field(description="The number, sent as given.")
    type: PhoneType | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="What it is for." + TYPE_NOTE
    )


@strawberry.input(description="A web address to save.")
class UrlInput:
    value: str = strawberry.field(description="An http(s) address (checked before sending).")
    type: UrlType | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="What it points at." + TYPE_NOTE
    )


@strawberry.input(description="Money in whole units; currency as ISO 4217, period YEAR or MONTH.")
class CompensationInput:
    amount: float = strawberry.field(
        description="The amount in whole units of `currency` (Talynce stores it as LPA)."
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; null means the provider's own (Talynce: INR)."
    )
    period: CompensationPeriod | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="The time the amount is for; null means per year. Talynce takes only YEAR.",
    )


@strawberry.input(description="An application to create with the candidate.")
class ApplicationInput:
    job_id: strawberry.ID = strawberry.field(
        description="Global ID of a job in the same account (`Application.job.id`)."
    )
    status: str | None = strawberry.field(
        default=None,
        description=(
            "The provider's own status or stage word (Talynce: a pipeline status of the "
            "account); null for the provider's first stage."
        ),
    )
    notes: str | None = strawberry.field(
        default=None, description="Notes on the application (Talynce only)."
    )


def _contacts(kind: type[Contact[Any]]) -> Callable[[list[Any] | None], Any]:
    def convert(values: list[Any] | None) -> tuple[Contact[Any], ...] | None:
        if values is None:
            return None
        return tuple(kind(value=v.value.strip(), type=v.type) for v in values)

    return convert


def _compensation(value: CompensationInput | None) -> Compensation | None:
    if value is None:
        return None
    period = None if value.period is None else str(value.period.value)
    return Compensation(amount=value.amount, currency=value.currency, period=period)


def _application(value: ApplicationInput | None) -> ApplicationDraft | None:
    if value is None:
        return None
    return ApplicationDraft(job_remote_id=str(value.job_id), status=value.status, notes=value.notes)


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "emails": _contacts(Email),
    "phones": _contacts(Phone),
    "urls": _contacts(Url),
    "locations": lambda v: None if v is None else tuple(v),
    "tags": lambda v: None if v is None else tuple(v),
    "skills": lambda v: None if v is None else tuple(v),
    "current_compensation": _compensation,
    "expected_compensation": _compensation,
    "application": _application,
}


def _convert(name: str, value: Any) -> Any:
    converter = CONVERTERS.get(name)
    return converter(value) if converter else value


@strawberry.input(
    description=(
        "A new candidate for one account; `account` picks which. Text is at most 500 characters "
        "and a list at most 50 items (each item's text at most 500): longer is BAD_USER_INPUT."
    )
)
class CreateCandidateInput:
    account: strawberry.ID = strawberry.field(
        description="The `Account.id` to create in; it must have the CREATE capability."
    )
    first_name: str | None = strawberry.field(default=None, description="Given name.")
    last_name: str | None = strawberry.field(default=None, description="Family name.")
    full_name: str | None = strawberry.field(
        default=None,
        description=(
            "The whole name; split at the first space where the provider keeps first and last "
            "names and those are not given."
        ),
    )
    company: str | None = strawberry.field(default=None, description="Current employer.")
    title: str | None = strawberry.field(default=None, description="Current job title.")
    emails: list[EmailInput] | None = strawberry.field(
        default=None,
        description=(
            "Email addresses, first one primary (Talynce keeps only the first; the rest are "
            "warnings)."
        ),
    )
    phones: list[PhoneInput] | None = strawberry.field(
        default=None,
        description="Phone numbers (Talynce keeps only the first).",
    )
    urls: list[UrlInput] | None = strawberry.field(
        default=None,
        description="Web addresses (not kept by Talynce: an IGNORED_FIELD warning).",
    )
    locations: list[str] | None = strawberry.field(
        default=None,
        description="Where the person is, as free text (Talynce keeps only the first).",
    )
    tags: list[str] | None = strawberry.field(default=None, description="Tag names.")
    skills: list[str] | None = strawberry.field(
        default=None,
        description="Skill names (Talynce only; an IGNORED_FIELD warning elsewhere).",
    )
    experience_years: float | None = strawberry.field(
        default=None,
        description="Total years of experience, 0 or more (Talynce only).",
    )
    current_compensation: CompensationInput | None = strawberry.field(
        default=None,
        description="Current pay (Talynce only).",
    )
    expected_compensation: CompensationInput | None = strawberry.field(
        default=None,
        description="Expected pay (Talynce only).",
    )
    notice_period_days: int | None = strawberry.field(
        default=None,
        description="Notice period in days, 0 or more (Talynce only).",
    )
    resume_url: str | None = strawberry.field(
        default=None,
        description="An http(s) link to the résumé (Talynce only).",
    )
    source: str | None = strawberry.field(
        default=None,
        description="Where the candidate came from (Talynce only).",
    )
    external_id: str | None = strawberry.field(
        default=None,
        description="Your system's id for this person (required by the Greenhouse Partner API).",
    )
    notes: str | None = strawberry.field(
        default=None,
        description="Notes on the candidate or its application.",
    )
    application: ApplicationInput | None = strawberry.field(
        default=None,
        description="Also apply the candidate to a job in the same account.",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Repeat a create safely: the same key and input return the first result.",
    )

    def to_draft(self) -> CandidateDraft:
        values = {}
        for field in dataclasses.fields(CandidateDraft):
            value = _convert(field.name, getattr(self, field.name))
            if value is not None:
                values[field.name] = value
        return CandidateDraft(**values)


@strawberry.input(
    description=(
        "Only the fields given change; an explicit null clears a field. Text is at most 500 "
        "characters and a list at most 50 items (each item's text at most 500)."
    )
)
class UpdateCandidateInput:
    first_name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Given name. Omit to leave it; null clears it.",
    )
    last_name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Family name. Omit to leave it; null clears it.",
    )
    full_name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "The whole name; split at the first space where the provider keeps first and last "
            "names and those are not given. Omit to leave it; null clears it."
        ),
    )
    company: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Current employer. Omit to leave it; null clears it.",
    )
    title: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Current job title. Omit to leave it; null clears it.",
    )
    emails: list[EmailInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Email addresses, first one primary (Talynce keeps only the first; the rest are "
            "warnings). Omit to leave it; null clears it."
        ),
    )
    phones: list[PhoneInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Phone numbers (Talynce keeps only the first). Omit to leave it; null clears it."
        ),
    )
    urls: list[UrlInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Web addresses (not kept by Talynce: an IGNORED_FIELD warning). Omit to leave it; "
            "null clears it."
        ),
    )
    locations: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Where the person is, as free text (Talynce keeps only the first). Omit to leave it; "
            "null clears it."
        ),
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Tag names. Omit to leave it; null clears it.",
    )
    skills: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Skill names (Talynce only; an IGNORED_FIELD warning elsewhere). Omit to leave it; "
            "null clears it."
        ),
    )
    experience_years: float | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Total years of experience, 0 or more (Talynce only). Omit to leave it; null clears it."
        ),
    )
    current_compensation: CompensationInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Current pay (Talynce only). Omit to leave it; null clears it.",
    )
    expected_compensation: CompensationInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Expected pay (Talynce only). Omit to leave it; null clears it.",
    )
    notice_period_days: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Notice period in days, 0 or more (Talynce only). Omit to leave it; null clears it."
        ),
    )
    resume_url: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "An http(s) link to the résumé (Talynce only). Omit to leave it; null clears it."
        ),
    )
    source: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Where the candidate came from (Talynce only). Omit to leave it; null clears it."
        ),
    )
    external_id: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Your system's id for this person (required by the Greenhouse Partner API). Omit to "
            "leave it; null clears it."
        ),
    )
    application: ApplicationInput | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Also apply the candidate to a job in the same account. Omit to leave it; null clears"
            " it."
        ),
    )

    def to_patch(self) -> CandidatePatch:
        values = {}
        for field in dataclasses.fields(CandidatePatch):
            value = getattr(self, field.name)
            values[field.name] = (
                MODEL_UNSET if value is strawberry.UNSET else _convert(field.name, value)
            )
        return CandidatePatch(**values)
