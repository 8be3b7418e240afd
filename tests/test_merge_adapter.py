"""Merge adapter ⇄ Merge emulator over real HTTP: every call, every error, and the call counts."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator

import httpx
import pytest

from emulators.faults import FaultProfile
from emulators.merge.app import LinkedAccount
from providers.base import AccountConfig, CandidateQuery, Capability, Position
from providers.errors import (
    NotFound,
    Rejected,
    UnsupportedByProvider,
    UpstreamAuthFailed,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from providers.merge.adapter import REGIONS, SPEC, MergeAdapter, check_account
from providers.model import (
    ApplicationStatus,
    CandidateDraft,
    CandidatePatch,
    Email,
    EmailType,
    Phone,
    PhoneType,
    Url,
    UrlType,
)
from tests.merge_support import API_KEY, MergeServer, running_merge


@pytest.fixture
def merge() -> Iterator[MergeServer]:
    with running_merge() as server:
        yield server


def ordered_ids(linked: LinkedAccount) -> list[str]:
    return [c.id for c in linked.ordered_candidates()]


async def test_first_page_asks_for_the_limit_and_maps_candidates(merge: MergeServer) -> None:
    adapter = merge.adapter("initech")
    page = await adapter.list_candidates(CandidateQuery(), Position(), 7)
    await adapter.aclose()
    linked = merge.accounts["initech"]
    assert [r.remote_id for r in page.records] == ordered_ids(linked)[:7]
    assert page.next_token is not None and page.total is None
    (call,) = merge.calls("initech")
    assert call.query == {"page_size": "7"}
    stored = linked.ordered_candidates()[0]
    first = page.records[0]
    assert (first.first_name, first.last_name, first.company) == (
        stored.first_name,
        stored.last_name,
        stored.company,
    )
    assert first.full_name == f"{stored.first_name} {stored.last_name}"
    assert [e.value for e in first.emails] == [e["value"] for e in stored.email_addresses]
    assert first.applications is None
    assert first.remote_data["id"] == stored.id
    # The ATS's own id and the deletion flag are typed fields, not custom fields.
    assert (first.ats_remote_id, first.remote_was_deleted) == (stored.remote_id, False)
    assert first.custom_fields is not None
    assert not {"remote_id", "remote_was_deleted"} & first.custom_fields.keys()


async def test_resuming_mid_page_refetches_the_page_and_drops_used_rows(merge: MergeServer) -> None:
    adapter = merge.adapter("initech")
    first = await adapter.list_candidates(CandidateQuery(), Position(), 10)
    resumed_at = first.resume_at(4)
    assert resumed_at == Position(None, 4)
    again = await adapter.list_candidates(CandidateQuery(), resumed_at, 10)
    after = await adapter.list_candidates(CandidateQuery(), again.resume_at(10) or Position(), 5)
    await adapter.aclose()
    ids = ordered_ids(merge.accounts["initech"])
    assert [r.remote_id for r in again.records] == ids[4:14]
    assert [r.remote_id for r in after.records] == ids[14:19]
    assert merge.calls("initech")[1].query == {"page_size": "14"}
    assert "cursor" in merge.calls("initech")[2].query


async def test_page_size_is_capped_at_100(merge: MergeServer) -> None:
    adapter = merge.adapter("initech")
    page = await adapter.list_candidates(CandidateQuery(), Position(None, 30), 100)
    await adapter.aclose()
    assert merge.calls("initech")[0].query["page_size"] == "100"
    assert len(page.records) == 15 and page.next_token is None


async def test_email_search_uses_merges_filter(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    someone = linked.ordered_candidates()[9]
    address = str(someone.email_addresses[0]["value"])
    adapter = merge.adapter("initech")
    page = await adapter.list_candidates(CandidateQuery(search=address.upper()), Position(), 20)
    await adapter.aclose()
    assert [r.remote_id for r in page.records] == [someone.id]
    assert merge.calls("initech")[0].query["email_addresses"] == address.upper()


async def test_name_search_scans_and_filters_case_insensitively(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    last = linked.ordered_candidates()[3].last_name
    assert last is not None
    expected = [
        c.id
        for c in linked.ordered_candidates()
        if last.lower() in f"{c.first_name} {c.last_name}".lower()
        or any(last.lower() in str(e["value"]).lower() for e in c.email_addresses)
    ]
    adapter = merge.adapter("initech")
    found, position = [], Position()
    while True:
        page = await adapter.list_candidates(CandidateQuery(search=last.upper()), position, 2)
        found += [r.remote_id for r in page.records[:2]]
        next_position = page.resume_at(min(2, len(page.records)))
        if next_position is None:
            break
        position = next_position
    await adapter.aclose()
    assert found == expected
    assert all(
        "email_addresses" not in c.query and c.query["page_size"] == "100" for c in merge.calls()
    )


async def test_name_search_reads_at_most_the_scan_budget_per_call(merge: MergeServer) -> None:
    accounts = {"big": LinkedAccount.seeded("Big", "tok-big", seed=5, candidates=450)}
    with running_merge(accounts) as server:
        adapter = server.adapter("big", search_scan_pages=2)
        page = await adapter.list_candidates(CandidateQuery(search="zzz-nobody"), Position(), 10)
        assert page.records == () and page.next_token is not None
        rest = await adapter.list_candidates(
            CandidateQuery(search="zzz-nobody"), page.resume_at(0) or Position(), 10
        )
        await adapter.aclose()
        assert len(server.calls()) == 4
        assert rest.records == () and rest.next_token is not None


async def test_name_search_switched_off_is_unsupported_without_a_call(merge: MergeServer) -> None:
    adapter = merge.adapter("initech", search_scan_pages=0)
    with pytest.raises(UnsupportedByProvider) as raised:
        await adapter.list_candidates(CandidateQuery(search="Feig"), Position(), 10)
    email = await adapter.list_candidates(CandidateQuery(search="a@b.example"), Position(), 10)
    await adapter.aclose()
    assert raised.value.code == "UNSUPPORTED_BY_PROVIDER"
    assert email.records == ()
    assert len(merge.calls()) == 1


async def test_job_filter_goes_through_applications_with_candidates_expanded(
    merge: MergeServer,
) -> None:
    linked = merge.accounts["initech"]
    job = next(iter(linked.jobs.values()))
    expected = [
        a.candidate_id
        for a in sorted(linked.applications.values(), key=lambda a: (a.created_at, a.id))
        if a.job_id == job.id
    ]
    adapter = merge.adapter("initech")
    page = await adapter.list_candidates(CandidateQuery(job_remote_id=job.id), Position(), 100)
    empty = await adapter.list_candidates(CandidateQuery(job_remote_id="../x"), Position(), 10)
    await adapter.aclose()
    assert [r.remote_id for r in page.records] == expected and expected
    assert page.records[0].emails
    (call,) = merge.calls("initech")
    assert call.route == "/applications"
    assert call.query["job_id"] == job.id and call.query["expand"] == "candidate"
    assert empty.records == () and empty.next_token is None


async def test_job_filter_with_search_filters_the_jobs_candidates(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    job = next(iter(linked.jobs.values()))
    applicant = next(a for a in linked.applications.values() if a.job_id == job.id)
    person = linked.candidates[applicant.candidate_id]
    adapter = merge.adapter("initech")
    query = CandidateQuery(search=str(person.first_name).lower(), job_remote_id=job.id)
    page = await adapter.list_candidates(query, Position(), 50)
    await adapter.aclose()
    assert person.id in [r.remote_id for r in page.records]
    assert all(
        str(person.first_name).lower() in (r.full_name or "").lower() or r.emails
        for r in page.records
    )


async def test_get_candidates_fetches_each_id_once_and_skips_missing(merge: MergeServer) -> None:
    ids = ordered_ids(merge.accounts["initech"])[:3]
    missing = "00000000-0000-4000-8000-000000000000"
    adapter = merge.adapter("initech")
    records = await adapter.get_candidates([*ids, ids[0], missing, "not-a-merge-id"])
    await adapter.aclose()
    assert sorted(r.remote_id for r in records) == sorted(ids)
    calls = merge.calls("initech", "/candidates/{id}")
    assert len(calls) == 4
    assert sorted(c.status for c in calls) == [200, 200, 200, 404]


async def test_include_remote_data_passes_merges_remote_data_through(merge: MergeServer) -> None:
    ids = ordered_ids(merge.accounts["initech"])[:1]
    adapter = merge.adapter("initech", include_remote_data=True)
    (record,) = await adapter.get_candidates(ids)
    await adapter.aclose()
    assert merge.calls()[0].query == {"include_remote_data": "true"}
    assert record.remote_data["remote_data"][0]["path"].startswith("/candidates/")


async def test_applications_one_call_per_candidate_with_derived_status(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    ids = ordered_ids(linked)
    adapter = merge.adapter("initech")
    found = await adapter.applications_for([*ids, ids[0]])
    await adapter.aclose()
    calls = merge.calls("initech", "/applications")
    assert len(calls) == len(ids)
    assert {c.query["expand"] for c in calls} == {"current_stage,job,offers,reject_reason"}
    assert set(found) == set(ids)
    seen = set()
    for candidate_id, records in found.items():
        assert [r.remote_id for r in records] == [
            a.id for a in linked.applications_of(candidate_id)
        ]
        for record in records:
            stored = linked.applications[record.remote_id]
            offers = [linked.offers[o] for o in stored.offer_ids]
            if stored.rejected_at is not None:
                expected = ApplicationStatus.REJECTED
            elif any(o.status == "SIGNED" for o in offers):
                expected = ApplicationStatus.HIRED
            else:
                expected = ApplicationStatus.ACTIVE
            assert record.status is expected
            assert record.stage == linked.stages[str(stored.stage_id)].name
            assert record.job is not None and record.job.name == linked.jobs[stored.job_id].name
            seen.add(record.status)
    assert seen == {ApplicationStatus.ACTIVE, ApplicationStatus.REJECTED, ApplicationStatus.HIRED}


async def test_create_wraps_the_model_and_maps_enums_out(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    adapter = merge.adapter("initech", run_async=True)
    draft = CandidateDraft(
        full_name="Gil  Feig Jr",
        company="Merge",
        emails=(Email("gil@merge.example", EmailType.WORK),),
        phones=(Phone("+15550100", PhoneType.SKYPE), Phone("+15550101")),
        urls=(
            Url("https://cv.example/gil.pdf", UrlType.RESUME),
            Url("https://gil.dev", UrlType.BLOG),
        ),
        locations=("Berlin",),
        tags=("Referral",),
        skills=("Go",),
    )
    result = await adapter.create_candidate(draft)
    await adapter.aclose()
    (call,) = merge.calls("initech")
    assert call.method == "POST" and call.query == {"run_async": "true"}
    assert call.body == {
        "model": {
            "first_name": "Gil",
            "last_name": "Feig Jr",
            "company": "Merge",
            "email_addresses": [{"value": "gil@merge.example", "email_address_type": "WORK"}],
            "phone_numbers": [
                {"value": "+15550100", "phone_number_type": "SKYPE"},
                {"value": "+15550101"},
            ],
            "urls": [
                {"value": "https://cv.example/gil.pdf", "url_type": "OTHER"},
                {"value": "https://gil.dev", "url_type": "BLOG"},
            ],
            "locations": ["Berlin"],
            "tags": ["Referral"],
        },
        "remote_user_id": linked.remote_users[0],
    }
    assert result.created is True
    assert result.record.remote_id in linked.candidates
    assert result.record.urls[0].type is UrlType.OTHER
    # The resume link went out as Merge's nearest url type, and the client is told so.
    assert [(w.code, w.field) for w in result.warnings] == [
        ("IGNORED_FIELD", ("skills",)),
        ("ADJUSTED_FIELD", ("urls", "0", "type")),
    ]
    assert result.warnings[1].message == "Merge has no url type RESUME; it was sent as OTHER"


async def test_create_reports_merge_warnings_with_input_paths(merge: MergeServer) -> None:
    adapter = merge.adapter("hooli")
    draft = CandidateDraft(
        first_name="Ada", last_name="Byron", emails=(Email("ada@hooli.example"),), tags=("VIP",)
    )
    result = await adapter.create_candidate(draft)
    await adapter.aclose()
    (warning,) = result.warnings
    assert (warning.code, warning.field) == ("UNRECOGNIZED_FIELD", ("tags",))
    assert warning.message == "Merge did not recognize this field; it was not saved"
    assert result.record.tags == ()


async def test_debug_mode_passes_through_and_surfaces_logs(merge: MergeServer) -> None:
    adapter = merge.adapter("initech", is_debug_mode=True)
    result = await adapter.create_candidate(CandidateDraft(first_name="Deb", last_name="Ug"))
    await adapter.aclose()
    assert merge.calls()[0].query == {"is_debug_mode": "true"}
    (log,) = result.warnings
    assert log.code == "MERGE_DEBUG_LOG" and "app.merge.dev/logs" in log.message
    assert "harvest.greenhouse.io" not in log.message


async def test_create_errors_become_field_problems(merge: MergeServer) -> None:
    hooli = merge.accounts["hooli"]
    taken = str(hooli.ordered_candidates()[0].email_addresses[0]["value"])
    adapter = merge.adapter("hooli")
    with pytest.raises(Rejected) as missing:
        await adapter.create_candidate(CandidateDraft(first_name="No", last_name="Mail"))
    with pytest.raises(Rejected) as duplicate:
        await adapter.create_candidate(
            CandidateDraft(
                first_name="Du", last_name="Pe", emails=(Email("new@x.example"), Email(taken))
            )
        )
    await adapter.aclose()
    assert [(p.code, p.field) for p in missing.value.problems] == [
        ("MISSING_REQUIRED_FIELD", ("emails",))
    ]
    assert [(p.code, p.field) for p in duplicate.value.problems] == [
        ("DUPLICATE_MODEL_EXISTS", ("emails", "1", "value"))
    ]
    assert all(c.status == 400 for c in merge.calls())


async def test_unknown_remote_user_is_a_problem_without_an_input_path(merge: MergeServer) -> None:
    adapter = merge.adapter("initech", remote_user_id="someone-else")
    with pytest.raises(Rejected) as refused:
        await adapter.create_candidate(CandidateDraft(first_name="A", last_name="B"))
    await adapter.aclose()
    assert [(p.code, p.field) for p in refused.value.problems] == [("ERROR", None)]


async def test_without_a_remote_user_writes_are_not_offered(merge: MergeServer) -> None:
    adapter = merge.adapter("initech", remote_user_id=None)
    assert Capability.CREATE not in adapter.capabilities
    assert Capability.UPDATE not in adapter.capabilities
    assert Capability.CREATE in SPEC.capabilities
    with pytest.raises(UnsupportedByProvider):
        await adapter.create_candidate(CandidateDraft(first_name="A"))
    await adapter.aclose()
    assert merge.calls() == []


async def test_update_patches_only_the_given_fields(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    target = linked.ordered_candidates()[2]
    adapter = merge.adapter("initech")
    result = await adapter.update_candidate(
        target.id, CandidatePatch(full_name="Rosa Lind", urls=None, title=None)
    )
    await adapter.aclose()
    (call,) = merge.calls("initech")
    assert call.method == "PATCH" and call.path.endswith(target.id)
    assert call.body == {
        "model": {"title": None, "first_name": "Rosa", "last_name": "Lind", "urls": []},
        "remote_user_id": linked.remote_users[0],
    }
    assert (result.record.full_name, result.record.title, result.record.urls) == (
        "Rosa Lind",
        None,
        (),
    )
    assert result.record.company == target.company
    assert result.created is None


async def test_update_with_nothing_merge_can_hold_reads_instead(merge: MergeServer) -> None:
    target = merge.accounts["initech"].ordered_candidates()[0]
    adapter = merge.adapter("initech")
    result = await adapter.update_candidate(target.id, CandidatePatch(skills=("Rust",)))
    await adapter.aclose()
    assert [c.method for c in merge.calls()] == ["GET"]
    assert result.record.remote_id == target.id
    assert [w.field for w in result.warnings] == [("skills",)]


async def test_update_of_a_missing_candidate_is_not_found(merge: MergeServer) -> None:
    adapter = merge.adapter("initech")
    with pytest.raises(NotFound):
        await adapter.update_candidate(
            "00000000-0000-4000-8000-000000000000", CandidatePatch(title="x")
        )
    with pytest.raises(NotFound):
        await adapter.update_candidate("../../candidates", CandidatePatch(title="x"))
    await adapter.aclose()
    assert [c.status for c in merge.calls()] == [404]


async def test_update_errors_become_field_problems(merge: MergeServer) -> None:
    hooli = merge.accounts["hooli"]
    first, second = hooli.ordered_candidates()[:2]
    adapter = merge.adapter("hooli")
    with pytest.raises(Rejected) as refused:
        await adapter.update_candidate(
            second.id, CandidatePatch(emails=(Email(str(first.email_addresses[0]["value"])),))
        )
    await adapter.aclose()
    assert [(p.code, p.field) for p in refused.value.problems] == [
        ("DUPLICATE_MODEL_EXISTS", ("emails", "0", "value"))
    ]


@pytest.mark.parametrize(
    ("credentials", "status"),
    [({"api_key": "wrong"}, 401), ({"account_token": "wrong"}, 401)],
)
async def test_bad_key_or_account_token_is_an_auth_failure(
    merge: MergeServer, credentials: dict[str, str], status: int
) -> None:
    config = merge.config("initech")
    config = AccountConfig(
        id=config.id,
        name=config.name,
        provider="merge",
        base_url=config.base_url,
        credentials={**config.credentials, **credentials},
    )
    async with httpx.AsyncClient(base_url=config.base_url + "/") as client:
        adapter = MergeAdapter(config, client)
        with pytest.raises(UpstreamAuthFailed) as raised:
            await adapter.list_candidates(CandidateQuery(), Position(), 5)
    assert merge.emulator.requests[0].status == status
    message = str(raised.value) + repr(raised.value) + repr(config)
    assert API_KEY not in message and "do-not-leak" not in message


async def test_rate_limit_and_outage_map_to_upstream_errors(merge: MergeServer) -> None:
    linked = merge.accounts["initech"]
    linked.rate_limit = (1, 60.0)
    limited_adapter = merge.adapter("initech")
    await limited_adapter.list_candidates(CandidateQuery(), Position(), 5)
    with pytest.raises(UpstreamRateLimited) as limited:
        await limited_adapter.list_candidates(CandidateQuery(), Position(), 5)
    await limited_adapter.aclose()
    linked.rate_limit, linked.outage = None, True
    config = dataclasses.replace(merge.config("initech"), retries=0)
    async with httpx.AsyncClient(base_url=config.base_url + "/") as client:
        with pytest.raises(UpstreamUnavailable):
            await MergeAdapter(config, client).get_candidates(ordered_ids(linked)[:1])
    assert limited.value.retry_after is not None and 1 <= limited.value.retry_after <= 60
    assert [c.status for c in merge.calls()] == [200, 429, 503]


@pytest.mark.parametrize("fault", ["malformed", "truncated", "html"])
async def test_malformed_answers_are_bad_responses(merge: MergeServer, fault: str) -> None:
    linked = merge.accounts["initech"]
    linked.faults = FaultProfile(script=deque([fault, fault]))
    adapter = merge.adapter("initech")
    with pytest.raises(UpstreamBadResponse):
        await adapter.list_candidates(CandidateQuery(), Position(), 5)
    with pytest.raises(UpstreamBadResponse):
        await adapter.applications_for(ordered_ids(linked)[:1])
    assert (await adapter.list_candidates(CandidateQuery(), Position(), 5)).records
    await adapter.aclose()


async def test_a_cursor_merge_no_longer_accepts_is_a_bad_response(merge: MergeServer) -> None:
    adapter = merge.adapter("initech")
    with pytest.raises(UpstreamBadResponse):
        await adapter.list_candidates(CandidateQuery(), Position("not-a-cursor"), 5)
    await adapter.aclose()
    assert merge.calls()[0].status == 404


def test_check_account_names_every_problem() -> None:
    base = AccountConfig(id="m", name="M", provider="merge", base_url=REGIONS["us"])
    assert check_account(base) == ["api_key_env is required", "account_token_env is required"]
    good = AccountConfig(
        id="m",
        name="M",
        provider="merge",
        base_url=REGIONS["us"],
        credentials={"api_key": "k", "account_token": "t"},
        options={"region": "eu", "remote_user_id": "u", "run_async": False},
    )
    assert check_account(good) == []
    bad = AccountConfig(
        id="m",
        name="M",
        provider="merge",
        base_url=REGIONS["ap"],
        credentials={"api_key": "k", "account_token": "t"},
        options={
            "region": "eu",
            "remote_user_id": "",
            "run_async": "yes",
            "search_scan_pages": -1,
            "colour": 1,
        },
    )
    assert check_account(bad) == [
        "unknown options ['colour'] (known: ['include_remote_data', 'is_debug_mode', "
        "'region', 'remote_user_id', 'run_async', 'search_scan_pages'])",
        "base_url is another region's host than options.region 'eu'",
        "options.remote_user_id must be a non-empty string",
        "options.run_async must be true or false",
        "options.search_scan_pages must be an integer from 0 to 50",
    ]
    assert SPEC.default_base_url == "https://api.merge.dev/api/ats/v1"
    assert SPEC.credentials == ("api_key", "account_token")


@pytest.mark.parametrize(
    ("region", "base_url", "host"),
    [
        (None, REGIONS["us"], "api.merge.dev"),
        ("us", REGIONS["us"], "api.merge.dev"),
        ("eu", REGIONS["us"], "api-eu.merge.dev"),
        ("ap", REGIONS["us"], "api-ap.merge.dev"),
        ("sandbox", REGIONS["us"], "api-sandbox.merge.dev"),
        ("eu", "http://127.0.0.1:9/api/ats/v1", "127.0.0.1"),
    ],
)
async def test_region_picks_the_documented_host_unless_base_url_is_set(
    region: str | None, base_url: str, host: str
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"next": None, "previous": None, "results": []})

    config = AccountConfig(
        id="m",
        name="M",
        provider="merge",
        base_url=base_url,
        credentials={"api_key": "k", "account_token": "t"},
        options={"region": region} if region else {},
    )
    async with httpx.AsyncClient(
        base_url=base_url + "/", transport=httpx.MockTransport(handler)
    ) as client:
        await MergeAdapter(config, client).list_candidates(CandidateQuery(), Position(), 3)
    (request,) = seen
    assert request.url.host == host
    assert request.url.path == "/api/ats/v1/candidates"
    assert request.headers["authorization"] == "Bearer k"
    assert request.headers["x-account-token"] == "t"
