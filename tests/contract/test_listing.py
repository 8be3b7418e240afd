"""What every adapter's reads promise (README, "What clients can rely on"): paging to the end
yields each matching row exactly once, whatever the page sizes; `search`, the job filter and
`updated_after` mean the same everywhere; lookups leave unknown ids out.

An adapter that does not declare a capability must refuse its call (UNSUPPORTED_BY_PROVIDER):
those cases are asserted here too, never skipped.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from providers.base import (
    ApplicationPage,
    ApplicationQuery,
    CandidatePage,
    CandidateQuery,
    Capability,
    JobPage,
    JobQuery,
    Position,
    Provider,
)
from providers.errors import UnsupportedByProvider
from providers.search import matches_search
from tests.contract.backends import Backend
from tests.contract.support import walk

HOSTILE_ID = "../x"


def recase(text: str, rng: random.Random) -> str:
    return "".join(c.swapcase() if rng.random() < 0.5 else c for c in text)


def a_search(backend: Backend, rng: random.Random, kind: str) -> str:
    """A search drawn from the tenant's own names and addresses."""
    people = sorted(backend.people().values(), key=lambda record: record.remote_id)
    with_email = [p for p in people if p.emails]
    if kind == "name":
        person = rng.choice(people)
        name = person.full_name or f"{person.first_name} {person.last_name}"
        start = rng.randrange(len(name) - 2)
        return recase(name[start : start + rng.randint(2, 6)], rng)
    address = rng.choice(rng.choice(with_email).emails).value
    if kind == "address":
        return f" {recase(address, rng)} "
    return address.split("@")[0][-rng.randint(2, 5) :]  # part of an address: a substring


async def expect_unsupported(call: Callable[[], Awaitable[object]]) -> None:
    with pytest.raises(UnsupportedByProvider) as refused:
        await call()
    assert refused.value.code == "UNSUPPORTED_BY_PROVIDER"


def can(adapter: Provider, *needed: Capability) -> bool:
    return set(needed) <= adapter.capabilities


def assert_once_each(seen: list[str], expected: set[str]) -> None:
    assert [row for row, count in Counter(seen).items() if count > 1] == []
    assert set(seen) == expected


async def candidates(adapter: Provider, query: CandidateQuery, seed: int) -> list[str]:
    async def fetch(position: Position, limit: int) -> CandidatePage:
        return await adapter.list_candidates(query, position, limit)

    return await walk(fetch, random.Random(seed))


@pytest.mark.parametrize("seed", range(3))
async def test_paging_to_the_end_yields_every_candidate_once(backend: Backend, seed: int) -> None:
    adapter = backend.adapter()
    if not can(adapter, Capability.LIST):
        await expect_unsupported(lambda: candidates(adapter, CandidateQuery(), seed))
        return
    assert_once_each(await candidates(adapter, CandidateQuery(), seed), set(backend.people()))


@pytest.mark.parametrize("kind", ["name", "address", "fragment"])
@pytest.mark.parametrize("seed", range(3))
async def test_a_search_yields_every_match_once(backend: Backend, kind: str, seed: int) -> None:
    adapter = backend.adapter()
    search = a_search(backend, random.Random(f"{kind}{seed}"), kind)
    query = CandidateQuery(search=search)
    if not can(adapter, Capability.LIST, Capability.SEARCH):
        await expect_unsupported(lambda: candidates(adapter, query, seed))
        return
    expected = {i for i, person in backend.people().items() if matches_search(person, search)}
    assert expected, f"{search!r} should match its source"
    assert_once_each(await candidates(adapter, query, seed), expected)


async def test_search_means_the_same_everywhere(backend: Backend) -> None:
    """An address matches whole (any case, blanks around ignored); other text is a substring."""
    asha = backend.add("Asha", "Rao", "asha@example.com")
    sasha = backend.add("Sasha", "Iyer", "sasha@example.com")
    adapter = backend.adapter()

    async def found(search: str) -> set[str]:
        return set(await candidates(adapter, CandidateQuery(search=search), 0))

    if not can(adapter, Capability.LIST, Capability.SEARCH):
        await expect_unsupported(lambda: found("asha"))
        return
    assert await found("asha@example.co") == set()  # a prefix of an address is no address
    assert await found("  ASHA@Example.com ") == {asha}  # not sasha@example.com
    assert await found("asha@") == set()
    assert {asha, sasha} <= await found("ASHA")
    assert {asha, sasha} <= await found("EXAMPLE.com")  # no "@": a substring of an address


@pytest.mark.parametrize("search", [None, "name"])
async def test_the_job_filter_yields_that_jobs_candidates_once(
    backend: Backend, search: str | None
) -> None:
    adapter = backend.adapter()
    jobs = sorted(backend.jobs(), key=lambda job: -len(backend.job_candidates(job)))
    job = jobs[0]
    needle = a_search(backend, random.Random(3), "name") if search else None
    query = CandidateQuery(search=needle, job_remote_id=job)
    if not can(adapter, Capability.LIST, Capability.FILTER_JOB):
        await expect_unsupported(lambda: candidates(adapter, query, 1))
        return
    people = backend.people()
    expected = {
        i
        for i in backend.job_candidates(job)
        if needle is None or matches_search(people[i], needle)
    }
    assert backend.job_candidates(job), "the seeded job has applicants"
    assert_once_each(await candidates(adapter, query, 1), expected)
    for unknown in (*backend.unknown_ids, HOSTILE_ID):
        query = CandidateQuery(job_remote_id=unknown)
        assert await candidates(adapter, query, 2) == []


async def test_updated_after_keeps_only_rows_changed_strictly_after(backend: Backend) -> None:
    adapter = backend.adapter()
    updated = backend.updated()
    cutoff = sorted(updated.values())[len(updated) // 2]  # one candidate exactly at it
    query = CandidateQuery(updated_after=cutoff)
    if not can(adapter, Capability.LIST, Capability.FILTER_UPDATED):
        await expect_unsupported(lambda: candidates(adapter, query, 4))
        return
    expected = {i for i in backend.people() if updated[i] > cutoff}
    assert 0 < len(expected) < len(updated)
    assert_once_each(await candidates(adapter, query, 4), expected)


async def test_get_candidates_leaves_unknown_ids_out(backend: Backend) -> None:
    adapter = backend.adapter()
    known = sorted(backend.people())[:3]
    asked = [known[0], *backend.unknown_ids, known[1], HOSTILE_ID, known[2]]
    if not can(adapter, Capability.GET_MANY):
        await expect_unsupported(lambda: adapter.get_candidates(asked))
        return
    found = await adapter.get_candidates(asked)
    assert sorted(record.remote_id for record in found) == known
    assert await adapter.get_candidates(list(backend.unknown_ids)) == []


@pytest.mark.parametrize("seed", range(3))
async def test_paging_jobs_to_the_end_yields_every_job_once(backend: Backend, seed: int) -> None:
    adapter = backend.adapter()

    async def fetch(position: Position, limit: int) -> JobPage:
        return await adapter.list_jobs(JobQuery(), position, limit)

    if not can(adapter, Capability.JOBS):
        await expect_unsupported(lambda: walk(fetch, random.Random(seed)))
        return
    assert_once_each(await walk(fetch, random.Random(seed)), set(backend.jobs()))


async def test_get_jobs_leaves_unknown_ids_out(backend: Backend) -> None:
    adapter = backend.adapter()
    known = sorted(backend.jobs())[:2]
    asked = [known[0], *backend.unknown_ids, HOSTILE_ID, known[1], known[0]]
    if not can(adapter, Capability.JOBS):
        await expect_unsupported(lambda: adapter.get_jobs(asked))
        return
    found = await adapter.get_jobs(asked)
    assert sorted(job.remote_id for job in found) == known


@pytest.mark.parametrize("seed", range(3))
async def test_paging_a_jobs_applications_yields_each_once(backend: Backend, seed: int) -> None:
    """`list_applications(job)` holds the same applications as the job's candidates' own
    `applications_for`: two read paths of one adapter, each row once whatever the page sizes."""
    adapter = backend.adapter()
    job = max(sorted(backend.jobs()), key=lambda job: len(backend.job_candidates(job)))

    async def fetch(position: Position, limit: int) -> ApplicationPage:
        return await adapter.list_applications(ApplicationQuery(job_remote_id=job), position, limit)

    if not can(adapter, Capability.LIST_APPLICATIONS):
        await expect_unsupported(lambda: walk(fetch, random.Random(seed)))
        return
    owners = sorted(backend.job_candidates(job))
    assert owners, "the seeded job has applicants"
    by_candidate = await adapter.applications_for(owners)
    expected = {
        application.remote_id
        for applications in by_candidate.values()
        for application in applications
        if application.job is not None and application.job.remote_id == job
    }
    assert_once_each(await walk(fetch, random.Random(seed)), expected)
