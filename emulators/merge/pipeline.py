"""What the Merge emulator checks in application and activity writes, worded as Merge words it.

`POST /applications` and `POST /activities` take the `{"model", "remote_user_id"}` envelope of
candidate writes; `POST /applications/{id}/change-stage` takes `{job_interview_stage,
remote_user_id}`. Problems point into the body they came from, as Merge's do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from emulators.merge.seed import Application, Stage
from emulators.merge.writes import Write, check_user, envelope, missing, parse_time, problem

if TYPE_CHECKING:
    from emulators.merge.app import LinkedAccount

__all__ = [
    "ACTIVITY_FIELDS",
    "APPLICATION_FIELDS",
    "check_activity",
    "check_application",
    "check_stage_change",
]

WRITE_ONLY: Final = ("remote_template_id", "integration_params", "linked_account_params")
APPLICATION_FIELDS: Final = frozenset(
    {
        "remote_id", "candidate", "job", "applied_at", "rejected_at", "source", "credited_to",
        "current_stage", "reject_reason", *WRITE_ONLY,
    }
)  # fmt: skip
ACTIVITY_FIELDS: Final = frozenset(
    {"user", "activity_type", "subject", "body", "visibility", "candidate", *WRITE_ONLY}
)
ACTIVITY_TYPES: Final = frozenset({"NOTE", "EMAIL", "OTHER"})
VISIBILITIES: Final = frozenset({"ADMIN_ONLY", "PUBLIC", "PRIVATE"})


def _choice(pointer: str, detail: str) -> dict[str, object]:
    return problem("INVALID_FIELD_CHOICE", "Invalid Field Choice", detail, pointer)


def _unknown(pointer: str, kind: str) -> dict[str, object]:
    detail = f"No {kind} with this id exists in this Linked Account."
    return problem("ERROR", "Error", detail, pointer)


def _incorrect(name: str, detail: str) -> dict[str, object]:
    return problem("INCORRECT_FIELD_TYPE", "Incorrect Field Type", detail, f"/model/{name}")


def _text(write: Write, name: str) -> None:
    value = write.model.get(name)
    if value is not None and not isinstance(value, str):
        write.errors.append(_incorrect(name, f"{name} must be a string."))


def _reference(write: Write, name: str, known: object, kind: str) -> str | None:
    """A required id field naming a row of `known`; its value when it does."""
    value = write.model.get(name)
    if value in (None, ""):
        write.errors.append(missing(f"/model/{name}", name))
        return None
    if not isinstance(value, str) or not isinstance(known, dict) or value not in known:
        write.errors.append(_unknown(f"/model/{name}", kind))
        return None
    return value


def check_application(account: LinkedAccount, body: object) -> tuple[Write, Stage | None]:
    """A new application's body, and the stage it starts at (the job's first when none is
    named). A candidate applies to a job once, as in the ATSs Merge reads."""
    write = envelope(account, body, APPLICATION_FIELDS)
    candidate = _reference(write, "candidate", account.candidates, "Candidate")
    job = _reference(write, "job", account.jobs, "Job")
    for name in ("source", "remote_id"):
        _text(write, name)
    for name in ("applied_at", "rejected_at"):
        value = write.model.get(name)
        if value is not None and parse_time(value) is None:
            write.errors.append(_incorrect(name, f"{name} must be a date-time."))
    reason = write.model.get("reject_reason")
    if reason is not None and reason not in account.reject_reasons:
        write.errors.append(_unknown("/model/reject_reason", "RejectReason"))
    if job is None:
        return write, None
    stages = [s for s in account.stages.values() if s.job_id == job]
    wanted = write.model.get("current_stage")
    stage = stages[0] if wanted is None and stages else None
    if wanted is not None:
        stage = account.stages.get(wanted) if isinstance(wanted, str) else None
        if stage is None or stage.job_id != job:
            detail = "current_stage is not an interview stage of this job."
            write.errors.append(_choice("/model/current_stage", detail))
    if candidate is not None and any(a.job_id == job for a in account.applications_of(candidate)):
        detail = "This candidate already has an application for this job."
        write.errors.append(
            problem("DUPLICATE_MODEL_EXISTS", "Duplicate Model Exists", detail, "/model/job")
        )
    return write, stage


def check_stage_change(
    account: LinkedAccount, application: Application, body: object
) -> tuple[list[dict[str, object]], Stage | None]:
    """A change-stage body: the stage must be one of the application's job's stages, as the
    ATS behind Merge refuses a stage of another job."""
    if not isinstance(body, dict):
        return [missing("/remote_user_id", "remote_user_id")], None
    errors = check_user(account, body.get("remote_user_id"))
    wanted = body.get("job_interview_stage")
    if wanted in (None, ""):
        return [*errors, missing("/job_interview_stage", "job_interview_stage")], None
    stage = account.stages.get(wanted) if isinstance(wanted, str) else None
    if stage is None:
        return [*errors, _unknown("/job_interview_stage", "JobInterviewStage")], None
    if stage.job_id != application.job_id:
        detail = "job_interview_stage is not an interview stage of this application's job."
        return [*errors, _choice("/job_interview_stage", detail)], None
    return errors, stage


def check_activity(account: LinkedAccount, body: object) -> Write:
    """A new activity's body: on a known candidate, by a RemoteUser, a note with a body."""
    write = envelope(account, body, ACTIVITY_FIELDS)
    _reference(write, "candidate", account.candidates, "Candidate")
    for name in ("subject", "body"):
        _text(write, name)
    user = write.model.get("user")
    if user is not None and user not in account.remote_users:
        write.errors.append(_unknown("/model/user", "RemoteUser"))
    for name, allowed in (("activity_type", ACTIVITY_TYPES), ("visibility", VISIBILITIES)):
        value = write.model.get(name)
        if value is not None and value not in allowed:
            write.errors.append(_choice(f"/model/{name}", f"{value!r} is not a valid choice."))
    body_text = write.model.get("body")
    if write.model.get("activity_type") == "NOTE" and not (
        isinstance(body_text, str) and body_text.strip()
    ):
        write.errors.append(missing("/model/body", "body"))
    return write
