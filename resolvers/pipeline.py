"""The recruiter's actions on applications: create, move, reject, unreject, and notes.

Each is a write with the guarantees of `createCandidate` (`resolvers.mutations`): the caller's
key must allow writes, the IDs must be ones the caller may see, everything a client can get
wrong is a `userErrors` entry before any upstream call (a stage of another job or account, an
action the account's provider cannot take), the write is sent once, and an idempotency key
replays the first outcome. Stages and reject reasons travel as global IDs, so one from another
account is told apart from an unknown one without asking any provider.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from providers.base import Capability
from providers.errors import FieldProblem, Rejected
from providers.errors import NotFound as ProviderNotFound
from providers.model import (
    ApplicationRecord,
    ApplicationWriteResult,
    NewApplication,
    NoteVisibility,
    NoteWriteResult,
)
from resolvers.accounts import ServedAccount
from resolvers.candidates import FoundApplication, get_application
from resolvers.context import RequestContext
from resolvers.errors import ClientError
from resolvers.ids import GlobalId, decode_id
from resolvers.mutations import (
    MAX_TEXT,
    FoundNote,
    WriteOutcome,
    provider_write,
    refused,
    require_write,
    run_once,
)
from store.idempotency import fingerprint_of

__all__ = [
    "MAX_NOTE",
    "add_note",
    "create_application",
    "move_application",
    "reject_application",
    "unreject_application",
]

MAX_NOTE = 10_000

ACTIONS = {
    Capability.CREATE_APPLICATION: "creating applications",
    Capability.MOVE_APPLICATION: "moving applications",
    Capability.REJECT_APPLICATION: "rejecting applications",
    Capability.ADD_NOTE: "adding notes",
}


class Refusal(Exception):
    """A check failed before anything was sent; carries the `userErrors` entry."""

    def __init__(self, problem: FieldProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _decode(value: str, kind: str, field: str) -> GlobalId:
    try:
        return decode_id(value, expect=kind, field=field)
    except ClientError as error:
        raise Refusal(FieldProblem(error.code, error.message, (field,))) from None


def _visible(context: RequestContext, gid: GlobalId, field: str, what: str) -> ServedAccount:
    account = context.accounts.get(gid.account)
    if account is None:  # another tenant's account reads exactly like an unknown id
        raise Refusal(FieldProblem("NOT_FOUND", f"no such {what}", (field,)))
    return account


def _same_account(account: ServedAccount, gid: GlobalId, field: str, what: str) -> None:
    if gid.account != account.id:
        raise Refusal(FieldProblem("NOT_FOUND", f"no such {what} in this account", (field,)))


def _capable(account: ServedAccount, capability: Capability) -> None:
    if not account.can(capability):
        raise Refusal(
            FieldProblem(
                "UNSUPPORTED_BY_PROVIDER",
                f"account {account.id!r} ({account.provider_name}) does not support "
                f"{ACTIONS[capability]}",
            )
        )


def _text(value: str | None, field: str, limit: int, *, required: bool = False) -> None:
    if required and (value is None or not value.strip()):
        raise Refusal(FieldProblem("BAD_USER_INPUT", f"{field} cannot be blank", (field,)))
    if value is not None and len(value) > limit:
        raise Refusal(FieldProblem("BAD_USER_INPUT", f"{field} is longer than {limit}", (field,)))


async def _check_stage(
    context: RequestContext, account: ServedAccount, stage: GlobalId, job_remote_id: str | None
) -> None:
    """The stage must be one of the job's: from its ID, and from the job's stages where the
    provider lists them (a read, never a write)."""
    _same_account(account, stage, "stageId", "stage")
    if job_remote_id is None or stage.parent != job_remote_id:
        raise Refusal(
            FieldProblem("BAD_USER_INPUT", "the stage belongs to another job", ("stageId",))
        )
    if not account.can(Capability.JOBS):
        return
    jobs = await account.provider.get_jobs([job_remote_id])
    stages = next((job.stages for job in jobs if job.remote_id == job_remote_id), None)
    if stages is not None and stage.remote_id not in {s.remote_id for s in stages}:
        raise Refusal(FieldProblem("NOT_FOUND", "no such stage for this job", ("stageId",)))


async def _application(context: RequestContext, gid: GlobalId) -> ApplicationRecord:
    found = await get_application(context, gid)
    if found is None:
        raise Refusal(FieldProblem("NOT_FOUND", "no such application", ("id",)))
    return found.record


def _applied(account: ServedAccount, result: ApplicationWriteResult) -> WriteOutcome:
    return WriteOutcome(
        application=FoundApplication(account, result.record),
        created=result.created,
        warnings=result.warnings,
    )


def _noted(account: ServedAccount, result: NoteWriteResult) -> WriteOutcome:
    return WriteOutcome(
        note=FoundNote(account, result.record), created=result.created, warnings=result.warnings
    )


async def _write(
    account: ServedAccount, call: Callable[[], Awaitable[ApplicationWriteResult]]
) -> WriteOutcome:
    try:
        return _applied(account, await provider_write(account, call()))
    except Rejected as rejected:
        return refused(*rejected.problems)
    except ProviderNotFound:
        return refused(FieldProblem("NOT_FOUND", "no such application", ("id",)))


Action = Callable[[GlobalId, ServedAccount], Awaitable[WriteOutcome]]
SUBJECTS = {"Application": ("id", "application"), "Candidate": ("candidateId", "candidate")}


async def _act(
    context: RequestContext,
    id: str,
    kind: str,
    key: str | None,
    fingerprint: str,
    action: Action,
) -> WriteOutcome:
    """What every action does around its own checks and call: the caller may write, `id` is a
    `kind` ID of an account it may see (checked before the key is looked at, so a key tells
    nothing of other accounts), and the action runs at most once per idempotency key."""
    field, what = SUBJECTS[kind]
    try:
        require_write(context)
        gid = _decode(id, kind, field)
        account = _visible(context, gid, field, what)
    except Refusal as refusal:
        return refused(refusal.problem)

    async def checked() -> WriteOutcome:
        try:
            return await action(gid, account)
        except Refusal as refusal:
            return refused(refusal.problem)

    return await run_once(context, account, key, fingerprint, checked)


async def create_application(
    context: RequestContext,
    candidate_id: str,
    job_id: str,
    stage_id: str | None = None,
    source: str | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    async def action(candidate: GlobalId, account: ServedAccount) -> WriteOutcome:
        _capable(account, Capability.CREATE_APPLICATION)
        job = _decode(job_id, "Job", "jobId")
        _same_account(account, job, "jobId", "job")
        stage = None if stage_id is None else _decode(stage_id, "JobStage", "stageId")
        _text(source, "source", MAX_TEXT)
        if stage is not None:
            await _check_stage(context, account, stage, job.remote_id)
        new = NewApplication(
            candidate.remote_id,
            job.remote_id,
            None if stage is None else stage.remote_id,
            source,
        )
        return await _write(account, lambda: account.provider.create_application(new))

    print_ = fingerprint_of("createApplication", candidate_id, job_id, stage_id, source)
    return await _act(context, candidate_id, "Candidate", idempotency_key, print_, action)


async def move_application(
    context: RequestContext, id: str, stage_id: str, idempotency_key: str | None = None
) -> WriteOutcome:
    async def action(gid: GlobalId, account: ServedAccount) -> WriteOutcome:
        _capable(account, Capability.MOVE_APPLICATION)
        stage = _decode(stage_id, "JobStage", "stageId")
        _same_account(account, stage, "stageId", "stage")
        application = await _application(context, gid)
        job = application.job.remote_id if application.job else None
        await _check_stage(context, account, stage, job)
        return await _write(
            account, lambda: account.provider.move_application(application, stage.remote_id)
        )

    print_ = fingerprint_of("moveApplication", id, stage_id)
    return await _act(context, id, "Application", idempotency_key, print_, action)


async def reject_application(
    context: RequestContext,
    id: str,
    reason_id: str | None = None,
    note: str | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    async def action(gid: GlobalId, account: ServedAccount) -> WriteOutcome:
        _capable(account, Capability.REJECT_APPLICATION)
        reason = None if reason_id is None else _decode(reason_id, "RejectReason", "reasonId")
        if reason is not None:
            _same_account(account, reason, "reasonId", "reject reason")
        _text(note, "note", MAX_NOTE)
        application = await _application(context, gid)
        reason_remote = None if reason is None else reason.remote_id
        return await _write(
            account,
            lambda: account.provider.reject_application(application, reason_remote, note),
        )

    print_ = fingerprint_of("rejectApplication", id, reason_id, note)
    return await _act(context, id, "Application", idempotency_key, print_, action)


async def unreject_application(
    context: RequestContext, id: str, idempotency_key: str | None = None
) -> WriteOutcome:
    async def action(gid: GlobalId, account: ServedAccount) -> WriteOutcome:
        _capable(account, Capability.REJECT_APPLICATION)
        application = await _application(context, gid)
        return await _write(account, lambda: account.provider.unreject_application(application))

    print_ = fingerprint_of("unrejectApplication", id)
    return await _act(context, id, "Application", idempotency_key, print_, action)


async def add_note(
    context: RequestContext,
    candidate_id: str,
    body: str,
    visibility: NoteVisibility | None = None,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    async def action(candidate: GlobalId, account: ServedAccount) -> WriteOutcome:
        _capable(account, Capability.ADD_NOTE)
        _text(body, "body", MAX_NOTE, required=True)
        try:
            result = await provider_write(
                account, account.provider.add_note(candidate.remote_id, body, visibility)
            )
        except Rejected as rejected:
            return refused(*rejected.problems)
        except ProviderNotFound:
            return refused(FieldProblem("NOT_FOUND", "no such candidate", ("candidateId",)))
        return _noted(account, result)

    print_ = fingerprint_of("addNote", candidate_id, body, visibility)
    return await _act(context, candidate_id, "Candidate", idempotency_key, print_, action)
