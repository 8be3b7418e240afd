"""One unreadable row (no id) in a listing is that row's failure: every adapter leaves it out,
serves the rest of its page, reports it once, and pages past it without losing or repeating a
readable row (README, "Partial results")."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from emulators.faults import FaultProfile
from providers.base import (
    ApplicationQuery,
    CandidateQuery,
    Capability,
    JobQuery,
    Page,
    Position,
    Provider,
)
from providers.model import ApplicationRecord, CandidateRecord, JobRecord
from tests.contract.backends import Backend
from tests.contract.support import walk
from tests.contract.test_listing import assert_once_each, can, expect_unsupported

Fetch = Callable[
    [Position, int],
    Awaitable[Page[CandidateRecord] | Page[JobRecord] | Page[ApplicationRecord]],
]
LISTINGS = ["candidates", "candidates-updated", "jobs", "applications"]
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def listing(backend: Backend, adapter: Provider, kind: str) -> tuple[Fetch, set[Capability]]:
    """The listing `kind` of `adapter`, and the capabilities it needs."""
    if kind == "jobs":
        return lambda p, n: adapter.list_jobs(JobQuery(), p, n), {Capability.JOBS}
    if kind == "applications":
        job = max(sorted(backend.jobs()), key=lambda job: len(backend.job_candidates(job)))
        query = ApplicationQuery(job_remote_id=job)
        return lambda p, n: adapter.list_applications(query, p, n), {Capability.LIST_APPLICATIONS}
    if kind == "candidates-updated":
        updated = CandidateQuery(updated_after=LONG_AGO)
        needs = {Capability.LIST, Capability.FILTER_UPDATED}
        return lambda p, n: adapter.list_candidates(updated, p, n), needs
    return lambda p, n: adapter.list_candidates(CandidateQuery(), p, n), {Capability.LIST}


async def unreadable(backend: Backend, fetch: Fetch, row: int) -> tuple[list[str], str]:
    """The listing's first page read whole, and the id made unreadable: its `row`th row's (an
    application's candidate too, as Talynce lists a job's applications by candidate)."""
    page = await fetch(Position(), 10)
    before = [record.remote_id for record in page.records]
    bad = page.records[row]
    idless = {bad.remote_id}
    if isinstance(bad, ApplicationRecord):
        idless.add(bad.candidate_remote_id)
    backend.set_faults(FaultProfile(idless=frozenset(idless)))
    return before, bad.remote_id


@pytest.mark.parametrize("kind", LISTINGS)
async def test_an_unreadable_row_is_left_out_and_counted(backend: Backend, kind: str) -> None:
    adapter = backend.adapter()
    fetch, needs = listing(backend, adapter, kind)
    if not can(adapter, *needs):
        await expect_unsupported(lambda: fetch(Position(), 10))
        return
    before, bad = await unreadable(backend, fetch, 2)
    page = await fetch(Position(), 10)
    assert [record.remote_id for record in page.records] == [i for i in before if i != bad]
    assert page.skipped_within(len(page.records)) == 1
    assert page.skipped_within(1) == 0  # the row sits after the second record, not the first


@pytest.mark.parametrize("kind", LISTINGS)
@pytest.mark.parametrize("seed", range(3))
async def test_paging_past_an_unreadable_row_yields_every_other_row_once(
    backend: Backend, kind: str, seed: int
) -> None:
    adapter = backend.adapter()
    fetch, needs = listing(backend, adapter, kind)
    if not can(adapter, *needs):
        await expect_unsupported(lambda: fetch(Position(), 10))
        return
    everything = await walk(fetch, random.Random(seed))
    _, bad = await unreadable(backend, fetch, 4)
    skipped: list[int] = []
    seen = await walk(fetch, random.Random(seed), skipped)
    assert_once_each(seen, set(everything) - {bad})
    assert sum(skipped) == 1
