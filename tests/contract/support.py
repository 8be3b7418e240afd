"""Helpers of the contract suite: walking a listing to its end, and calling each capability."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from providers.base import (
    ApplicationQuery,
    CandidateQuery,
    Capability,
    JobQuery,
    Page,
    Position,
    Provider,
)
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    JobRecord,
    JobRef,
    NewApplication,
)

__all__ = ["MAX_CALLS", "operation", "walk"]

MAX_CALLS = 400


async def walk(
    fetch: Callable[
        [Position, int],
        Awaitable[Page[CandidateRecord] | Page[JobRecord] | Page[ApplicationRecord]],
    ],
    rng: random.Random,
    skipped: list[int] | None = None,
) -> list[str]:
    """Pages to the end as the gateway does, with random page sizes and random uneven use of
    each page (a client's page may take only some of an account's rows); the ids handed out.
    `skipped` gets the unreadable rows each page reports for the rows used."""
    seen: list[str] = []
    position: Position | None = Position()
    for _ in range(MAX_CALLS):
        if position is None:
            return seen
        page = await fetch(position, rng.randint(1, 40))
        used = rng.randint(1, len(page.records)) if page.records else 0
        seen += [record.remote_id for record in page.records[:used]]
        if skipped is not None:
            skipped.append(page.skipped_within(used))
        position = page.resume_at(used)
    raise AssertionError(f"the listing did not end within {MAX_CALLS} calls")


def operation(adapter: Provider, capability: Capability) -> Callable[[], Awaitable[object]]:
    """The call a capability stands for, with arguments any provider accepts."""
    someone = "1"
    # An application no account holds: a declared action is sent and refused (a 4xx), never
    # reported unsupported.
    nobody = ApplicationRecord(someone, someone, JobRef(someone), ApplicationStatus.ACTIVE)
    calls: dict[Capability, Callable[[], Awaitable[object]]] = {
        Capability.LIST: lambda: adapter.list_candidates(CandidateQuery(), Position(), 5),
        Capability.SEARCH: lambda: adapter.list_candidates(
            CandidateQuery(search="an"), Position(), 5
        ),
        Capability.FILTER_JOB: lambda: adapter.list_candidates(
            CandidateQuery(job_remote_id=someone), Position(), 5
        ),
        Capability.FILTER_UPDATED: lambda: adapter.list_candidates(
            CandidateQuery(updated_after=datetime(2020, 1, 1, tzinfo=UTC)), Position(), 5
        ),
        Capability.GET_MANY: lambda: adapter.get_candidates([someone]),
        Capability.APPLICATIONS: lambda: adapter.applications_for([someone]),
        Capability.JOBS: lambda: adapter.list_jobs(JobQuery(), Position(), 5),
        Capability.CREATE: lambda: adapter.create_candidate(CandidateDraft()),
        Capability.UPDATE: lambda: adapter.update_candidate(someone, CandidatePatch(title="x")),
        Capability.LIST_APPLICATIONS: lambda: adapter.list_applications(
            ApplicationQuery(candidate_remote_id=someone), Position(), 5
        ),
        Capability.REJECT_REASONS: lambda: adapter.list_reject_reasons(),
        Capability.CREATE_APPLICATION: lambda: adapter.create_application(
            NewApplication(someone, someone)
        ),
        Capability.MOVE_APPLICATION: lambda: adapter.move_application(nobody, someone),
        Capability.REJECT_APPLICATION: lambda: adapter.reject_application(nobody, someone, None),
        Capability.ADD_NOTE: lambda: adapter.add_note(someone, "a note", None),
    }
    return calls[capability]
