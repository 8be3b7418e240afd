"""GraphQL input types and their translation into provider-neutral drafts and patches."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import strawberry

from gateway.types import EmailType, PhoneType, UrlType
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


@strawberry.input
class EmailInput:
    value: str
    type: EmailType | None = None  # type: ignore[valid-type]


@strawberry.input
class PhoneInput:
    value: str
    type: PhoneType | None = None  # type: ignore[valid-type]


@strawberry.input
class UrlInput:
    value: str
    type: UrlType | None = None  # type: ignore[valid-type]


@strawberry.input(description="Money in whole units; currency as ISO 4217, period YEAR or MONTH.")
class CompensationInput:
    amount: float
    currency: str | None = None
    period: str | None = None


@strawberry.input
class ApplicationInput:
    job_id: strawberry.ID
    status: str | None = None
    notes: str | None = None


def _contacts(kind: type[Contact[Any]]) -> Callable[[list[Any] | None], Any]:
    def convert(values: list[Any] | None) -> tuple[Contact[Any], ...] | None:
        if values is None:
            return None
        return tuple(kind(value=v.value.strip(), type=v.type) for v in values)

    return convert


def _compensation(value: CompensationInput | None) -> Compensation | None:
    if value is None:
        return None
    return Compensation(amount=value.amount, currency=value.currency, period=value.period)


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


@strawberry.input(description="A new candidate for one account; `account` picks which.")
class CreateCandidateInput:
    account: strawberry.ID
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    company: str | None = None
    title: str | None = None
    emails: list[EmailInput] | None = None
    phones: list[PhoneInput] | None = None
    urls: list[UrlInput] | None = None
    locations: list[str] | None = None
    tags: list[str] | None = None
    skills: list[str] | None = None
    experience_years: float | None = None
    current_compensation: CompensationInput | None = None
    expected_compensation: CompensationInput | None = None
    notice_period_days: int | None = None
    resume_url: str | None = None
    source: str | None = None
    external_id: str | None = None
    notes: str | None = None
    application: ApplicationInput | None = None
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


@strawberry.input(description="Only the fields given change; an explicit null clears a field.")
class UpdateCandidateInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    full_name: str | None = strawberry.UNSET
    company: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    emails: list[EmailInput] | None = strawberry.UNSET
    phones: list[PhoneInput] | None = strawberry.UNSET
    urls: list[UrlInput] | None = strawberry.UNSET
    locations: list[str] | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    skills: list[str] | None = strawberry.UNSET
    experience_years: float | None = strawberry.UNSET
    current_compensation: CompensationInput | None = strawberry.UNSET
    expected_compensation: CompensationInput | None = strawberry.UNSET
    notice_period_days: int | None = strawberry.UNSET
    resume_url: str | None = strawberry.UNSET
    source: str | None = strawberry.UNSET
    external_id: str | None = strawberry.UNSET
    application: ApplicationInput | None = strawberry.UNSET

    def to_patch(self) -> CandidatePatch:
        values = {}
        for field in dataclasses.fields(CandidatePatch):
            value = getattr(self, field.name)
            values[field.name] = (
                MODEL_UNSET if value is strawberry.UNSET else _convert(field.name, value)
            )
        return CandidatePatch(**values)
