"""Merge jobs, sync filters and typed ATS fields: adapter ⇄ emulator over real HTTP.

The emulator's answers to the new routes are checked against Merge's OpenAPI file here too.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime

import pytest

from emulators.merge.app import LinkedAccount
from emulators.merge.seed import Job
from providers.base import CandidateQuery, Capability, JobQuery, Position
from providers.errors import UnsupportedByProvider
from providers.merge.adapter import SPEC, MergeAdapter
from providers.model import CandidatePatch, JobStatus, Url, UrlType
from tests.merge_openapi import load_spec, problems_in
from tests.merge_support import MergeServer, linked_accounts, running_merge

MISSING = "00000000-0000-4000-8000-000000000000"
STATUSES = {
    "OPEN": JobStatus.OPEN,
    "CLOSED": JobStatus.CLOSED,
    "DRAFT": JobStatus.DRAFT,
    "ARCHIVED": JobStatus.ARCHIVED,
}


@pytest.fixture
def merge() -> Iterator[MergeServer]:
    accounts = linked_accounts()
    accounts["globex"] = LinkedAccount.seeded(
        "Globex", "tok-globex-do-not-leak", seed=23, candidates=20, jobs=37
    )
    with running_merge(accounts) as server:
        yield server


def ordered_jobs(linked: LinkedAccount) -> list[Job]:
    return sorted(linked.jobs.values(), key=lambda j: (j.created_at, j.id))


def status_of(job: Job) -> JobStatus:
    return STATUSES.get(job.status or "", JobStatus.OTHER)


async def drain_jobs(
    adapter: MergeAdapter, query: JobQuery, rng: random.Random | None = None
) -> list[str]:
    """Every job of a listing, asking random page sizes and using a random part of each page."""
    seen: list[str] = []
    position: Position | None = Position()
    for _ in range(200):
        if position is None:
            return seen
        limit = rng.randint(1, 12) if rng else 100
        page = await adapter.list_jobs(query, position, limit)
        used = min(len(page.records), rng.randint(0, limit) if rng else len(page.records))
        seen += [job.remote_id for job in page.records[:used]]
        position = page.resume_at(used)
    raise AssertionError("the listing did not end")


def test_merge_declares_jobs_and_updated_filter() -> None:
    assert {Capability.JOBS, Capability.FILTER_UPDATED} <= SPEC.capabilities


async def test_list_jobs_maps_status_groups_and_times_without_stages(merge: MergeServer) -> None:
    linked = merge.accounts["globex"]
    adapter = merge.adapter("globex")
    page = await adapter.list_jobs(JobQuery(), Position(), 7)
    await adapter.aclose()
    stored = ordered_jobs(linked)[:7]
    assert [j.remote_id for j in page.records] == [j.id for j in stored]
    for job, raw in zip(page.records, stored, strict=True):
        assert (job.name, job.status, job.raw_status) == (raw.name, status_of(raw), raw.status)
        assert job.departments == tuple(linked.departments[d].name for d in raw.department_ids)
        assert job.offices == tuple(linked.offices[o].name for o in raw.office_ids)
        assert job.created_at is not None and job.updated_at is not None
        assert datetime.fromisoformat(job.updated_at) == raw.changed_at
        assert job.stages is None  # listing does not fetch stages: one call per job would
        assert (job.opened_at, job.closed_at) == (None, None)
    assert {j.status for j in page.records} >= {JobStatus.OPEN, JobStatus.CLOSED, JobStatus.OTHER}
    assert [c.route for c in merge.calls("globex")] == ["/jobs"]


@pytest.mark.parametrize("status", [JobStatus.OPEN, JobStatus.CLOSED, JobStatus.ARCHIVED])
async def test_job_status_is_pushed_down_to_merge(merge: MergeServer, status: JobStatus) -> None:
    adapter = merge.adapter("globex")
    seen = await drain_jobs(adapter, JobQuery(status=status), random.Random(7))
    await adapter.aclose()
    wanted = [j.id for j in ordered_jobs(merge.accounts["globex"]) if status_of(j) is status]
    assert seen == wanted and wanted
    assert {c.query["status"] for c in merge.calls("globex", "/jobs")} == {str(status)}


async def test_job_status_other_is_scanned_here(merge: MergeServer) -> None:
    adapter = merge.adapter("globex")
    page = await adapter.list_jobs(JobQuery(status=JobStatus.OTHER), Position(), 100)
    await adapter.aclose()
    wanted = [
        j.id for j in ordered_jobs(merge.accounts["globex"]) if status_of(j) is JobStatus.OTHER
    ]
    assert [j.remote_id for j in page.records] == wanted and wanted
    assert {j.raw_status for j in page.records} == {"PENDING", None}
    assert page.filtered_locally is True
    assert all("status" not in c.query for c in merge.calls("globex", "/jobs"))


async def test_job_name_search_scans_and_filters_case_insensitively(merge: MergeServer) -> None:
    adapter = merge.adapter("globex")
    seen = await drain_jobs(adapter, JobQuery(search="sCiEnT"), random.Random(5))
    page = await adapter.list_jobs(JobQuery(search="scient"), Position(), 3)
    off = merge.adapter("globex", search_scan_pages=0)
    with pytest.raises(UnsupportedByProvider):
        await off.list_jobs(JobQuery(search="scient"), Position(), 3)
    await adapter.aclose()
    await off.aclose()
    jobs = ordered_jobs(merge.accounts["globex"])
    assert seen == [j.id for j in jobs if "scient" in j.name.lower()] and seen
    assert page.filtered_locally is True
    assert [j.remote_id for j in page.records][:3] == seen[:3]
    assert all(c.query["page_size"] == "100" for c in merge.calls("globex", "/jobs"))


async def test_jobs_updated_after_is_pushed_down_and_strictly_after(merge: MergeServer) -> None:
    linked = merge.accounts["globex"]
    jobs = ordered_jobs(linked)
    boundary = sorted(j.changed_at for j in jobs)[len(jobs) // 2]
    adapter = merge.adapter("globex")
    seen = await drain_jobs(adapter, JobQuery(updated_after=boundary), random.Random(3))
    await adapter.aclose()
    # The emulator reads Merge's bound inclusively; the adapter drops the job changed at it.
    assert seen == [j.id for j in jobs if j.changed_at > boundary] and seen
    sent = {c.query["modified_after"] for c in merge.calls("globex", "/jobs")}
    assert {datetime.fromisoformat(s) for s in sent} == {boundary}


async def test_get_jobs_reads_each_with_its_stages_and_skips_unknown_ids(
    merge: MergeServer,
) -> None:
    linked = merge.accounts["initech"]
    first, second = ordered_jobs(linked)[:2]
    adapter = merge.adapter("initech")
    found = await adapter.get_jobs([first.id, MISSING, "not-a-uuid", second.id, first.id])
    await adapter.aclose()
    assert sorted(j.remote_id for j in found) == sorted([first.id, second.id])
    for job in found:
        stages = [s for s in linked.stages.values() if s.job_id == job.remote_id]
        assert job.stages is not None
        assert [(s.remote_id, s.name, s.order) for s in job.stages] == [
            (s.id, s.name, n) for n, s in enumerate(stages)
        ]
    routes = sorted(c.route for c in merge.calls("initech"))
    assert routes == ["/job-interview-stages"] * 2 + ["/jobs/{id}"] * 3
    assert {c.query["job_id"] for c in merge.calls("initech", "/job-interview-stages")} == {
        first.id,
        second.id,
    }


async def test_application_jobs_resolve_through_get_jobs(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    adapter = merge.adapter("initech")
    owner = next(iter(linked.applications.values())).candidate_id
    applications = (await adapter.applications_for([owner]))[owner]
    ids = [a.job.remote_id for a in applications if a.job and a.job.remote_id]
    found = await adapter.get_jobs(ids)
    await adapter.aclose()
    assert ids and sorted(j.remote_id for j in found) == sorted(set(ids))
    names = {j.remote_id: j.name for j in found}
    assert all(a.job is None or names[a.job.remote_id or ""] == a.job.name for a in applications)


# --- candidates: updated_after --------------------------------------------------------------


def candidate_boundary(linked: LinkedAccount) -> datetime:
    moments = sorted(c.modified_at for c in linked.candidates.values())
    return moments[len(moments) // 2]


async def test_candidates_updated_after_is_pushed_down_and_strictly_after(
    merge: MergeServer,
) -> None:
    linked = merge.accounts["initech"]
    boundary = candidate_boundary(linked)
    adapter = merge.adapter("initech")
    query = CandidateQuery(updated_after=boundary)
    seen: list[str] = []
    position: Position | None = Position()
    while position is not None:
        page = await adapter.list_candidates(query, position, 4)
        assert page.filtered_locally is False
        seen += [r.remote_id for r in page.records[:3]]
        position = page.resume_at(min(3, len(page.records)))
    await adapter.aclose()
    wanted = [c.id for c in linked.ordered_candidates() if c.modified_at > boundary]
    assert seen == wanted and wanted
    sent = {c.query["modified_after"] for c in merge.calls("initech", "/candidates")}
    assert {datetime.fromisoformat(s) for s in sent} == {boundary}


async def test_candidates_updated_after_applies_to_the_name_search_scan(
    merge: MergeServer,
) -> None:
    linked = merge.accounts["initech"]
    boundary = candidate_boundary(linked)
    name = "okafor"
    adapter = merge.adapter("initech")
    page = await adapter.list_candidates(
        CandidateQuery(search=name, updated_after=boundary), Position(), 100
    )
    await adapter.aclose()
    everything = [
        c
        for c in linked.ordered_candidates()
        if name in f"{c.first_name} {c.last_name} {c.email_addresses}".lower()
    ]
    wanted = [c.id for c in everything if c.modified_at > boundary]
    assert [r.remote_id for r in page.records] == wanted and wanted != [c.id for c in everything]
    assert page.filtered_locally is True
    assert all("modified_after" in c.query for c in merge.calls("initech", "/candidates"))


async def test_candidates_updated_after_on_a_job_is_filtered_here(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    job = max(
        linked.jobs.values(),
        key=lambda j: sum(a.job_id == j.id for a in linked.applications.values()),
    )
    applicants = list(
        dict.fromkeys(
            a.candidate_id
            for a in sorted(linked.applications.values(), key=lambda a: (a.created_at, a.id))
            if a.job_id == job.id
        )
    )
    moments = sorted(linked.candidates[c].modified_at for c in applicants)
    boundary = moments[len(moments) // 2]
    adapter = merge.adapter("initech")
    query = CandidateQuery(job_remote_id=job.id, updated_after=boundary)
    page = await adapter.list_candidates(query, Position(), 100)
    await adapter.aclose()
    wanted = [c for c in applicants if linked.candidates[c].modified_at > boundary]
    assert [r.remote_id for r in page.records] == wanted and wanted
    assert page.filtered_locally is True
    # Merge's modified_after on /applications would filter applications, not their candidates.
    assert all("modified_after" not in c.query for c in merge.calls("initech"))


# --- typed ATS fields, url types ------------------------------------------------------------


async def test_remote_id_and_deletion_are_typed_and_a_deleted_record_says_so(
    merge: MergeServer,
) -> None:
    linked = merge.accounts["initech"]
    gone = linked.ordered_candidates()[2]
    gone.remote_was_deleted = True
    adapter = merge.adapter("initech")
    page = await adapter.list_candidates(CandidateQuery(), Position(), 5)
    (read,) = await adapter.get_candidates([gone.id])
    await adapter.aclose()
    assert gone.id not in [r.remote_id for r in page.records]  # Merge lists it no more
    first = page.records[0]
    assert (first.ats_remote_id, first.remote_was_deleted) == (
        linked.ordered_candidates()[0].remote_id,
        False,
    )
    assert (read.ats_remote_id, read.remote_was_deleted) == (gone.remote_id, True)
    assert read.custom_fields is None or "remote_was_deleted" not in read.custom_fields


async def test_a_url_type_merge_lacks_is_sent_as_its_nearest_with_a_warning(
    merge: MergeServer,
) -> None:
    linked = merge.accounts["initech"]
    target = linked.ordered_candidates()[0]
    adapter = merge.adapter("initech")
    urls = (
        Url("https://cv.example/a.pdf", UrlType.RESUME),
        Url("https://jobs.example/1", UrlType.JOB_POSTING),
    )
    result = await adapter.update_candidate(target.id, CandidatePatch(urls=urls))
    await adapter.aclose()
    (call,) = merge.calls("initech", "/candidates/{id}")
    assert isinstance(call.body, dict)
    assert call.body["model"]["urls"] == [
        {"value": "https://cv.example/a.pdf", "url_type": "OTHER"},
        {"value": "https://jobs.example/1", "url_type": "JOB_POSTING"},
    ]
    assert [(w.code, w.field, w.message) for w in result.warnings] == [
        (
            "ADJUSTED_FIELD",
            ("urls", "0", "type"),
            "Merge has no url type RESUME; it was sent as OTHER",
        )
    ]
    assert [u.type for u in result.record.urls] == [UrlType.OTHER, UrlType.JOB_POSTING]


# --- Merge's OpenAPI file -------------------------------------------------------------------

RESPONSES = {
    "/jobs": "PaginatedJobList",
    "/jobs/{id}": "Job",
    "/job-interview-stages": "PaginatedJobInterviewStageList",
    "/candidates": "PaginatedCandidateList",
    "/candidates/{id}": "Candidate",
}
# `expand` is the current API's (merge-python-client: JobsListRequestExpand), not the 2023 file's.
EXPANDS = {"/jobs": {"departments", "offices"}, "/jobs/{id}": {"departments", "offices"}}


async def test_job_traffic_conforms_to_merges_api(merge: MergeServer) -> None:
    spec = load_spec()
    linked = merge.accounts["globex"]
    adapter = merge.adapter("globex", include_remote_data=True)
    after = candidate_boundary(linked)
    await drain_jobs(adapter, JobQuery(updated_after=after), random.Random(9))
    await drain_jobs(adapter, JobQuery(status=JobStatus.DRAFT, search="e"))
    await adapter.get_jobs([j.id for j in ordered_jobs(linked)[:3]] + [MISSING])
    await adapter.list_candidates(CandidateQuery(updated_after=after), Position(), 5)
    await adapter.aclose()
    requests = [r for r in merge.emulator.requests if r.route in RESPONSES]
    assert {r.route for r in requests} == set(RESPONSES) - {"/candidates/{id}"}
    found: list[str] = []
    for request in requests:
        where = f"{request.method} {request.path} → {request.status}"
        operation = spec["paths"][request.route]["get"]
        documented = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        documented |= {"expand"} if request.route in EXPANDS else set()
        found += [f"{where}: query {n!r}" for n in request.query if n not in documented]
        expand = {p for p in request.query.get("expand", "").split(",") if p}
        found += [f"{where}: expand {p!r}" for p in expand - EXPANDS.get(request.route, set())]
        schema = RESPONSES[request.route] if request.status == 200 else "DetailError"
        found += [f"{where}: {p}" for p in problems_in(request.response, schema)]
    assert found == []
    assert any(r.status == 404 for r in requests)


def test_the_job_schemas_are_the_ones_checked() -> None:
    """The validator knows Merge's job shapes, so a wrong emulator answer could fail the check."""
    load_spec()
    bad = {"id": "not-a-uuid", "status": "HIRING", "departments": [{"name": 3}]}
    found = problems_in(bad, "Job")
    assert any("is not a uuid" in p for p in found)
    assert any("'HIRING' is not one of" in p for p in found)
    assert problems_in({"next": None, "results": [{"job": 5}]}, "PaginatedJobInterviewStageList")
