"""Merge's hiring pipeline: applications, reject reasons, create/move and notes, adapter ⇄ emulator
over real HTTP; every request and answer is also checked against Merge's OpenAPI file."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from emulators.faults import FaultProfile
from emulators.merge.app import LinkedAccount
from emulators.merge.seed import Application
from providers.base import ApplicationQuery, Capability, Position
from providers.errors import NotFound, Rejected, UnsupportedByProvider, UpstreamOutcomeUnknown
from providers.merge.adapter import SPEC, MergeAdapter
from providers.model import ApplicationRecord, ApplicationStatus, NewApplication, NoteVisibility
from tests.merge_openapi import check_traffic, load_spec
from tests.merge_support import API_KEY, MergeServer, linked_accounts, running_merge

MISSING = "00000000-0000-4000-8000-000000000000"
JOB_ROUTES = frozenset({"/jobs", "/jobs/{id}", "/job-interview-stages"})
PIPELINE_WRITES = {
    Capability.CREATE_APPLICATION,
    Capability.MOVE_APPLICATION,
    Capability.ADD_NOTE,
}


@pytest.fixture
def merge() -> Iterator[MergeServer]:
    accounts = linked_accounts()
    accounts["globex"] = LinkedAccount.seeded(
        "Globex", "tok-globex-do-not-leak", seed=23, candidates=150, jobs=6
    )
    with running_merge(accounts) as server:
        yield server
    load_spec()
    # Job routes have their own check (test_merge_jobs); a fault profile's answers are no Merge's.
    traffic = [
        r for r in server.emulator.requests if r.route not in JOB_ROUTES and r.response != {}
    ]
    assert check_traffic(traffic) == []


def ordered(linked: LinkedAccount) -> list[Application]:
    return sorted(linked.applications.values(), key=lambda a: (a.created_at, a.id))


def derived_status(linked: LinkedAccount, application: Application) -> ApplicationStatus:
    if application.rejected_at is not None:
        return ApplicationStatus.REJECTED
    if any(linked.offers[o].status == "SIGNED" for o in application.offer_ids):
        return ApplicationStatus.HIRED
    return ApplicationStatus.ACTIVE


async def drain(
    adapter: MergeAdapter, query: ApplicationQuery, rng: random.Random | None = None
) -> list[ApplicationRecord]:
    """Every application of a listing, asking random page sizes and using part of each page."""
    seen: list[ApplicationRecord] = []
    position: Position | None = Position()
    for _ in range(500):
        if position is None:
            return seen
        limit = rng.randint(1, 40) if rng else 100
        page = await adapter.list_applications(query, position, limit)
        used = min(len(page.records), rng.randint(0, limit) if rng else len(page.records))
        seen += page.records[:used]
        position = page.resume_at(used)
    raise AssertionError("the listing did not end")


def other_job_stage(linked: LinkedAccount, application: Application) -> str:
    return next(s.id for s in linked.stages.values() if s.job_id != application.job_id)


def posts(merge: MergeServer, name: str) -> list[str]:
    return [r.route for r in merge.calls(name) if r.method == "POST"]


# --- capabilities ----------------------------------------------------------------------------


def test_merge_declares_what_its_unified_api_offers(merge: MergeServer) -> None:
    assert {Capability.LIST_APPLICATIONS, Capability.REJECT_REASONS} | PIPELINE_WRITES <= (
        SPEC.capabilities
    )
    assert Capability.REJECT_APPLICATION not in SPEC.capabilities
    assert merge.adapter("initech").capabilities >= PIPELINE_WRITES
    reader = merge.adapter("initech", remote_user_id=None).capabilities
    assert Capability.LIST_APPLICATIONS in reader and not PIPELINE_WRITES & reader


async def test_reject_and_unreject_are_refused_without_a_call(merge: MergeServer) -> None:
    adapter = merge.adapter("initech")
    (application,) = (await adapter.list_applications(ApplicationQuery(), Position(), 1)).records
    before = len(merge.emulator.requests)
    with pytest.raises(UnsupportedByProvider) as refused:
        await adapter.reject_application(application, None, "no")
    with pytest.raises(UnsupportedByProvider):
        await adapter.unreject_application(application)
    await adapter.aclose()
    assert refused.value.account == "merge-initech"
    assert len(merge.emulator.requests) == before


async def test_writes_without_a_remote_user_are_refused_without_a_call(merge: MergeServer) -> None:
    adapter = merge.adapter("initech", remote_user_id=None)
    linked = merge.accounts["initech"]
    application = ordered(linked)[0]
    with pytest.raises(UnsupportedByProvider) as create:
        await adapter.create_application(NewApplication(application.candidate_id, MISSING))
    with pytest.raises(UnsupportedByProvider) as note:
        await adapter.add_note(application.candidate_id, "hello", None)
    await adapter.aclose()
    assert merge.emulator.requests == []
    # The refusal says what the operator can change, as create_candidate's does.
    assert all("remote_user_id" in e.value.message for e in (create, note))


# --- listing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_applications_come_exactly_once_over_random_pages(
    merge: MergeServer, seed: int
) -> None:
    linked = merge.accounts["globex"]
    assert len(linked.applications) > 100  # more than one Merge page
    adapter = merge.adapter("globex")
    seen = await drain(adapter, ApplicationQuery(), random.Random(seed))
    await adapter.aclose()
    assert [r.remote_id for r in seen] == [a.id for a in ordered(linked)]
    calls = merge.calls("globex", "/applications")
    assert all(int(c.query["page_size"]) <= 100 for c in calls)
    assert {c.query["expand"] for c in calls} == {"current_stage,job,offers,reject_reason"}


async def test_applications_carry_stage_ids_of_their_jobs_and_named_reasons(
    merge: MergeServer,
) -> None:
    linked = merge.accounts["initech"]
    adapter = merge.adapter("initech")
    records = await drain(adapter, ApplicationQuery())
    jobs = {j.remote_id: j for j in await adapter.get_jobs(list(linked.jobs))}
    await adapter.aclose()
    rejected = 0
    for record in records:
        stored = linked.applications[record.remote_id]
        assert record.job is not None and record.job.remote_id == stored.job_id
        stages = {s.remote_id: s.name for s in jobs[stored.job_id].stages or ()}
        assert record.stage_id == stored.stage_id and record.stage == stages[record.stage_id]
        assert record.status is derived_status(linked, stored)
        assert record.source == stored.source
        assert record.created_at is not None and record.updated_at is not None
        if stored.reject_reason_id is not None:
            rejected += 1
            reason = linked.reject_reasons[stored.reject_reason_id]
            assert record.reject_reason is not None
            assert (record.reject_reason.remote_id, record.reject_reason.name) == (
                reason.id,
                reason.name,
            )
            assert record.rejected_at is not None
    assert rejected > 0


async def test_candidate_applications_fill_the_new_fields(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    stored = next(a for a in ordered(linked) if a.reject_reason_id is not None)
    adapter = merge.adapter("initech")
    found = await adapter.applications_for([stored.candidate_id])
    await adapter.aclose()
    record = next(r for r in found[stored.candidate_id] if r.remote_id == stored.id)
    assert record.stage_id == stored.stage_id
    assert record.reject_reason is not None
    assert record.reject_reason.name == linked.reject_reasons[stored.reject_reason_id].name
    assert record.rejected_at is not None and record.source == stored.source


@pytest.mark.parametrize(
    ("field", "param", "attribute"),
    [
        ("job_remote_id", "job_id", "job_id"),
        ("candidate_remote_id", "candidate_id", "candidate_id"),
        ("stage_remote_id", "current_stage_id", "stage_id"),
    ],
)
async def test_id_filters_are_pushed_down(
    merge: MergeServer, field: str, param: str, attribute: str
) -> None:
    linked = merge.accounts["globex"]
    wanted = getattr(ordered(linked)[3], attribute)
    adapter = merge.adapter("globex")
    query = ApplicationQuery(**{field: wanted})
    page = await adapter.list_applications(query, Position(), 100)
    await adapter.aclose()
    expected = [a.id for a in ordered(linked) if getattr(a, attribute) == wanted]
    assert [r.remote_id for r in page.records] == expected and not page.filtered_locally
    (call,) = merge.calls("globex", "/applications")
    assert call.query[param] == wanted


async def test_updated_after_is_pushed_down_and_strictly_after(merge: MergeServer) -> None:
    linked = merge.accounts["globex"]
    moments = sorted(a.changed_at for a in linked.applications.values())
    boundary = moments[len(moments) // 2]
    adapter = merge.adapter("globex")
    seen = await drain(adapter, ApplicationQuery(updated_after=boundary), random.Random(5))
    await adapter.aclose()
    expected = [a.id for a in ordered(linked) if a.changed_at > boundary]
    assert [r.remote_id for r in seen] == expected
    calls = merge.calls("globex", "/applications")
    assert {datetime.fromisoformat(c.query["modified_after"]) for c in calls} == {boundary}


@pytest.mark.parametrize("status", [ApplicationStatus.REJECTED, ApplicationStatus.HIRED])
@pytest.mark.parametrize("seed", [1, 2])
async def test_status_is_filtered_locally_exactly_once(
    merge: MergeServer, status: ApplicationStatus, seed: int
) -> None:
    linked = merge.accounts["globex"]
    adapter = merge.adapter("globex")
    rng = random.Random(seed)
    seen: list[ApplicationRecord] = []
    position: Position | None = Position()
    while position is not None:
        page = await adapter.list_applications(
            ApplicationQuery(status=status), position, rng.randint(1, 9)
        )
        assert page.filtered_locally
        used = rng.randint(0, len(page.records)) if page.records else 0
        seen += page.records[:used]
        position = page.resume_at(used)
    await adapter.aclose()
    expected = [a.id for a in ordered(linked) if derived_status(linked, a) is status]
    assert expected and [r.remote_id for r in seen] == expected
    assert all("status" not in c.query for c in merge.calls("globex", "/applications"))


async def test_status_scan_is_bounded_and_other_needs_no_call(merge: MergeServer) -> None:
    linked = merge.accounts["globex"]
    narrow = merge.adapter("globex", search_scan_pages=1)
    first = ordered(linked)[:100]
    hired = [a.id for a in first if derived_status(linked, a) is ApplicationStatus.HIRED]
    page = await narrow.list_applications(
        ApplicationQuery(status=ApplicationStatus.HIRED), Position(), 5
    )
    assert [r.remote_id for r in page.records] == hired
    assert len(merge.calls("globex", "/applications")) == 1
    other = await narrow.list_applications(
        ApplicationQuery(status=ApplicationStatus.OTHER), Position(), 5
    )
    assert other.records == () and other.next_token is None and other.filtered_locally
    assert len(merge.calls("globex", "/applications")) == 1
    await narrow.aclose()
    off = merge.adapter("globex", search_scan_pages=0)
    with pytest.raises(UnsupportedByProvider) as refused:
        await off.list_applications(
            ApplicationQuery(status=ApplicationStatus.REJECTED), Position(), 5
        )
    await off.aclose()
    assert refused.value.code == "UNSUPPORTED_BY_PROVIDER"
    assert len(merge.calls("globex", "/applications")) == 1


async def test_ids_merge_cannot_hold_match_nothing_without_a_call(merge: MergeServer) -> None:
    adapter = merge.adapter("initech")
    for query in (
        ApplicationQuery(job_remote_id="42"),
        ApplicationQuery(candidate_remote_id="../x"),
        ApplicationQuery(stage_remote_id="Onsite"),
    ):
        page = await adapter.list_applications(query, Position(), 10)
        assert page.records == () and page.next_token is None
    await adapter.aclose()
    assert merge.emulator.requests == []


async def test_reject_reasons_are_listed_in_one_call(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    adapter = merge.adapter("initech")
    reasons = await adapter.list_reject_reasons()
    await adapter.aclose()
    assert [(r.remote_id, r.name) for r in reasons] == [
        (r.id, r.name) for r in linked.reject_reasons.values()
    ]
    assert [c.route for c in merge.calls("initech")] == ["/reject-reasons"]


# --- create ----------------------------------------------------------------------------------


def unapplied(linked: LinkedAccount) -> tuple[str, str]:
    """A candidate and a job they have not applied to."""
    for candidate in linked.ordered_candidates():
        taken = {a.job_id for a in linked.applications_of(candidate.id)}
        free = [j for j in linked.jobs if j not in taken]
        if free:
            return candidate.id, free[0]
    raise AssertionError("every candidate applied to every job")


async def test_create_application_starts_at_the_first_stage(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    candidate, job = unapplied(linked)
    adapter = merge.adapter("initech")
    result = await adapter.create_application(NewApplication(candidate, job, source="Referral"))
    await adapter.aclose()
    record = result.record
    stored = linked.applications[record.remote_id]
    first = next(s for s in linked.stages.values() if s.job_id == job)
    assert (stored.candidate_id, stored.job_id, stored.stage_id) == (candidate, job, first.id)
    assert (record.stage_id, record.stage, record.source) == (first.id, first.name, "Referral")
    assert record.job is not None and record.job.name == linked.jobs[job].name
    assert record.status is ApplicationStatus.ACTIVE and result.created is True
    assert [(c.method, c.route) for c in merge.calls("initech")] == [
        ("POST", "/applications"),
        ("GET", "/applications/{id}"),
    ]
    (post,) = [c for c in merge.calls("initech") if c.method == "POST"]
    assert post.body == {
        "model": {"candidate": candidate, "job": job, "source": "Referral"},
        "remote_user_id": linked.remote_users[0],
    }


async def test_create_application_at_a_named_stage(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    candidate, job = unapplied(linked)
    last = [s for s in linked.stages.values() if s.job_id == job][-1]
    adapter = merge.adapter("initech")
    result = await adapter.create_application(NewApplication(candidate, job, last.id))
    await adapter.aclose()
    assert (result.record.stage_id, result.record.stage) == (last.id, last.name)


async def test_create_application_refusals_map_to_fields(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    candidate, job = unapplied(linked)
    existing = ordered(linked)[0]
    foreign = next(s.id for s in linked.stages.values() if s.job_id != job)
    adapter = merge.adapter("initech")
    count = len(linked.applications)
    with pytest.raises(Rejected) as wrong_stage:
        await adapter.create_application(NewApplication(candidate, job, foreign))
    with pytest.raises(Rejected) as twice:
        await adapter.create_application(NewApplication(existing.candidate_id, existing.job_id))
    with pytest.raises(Rejected) as unknown_job:
        await adapter.create_application(NewApplication(candidate, MISSING))
    assert len(merge.emulator.requests) == 3
    with pytest.raises(Rejected) as not_ids:
        await adapter.create_application(NewApplication("7", job, "Onsite"))
    await adapter.aclose()
    assert len(merge.emulator.requests) == 3  # nothing sent for ids Merge cannot hold
    assert len(linked.applications) == count
    assert [(p.code, p.field) for p in wrong_stage.value.problems] == [
        ("INVALID_FIELD_CHOICE", ("stage_id",))
    ]
    assert [(p.code, p.field) for p in twice.value.problems] == [
        ("DUPLICATE_MODEL_EXISTS", ("job_id",))
    ]
    assert [(p.code, p.field) for p in unknown_job.value.problems] == [("ERROR", ("job_id",))]
    assert [(p.code, p.field) for p in not_ids.value.problems] == [
        ("NOT_FOUND", ("candidate_id",)),
        ("NOT_FOUND", ("stage_id",)),
    ]
    for refused in (wrong_stage, twice, unknown_job):
        assert "Linked Account" not in refused.value.message
        assert refused.value.account == "merge-initech"


# --- move ------------------------------------------------------------------------------------


async def test_move_application_changes_stage_once(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    stored = ordered(linked)[0]
    target = next(
        s for s in linked.stages.values() if s.job_id == stored.job_id and s.id != stored.stage_id
    )
    adapter = merge.adapter("initech")
    (before,) = [
        r
        for r in (await adapter.applications_for([stored.candidate_id]))[stored.candidate_id]
        if r.remote_id == stored.id
    ]
    result = await adapter.move_application(before, target.id)
    await adapter.aclose()
    assert linked.applications[stored.id].stage_id == target.id
    assert (result.record.stage_id, result.record.stage) == (target.id, target.name)
    assert result.record.status is before.status and result.created is False
    assert posts(merge, "initech") == ["/applications/{id}/change-stage"]
    (post,) = [c for c in merge.calls("initech") if c.method == "POST"]
    assert post.body == {"job_interview_stage": target.id, "remote_user_id": linked.remote_users[0]}


async def test_move_to_another_jobs_stage_is_refused_by_merge(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    stored = ordered(linked)[0]
    was = stored.stage_id
    adapter = merge.adapter("initech")
    (record,) = (await adapter.list_applications(ApplicationQuery(), Position(), 1)).records
    with pytest.raises(Rejected) as refused:
        await adapter.move_application(record, other_job_stage(linked, stored))
    await adapter.aclose()
    assert [(p.code, p.field) for p in refused.value.problems] == [
        ("INVALID_FIELD_CHOICE", ("stage_id",))
    ]
    assert linked.applications[stored.id].stage_id == was
    (post,) = [c for c in merge.calls("initech") if c.method == "POST"]
    assert post.status == 400 and isinstance(post.response, dict) and post.response["errors"]


async def test_move_of_an_unknown_application_is_not_found(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    stored = ordered(linked)[0]
    adapter = merge.adapter("initech")
    (record,) = (await adapter.list_applications(ApplicationQuery(), Position(), 1)).records
    gone = ApplicationRecord(MISSING, record.candidate_remote_id, record.job, record.status)
    with pytest.raises(NotFound) as missing:
        await adapter.move_application(gone, str(stored.stage_id))
    assert "application" in missing.value.message
    assert [c.status for c in merge.calls("initech") if c.method == "POST"] == [404]
    bad = ApplicationRecord("not-a-uuid", record.candidate_remote_id, record.job, record.status)
    with pytest.raises(NotFound):
        await adapter.move_application(bad, str(stored.stage_id))
    with pytest.raises(Rejected):
        await adapter.move_application(record, "Onsite")
    await adapter.aclose()
    assert len(posts(merge, "initech")) == 1


# --- notes -----------------------------------------------------------------------------------


async def test_add_note_posts_one_activity(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    candidate = linked.ordered_candidates()[2].id
    adapter = merge.adapter("initech")
    result = await adapter.add_note(candidate, "Strong systems design.", NoteVisibility.PRIVATE)
    plain = await adapter.add_note(candidate, "Follow up", None)
    await adapter.aclose()
    note = result.record
    stored = linked.activities[note.remote_id]
    assert (stored.candidate_id, stored.activity_type, stored.body, stored.visibility) == (
        candidate,
        "NOTE",
        "Strong systems design.",
        "PRIVATE",
    )
    assert stored.user_id == linked.remote_users[0]
    assert (note.candidate_remote_id, note.body, note.visibility) == (
        candidate,
        "Strong systems design.",
        NoteVisibility.PRIVATE,
    )
    assert result.created is True and note.created_at is not None
    assert plain.record.visibility is None
    assert posts(merge, "initech") == ["/activities", "/activities"]
    assert "visibility" not in merge.calls("initech")[1].body["model"]  # type: ignore[index]


async def test_add_note_refusals(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    candidate = linked.ordered_candidates()[0].id
    adapter = merge.adapter("initech")
    with pytest.raises(Rejected) as empty:
        await adapter.add_note(candidate, "  \n", None)
    with pytest.raises(Rejected) as not_an_id:
        await adapter.add_note("12", "hi", None)
    assert merge.emulator.requests == []
    with pytest.raises(Rejected) as unknown:
        await adapter.add_note(MISSING, "hi", NoteVisibility.PUBLIC)
    await adapter.aclose()
    assert [(p.code, p.field) for p in empty.value.problems] == [("REQUIRED", ("body",))]
    assert [(p.code, p.field) for p in not_an_id.value.problems] == [
        ("NOT_FOUND", ("candidate_id",))
    ]
    assert [(p.code, p.field) for p in unknown.value.problems] == [("ERROR", ("candidate_id",))]
    assert linked.activities == {}


# --- lost answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["create", "move", "note"])
async def test_a_5xx_after_the_write_is_outcome_unknown_and_sent_once(
    merge: MergeServer, action: str
) -> None:
    linked = merge.accounts["initech"]
    adapter = merge.adapter("initech")
    (record,) = (await adapter.list_applications(ApplicationQuery(), Position(), 1)).records
    stored = linked.applications[record.remote_id]
    candidate, job = unapplied(linked)
    target = next(
        s for s in linked.stages.values() if s.job_id == stored.job_id and s.id != stored.stage_id
    )
    linked.faults = FaultProfile(script=deque(["stored_error"]), error_statuses=(502,))
    with pytest.raises(UpstreamOutcomeUnknown) as unknown:
        if action == "create":
            await adapter.create_application(NewApplication(candidate, job))
        elif action == "move":
            await adapter.move_application(record, target.id)
        else:
            await adapter.add_note(candidate, "lost answer", None)
    await adapter.aclose()
    assert unknown.value.code == "UPSTREAM_OUTCOME_UNKNOWN"
    sent = [c for c in merge.calls("initech") if c.method == "POST"]
    assert len(sent) == 1
    # The write was stored before its answer was lost, which is why it must not be resent.
    if action == "create":
        assert any(a.candidate_id == candidate and a.job_id == job for a in ordered(linked))
    elif action == "move":
        assert linked.applications[stored.id].stage_id == target.id
    else:
        assert [a.body for a in linked.activities.values()] == ["lost answer"]


async def test_a_lost_read_back_keeps_the_written_answer(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    candidate, job = unapplied(linked)
    adapter = merge.adapter("initech")
    linked.faults = FaultProfile(script=deque(["pass", "error"]), error_statuses=(500,))
    result = await adapter.create_application(NewApplication(candidate, job))
    await adapter.aclose()
    first = next(s for s in linked.stages.values() if s.job_id == job)
    assert result.record.stage_id == first.id and result.record.stage is None
    assert posts(merge, "initech") == ["/applications"]


# --- emulator --------------------------------------------------------------------------------


async def test_emulator_change_stage_and_create_answer_as_merge_does(merge: MergeServer) -> None:
    linked = merge.accounts["hooli"]
    stored = ordered(linked)[0]
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Account-Token": linked.account_token}
    user = linked.remote_users[0]
    async with httpx.AsyncClient(base_url=merge.base_url, headers=headers) as raw:
        moved = await raw.post(
            f"/applications/{stored.id}/change-stage",
            json={"job_interview_stage": other_job_stage(linked, stored), "remote_user_id": user},
        )
        assert moved.status_code == 400
        assert [e["problem_type"] for e in moved.json()["errors"]] == ["INVALID_FIELD_CHOICE"]
        assert moved.json()["errors"][0]["source"] == {"pointer": "/job_interview_stage"}
        missing = await raw.post(
            f"/applications/{MISSING}/change-stage",
            json={"job_interview_stage": stored.stage_id, "remote_user_id": user},
        )
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})
        anonymous = await raw.post(
            "/applications", json={"model": {"candidate": MISSING}, "remote_user_id": ""}
        )
        assert anonymous.status_code == 400
        problems = {(e["problem_type"], e["source"]["pointer"]) for e in anonymous.json()["errors"]}
        assert problems == {
            ("MISSING_REQUIRED_FIELD", "/remote_user_id"),
            ("MISSING_REQUIRED_FIELD", "/model/job"),
            ("ERROR", "/model/candidate"),
        }
        note = await raw.post(
            "/activities",
            json={"model": {"candidate": stored.candidate_id, "activity_type": "NOTE"},
                  "remote_user_id": user},
        )  # fmt: skip
        assert note.status_code == 400
        assert note.json()["errors"][0]["source"] == {"pointer": "/model/body"}
        staged = await raw.get("/applications", params={"current_stage_id": str(stored.stage_id)})
        assert {r["current_stage"] for r in staged.json()["results"]} == {stored.stage_id}
        reasons = await raw.get("/reject-reasons", params={"page_size": "2"})
        assert len(reasons.json()["results"]) == 2 and reasons.json()["next"]
        expanded = await raw.get(f"/applications/{stored.id}", params={"expand": "current_stage"})
        assert expanded.json()["current_stage"]["name"] == linked.stages[str(stored.stage_id)].name
    assert linked.applications[stored.id].stage_id == stored.stage_id
    assert linked.activities == {}


async def test_emulator_faults_apply_to_the_pipeline_routes(merge: MergeServer) -> None:
    linked = merge.accounts["hooli"]
    linked.faults = FaultProfile(script=deque(["error", "rate_limit"]), error_statuses=(503,))
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Account-Token": linked.account_token}
    async with httpx.AsyncClient(base_url=merge.base_url, headers=headers) as raw:
        assert (await raw.get("/reject-reasons")).status_code == 503
        assert (await raw.post("/activities", json={})).status_code == 429
        assert (await raw.get("/reject-reasons")).status_code == 200
    assert linked.activities == {}
