"""Write resolvers: checks that hold for every provider, then the account's adapter does the rest.

Everything a client can get wrong is reported as a `FieldProblem` (a `userErrors` entry) before
any upstream call; a provider's own refusal comes back the same way. Upstream failures (timeouts,
auth) are raised: the write did not happen, or its outcome is unknown, and that is not the
client's input at fault.

A write is sent once. Once its bytes may have reached the provider (`upstream.writes`), any
end other than a readable success or a refusal (a 4xx) is `UPSTREAM_OUTCOME_UNKNOWN`: a 5xx, a
cut or HTML body, a dropped connection, an adapter's exception. An idempotency key keeps that
outcome; only a failure that provably sent nothing frees the key for a retry.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from providers.base import Capability
from providers.errors import FieldProblem, Rejected, UpstreamOutcomeUnknown
from providers.errors import NotFound as ProviderNotFound
from providers.model import (
    ApplicationDraft,
    CandidateDraft,
    CandidatePatch,
    Contact,
    NoteRecord,
    WriteResult,
    WriteWarning,
    Written,
)
from providers.upstream.writes import current_writes, watch_writes
from resolvers.accounts import ServedAccount
from resolvers.candidates import FoundApplication, FoundCandidate
from resolvers.context import RequestContext
from resolvers.errors import ClientError, Forbidden
from resolvers.ids import decode_id
from store.idempotency import fingerprint_of
from store.redis_link import account_scope

__all__ = [
    "FoundNote",
    "WriteOutcome",
    "create_candidate",
    "provider_write",
    "refused",
    "require_write",
    "run_once",
    "unknown_outcome",
    "update_candidate",
]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL = re.compile(r"^https?://[^\s/]+\S*$", re.IGNORECASE)
MAX_TEXT = 500
MAX_ITEMS = 50
"""Items of one list input (emails, tags, skills...): no person has more, and each is sent on."""


W = TypeVar("W", bound=Written[Any])


@dataclass(frozen=True, slots=True)
class FoundNote:
    account: ServedAccount
    record: NoteRecord


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What a write did, as its payload reports it: the record it left (one of the three, by
    the kind of write), whether it created it, its warnings, or why nothing changed."""

    candidate: FoundCandidate | None = None
    application: FoundApplication | None = None
    note: FoundNote | None = None
    created: bool | None = None
    warnings: tuple[WriteWarning, ...] = ()
    problems: tuple[FieldProblem, ...] = ()


def require_write(context: RequestContext) -> None:
    if not context.can_write:
        raise Forbidden("this client key may read but not write")


def refused(*problems: FieldProblem) -> WriteOutcome:
    return WriteOutcome(problems=problems)


def _check_fields(values: dict[str, Any]) -> list[FieldProblem]:
    """Checks the shape of what the client sent, whatever provider it is for."""
    problems = []
    too_long = set()
    for name, value in values.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            problems.append(
                FieldProblem("BAD_USER_INPUT", f"{name} is longer than {MAX_TEXT}", (name,))
            )
        elif isinstance(value, list | tuple):
            if len(value) > MAX_ITEMS:
                too_long.add(name)
                problems.append(
                    FieldProblem(
                        "BAD_USER_INPUT", f"{name} holds more than {MAX_ITEMS} items", (name,)
                    )
                )
            elif any(isinstance(item, str) and len(item) > MAX_TEXT for item in value):
                problems.append(
                    FieldProblem(
                        "BAD_USER_INPUT", f"an item of {name} is longer than {MAX_TEXT}", (name,)
                    )
                )
        if name in ("experience_years", "notice_period_days") and value is not None and value < 0:
            problems.append(FieldProblem("BAD_USER_INPUT", f"{name} cannot be negative", (name,)))
    for n, email in enumerate(() if "emails" in too_long else values.get("emails") or ()):
        if not isinstance(email, Contact) or not EMAIL.match(email.value):
            problems.append(
                FieldProblem(
                    "BAD_USER_INPUT",
                    f"{getattr(email, 'value', email)!r} is not an email address",
                    ("emails", str(n), "value"),
                )
            )
    for n, url in enumerate(() if "urls" in too_long else values.get("urls") or ()):
        if not isinstance(url, Contact) or not URL.match(url.value):
            problems.append(
                FieldProblem(
                    "BAD_USER_INPUT", "urls must be http(s) addresses", ("urls", str(n), "value")
                )
            )
    if values.get("resume_url") and not URL.match(values["resume_url"]):
        problems.append(
            FieldProblem("BAD_USER_INPUT", "resumeUrl must be an http(s) address", ("resume_url",))
        )
    return problems


def _application(
    account: ServedAccount, application: ApplicationDraft | None
) -> ApplicationDraft | FieldProblem | None:
    """Swaps the client's global job id for the account's own, or says why it can't."""
    if application is None:
        return None
    path = ("application", "job_id")
    try:
        job = decode_id(application.job_remote_id, expect="Job", field="jobId")
    except ClientError as error:
        return FieldProblem(error.code, error.message, path)
    if job.account != account.id:
        return FieldProblem("NOT_FOUND", "no such job in this account", path)
    return dataclasses.replace(application, job_remote_id=job.remote_id)


def _account(context: RequestContext, account_id: str, path: str) -> ServedAccount | FieldProblem:
    account = context.accounts.get(account_id)
    if account is None:
        return FieldProblem("NOT_FOUND", f"no account {account_id!r}", (path,))
    return account


def _unsupported(account: ServedAccount, capability: Capability) -> FieldProblem | None:
    if account.can(capability):
        return None
    verb = "creating" if capability is Capability.CREATE else "updating"
    return FieldProblem(
        "UNSUPPORTED_BY_PROVIDER",
        f"account {account.id!r} ({account.provider_name}) does not support {verb} candidates",
    )


def _outcome(context: RequestContext, account: ServedAccount, result: WriteResult) -> WriteOutcome:
    context.loaders.prime(account.id, result.record, fresh=True)
    return WriteOutcome(
        candidate=FoundCandidate(account, result.record),
        created=result.created,
        warnings=result.warnings,
    )


def unknown_outcome(account: ServedAccount) -> UpstreamOutcomeUnknown:
    return UpstreamOutcomeUnknown(
        f"the write to account {account.id!r} may have reached {account.provider_name}, but "
        "its answer could not be read; check whether it happened before trying again",
        account=account.id,
        provider=account.provider_name,
    )


async def provider_write(account: ServedAccount, write: Awaitable[W]) -> W:
    """The adapter's write; a failure after it may have been sent becomes an unknown outcome.

    A refusal (`Rejected`, or any error once every write sent was answered with a 4xx) and a
    failure before anything was sent pass through unchanged.
    """
    watch = current_writes()
    try:
        return await write
    except (Rejected, UpstreamOutcomeUnknown):
        raise
    except Exception:
        if watch is not None and watch.may_have_happened:
            raise unknown_outcome(account) from None
        raise


MAX_KEY = 200


async def run_once(
    context: RequestContext,
    account: ServedAccount,
    idempotency_key: str | None,
    fingerprint: str,
    write: Callable[[], Awaitable[WriteOutcome]],
) -> WriteOutcome:
    """Runs `write` inside a write watch, at most once per idempotency key.

    With a key, a repeat of the same input (same `fingerprint`) returns the first outcome (an
    unknown outcome included) without a second upstream write; other input under the key is
    refused. The caller has already checked that the client may see `account`: a key must not
    tell a client anything about an account it cannot see.

    An outcome reached without attempting any write (input refused before one) frees its key
    as a failure that sent nothing does: the store remembers a bounded number of keys over
    every client, and such outcomes cost nothing to make, so keeping them would let one client
    push everyone's keys out.
    """
    if idempotency_key is None:
        with watch_writes():
            return await write()
    if not 0 < len(idempotency_key) <= MAX_KEY:
        return refused(
            FieldProblem(
                "BAD_USER_INPUT",
                f"idempotencyKey must be 1 to {MAX_KEY} characters",
                ("idempotency_key",),
            )
        )
    # Scoped by client too: another client's key, even on a shared account, is an unused one.
    # And by the upstream tenant the account points at (`account_scope`): a shared store outlives
    # a config that reuses the account id for another tenant, whose repeat must not replay the
    # first tenant's outcome.
    scope = account_scope(account.config)
    key = f"{account.id}\x00{context.client}\x00{scope}\x00{idempotency_key}"
    store = context.idempotency
    claim = await store.claim(key, fingerprint)
    if claim.conflict:
        return refused(
            FieldProblem(
                "BAD_USER_INPUT",
                "idempotencyKey was already used with different input",
                ("idempotency_key",),
            )
        )
    if not claim.owner:
        if isinstance(claim.result, Exception):
            raise claim.result
        assert isinstance(claim.result, WriteOutcome)
        return claim.result
    with watch_writes() as watch:
        try:
            outcome = await write()
        except UpstreamOutcomeUnknown as unknown:
            await store.finish(key, unknown)
            raise
        except BaseException:
            # Cancelled while the write was out, or failed after it: what happened is unknown.
            if watch.may_have_happened:
                await store.finish(key, unknown_outcome(account))
            else:
                await store.release(key)
            raise
    if watch.attempted:
        await store.finish(key, outcome)
    else:
        await store.release(key)
    return outcome


async def create_candidate(
    context: RequestContext,
    account_id: str,
    draft: CandidateDraft,
    idempotency_key: str | None = None,
) -> WriteOutcome:
    """`draft.application.job_remote_id` arrives as the client's global job ID."""
    require_write(context)
    account = _account(context, account_id, "account")
    if isinstance(account, FieldProblem):
        return refused(account)
    return await run_once(
        context,
        account,
        idempotency_key,
        fingerprint_of(account_id, draft),
        lambda: _create(context, account, draft),
    )


async def _create(
    context: RequestContext, account: ServedAccount, draft: CandidateDraft
) -> WriteOutcome:
    if (refusal := _unsupported(account, Capability.CREATE)) is not None:
        return refused(refusal)
    values = {f.name: getattr(draft, f.name) for f in dataclasses.fields(draft)}
    problems = _check_fields(values)
    application = _application(account, draft.application)
    if isinstance(application, FieldProblem):
        problems.append(application)
        application = None
    if problems:
        return refused(*problems)
    try:
        result = await provider_write(
            account,
            account.provider.create_candidate(dataclasses.replace(draft, application=application)),
        )
    except Rejected as rejected:
        return refused(*rejected.problems)
    return _outcome(context, account, result)


async def update_candidate(context: RequestContext, id: str, patch: CandidatePatch) -> WriteOutcome:
    """`patch.application.job_remote_id`, when given, is the client's global job ID."""
    require_write(context)
    try:
        gid = decode_id(id, expect="Candidate")
    except ClientError as error:
        return refused(FieldProblem(error.code, error.message, ("id",)))
    account = _account(context, gid.account, "id")
    if isinstance(account, FieldProblem):
        return refused(FieldProblem("NOT_FOUND", "no such candidate", ("id",)))
    if (refusal := _unsupported(account, Capability.UPDATE)) is not None:
        return refused(refusal)
    given = patch.given()
    problems = _check_fields(given)
    for required in ("emails",):
        if required in given and not given[required]:
            problems.append(
                FieldProblem("BAD_USER_INPUT", f"{required} cannot be cleared", (required,))
            )
    application = _application(account, given.get("application"))
    if isinstance(application, FieldProblem):
        problems.append(application)
        application = None
    if problems:
        return refused(*problems)
    if "application" in given:
        patch = dataclasses.replace(patch, application=application)
    try:
        with watch_writes():
            result = await provider_write(
                account, account.provider.update_candidate(gid.remote_id, patch)
            )
    except Rejected as rejected:
        return refused(*rejected.problems)
    except ProviderNotFound:
        return refused(FieldProblem("NOT_FOUND", "no such candidate", ("id",)))
    return _outcome(context, account, result)
