"""The Talynce adapter's jobs, `updated_after` scans and typed-contact warnings, against the
Talynce emulator over real HTTP on loopback."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.responses import JSONResponse

from emulators.seed import PIPELINE_STATUSES
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from providers.base import (
    AccountConfig,
    CandidatePage,
    CandidateQuery,
    Capability,
    JobPage,
    JobQuery,
    Position,
)
from providers.errors import UnsupportedByProvider
from providers.model import (
    CandidateDraft,
    CandidatePatch,
    Email,
    EmailType,
    JobStage,
    JobStatus,
    Phone,
    PhoneType,
    WriteWarning,
)
from providers.talynce.adapter import SPEC, TalynceAdapter
from providers.upstream.http import build_client
from providers.wire import instant
from tests.servers import serve_in_thread
from tests.test_talynce_adapter import canned

API_KEY = "tly-sync-key-0123456789"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
OLD = datetime(2020, 1, 1, tzinfo=UTC)
CUTOFF = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def adapter_for(url: str, **options: object) -> TalynceAdapter:
    config = AccountConfig(
        id="acme",
        name="Acme",
        provider="talynce",
        base_url=f"{url}/api/v1",
        credentials={"api_key": API_KEY},
        options=options,
    )
    return TalynceAdapter(config, build_client(config))


def fresh_org() -> TalynceOrg:
    return TalynceOrg.seeded("acme", API_KEY, candidates=230, jobs=130, masked=4, seed=11)


@dataclass
class Talynce:
    url: str
    emulator: TalynceEmulator
    org: TalynceOrg
    adapter: TalynceAdapter

    def gets(self, prefix: str) -> int:
        return sum(1 for r in self.emulator.requests if r.path.startswith(prefix))

    def job_ids(self) -> list[str]:
        return [j.id for j in sorted(self.org.jobs, key=lambda j: (j.created_at, j.id))]

    def candidate_ids(self) -> list[str]:
        return [c.id for c in self.org.ordered_candidates()]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, TalynceEmulator]]:
    emulator = TalynceEmulator([fresh_org()])
    with serve_in_thread(emulator.app) as url:
        yield url, emulator


@pytest.fixture
async def talynce(served: tuple[str, TalynceEmulator]) -> AsyncIterator[Talynce]:
    url, emulator = served
    org = emulator.orgs[API_KEY] = fresh_org()
    emulator.reset_log()
    adapter = adapter_for(url)
    yield Talynce(url, emulator, org, adapter)
    await adapter.aclose()


Listing = JobPage | CandidatePage


async def walk(
    fetch: Any, rng: random.Random, *, max_limit: int = 15, calls: int = 400
) -> tuple[list[str], list[Listing]]:
    """Every row of a listing, asking random page sizes and using a random part of each page."""
    seen: list[str] = []
    pages: list[Listing] = []
    position: Position | None = Position()
    for _ in range(calls):
        assert position is not None
        page = await fetch(position, rng.randint(1, max_limit))
        pages.append(page)
        used = rng.randint(1, len(page.records)) if page.records else 0
        seen += [r.remote_id for r in page.records[:used]]
        position = page.resume_at(used)
        if position is None:
            return seen, pages
    raise AssertionError("the listing did not end")


# --- jobs ------------------------------------------------------------------------------------


async def test_jobs_are_declared_and_listed_with_their_fields(talynce: Talynce) -> None:
    assert {Capability.JOBS, Capability.FILTER_UPDATED} <= SPEC.capabilities
    assert {Capability.JOBS, Capability.FILTER_UPDATED} <= talynce.adapter.capabilities
    first = sorted(talynce.org.jobs, key=lambda j: (j.created_at, j.id))[0]

    page = await talynce.adapter.list_jobs(JobQuery(), Position(), 3)

    assert page.total == 130 and page.next_token == "3" and not page.filtered_locally
    job = page.records[0]
    assert job.remote_id == first.id and job.name == first.title
    assert job.raw_status == first.status and job.status == JobStatus(first.status.upper())
    assert job.departments == (first.department,) and job.offices == first.locations
    assert instant(job.updated_at) == first.updated_at
    assert job.stages == tuple(
        JobStage(remote_id=name, name=name, order=n) for n, name in enumerate(PIPELINE_STATUSES)
    )
    assert talynce.emulator.requests[0].query == {"limit": "3", "offset": "0"}


async def test_job_search_is_pushed_down_on_the_title(talynce: Talynce) -> None:
    titles = {j.id: j.title.lower() for j in talynce.org.jobs}
    expected = [j for j in talynce.job_ids() if "engineer 1" in titles[j]]
    assert 1 < len(expected) < 130

    page = await talynce.adapter.list_jobs(JobQuery(search="ENGINEER 1"), Position(), 100)

    assert [j.remote_id for j in page.records] == expected
    assert page.total == len(expected) and not page.filtered_locally
    assert talynce.emulator.requests[0].query["search"] == "ENGINEER 1"


async def test_job_status_filter_keeps_only_that_status_once_each(talynce: Talynce) -> None:
    statuses = ("open", "closed", "draft", "archived", "paused")
    talynce.org.jobs = [
        dataclasses.replace(job, status=statuses[n % 5]) for n, job in enumerate(talynce.org.jobs)
    ]
    by_id = {j.id: j for j in talynce.org.jobs}
    for wanted, raw in [(JobStatus.DRAFT, "draft"), (JobStatus.OTHER, "paused")]:

        async def fetch(position: Position, limit: int, wanted: JobStatus = wanted) -> JobPage:
            return await talynce.adapter.list_jobs(JobQuery(status=wanted), position, limit)

        seen, pages = await walk(fetch, random.Random(1))

        assert seen == [j for j in talynce.job_ids() if by_id[j].status == raw]
        assert all(page.filtered_locally and page.total is None for page in pages)
        assert all(r.raw_status == raw for page in pages for r in page.records)
    assert "status" not in {key for r in talynce.emulator.requests for key in r.query}


async def test_get_jobs_leaves_unknown_ids_out(talynce: Talynce) -> None:
    known = talynce.job_ids()[:2]

    found = await talynce.adapter.get_jobs([known[0], UNKNOWN_ID, known[1], known[0], "../x"])

    assert sorted(j.remote_id for j in found) == sorted(known)
    assert all(j.name for j in found)
    assert talynce.gets("/api/v1/jobs/") == 4  # one GET per distinct id


async def test_application_job_ids_resolve_through_get_jobs(talynce: Talynce) -> None:
    candidate = next(c for c in talynce.org.ordered_candidates() if len(c.applications) >= 2)
    [record] = await talynce.adapter.get_candidates([candidate.id])
    refs = [a.job.remote_id for a in record.applications or () if a.job and a.job.remote_id]
    assert len(refs) == len(candidate.applications)

    jobs = {j.remote_id: j for j in await talynce.adapter.get_jobs(refs)}

    assert set(jobs) == set(refs)
    titles = {j.id: j.title for j in talynce.org.jobs}
    for application in record.applications or ():
        assert application.job is not None and application.job.remote_id is not None
        job = jobs[application.job.remote_id]
        assert job.name == titles[job.remote_id]
        assert application.stage in {stage.remote_id for stage in job.stages or ()}


# --- updated_after ---------------------------------------------------------------------------


def age_all_but(talynce: Talynce, fresh: Sequence[int]) -> list[str]:
    """Every candidate updated long ago but those at the given list positions (updated after
    CUTOFF, the first by a millisecond); one other exactly at CUTOFF. The fresh ids in order."""
    ordered = talynce.org.ordered_candidates()
    for n, candidate in enumerate(ordered):
        candidate.updated_at = CUTOFF + timedelta(seconds=n + 1) if n in fresh else OLD
    ordered[min(fresh)].updated_at = CUTOFF + timedelta(milliseconds=1)
    ordered[min(set(range(len(ordered))) - set(fresh))].updated_at = CUTOFF  # equal: not after
    return [ordered[n].id for n in sorted(fresh)]


async def test_candidates_updated_after_each_once_and_filtered_locally(talynce: Talynce) -> None:
    rng = random.Random(5)
    fresh = rng.sample(range(230), 60)
    expected = age_all_but(talynce, fresh)
    query = CandidateQuery(updated_after=CUTOFF)

    async def fetch(position: Position, limit: int) -> CandidatePage:
        return await talynce.adapter.list_candidates(query, position, limit)

    for seed in range(3):
        seen, pages = await walk(fetch, random.Random(seed))
        assert seen == expected
        assert all(page.filtered_locally for page in pages)
        assert all((instant(r.updated_at) or OLD) > CUTOFF for page in pages for r in page.records)
    assert all(r.query["limit"] == "100" for r in talynce.emulator.requests)


async def test_updated_after_scan_reads_at_most_scan_pages_per_call(talynce: Talynce) -> None:
    expected = age_all_but(talynce, [225])
    adapter = adapter_for(talynce.url, scan_pages=2)
    query = CandidateQuery(updated_after=CUTOFF)
    seen: list[str] = []
    position: Position | None = Position()
    reads: list[int] = []
    try:
        while position is not None:
            before = talynce.gets("/api/v1/candidates")
            page = await adapter.list_candidates(query, position, 10)
            reads.append(talynce.gets("/api/v1/candidates") - before)
            seen += [r.remote_id for r in page.records]
            position = page.resume_at(len(page.records))
    finally:
        await adapter.aclose()

    assert seen == expected
    assert max(reads) == 2
    assert reads == [2, 1]  # pages 0-1: nothing, a page of no rows to resume at 200; then 2


async def test_updated_after_with_search_pushes_search_down(talynce: Talynce) -> None:
    target = talynce.org.ordered_candidates()[7]
    age_all_but(talynce, [7, 8])
    surname = target.full_name.split(" ", 1)[1]

    page = await talynce.adapter.list_candidates(
        CandidateQuery(search=surname, updated_after=CUTOFF), Position(), 10
    )

    assert target.id in [r.remote_id for r in page.records]
    assert all(surname.lower() in (r.full_name or "").lower() for r in page.records)
    assert page.filtered_locally and page.total is None
    assert talynce.emulator.requests[0].query["search"] == surname


async def test_jobs_updated_after_each_once(talynce: Talynce) -> None:
    ordered = sorted(talynce.org.jobs, key=lambda j: (j.created_at, j.id))
    fresh = set(random.Random(9).sample(range(130), 30))
    talynce.org.jobs = [
        dataclasses.replace(job, updated_at=CUTOFF + timedelta(hours=1) if n in fresh else OLD)
        for n, job in enumerate(ordered)
    ]
    expected = [job.id for n, job in enumerate(ordered) if n in fresh]

    async def fetch(position: Position, limit: int) -> JobPage:
        return await talynce.adapter.list_jobs(JobQuery(updated_after=CUTOFF), position, limit)

    seen, pages = await walk(fetch, random.Random(2))

    assert seen == expected
    assert all(page.filtered_locally for page in pages)


async def test_rows_without_a_readable_updated_at_are_left_out() -> None:
    rows = [
        {"id": "a", "updated_at": "yesterday"},
        {"id": "b"},
        {"id": "c", "updated_at": 1893456000},
        {"id": "d", "updated_at": "2030-01-01T00:00:00"},  # naive: read as UTC
        {"id": "e", "updated_at": "2030-01-01T00:00:00+05:30"},
        {"id": "f", "updated_at": "2019-01-01T00:00:00Z"},
    ]
    body = {"data": rows, "meta": {"total": len(rows), "limit": 100, "offset": 0}}
    with serve_in_thread(canned(JSONResponse(body))) as url:
        adapter = adapter_for(url)
        try:
            people = await adapter.list_candidates(
                CandidateQuery(updated_after=CUTOFF), Position(), 10
            )
            jobs = await adapter.list_jobs(JobQuery(updated_after=CUTOFF), Position(), 10)
        finally:
            await adapter.aclose()

    assert [r.remote_id for r in people.records] == ["d", "e"]
    assert [r.remote_id for r in jobs.records] == ["d", "e"]
    assert people.next_token is None and people.filtered_locally


async def test_scan_pages_zero_refuses_local_filters(talynce: Talynce) -> None:
    adapter = adapter_for(talynce.url, scan_pages=0)
    try:
        with pytest.raises(UnsupportedByProvider) as caught:
            await adapter.list_candidates(CandidateQuery(updated_after=CUTOFF), Position(), 5)
        with pytest.raises(UnsupportedByProvider):
            await adapter.list_jobs(JobQuery(status=JobStatus.OPEN), Position(), 5)
        plain = await adapter.list_jobs(JobQuery(), Position(), 5)
    finally:
        await adapter.aclose()

    assert caught.value.account == "acme" and caught.value.provider == "talynce"
    assert len(plain.records) == 5
    assert talynce.gets("/api/v1/candidates") == 0


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"scan_pages": -1}, "options.scan_pages"),
        ({"scan_pages": 51}, "options.scan_pages"),
        ({"scan_pages": True}, "options.scan_pages"),
        ({"scan_page": 2}, "unknown options"),
    ],
)
def test_account_check_names_bad_scan_options(options: dict[str, object], problem: str) -> None:
    account = AccountConfig(
        "a", "A", "talynce", "http://x", credentials={"api_key": "k"}, options=options
    )
    assert SPEC.check is not None
    problems = SPEC.check(account)
    assert any(problem in p for p in problems), problems
    assert SPEC.check(dataclasses.replace(account, options={"scan_pages": 0})) == []


def test_instant_reads_iso_date_times_only() -> None:
    assert instant("2024-06-01T12:00:00Z") == CUTOFF
    assert instant("2024-06-01T17:30:00+05:30") == CUTOFF
    assert instant("2024-06-01T12:00:00") == CUTOFF
    for odd in (None, 7, "", "soon", "2024-13-01T00:00:00Z", "9" * 500, ["2024-06-01"]):
        assert instant(odd) is None


# --- typed contacts --------------------------------------------------------------------------

TYPE_WARNINGS = {
    ("emails", "0", "type"): "IGNORED_FIELD",
    ("phones", "0", "type"): "IGNORED_FIELD",
}


def type_warnings(warnings: Sequence[WriteWarning]) -> dict[tuple[str, ...], str | None]:
    return {w.field: w.code for w in warnings if w.field and w.field[-1] == "type"}


async def test_typed_contacts_on_create_warn_that_the_type_was_dropped(talynce: Talynce) -> None:
    draft = CandidateDraft(
        full_name="Jane Typed",
        emails=(Email("jane.typed@example.com", EmailType.WORK),),
        phones=(Phone("+91 90000 11111", PhoneType.MOBILE),),
    )

    result = await talynce.adapter.create_candidate(draft)

    assert result.created is True
    assert type_warnings(result.warnings) == TYPE_WARNINGS
    assert result.record.emails == (Email("jane.typed@example.com"),)


@pytest.mark.parametrize("email_type", [None, EmailType.OTHER])
async def test_untyped_contacts_on_create_warn_nothing(
    talynce: Talynce, email_type: EmailType | None
) -> None:
    draft = CandidateDraft(
        full_name="Jane Plain",
        emails=(Email("jane.plain@example.com", email_type),),
        phones=(Phone("+91 90000 22222", PhoneType.OTHER if email_type else None),),
    )

    result = await talynce.adapter.create_candidate(draft)

    assert result.warnings == ()


async def test_typed_contacts_on_update_warn_that_the_type_was_dropped(talynce: Talynce) -> None:
    target = next(c for c in talynce.org.ordered_candidates() if c.talent_pool_status != "masked")
    patch = CandidatePatch(
        emails=(Email("new.address@example.com", EmailType.PERSONAL),),
        phones=(Phone("+91 90000 33333", PhoneType.HOME),),
    )

    result = await talynce.adapter.update_candidate(target.id, patch)

    assert type_warnings(result.warnings) == TYPE_WARNINGS
    assert talynce.org.candidates[target.id].email == "new.address@example.com"
    plain = await talynce.adapter.update_candidate(
        target.id, CandidatePatch(emails=(Email("plain.address@example.com"),))
    )
    assert plain.warnings == ()
