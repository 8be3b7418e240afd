"""GraphQL types of the recruiter's actions: their inputs, their payloads, notes and reasons."""

from __future__ import annotations

from typing import Any

import strawberry

from gateway.scalars import DateTime
from gateway.types import Application, UserError, Warning, described, instant
from providers.model import NoteVisibility as NoteVisibilityValue
from resolvers.mutations import FoundNote, WriteOutcome

__all__ = [
    "AddNoteInput",
    "AddNotePayload",
    "ApplicationPayload",
    "CreateApplicationInput",
    "MoveApplicationInput",
    "Note",
    "RejectApplicationInput",
    "UnrejectApplicationInput",
]

NoteVisibility = described(
    NoteVisibilityValue,
    "NoteVisibility",
    "Who may read a note in the provider's app.",
    {
        "ADMIN_ONLY": "Only the account's administrators.",
        "PRIVATE": "Only its author (Harvest: private; Merge: PRIVATE).",
        "PUBLIC": "Everyone who may see the candidate.",
    },
)

KEY = (
    "Repeat the action safely: the same key and input return the first result and send "
    "nothing again; a key already used with other input is a userError. At most 200 characters."
)


@strawberry.input(description="A candidate to add to one of the same account's jobs.")
class CreateApplicationInput:
    candidate_id: strawberry.ID = strawberry.field(description="A `Candidate.id`.")
    job_id: strawberry.ID = strawberry.field(
        description="A `Job.id` of the candidate's account; another account's is a userError."
    )
    stage_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A `JobStage.id` of that job to start in; null: the job's first stage.",
    )
    source: str | None = strawberry.field(
        default=None, description="Where the candidate came from, at most 500 characters."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.input(description="An application to move to another stage of its job.")
class MoveApplicationInput:
    id: strawberry.ID = strawberry.field(description="An `Application.id`.")
    stage_id: strawberry.ID = strawberry.field(
        description="A `JobStage.id` of the application's own job; any other is a userError."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.input(description="An application to reject.")
class RejectApplicationInput:
    id: strawberry.ID = strawberry.field(description="An `Application.id`.")
    reason_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A `RejectReason.id` from `rejectReasons` of the same account.",
    )
    note: str | None = strawberry.field(
        default=None, description="Why, for the record; at most 10 000 characters."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.input(description="A rejected application to put back in its pipeline.")
class UnrejectApplicationInput:
    id: strawberry.ID = strawberry.field(description="An `Application.id`.")
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.input(description="A note to add to a candidate's record.")
class AddNoteInput:
    candidate_id: strawberry.ID = strawberry.field(description="A `Candidate.id`.")
    body: str = strawberry.field(
        description="The note's text: not blank, at most 10 000 characters."
    )
    visibility: NoteVisibility | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Who may read it; null: the provider's default."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=KEY)


@strawberry.type(description="A note on a candidate, as the provider stored it.")
class Note:
    remote_id: str = strawberry.field(description="The note's id at the provider.")
    body: str = strawberry.field(description="Its text.")
    visibility: NoteVisibility | None = strawberry.field(  # type: ignore[valid-type]
        description="Who may read it; null when the provider does not say."
    )
    created_at: DateTime | None = strawberry.field(
        description="When it was written; null when the provider does not say."
    )

    @classmethod
    def of(cls, found: FoundNote) -> Note:
        record = found.record
        return cls(
            remote_id=record.remote_id,
            body=record.body,
            visibility=record.visibility,
            created_at=instant(record.created_at),
        )


WARNINGS = "What the provider accepted with a caveat."
USER_ERRORS = "Why nothing changed, per input field; empty when the action happened."


@strawberry.type(description="What an application action (create, move, reject, unreject) did.")
class ApplicationPayload:
    application: Application | None = strawberry.field(
        description="The application as the provider has it after the action; null when nothing "
        "changed."
    )
    created: bool | None = strawberry.field(
        description="createApplication: true when a new application was made; null otherwise."
    )
    warnings: list[Warning] = strawberry.field(description=WARNINGS)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)

    @classmethod
    def of(cls, outcome: WriteOutcome) -> ApplicationPayload:
        found = outcome.application
        return cls(
            application=None if found is None else Application.of(found.account, found.record),
            created=outcome.created,
            **_reports(outcome),
        )


@strawberry.type(description="What `addNote` did.")
class AddNotePayload:
    note: Note | None = strawberry.field(description="The note added; null when nothing changed.")
    warnings: list[Warning] = strawberry.field(description=WARNINGS)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)

    @classmethod
    def of(cls, outcome: WriteOutcome) -> AddNotePayload:
        return cls(
            note=None if outcome.note is None else Note.of(outcome.note), **_reports(outcome)
        )


def _reports(outcome: WriteOutcome) -> dict[str, Any]:
    return {
        "warnings": [Warning.of(w) for w in outcome.warnings],
        "user_errors": [UserError.of(p) for p in outcome.problems],
    }
