"""The hiring pipeline on Greenhouse Harvest v3: the adapter against the emulator over real HTTP,
and the emulator's new routes as the documents describe them. Partner has none of it."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest

from emulators.faults import FaultProfile
from emulators.greenhouse import GhApplication, GreenhouseEmulator
from providers.base import (
    AccountConfig,
    ApplicationPage,
    ApplicationQuery,
    Capability,
    Position,
)
from providers.errors import (
    NotFound,
    Rejected,
    UnsupportedByProvider,
    UpstreamOutcomeUnknown,
    UpstreamUnavailable,
)
from providers.greenhouse import GreenhouseHarvestAdapter, GreenhousePartnerAdapter
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    NewApplication,
    NoteVisibility,
)
from providers.upstream.http import build_client
from providers.upstream.writes import watch_writes
from tests.servers import serve_in_thread
from tests.test_greenhouse_harvest import APPLICATIONS, Harvest, adapter_for, fresh_org

PIPELINE = (
    Capability.LIST_APPLICATIONS,
    Capability.REJECT_REASONS,
    Capability.CREATE_APPLICATION,
    Capability.MOVE_APPLICATION,
    Capability.REJECT_APPLICATION,
    Capability.ADD_NOTE,
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, GreenhouseEmulator]]:
    emulator = GreenhouseEmulator([fresh_org()])
    with serve_in_thread(emulator.app) as url:
        yield url, emulator


@pytest.fixture
async def harvest(served: tuple[str, GreenhouseEmulator]) -> AsyncIterator[Harvest]:
    url, emulator = served
    org = fresh_org()
    emulator.orgs[:] = [org]
    emulator.tokens.clear()
    emulator.reset_log()
    adapter = adapter_for(url, org)
    yield Harvest(url, emulator, org, adapter)
    await adapter.aclose()


def ids(applications: list[GhApplication]) -> list[str]:
    return [str(a.id) for a in sorted(applications, key=lambda a: a.id)]


def active(harvest: Harvest) -> GhApplication:
    """The first active application with a job, not in its job's last stage."""
    return next(
        a
        for a in sorted(harvest.org.applications.values(), key=lambda a: a.id)
        if a.status == "in_process" and a.job_id is not None and a.stage_name != "Offer"
    )


def with_status(harvest: Harvest, status: str) -> GhApplication:
    return next(
        a
        for a in sorted(harvest.org.applications.values(), key=lambda a: a.id)
        if a.status == status and a.job_id is not None
    )


def record_of(application: GhApplication) -> ApplicationRecord:
    """The application as a client last read it (what an action is given)."""
    return ApplicationRecord(
        remote_id=str(application.id),
        candidate_remote_id=str(application.candidate_id),
        job=None,
        status=ApplicationStatus.ACTIVE,
    )


def other_jobs_stage(harvest: Harvest, application: GhApplication) -> int:
    return next(s.id for s in harvest.org.job_stages.values() if s.job_id != application.job_id)


async def listing(
    adapter: GreenhouseHarvestAdapter, query: ApplicationQuery, rng: random.Random
) -> list[str]:
    """Every row of a listing, paged with a random page size each time (1 to 12)."""
    seen: list[str] = []
    position: Position | None = Position()
    while position is not None:
        limit = rng.randint(1, 12)
        page: ApplicationPage = await adapter.list_applications(query, position, limit)
        used = min(limit, len(page.records))
        seen += [r.remote_id for r in page.records[:used]]
        position = page.resume_at(used)
    return seen


# --- listing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_paging_with_random_sizes_yields_every_application_once(
    harvest: Harvest, seed: int
) -> None:
    everything = ids(list(harvest.org.applications.values()))
    assert await listing(harvest.adapter, ApplicationQuery(), random.Random(seed)) == everything
    calls = harvest.calls("GET", APPLICATIONS)
    follow_ups = [call.query for call in calls if "cursor" in call.query]
    firsts = [call.query for call in calls if "cursor" not in call.query]  # a first page resumed
    assert follow_ups and all(set(query) == {"cursor"} for query in follow_ups)
    assert all(set(query) == {"per_page"} and int(query["per_page"]) <= 500 for query in firsts)


async def test_job_candidate_and_stage_filters_are_pushed_down(harvest: Harvest) -> None:
    application = active(harvest)
    stage = application.job_interview_stage_id
    query = ApplicationQuery(
        job_remote_id=str(application.job_id),
        candidate_remote_id=str(application.candidate_id),
        stage_remote_id=str(stage),
    )
    page = await harvest.adapter.list_applications(query, Position(), 10)
    assert [r.remote_id for r in page.records] == [str(application.id)]
    assert not page.filtered_locally
    [call] = harvest.calls("GET", APPLICATIONS)
    assert call.query == {
        "per_page": "10",
        "job_ids": str(application.job_id),
        "candidate_ids": str(application.candidate_id),
        "job_interview_stage_ids": str(stage),
    }


async def test_a_stage_filter_returns_exactly_that_stages_applications(harvest: Harvest) -> None:
    stage = active(harvest).job_interview_stage_id
    found = await listing(
        harvest.adapter, ApplicationQuery(stage_remote_id=str(stage)), random.Random(4)
    )
    assert found == ids(
        [a for a in harvest.org.applications.values() if a.job_interview_stage_id == stage]
    )


@pytest.mark.parametrize(
    ("status", "wire", "raw"),
    [
        (ApplicationStatus.ACTIVE, "active", "in_process"),
        (ApplicationStatus.REJECTED, "rejected", "rejected"),
        (ApplicationStatus.HIRED, "hired", "hired"),
        (ApplicationStatus.OTHER, "converted", "converted"),
    ],
)
async def test_status_is_pushed_down_in_the_filters_words(
    harvest: Harvest, status: ApplicationStatus, wire: str, raw: str
) -> None:
    with_status(harvest, "in_process").status = "converted"  # the seed may have none
    found = await harvest.adapter.list_applications(
        ApplicationQuery(status=status), Position(), 500
    )
    expected = [a for a in harvest.org.applications.values() if a.status == raw]
    assert expected and [r.remote_id for r in found.records] == ids(expected)
    assert {(r.status, r.raw_status) for r in found.records} == {(status, raw)}
    assert harvest.calls("GET", APPLICATIONS)[0].query["status"] == wire


async def test_updated_after_is_pushed_down_and_strictly_after(harvest: Harvest) -> None:
    moments = sorted({a.updated_at for a in harvest.org.applications.values()})
    bound = moments[len(moments) // 2]
    found = await listing(harvest.adapter, ApplicationQuery(updated_after=bound), random.Random(5))
    assert found == ids([a for a in harvest.org.applications.values() if a.updated_at > bound])
    assert harvest.calls("GET", APPLICATIONS)[0].query["updated_at"].startswith("gt|")


async def test_ids_that_are_no_numbers_match_nothing_without_a_call(harvest: Harvest) -> None:
    for query in (
        ApplicationQuery(job_remote_id="x1"),
        ApplicationQuery(candidate_remote_id="../1"),
        ApplicationQuery(stage_remote_id="Offer"),
    ):
        page = await harvest.adapter.list_applications(query, Position(), 5)
        assert page.records == () and page.next_token is None
    assert harvest.calls() == []


async def test_stage_ids_are_the_jobs_stage_ids_and_names(harvest: Harvest) -> None:
    [job] = await harvest.adapter.get_jobs([str(active(harvest).job_id)])
    stages = {s.remote_id: s.name for s in job.stages or ()}
    page = await harvest.adapter.list_applications(
        ApplicationQuery(job_remote_id=job.remote_id), Position(), 500
    )
    assert page.records
    for record in page.records:
        assert record.stage_id in stages and record.stage == stages[record.stage_id]
        assert record.job is not None and record.job.remote_id == job.remote_id
        assert record.created_at and record.updated_at and record.applied_at == record.created_at


async def test_reason_and_source_names_are_read_once_for_many_rows(harvest: Harvest) -> None:
    rejected = [a for a in harvest.org.applications.values() if a.status == "rejected"]
    query = ApplicationQuery(status=ApplicationStatus.REJECTED)
    page = await harvest.adapter.list_applications(query, Position(), 500)
    assert len(page.records) == len(rejected) > 1
    names = {r.id: r.name for r in harvest.org.rejection_reasons.values()}
    sources = {s.id: s.name for s in harvest.org.sources.values()}
    by_id = {str(a.id): a for a in rejected}
    for record in page.records:
        wire = by_id[record.remote_id]
        assert record.reject_reason is not None
        assert record.reject_reason.name == names[wire.rejection_reason_id or 0]
        assert record.source == sources[wire.source_id or 0]
        assert record.rejected_at is not None
    await harvest.adapter.list_applications(query, Position(), 500)
    assert len(harvest.calls("GET", "/v3/rejection_reasons")) == 1
    assert len(harvest.calls("GET", "/v3/sources")) == 1
    assert len(harvest.calls("GET", APPLICATIONS)) == 2


async def test_rows_without_a_stage_name_get_it_in_one_batched_call(harvest: Harvest) -> None:
    unnamed = [a for a in harvest.org.applications.values() if a.job_interview_stage_id][:60]
    for application in unnamed:
        application.stage_name = None
    page = await harvest.adapter.list_applications(ApplicationQuery(), Position(), 500)
    stages = harvest.org.job_stages
    for record in page.records:
        if record.stage_id:
            assert record.stage == stages[int(record.stage_id)].name
    [lookup] = harvest.calls("GET", "/v3/job_interview_stages")
    wanted = {str(a.job_interview_stage_id) for a in unnamed}
    assert set(lookup.query["ids"].split(",")) == wanted and len(wanted) <= 50


async def test_candidate_applications_carry_the_new_fields(harvest: Harvest) -> None:
    application = with_status(harvest, "rejected")
    found = await harvest.adapter.applications_for([str(application.candidate_id)])
    [record] = [
        r for r in found[str(application.candidate_id)] if r.remote_id == str(application.id)
    ]
    assert record.stage_id == str(application.job_interview_stage_id)
    assert record.reject_reason is not None and record.reject_reason.name
    assert record.rejected_at and record.updated_at and record.source


async def test_reject_reasons_include_greenhouses_defaults(harvest: Harvest) -> None:
    reasons = await harvest.adapter.list_reject_reasons()
    assert {(r.remote_id, r.name) for r in reasons} == {
        (str(r.id), r.name) for r in harvest.org.rejection_reasons.values()
    }
    [call] = harvest.calls("GET", "/v3/rejection_reasons")
    assert call.query == {"include_defaults": "true", "per_page": "500"}


# --- actions --------------------------------------------------------------------------------------


def posts(harvest: Harvest) -> list[str]:
    return [call.path for call in harvest.calls("POST")]


async def test_create_at_the_first_stage_and_at_a_named_stage_with_a_source(
    harvest: Harvest,
) -> None:
    candidate = min(harvest.org.candidates)
    job = max(harvest.org.jobs)
    plan = harvest.org.plan(job)
    result = await harvest.adapter.create_application(NewApplication(str(candidate), str(job)))
    assert result.created is True
    assert result.record.stage_id == str(plan[0].id) and result.record.stage == plan[0].name
    assert int(result.record.remote_id) in harvest.org.applications
    source = next(iter(harvest.org.sources.values()))
    later = await harvest.adapter.create_application(
        NewApplication(str(candidate), str(job), str(plan[2].id), source.name.upper())
    )
    assert later.record.stage_id == str(plan[2].id) and later.record.source == source.name
    assert harvest.calls("POST", APPLICATIONS)[-1].body == {
        "candidate_id": candidate,
        "job_id": job,
        "initial_stage_id": plan[2].id,
        "source_id": source.id,
    }
    assert posts(harvest) == [APPLICATIONS, APPLICATIONS]


async def test_create_refusals_name_the_input(harvest: Harvest) -> None:
    candidate, job = min(harvest.org.candidates), max(harvest.org.jobs)
    elsewhere = next(s.id for s in harvest.org.job_stages.values() if s.job_id != job)
    with pytest.raises(Rejected) as refused:
        await harvest.adapter.create_application(
            NewApplication(str(candidate), str(job), str(elsewhere))
        )
    assert [(p.code, p.field) for p in refused.value.problems] == [("INVALID_STAGE", ("stage_id",))]
    with pytest.raises(Rejected) as unknown:
        await harvest.adapter.create_application(NewApplication("999999999", str(job)))
    assert [(p.code, p.field) for p in unknown.value.problems] == [("NOT_FOUND", ("candidate_id",))]
    assert "must be" not in str(unknown.value)  # Greenhouse's words stay upstream
    before = len(harvest.calls())
    for bad in (NewApplication("abc", str(job)), NewApplication(str(candidate), str(job), "x")):
        with pytest.raises(Rejected):
            await harvest.adapter.create_application(bad)
    with pytest.raises(Rejected) as no_source:
        await harvest.adapter.create_application(
            NewApplication(str(candidate), str(job), source="Carrier owl")
        )
    assert [p.field for p in no_source.value.problems] == [("source",)]
    assert [c.method for c in harvest.calls()[before:]] == ["GET"]  # the sources, nothing sent


async def test_move_to_a_stage_of_the_job(harvest: Harvest) -> None:
    application = active(harvest)
    plan = harvest.org.plan(application.job_id)
    target = plan[-1]
    result = await harvest.adapter.move_application(record_of(application), str(target.id))
    assert (result.record.stage_id, result.record.stage) == (str(target.id), target.name)
    assert result.created is False
    assert application.job_interview_stage_id == target.id
    [move] = harvest.calls("POST")
    assert move.body == {"to_stage_id": target.id}
    assert move.path == f"{APPLICATIONS}/{application.id}/move"


async def test_a_move_to_another_jobs_stage_is_refused_as_greenhouse_refuses_it(
    harvest: Harvest,
) -> None:
    application = active(harvest)
    before = application.job_interview_stage_id
    with pytest.raises(Rejected) as refused:
        await harvest.adapter.move_application(
            record_of(application), str(other_jobs_stage(harvest, application))
        )
    assert [(p.code, p.field) for p in refused.value.problems] == [("INVALID_STAGE", ("stage_id",))]
    assert application.job_interview_stage_id == before
    assert [c.status for c in harvest.calls("POST")] == [422]


async def test_reject_is_read_back_after_its_204_and_unreject_reverses_it(
    harvest: Harvest,
) -> None:
    application = active(harvest)
    reason = next(iter(harvest.org.rejection_reasons.values()))
    result = await harvest.adapter.reject_application(
        record_of(application), str(reason.id), "Chose another candidate"
    )
    assert result.record.status is ApplicationStatus.REJECTED
    assert result.record.reject_reason is not None
    assert (result.record.reject_reason.remote_id, result.record.reject_reason.name) == (
        str(reason.id),
        reason.name,
    )
    assert result.record.rejected_at is not None
    [reject] = harvest.calls("POST")
    [back] = harvest.calls("GET", APPLICATIONS)
    assert back.started > reject.finished
    assert (reject.method, reject.status, reject.body) == (
        "POST",
        204,
        {"rejection_reason_id": reason.id, "notes": "Chose another candidate"},
    )
    assert (back.method, back.query) == ("GET", {"ids": str(application.id), "per_page": "1"})
    assert [n.body for n in harvest.org.notes.values()] == ["Chose another candidate"]
    again = await harvest.adapter.unreject_application(record_of(application))
    assert again.record.status is ApplicationStatus.ACTIVE and again.record.reject_reason is None
    assert application.status == "in_process"
    assert len(harvest.calls("POST")) == 2


async def test_reject_and_unreject_refusals(harvest: Harvest) -> None:
    rejected, hired = with_status(harvest, "rejected"), with_status(harvest, "hired")
    reason = str(next(iter(harvest.org.rejection_reasons)))
    for attempt in (
        harvest.adapter.reject_application(record_of(rejected), reason, None),
        harvest.adapter.reject_application(record_of(hired), reason, None),
        harvest.adapter.unreject_application(record_of(active(harvest))),
    ):
        with pytest.raises(Rejected) as refused:
            await attempt
        assert [(p.code, p.field) for p in refused.value.problems] == [
            ("INVALID_APPLICATION_STATE", None)
        ]
    with pytest.raises(Rejected) as unknown_reason:
        await harvest.adapter.reject_application(record_of(active(harvest)), "12345", None)
    assert [p.field for p in unknown_reason.value.problems] == [("reason_id",)]
    assert [c.status for c in harvest.calls("POST")] == [422] * 4
    with pytest.raises(Rejected) as no_reason:
        await harvest.adapter.reject_application(record_of(active(harvest)), None, "note")
    assert [(p.code, p.field) for p in no_reason.value.problems] == [("REQUIRED", ("reason_id",))]
    assert len(harvest.calls("POST")) == 4  # refused before sending


@pytest.mark.parametrize("action", ["move", "reject", "unreject"])
async def test_an_unknown_application_is_not_found(harvest: Harvest, action: str) -> None:
    ghost = ApplicationRecord("424242", "1", None, ApplicationStatus.ACTIVE)
    stage = str(next(iter(harvest.org.job_stages)))
    reason = str(next(iter(harvest.org.rejection_reasons)))
    calls = {
        "move": lambda: harvest.adapter.move_application(ghost, stage),
        "reject": lambda: harvest.adapter.reject_application(ghost, reason, None),
        "unreject": lambda: harvest.adapter.unreject_application(ghost),
    }
    with pytest.raises(NotFound) as missing:
        await calls[action]()
    assert missing.value.account == "gh-harvest" and "application" in missing.value.message
    assert [c.status for c in harvest.calls("POST")] == [404]


async def test_notes_with_and_without_a_visibility(harvest: Harvest) -> None:
    candidate = str(min(harvest.org.candidates))
    private = await harvest.adapter.add_note(candidate, "Strong on potions", NoteVisibility.PRIVATE)
    assert private.created is True
    assert (private.record.body, private.record.visibility) == (
        "Strong on potions",
        NoteVisibility.PRIVATE,
    )
    assert private.record.candidate_remote_id == candidate
    plain = await harvest.adapter.add_note(candidate, "Call back Monday", None)
    assert plain.record.visibility is NoteVisibility.PUBLIC
    first, second = harvest.calls("POST", "/v3/notes")
    assert first.body == {
        "candidate_id": int(candidate),
        "body": "Strong on potions",
        "note_type": "NOTE",
        "visibility": "private",
    }
    assert isinstance(second.body, dict) and "visibility" not in second.body
    for body, who in (("  ", candidate), ("x", "abc")):
        with pytest.raises(Rejected):
            await harvest.adapter.add_note(who, body, None)
    with pytest.raises(Rejected) as unknown:
        await harvest.adapter.add_note("999999999", "x", None)
    assert [p.field for p in unknown.value.problems] == [("candidate_id",)]
    assert len(harvest.calls("POST")) == 3


Action = Callable[[Harvest], Coroutine[Any, Any, object]]
ACTIONS: dict[str, Action] = {
    "create": lambda h: h.adapter.create_application(
        NewApplication(str(min(h.org.candidates)), str(max(h.org.jobs)))
    ),
    "move": lambda h: h.adapter.move_application(
        record_of(active(h)), str(h.org.plan(active(h).job_id)[-1].id)
    ),
    "reject": lambda h: h.adapter.reject_application(
        record_of(active(h)), str(next(iter(h.org.rejection_reasons))), None
    ),
    "unreject": lambda h: h.adapter.unreject_application(record_of(with_status(h, "rejected"))),
    "note": lambda h: h.adapter.add_note(str(min(h.org.candidates)), "Owl post", None),
}


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_5xx_after_sending_is_sent_once_and_its_outcome_unknown(
    harvest: Harvest, action: str
) -> None:
    before = stored(harvest)
    harvest.org.faults = FaultProfile(script=deque(["stored_error"]), error_statuses=(502,))
    with watch_writes() as watch, pytest.raises(UpstreamOutcomeUnknown) as failed:
        await ACTIONS[action](harvest)
    assert watch.may_have_happened  # so its idempotency key is kept as outcome-unknown
    assert failed.value.account == "gh-harvest"
    [sent] = harvest.calls("POST")
    assert sent.status == 502
    assert stored(harvest) != before  # Greenhouse did act on it


def stored(harvest: Harvest) -> tuple[object, ...]:
    applications = sorted(harvest.org.applications.values(), key=lambda a: a.id)
    return (
        len(harvest.org.notes),
        [(a.id, a.status, a.job_interview_stage_id) for a in applications],
    )


async def test_a_refusal_had_no_effect(harvest: Harvest) -> None:
    with watch_writes() as watch, pytest.raises(Rejected):
        await harvest.adapter.unreject_application(record_of(active(harvest)))
    assert not watch.may_have_happened


async def test_fault_profiles_apply_to_the_new_routes(harvest: Harvest) -> None:
    harvest.org.faults = FaultProfile(script=deque(["error"]), error_statuses=(503,))
    with pytest.raises(UpstreamUnavailable):
        await harvest.adapter.list_reject_reasons()
    assert await harvest.adapter.list_reject_reasons()


# --- Partner has no pipeline ----------------------------------------------------------------------


async def test_harvest_declares_the_whole_pipeline_and_partner_none_of_it() -> None:
    assert set(PIPELINE) <= GreenhouseHarvestAdapter.capabilities
    config = AccountConfig(
        id="gh-partner",
        name="Partner",
        provider="greenhouse",
        base_url="http://127.0.0.1:9/v1/partner",  # never reached: every call is refused first
        credentials={"api_key": "k"},
        options={"api": "partner", "on_behalf_of": "a@b.example"},
    )
    adapter = GreenhousePartnerAdapter(config, build_client(config))
    application = ApplicationRecord("1", "1", None, ApplicationStatus.ACTIVE)
    try:
        assert not set(PIPELINE) & adapter.capabilities
        for call in (
            adapter.list_applications(ApplicationQuery(), Position(), 5),
            adapter.list_reject_reasons(),
            adapter.create_application(NewApplication("1", "2")),
            adapter.move_application(application, "3"),
            adapter.reject_application(application, "4", None),
            adapter.unreject_application(application),
            adapter.add_note("1", "hi", None),
        ):
            with pytest.raises(UnsupportedByProvider) as refused:
                await call
            assert refused.value.account == "gh-partner"
    finally:
        await adapter.aclose()


# --- the emulator's routes ------------------------------------------------------------------------


def post(harvest: Harvest, path: str, body: object | None = None) -> httpx.Response:
    return httpx.post(f"{harvest.url}{path}", json=body, headers=harvest.bearer())


def test_emulator_lists_by_plan_stage_or_application_stage_row(harvest: Harvest) -> None:
    application = active(harvest)
    by_plan = harvest.get(
        APPLICATIONS, job_interview_stage_ids=str(application.job_interview_stage_id)
    )
    rows = by_plan.json()
    assert str(application.id) in {str(r["id"]) for r in rows}
    row = next(r for r in rows if r["id"] == application.id)
    assert row["stage_id"] != row["job_interview_stage_id"]
    by_row = harvest.get(APPLICATIONS, stage_ids=str(row["stage_id"])).json()
    assert [r["id"] for r in by_row] == [application.id]
    refused = harvest.get(APPLICATIONS, status="in_process")
    assert refused.status_code == 422 and refused.json()["message"] == "Unprocessable Content"


def test_emulator_rejection_reasons_hide_defaults_unless_asked(harvest: Harvest) -> None:
    own = harvest.get("/v3/rejection_reasons").json()
    every = harvest.get("/v3/rejection_reasons", include_defaults="true").json()
    assert len(every) == len(harvest.org.rejection_reasons) > len(own)
    assert set(every[0]) == {"id", "name", "type"} and "key" in every[0]["type"]


def test_emulator_actions_answer_as_documented(harvest: Harvest) -> None:
    application = active(harvest)
    created = post(
        harvest,
        APPLICATIONS,
        {"candidate_id": application.candidate_id, "job_id": max(harvest.org.jobs)},
    )
    assert created.status_code == 201 and created.json()["status"] == "in_process"
    plan = [s.id for s in harvest.org.plan(application.job_id)]
    at = plan.index(application.job_interview_stage_id or 0)
    moved = post(harvest, f"{APPLICATIONS}/{application.id}/move", {})
    assert moved.status_code == 200  # both blank: one stage on
    assert moved.json()["job_interview_stage_id"] == plan[at + 1]
    reason = next(iter(harvest.org.rejection_reasons))
    rejected = post(
        harvest, f"{APPLICATIONS}/{application.id}/reject", {"rejection_reason_id": reason}
    )
    assert (rejected.status_code, rejected.content) == (204, b"")
    twice = post(
        harvest, f"{APPLICATIONS}/{application.id}/reject", {"rejection_reason_id": reason}
    )
    assert twice.status_code == 422 and set(twice.json()) == {"message", "errors"}
    assert post(harvest, f"{APPLICATIONS}/{application.id}/unreject").status_code == 204
    assert post(harvest, f"{APPLICATIONS}/{application.id}/unreject").status_code == 422
    missing = post(harvest, f"{APPLICATIONS}/1/move", {"to_stage_id": 1})
    assert (missing.status_code, missing.json()) == (404, {"message": "Resource not found"})
    unknown = post(harvest, f"{APPLICATIONS}/{application.id}/move", {"stage": 1})
    assert unknown.json()["errors"] == [{"stage": "is not a permitted field"}]
    note = post(
        harvest,
        "/v3/notes",
        {"candidate_id": application.candidate_id, "body": "Hi", "visibility": "admin_only"},
    )
    assert note.status_code == 201 and note.json()["visibility"] == "admin_only_visible"


def test_emulator_refuses_a_move_to_another_jobs_stage(harvest: Harvest) -> None:
    application = active(harvest)
    elsewhere = other_jobs_stage(harvest, application)
    refused = post(harvest, f"{APPLICATIONS}/{application.id}/move", {"to_stage_id": elsewhere})
    assert refused.status_code == 422
    assert [set(e) for e in refused.json()["errors"]] == [{"to_stage_id"}]
    other_job = harvest.org.job_stages[elsewhere].job_id
    transfer = post(
        harvest,
        f"{APPLICATIONS}/{application.id}/move",
        {"to_job_id": other_job, "to_stage_id": elsewhere},
    )
    assert transfer.status_code == 200 and transfer.json()["job_id"] == other_job


def test_seeded_applications_sit_on_their_jobs_stages(harvest: Harvest) -> None:
    for application in harvest.org.applications.values():
        if application.job_id is None:
            assert application.job_interview_stage_id is None
            continue
        stage = harvest.org.job_stages[application.job_interview_stage_id or 0]
        assert (stage.job_id, stage.name) == (application.job_id, application.stage_name)
