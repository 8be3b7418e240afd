"""Contract tests: Greenhouse jobs (Harvest v3 `/v3/jobs` with departments, offices and interview
stages; Partner has none) against the emulator over real HTTP."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg
from emulators.greenhouse.store import JOB_STAGES
from providers.base import AccountConfig, JobPage, JobQuery, Position
from providers.errors import UnsupportedByProvider
from providers.greenhouse import GreenhouseHarvestAdapter, GreenhousePartnerAdapter
from providers.model import JobStatus
from providers.upstream.http import build_client
from tests.test_greenhouse_harvest import Harvest, adapter_for, fresh_org, harvest, served

__all__ = ["harvest", "served"]  # the fixtures, imported so pytest finds them here

JOBS, STAGES = "/v3/jobs", "/v3/job_interview_stages"
EXTRA_JOBS = 57


def jobs_org() -> GreenhouseOrg:
    """The seeded org and enough more jobs (every status, some without department or office)
    to page through."""
    org = fresh_org()
    departments, offices = sorted(org.departments), sorted(org.offices)
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(3)
    for n in range(EXTRA_JOBS):
        org.add_job(
            60_000 + n,
            rng.choice(["Potions Master", "Keeper", "Seeker", "Librarian"]) + f" {n}",
            ("open", "open", "closed", "draft")[n % 4],
            anchor + timedelta(hours=n),
            department_id=departments[n % 3] if n % 5 else None,
            office_ids=tuple(offices[: n % 3]),
            stages=JOB_STAGES[: 1 + n % 5],
        )
    return org


@pytest.fixture(scope="module")
def seeded_org() -> Callable[[], GreenhouseOrg]:
    return jobs_org


async def all_jobs(
    adapter: GreenhouseHarvestAdapter, query: JobQuery, limits: Iterator[int]
) -> tuple[list[str], list[JobPage]]:
    seen: list[str] = []
    pages: list[JobPage] = []
    position: Position | None = Position()
    while position is not None:
        limit = next(limits)
        page = await adapter.list_jobs(query, position, limit)
        pages.append(page)
        used = min(limit, len(page.records))
        seen += [r.remote_id for r in page.records[:used]]
        position = page.resume_at(used)
        assert len(pages) < 500
    return seen, pages


def ordered_ids(org: GreenhouseOrg, keep: object = None) -> list[str]:
    return [str(j) for j in sorted(org.jobs) if keep is None or keep == org.jobs[j].status]


async def test_status_is_pushed_down_and_a_state_harvest_lacks_is_empty(harvest: Harvest) -> None:
    for status, wire in ((JobStatus.OPEN, "open"), (JobStatus.DRAFT, "draft")):
        harvest.emulator.reset_log()
        seen, pages = await all_jobs(
            harvest.adapter, JobQuery(status=status), iter(lambda: 5, None)
        )
        assert seen == ordered_ids(harvest.org, wire)
        assert {r.status for p in pages for r in p.records} == {status}
        assert harvest.calls("GET", JOBS)[0].query == {"per_page": "7", "status": wire}
        assert not any(p.filtered_locally for p in pages)
    harvest.emulator.reset_log()
    page = await harvest.adapter.list_jobs(JobQuery(status=JobStatus.ARCHIVED), Position(), 5)
    assert page.records == () and page.next_token is None
    assert harvest.calls() == []


async def test_a_name_search_scans_bounded_pages_and_says_filtered_locally(
    harvest: Harvest,
) -> None:
    adapter = adapter_for(harvest.url, harvest.org, scan_rows=6)
    try:
        seen, pages = await all_jobs(adapter, JobQuery(search="  kEEPER "), iter(lambda: 2, None))
    finally:
        await adapter.aclose()
    assert seen == [
        str(j.id)
        for j in sorted(harvest.org.jobs.values(), key=lambda j: j.id)
        if "keeper" in j.name.casefold()
    ]
    assert seen and all(p.filtered_locally for p in pages)
    scans = harvest.calls("GET", JOBS)
    assert scans[0].query == {"per_page": "6"}
    assert all(set(c.query) == {"cursor"} for c in scans[1:])


async def test_updated_after_is_pushed_down_and_strictly_after(harvest: Harvest) -> None:
    middle = sorted(harvest.org.jobs.values(), key=lambda j: j.last_update)[30]
    bound = middle.last_update
    seen, _ = await all_jobs(harvest.adapter, JobQuery(updated_after=bound), iter(lambda: 5, None))
    expected = [
        str(j.id)
        for j in sorted(harvest.org.jobs.values(), key=lambda j: j.id)
        if j.last_update > bound
    ]
    assert seen == expected and str(middle.id) not in seen
    sent = harvest.calls("GET", JOBS)[0].query["updated_at"]
    assert sent.startswith("gt|") and datetime.fromisoformat(sent[3:]) == bound
    before = bound - timedelta(milliseconds=1)
    seen, _ = await all_jobs(harvest.adapter, JobQuery(updated_after=before), iter(lambda: 5, None))
    assert str(middle.id) in seen


async def test_departments_offices_and_stages_are_named_in_a_few_calls(harvest: Harvest) -> None:
    org = harvest.org
    page = await harvest.adapter.list_jobs(JobQuery(), Position(), 60)
    again = await harvest.adapter.list_jobs(JobQuery(), Position(page.next_token), 60)
    records = [*page.records, *again.records]
    assert len(records) == len(org.jobs)
    for record in records:
        job = org.jobs[int(record.remote_id)]
        department = org.departments.get(job.department_id or 0)
        assert record.departments == ((department.name,) if department else ())
        assert record.offices == tuple(org.offices[i].name for i in job.office_ids)
        plan = sorted(
            (s for s in org.job_stages.values() if s.job_id == job.id), key=lambda s: s.sort_order
        )
        assert record.stages is not None
        assert [(s.remote_id, s.name, s.order) for s in record.stages] == [
            (str(s.id), s.name, s.sort_order) for s in plan
        ]
        assert record.status.value.lower() == job.status
        assert record.opened_at == (
            job.opened_at
            and job.opened_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        assert (record.closed_at is None) == (job.status != "closed")
    # one read of each name list for both pages (cached), stages per 50 jobs of a page
    assert len(harvest.calls("GET", "/v3/departments")) == 1
    assert len(harvest.calls("GET", "/v3/offices")) == 1
    stage_calls = harvest.calls("GET", STAGES)
    assert sorted(len(c.query["job_ids"].split(",")) for c in stage_calls) == [1, 10, 50]


async def test_get_jobs_drops_unknown_ids_and_resolves_application_jobs(harvest: Harvest) -> None:
    ids = [str(j) for j in sorted(harvest.org.jobs)]
    found = await harvest.adapter.get_jobs([*reversed(ids), "424242", "x/../y", ids[0]])
    assert sorted(r.remote_id for r in found) == sorted(ids)
    # 61 jobs and one unknown number: two calls
    assert sorted(len(c.query["ids"].split(",")) for c in harvest.calls("GET", JOBS)) == [12, 50]
    assert await harvest.adapter.get_jobs(["424242"]) == []
    assert await harvest.adapter.get_jobs(["nope"]) == []
    # applications name their job by id only (Harvest v3 has no job name on them) ...
    applications = await harvest.adapter.applications_for([str(c) for c in harvest.org.candidates])
    refs = {a.job for rows in applications.values() for a in rows if a.job is not None}
    assert refs and all(ref.name is None for ref in refs)
    # ... and every such id resolves through get_jobs
    resolved = await harvest.adapter.get_jobs([r.remote_id for r in refs if r.remote_id])
    assert {r.remote_id for r in resolved} == {r.remote_id for r in refs}
    assert all(r.name for r in resolved)


async def test_partner_has_no_jobs_listing_and_sends_nothing(
    served: tuple[str, GreenhouseEmulator],
) -> None:
    url, emulator = served
    org = emulator.orgs[0]
    config = AccountConfig(
        id="gh-partner",
        name="Hogwarts",
        provider="greenhouse",
        base_url=f"{url}/v1/partner",
        credentials={"api_key": org.partner_api_key},
        options={"api": "partner", "on_behalf_of": org.users[0].email},
        retries=0,
    )
    adapter = GreenhousePartnerAdapter(config, build_client(config))
    emulator.reset_log()
    try:
        with pytest.raises(UnsupportedByProvider) as listing:
            await adapter.list_jobs(JobQuery(), Position(), 10)
        with pytest.raises(UnsupportedByProvider):
            await adapter.get_jobs(["1"])
    finally:
        await adapter.aclose()
    assert listing.value.code == "UNSUPPORTED_BY_PROVIDER"
    assert listing.value.account == "gh-partner" and listing.value.provider == "greenhouse"
    assert emulator.requests == []


def test_emulator_serves_v3_jobs_with_filters_names_and_stages(harvest: Harvest) -> None:
    org = harvest.org
    answer = harvest.get(JOBS, per_page="5", status="closed")
    rows = answer.json()
    assert answer.status_code == 200 and 'rel="next"' in answer.headers["link"]
    assert [r["id"] for r in rows] == [
        j for j in sorted(org.jobs) if org.jobs[j].status == "closed"
    ][:5]
    assert {
        "id",
        "name",
        "status",
        "department_id",
        "office_ids",
        "opened_at",
        "closed_at",
        "created_at",
        "updated_at",
    } <= set(rows[0])
    some = sorted(org.jobs)[:3]
    assert [r["id"] for r in harvest.get(JOBS, ids=",".join(map(str, some))).json()] == some
    late = harvest.get(JOBS, updated_at="gte|2026-01-02T00:00:00Z").json()
    assert late and all(r["updated_at"] >= "2026-01-02" for r in late)
    for bad in ({"name": "Keeper"}, {"status": "archived"}, {"updated_at": "2026-01-01"}):
        assert harvest.get(JOBS, **bad).status_code == 422
    departments = harvest.get("/v3/departments").json()
    assert {d["name"] for d in departments} == {d.name for d in org.departments.values()}
    assert {o["name"] for o in harvest.get("/v3/offices").json()} == {
        o.name for o in org.offices.values()
    }
    stages = harvest.get(STAGES, job_ids=str(some[0])).json()
    assert [s["name"] for s in stages] == list(JOB_STAGES)
    assert {s["job_id"] for s in stages} == {some[0]}
    too_many = ",".join(str(n) for n in range(1, 52))
    assert harvest.get(STAGES, job_ids=too_many).status_code == 422
