"""The Talynce adapter's hiring pipeline (applications listed, created and moved; what Talynce
cannot do refused), against the Talynce emulator over real HTTP on loopback."""

from __future__ import annotations

import dataclasses
import random
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulators.faults import FaultProfile
from emulators.seed import PIPELINE_STATUSES, Application, Candidate
from emulators.talynce.app import RecordedRequest, TalynceEmulator, TalynceOrg
from providers.base import AccountConfig, ApplicationPage, ApplicationQuery, Capability, Position
from providers.errors import (
    FieldProblem,
    NotFound,
    Rejected,
    UnsupportedByProvider,
    UpstreamOutcomeUnknown,
)
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    JobRef,
    NewApplication,
    NoteVisibility,
    WriteWarning,
)
from providers.talynce.adapter import SPEC, TalynceAdapter
from providers.upstream.http import build_client
from tests.servers import serve_in_thread

API_KEY = "tly-pipeline-key-0123456789"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
PIPELINE_ACTIONS = {
    Capability.LIST_APPLICATIONS,
    Capability.CREATE_APPLICATION,
    Capability.MOVE_APPLICATION,
}


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
    return TalynceOrg.seeded("acme", API_KEY, candidates=70, jobs=3, masked=4, seed=18)


@dataclass
class Talynce:
    url: str
    emulator: TalynceEmulator
    org: TalynceOrg
    adapter: TalynceAdapter

    def calls(self, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.emulator.requests if method is None or r.method == method]

    def lists(self) -> list[RecordedRequest]:
        return [r for r in self.calls("GET") if r.path == "/api/v1/candidates"]

    def reads(self) -> list[RecordedRequest]:
        return [r for r in self.calls("GET") if r.path.startswith("/api/v1/candidates/")]

    def job(self, n: int = 0) -> str:
        return sorted(self.org.jobs, key=lambda j: (j.created_at, j.id))[n].id

    def on_job(self, job_id: str) -> list[Application]:
        """The job's rows in the order Talynce lists their candidates."""
        return [
            a for c in self.org.ordered_candidates() for a in c.applications if a.job_id == job_id
        ]

    def candidate(self, test: Any = lambda c: True) -> Candidate:
        return next(c for c in self.org.ordered_candidates() if test(c))

    def row(self, candidate: Candidate, job_id: str) -> Application:
        return next(a for a in candidate.applications if a.job_id == job_id)

    def unlinked(self, candidate: Candidate) -> str:
        linked = {a.job_id for a in candidate.applications}
        return next(j.id for j in self.org.jobs if j.id not in linked)


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


async def walk(
    talynce: Talynce, query: ApplicationQuery, rng: random.Random, max_limit: int = 9
) -> tuple[list[str], list[ApplicationPage]]:
    """Every row of a listing, asking random page sizes and using a random part of each page."""
    seen: list[str] = []
    pages: list[ApplicationPage] = []
    position: Position | None = Position()
    for _ in range(300):
        assert position is not None
        page = await talynce.adapter.list_applications(query, position, rng.randint(1, max_limit))
        pages.append(page)
        used = rng.randint(1, len(page.records)) if page.records else 0
        seen += [r.remote_id for r in page.records[:used]]
        position = page.resume_at(used)
        if position is None:
            return seen, pages
    raise AssertionError("the listing did not end")


# --- capabilities ----------------------------------------------------------------------------


def test_declares_listing_create_and_move_and_nothing_talynce_lacks() -> None:
    for capabilities in (SPEC.capabilities, TalynceAdapter.capabilities):
        assert capabilities >= PIPELINE_ACTIONS
        assert (
            not {
                Capability.REJECT_REASONS,
                Capability.REJECT_APPLICATION,
                Capability.ADD_NOTE,
            }
            & capabilities
        )


async def test_what_talynce_cannot_do_is_refused_without_a_call(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: c.applications)
    row = (
        await talynce.adapter.list_applications(
            ApplicationQuery(candidate_remote_id=candidate.id), Position(), 5
        )
    ).records[0]
    talynce.emulator.reset_log()
    actions = [
        talynce.adapter.list_reject_reasons(),
        talynce.adapter.reject_application(row, None, None),
        talynce.adapter.unreject_application(row),
        talynce.adapter.add_note(candidate.id, "Strong", NoteVisibility.PUBLIC),
    ]
    for action in actions:
        with pytest.raises(UnsupportedByProvider) as caught:
            await action
        assert (caught.value.account, caught.value.provider) == ("acme", "talynce")
    assert talynce.calls() == []


# --- listing by candidate ----------------------------------------------------------------------


async def test_a_candidates_applications_come_from_its_one_get(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: any(a.status == "Rejected" for a in c.applications))

    page = await talynce.adapter.list_applications(
        ApplicationQuery(candidate_remote_id=candidate.id), Position(), 10
    )

    assert [r.path for r in talynce.calls()] == [f"/api/v1/candidates/{candidate.id}"]
    stored = sorted(candidate.applications, key=lambda a: (a.created_at, a.id))
    assert [r.remote_id for r in page.records] == [a.id for a in stored]
    assert (page.total, page.next_token, page.filtered_locally) == (len(stored), None, False)
    rejected = next(r for r in page.records if r.raw_status == "Rejected")
    assert rejected.status is ApplicationStatus.REJECTED
    assert (rejected.stage, rejected.stage_id) == ("Rejected", "Rejected")
    assert rejected.rejected_at == rejected.remote_data["status_date"]
    assert rejected.created_at == rejected.applied_at == rejected.remote_data["created_at"]
    assert rejected.updated_at == rejected.remote_data["updated_at"]
    assert rejected.candidate_remote_id == candidate.id
    assert all(r.rejected_at is None for r in page.records if r.raw_status != "Rejected")


async def test_other_filters_on_a_candidate_are_applied_here(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: len(c.applications) >= 2)
    target = candidate.applications[1]
    queries = [
        ApplicationQuery(candidate_remote_id=candidate.id, job_remote_id=target.job_id),
        ApplicationQuery(candidate_remote_id=candidate.id, stage_remote_id=target.status.upper()),
        ApplicationQuery(
            candidate_remote_id=candidate.id,
            updated_after=target.updated_at - timedelta(milliseconds=1),
        ),
    ]
    for query in queries:
        page = await talynce.adapter.list_applications(query, Position(), 10)
        keep = [a for a in candidate.applications if _holds(a, query)]
        assert {r.remote_id for r in page.records} == {a.id for a in keep}
        assert target.id in {r.remote_id for r in page.records}
        assert page.filtered_locally
    assert len(talynce.calls()) == len(queries)


def _holds(row: Application, query: ApplicationQuery) -> bool:
    return (
        (query.job_remote_id is None or row.job_id == query.job_remote_id)
        and (
            query.stage_remote_id is None
            or row.status.casefold() == query.stage_remote_id.casefold()
        )
        and (query.updated_after is None or row.updated_at > query.updated_after)
    )


async def test_an_unknown_candidate_has_no_applications(talynce: Talynce) -> None:
    page = await talynce.adapter.list_applications(
        ApplicationQuery(candidate_remote_id=UNKNOWN_ID), Position(), 10
    )

    assert (page.records, page.next_token, page.total) == ((), None, 0)


async def test_a_candidates_applications_page_exactly_once(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: len(c.applications) == 3)
    for seed in range(5):
        seen, _ = await walk(
            talynce, ApplicationQuery(candidate_remote_id=candidate.id), random.Random(seed), 2
        )
        assert sorted(seen) == sorted(a.id for a in candidate.applications)
        assert len(seen) == len(set(seen))


# --- listing by job ----------------------------------------------------------------------------


async def test_a_jobs_applications_push_job_id_down_then_read_each_candidate(
    talynce: Talynce,
) -> None:
    job = talynce.job()
    expected = talynce.on_job(job)

    page = await talynce.adapter.list_applications(
        ApplicationQuery(job_remote_id=job), Position(), 6
    )

    assert [r.remote_id for r in page.records] == [a.id for a in expected[:6]]
    assert all(r.job == JobRef(job) and r.stage_id == r.raw_status for r in page.records)
    assert [r.query for r in talynce.lists()] == [{"job_id": job, "limit": "6", "offset": "0"}]
    assert sorted(r.path.rsplit("/", 1)[1] for r in talynce.reads()) == sorted(
        a.candidate_id for a in expected[:6]
    )
    assert len(talynce.calls()) == 7
    assert (page.total, page.next_token, page.filtered_locally) == (len(expected), "6", False)


async def test_a_failed_candidate_read_in_a_job_listing_is_asked_again(talynce: Talynce) -> None:
    """The fault profiles reach these reads like any other: a 503 on one GET is retried."""
    job = talynce.job()
    talynce.org.faults = FaultProfile(script=deque(["pass", "error"]), error_statuses=(503,))

    page = await talynce.adapter.list_applications(
        ApplicationQuery(job_remote_id=job), Position(), 3
    )

    assert [r.remote_id for r in page.records] == [a.id for a in talynce.on_job(job)[:3]]
    assert sorted(r.status for r in talynce.calls()) == [200, 200, 200, 200, 503]


async def test_a_jobs_applications_page_exactly_once(talynce: Talynce) -> None:
    job = talynce.job(1)
    expected = [a.id for a in talynce.on_job(job)]
    for seed in range(4):
        seen, _ = await walk(talynce, ApplicationQuery(job_remote_id=job), random.Random(seed))
        assert seen == expected


async def test_a_status_on_a_job_is_filtered_here_over_a_bounded_scan(talynce: Talynce) -> None:
    job = talynce.job(2)
    query = ApplicationQuery(job_remote_id=job, status=ApplicationStatus.ACTIVE)
    expected = [a.id for a in talynce.on_job(job) if a.status not in ("Hired", "Rejected")]
    assert 0 < len(expected) < len(talynce.on_job(job))
    for seed in range(4):
        seen, pages = await walk(talynce, query, random.Random(seed))
        assert seen == expected
        assert all(p.filtered_locally and p.total is None for p in pages)


async def test_a_stage_and_an_update_time_on_a_job_are_filtered_here(talynce: Talynce) -> None:
    job = talynce.job()
    rows = talynce.on_job(job)
    cutoff = sorted(a.updated_at for a in rows)[len(rows) // 2]
    for query in (
        ApplicationQuery(job_remote_id=job, stage_remote_id="screening"),
        ApplicationQuery(job_remote_id=job, updated_after=cutoff),
    ):
        seen, _ = await walk(talynce, query, random.Random(3))
        assert seen == [a.id for a in rows if _holds(a, query)]
        assert seen


async def test_a_scan_that_finds_nothing_stops_at_scan_pages_and_resumes(
    talynce: Talynce,
) -> None:
    adapter = adapter_for(talynce.url, scan_pages=2)
    job = talynce.job()
    query = ApplicationQuery(job_remote_id=job, updated_after=datetime.now(UTC) + timedelta(1))
    try:
        page = await adapter.list_applications(query, Position(), 4)
    finally:
        await adapter.aclose()

    assert (page.records, page.next_token, page.filtered_locally) == ((), "8", True)
    assert [r.query["offset"] for r in talynce.lists()] == ["0", "4"]
    assert len(talynce.reads()) == 8


async def test_a_job_filter_with_scanning_off_refuses_only_what_needs_a_scan(
    talynce: Talynce,
) -> None:
    adapter = adapter_for(talynce.url, scan_pages=0)
    job = talynce.job()
    try:
        page = await adapter.list_applications(ApplicationQuery(job_remote_id=job), Position(), 3)
        assert len(page.records) == 3
        talynce.emulator.reset_log()
        with pytest.raises(UnsupportedByProvider):
            await adapter.list_applications(
                ApplicationQuery(job_remote_id=job, status=ApplicationStatus.HIRED), Position(), 3
            )
    finally:
        await adapter.aclose()
    assert talynce.calls() == []


@pytest.mark.parametrize(
    "query",
    [
        ApplicationQuery(),
        ApplicationQuery(status=ApplicationStatus.ACTIVE),
        ApplicationQuery(stage_remote_id="Applied"),
        ApplicationQuery(updated_after=datetime(2024, 1, 1, tzinfo=UTC)),
    ],
    ids=["none", "status", "stage", "updated"],
)
async def test_without_a_job_or_candidate_the_listing_is_refused(
    talynce: Talynce, query: ApplicationQuery
) -> None:
    """What one candidate's GET answers, an org-wide listing would need a GET per candidate
    for: the same filters are served with a candidate and refused without one."""
    candidate = talynce.candidate(lambda c: c.applications)
    scoped = dataclasses.replace(query, candidate_remote_id=candidate.id)
    await talynce.adapter.list_applications(scoped, Position(), 10)
    talynce.emulator.reset_log()

    with pytest.raises(UnsupportedByProvider) as caught:
        await talynce.adapter.list_applications(query, Position(), 10)

    assert caught.value.code == "UNSUPPORTED_BY_PROVIDER"
    assert talynce.calls() == []


async def test_applications_for_fills_stage_and_timestamps(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: c.applications)

    found = await talynce.adapter.applications_for([candidate.id])

    rows = {r.remote_id: r for r in found[candidate.id]}
    for stored in candidate.applications:
        row = rows[stored.id]
        assert (row.stage, row.stage_id, row.raw_status) == (stored.status,) * 3
        assert row.updated_at is not None and row.remote_data["id"] == stored.id


# --- create ------------------------------------------------------------------------------------


async def test_create_sends_the_candidate_update_once_and_defaults_the_stage(
    talynce: Talynce,
) -> None:
    candidate = talynce.candidate(lambda c: c.talent_pool_status == "masked")
    job = talynce.unlinked(candidate)

    result = await talynce.adapter.create_application(NewApplication(candidate.id, job))

    patches = talynce.calls("PATCH")
    assert [(r.path, r.body) for r in patches] == [
        (f"/api/v1/candidates/{candidate.id}", {"application": {"job_id": job}})
    ]
    stored = talynce.row(candidate, job)
    assert (result.created, result.warnings) == (True, ())
    assert result.record.remote_id == stored.id
    assert (result.record.stage_id, stored.status) == (PIPELINE_STATUSES[0], "Applied")


async def test_create_at_a_stage_and_with_a_source(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: len(c.applications) < 3)
    job = talynce.unlinked(candidate)

    result = await talynce.adapter.create_application(
        NewApplication(candidate.id, job, "interview", source="referral")
    )

    assert talynce.calls("PATCH")[0].body == {"application": {"job_id": job, "status": "interview"}}
    assert (result.record.stage, talynce.row(candidate, job).status) == ("Interview", "Interview")
    assert result.warnings == (
        WriteWarning(
            "Talynce keeps no source on an application; it was not saved",
            "IGNORED_FIELD",
            ("source",),
        ),
    )


async def test_create_where_the_candidate_is_on_the_job_changes_nothing(
    talynce: Talynce,
) -> None:
    candidate = talynce.candidate(lambda c: any(a.status == "Applied" for a in c.applications))
    stored = next(a for a in candidate.applications if a.status == "Applied")

    result = await talynce.adapter.create_application(
        NewApplication(candidate.id, stored.job_id, "Offered")
    )

    assert talynce.calls("PATCH") == []
    assert (result.created, result.record.remote_id, stored.status) == (False, stored.id, "Applied")
    assert [w.field for w in result.warnings] == [("stage_id",)]


async def test_create_at_a_status_outside_the_pipeline_is_refused(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: len(c.applications) < 3)
    job = talynce.unlinked(candidate)

    with pytest.raises(Rejected) as caught:
        await talynce.adapter.create_application(NewApplication(candidate.id, job, "Limbo"))

    assert caught.value.problems == [
        FieldProblem(
            "INVALID_PIPELINE_STATUS",
            "Talynce has no such pipeline status in this account's settings",
            ("stage_id",),
        )
    ]
    assert "Limbo" not in caught.value.message
    assert all(a.job_id != job for a in candidate.applications)


async def test_create_on_an_unknown_job_is_refused(talynce: Talynce) -> None:
    candidate = talynce.candidate()

    with pytest.raises(Rejected) as caught:
        await talynce.adapter.create_application(NewApplication(candidate.id, UNKNOWN_ID))

    assert [(p.code, p.field) for p in caught.value.problems] == [("BAD_USER_INPUT", ("job_id",))]


async def test_create_for_an_unknown_candidate_sends_no_write(talynce: Talynce) -> None:
    with pytest.raises(NotFound):
        await talynce.adapter.create_application(NewApplication(UNKNOWN_ID, talynce.job()))

    assert talynce.calls("PATCH") == []


@pytest.mark.parametrize(
    ("new", "field"),
    [
        (NewApplication("", "job"), ("candidate_id",)),
        (NewApplication("c", " "), ("job_id",)),
        (NewApplication("c", "job", " "), ("stage_id",)),
    ],
)
async def test_create_checks_its_input_before_any_call(
    talynce: Talynce, new: NewApplication, field: tuple[str, ...]
) -> None:
    with pytest.raises(Rejected) as caught:
        await talynce.adapter.create_application(new)

    assert [(p.code, p.field) for p in caught.value.problems] == [("REQUIRED", field)]
    assert talynce.calls() == []


async def test_create_answered_5xx_after_it_was_stored_is_outcome_unknown(
    talynce: Talynce,
) -> None:
    candidate = talynce.candidate(lambda c: len(c.applications) < 3)
    job = talynce.unlinked(candidate)
    talynce.org.faults = FaultProfile(script=deque(["pass", "stored_error"]))

    with pytest.raises(UpstreamOutcomeUnknown):
        await talynce.adapter.create_application(NewApplication(candidate.id, job))

    assert len(talynce.calls("PATCH")) == 1
    assert talynce.row(candidate, job).status == "Applied"


# --- move --------------------------------------------------------------------------------------


async def _read(talynce: Talynce, candidate: Candidate, job_id: str) -> ApplicationRecord:
    page = await talynce.adapter.list_applications(
        ApplicationQuery(candidate_remote_id=candidate.id, job_remote_id=job_id), Position(), 5
    )
    talynce.emulator.reset_log()
    return page.records[0]


async def test_move_sends_the_rows_job_and_the_new_status_once(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: any(a.status == "Screening" for a in c.applications))
    stored = next(a for a in candidate.applications if a.status == "Screening")
    row = await _read(talynce, candidate, stored.job_id)

    result = await talynce.adapter.move_application(row, "Interview")

    assert [(r.method, r.path, r.body) for r in talynce.calls()] == [
        (
            "PATCH",
            f"/api/v1/candidates/{candidate.id}",
            {"application": {"job_id": stored.job_id, "status": "Interview"}},
        )
    ]
    assert (result.created, result.record.remote_id) == (False, stored.id)
    assert (result.record.stage_id, result.record.status) == ("Interview", ApplicationStatus.ACTIVE)
    assert stored.status == "Interview"
    assert result.record.updated_at != row.updated_at


async def test_move_to_a_status_outside_the_pipeline_is_refused(talynce: Talynce) -> None:
    """Talynce's stages are the org's pipeline, the same for every job: a stage of another job
    is a stage of this one, and what it refuses is a status outside that pipeline."""
    talynce.org.pipeline = ("Applied", "Screening", "Shortlisted", "Interview", "Hired")
    candidate = talynce.candidate(lambda c: any(a.status == "Applied" for a in c.applications))
    stored = next(a for a in candidate.applications if a.status == "Applied")
    row = await _read(talynce, candidate, stored.job_id)

    with pytest.raises(Rejected) as caught:
        await talynce.adapter.move_application(row, "Rejected")

    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("INVALID_PIPELINE_STATUS", ("stage_id",))
    ]
    assert (stored.status, len(talynce.calls("PATCH"))) == ("Applied", 1)


async def test_move_of_a_gone_candidate_is_not_found(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: c.applications)
    row = await _read(talynce, candidate, candidate.applications[0].job_id)
    del talynce.org.candidates[candidate.id]

    with pytest.raises(NotFound):
        await talynce.adapter.move_application(row, "Offered")


async def test_move_checks_its_input_before_any_call(talynce: Talynce) -> None:
    candidate = talynce.candidate(lambda c: c.applications)
    row = await _read(talynce, candidate, candidate.applications[0].job_id)
    jobless = ApplicationRecord(row.remote_id, candidate.id, None, row.status)

    for application, stage, field in ((row, "  ", ("stage_id",)), (jobless, "Offered", ("id",))):
        with pytest.raises(Rejected) as caught:
            await talynce.adapter.move_application(application, stage)
        assert [p.field for p in caught.value.problems] == [field]
    assert talynce.calls() == []


async def test_move_answered_5xx_after_it_was_stored_is_outcome_unknown(
    talynce: Talynce,
) -> None:
    candidate = talynce.candidate(lambda c: any(a.status == "Applied" for a in c.applications))
    stored = next(a for a in candidate.applications if a.status == "Applied")
    row = await _read(talynce, candidate, stored.job_id)
    talynce.org.faults = FaultProfile(script=deque(["stored_error"]), error_statuses=(502,))

    with pytest.raises(UpstreamOutcomeUnknown):
        await talynce.adapter.move_application(row, "Offered")

    assert [r.status for r in talynce.calls()] == [502]
    assert stored.status == "Offered"
