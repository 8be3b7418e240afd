"""Contract tests: the Greenhouse Harvest v3 adapter against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from emulators.greenhouse import (
    GhCandidate,
    GreenhouseEmulator,
    GreenhouseOrg,
    RecordedRequest,
)
from providers.base import AccountConfig, CandidatePage, CandidateQuery, Position
from providers.errors import (
    NotFound,
    Rejected,
    UpstreamAuthFailed,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from providers.greenhouse import GreenhouseHarvestAdapter
from providers.model import (
    ApplicationDraft,
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
from providers.upstream.http import build_client
from tests.servers import serve_in_thread

CLIENT_ID, CLIENT_SECRET = "gh-client-id", "gh-client-secret-0123456789"
CANDIDATES, APPLICATIONS = "/v3/candidates", "/v3/applications"


def fresh_org() -> GreenhouseOrg:
    return GreenhouseOrg.seeded(
        "Hogwarts",
        partner_api_key="pk",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        candidates=40,
        seed=5,
    )


def adapter_for(
    url: str,
    org: GreenhouseOrg,
    *,
    secret: str = CLIENT_SECRET,
    base_url: str | None = None,
    **options: object,
) -> GreenhouseHarvestAdapter:
    config = AccountConfig(
        id="gh-harvest",
        name="Hogwarts",
        provider="greenhouse",
        base_url=base_url or f"{url}/v3",
        credentials={"client_id": CLIENT_ID, "client_secret": secret},
        options={
            "api": "harvest",
            "user_id": str(org.users[0].id),
            "token_url": "/token",
            "page_size": 7,
            **options,
        },
        retries=0,
    )
    return GreenhouseHarvestAdapter(config, build_client(config))


@dataclass
class Harvest:
    url: str
    emulator: GreenhouseEmulator
    org: GreenhouseOrg
    adapter: GreenhouseHarvestAdapter

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        return self.emulator.calls("harvest", method, path)

    def tokens(self) -> list[RecordedRequest]:
        return self.emulator.calls("token")

    def ordered(self) -> list[GhCandidate]:
        return [self.org.candidates[i] for i in sorted(self.org.candidates)]

    def bearer(self) -> dict[str, str]:
        answer = httpx.post(
            f"{self.url}/token",
            data={"grant_type": "client_credentials", "sub": str(self.org.users[0].id)},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, headers=self.bearer())


@pytest.fixture(scope="module")
def seeded_org() -> Callable[[], GreenhouseOrg]:
    """How each test's org is seeded; a module may override it (test_greenhouse_jobs does)."""
    return fresh_org


@pytest.fixture(scope="module")
def served(seeded_org: Callable[[], GreenhouseOrg]) -> Iterator[tuple[str, GreenhouseEmulator]]:
    emulator = GreenhouseEmulator([seeded_org()])
    with serve_in_thread(emulator.app) as url:
        yield url, emulator


@pytest.fixture
async def harvest(
    served: tuple[str, GreenhouseEmulator], seeded_org: Callable[[], GreenhouseOrg]
) -> AsyncIterator[Harvest]:
    """A fresh org, token store and request log on the module's emulator, and an adapter."""
    url, emulator = served
    org = seeded_org()
    emulator.orgs[:] = [org]
    emulator.tokens.clear()
    emulator.reset_log()
    adapter = adapter_for(url, org)
    yield Harvest(url, emulator, org, adapter)
    await adapter.aclose()


async def all_rows(
    adapter: GreenhouseHarvestAdapter, query: CandidateQuery, limit: int
) -> list[str]:
    seen: list[str] = []
    position: Position | None = Position()
    while position is not None:
        page: CandidatePage = await adapter.list_candidates(query, position, limit)
        used = min(limit, len(page.records))
        seen += [r.remote_id for r in page.records[:used]]
        position = page.resume_at(used)
    return seen


# --- the emulator, as the documents describe it -------------------------------------------------


def test_token_endpoint_takes_basic_client_credentials_and_a_form(harvest: Harvest) -> None:
    sub = str(harvest.org.users[0].id)
    ok = httpx.post(
        f"{harvest.url}/token",
        data={"grant_type": "client_credentials", "sub": sub},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert ok.status_code == 200
    assert set(ok.json()) == {"access_token", "token_type", "expires_at"}
    harvest.org.token_expiry_field = "expires_in"
    assert (
        "expires_in"
        in httpx.post(
            f"{harvest.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        ).json()
    )
    assert (
        httpx.post(
            f"{harvest.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, "wrong"),
        ).status_code
        == 401
    )
    assert (
        httpx.post(
            f"{harvest.url}/token", data={"grant_type": "password"}, auth=(CLIENT_ID, CLIENT_SECRET)
        ).status_code
        == 400
    )
    assert (
        httpx.post(
            f"{harvest.url}/token",
            json={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        ).status_code
        == 400
    )
    assert (
        httpx.post(
            f"{harvest.url}/token",
            data={"grant_type": "client_credentials", "sub": "1"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        ).status_code
        == 400
    )
    assert all(CLIENT_SECRET not in repr(r) for r in harvest.tokens())


def test_bearer_checks_and_error_bodies(harvest: Harvest) -> None:
    missing = httpx.get(f"{harvest.url}{CANDIDATES}")
    assert missing.status_code == 401 and missing.json() == {
        "message": "Unauthorized",
        "errors": ["Token could not be decoded"],
    }
    headers = harvest.bearer()
    harvest.emulator.expire_tokens()
    expired = httpx.get(f"{harvest.url}{CANDIDATES}", headers=headers)
    assert expired.status_code == 401 and expired.json()["errors"] == ["Token has expired"]
    assert harvest.get("/v3/nowhere").json() == {"message": "Resource not found"}
    assert (
        httpx.patch(f"{harvest.url}{CANDIDATES}/1", json={}, headers=harvest.bearer()).status_code
        == 404
    )


def test_lists_are_bare_arrays_paged_by_link_with_rate_limit_headers(harvest: Harvest) -> None:
    first = harvest.get(CANDIDATES, per_page="5", updated_at="gte|2000-01-01T00:00:00Z")
    assert first.status_code == 200 and isinstance(first.json(), list) and len(first.json()) == 5
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(first.headers)
    next_url = first.links["next"]["url"]
    assert list(httpx.URL(next_url).params) == ["cursor"]
    second = httpx.get(next_url, headers=harvest.bearer())
    assert [c["id"] for c in second.json()] == [c.id for c in harvest.ordered()[5:10]]
    cursor = httpx.URL(next_url).params["cursor"]
    mixed = harvest.get(CANDIDATES, cursor=cursor, per_page="5")
    assert mixed.status_code == 422
    assert mixed.json() == {
        "message": "Unprocessable Content",
        "errors": ["When passing a cursor, do not include other query params."],
    }
    last = harvest.get(CANDIDATES, per_page="500")
    assert len(last.json()) == 40 and "next" not in last.links


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"per_page": "600"}, {"per_page": "`600` number is greater than: 500"}),
        ({"ids": ",".join(str(n) for n in range(1, 52))}, {"ids": "ids accepts at most 50 ids"}),
        ({"updated_at": "since|2020"}, None),
        ({"search": "harry"}, {"search": "is not a permitted parameter"}),
        ({"cursor": "not-a-cursor"}, {"cursor": "is invalid"}),
    ],
)
def test_list_parameters_are_checked(
    harvest: Harvest, params: dict[str, str], error: dict[str, str] | None
) -> None:
    refused = harvest.get(CANDIDATES, **params)
    assert refused.status_code == 422
    if error is not None:
        assert refused.json()["errors"] == [error]


def test_filters_email_ids_updated_at_and_applications(harvest: Harvest) -> None:
    someone = harvest.ordered()[3]
    email = someone.email_addresses[0]["value"]
    assert [c["id"] for c in harvest.get(CANDIDATES, email=email.upper()).json()] == [someone.id]
    ids = [c.id for c in harvest.ordered()[:3]]
    assert [c["id"] for c in harvest.get(CANDIDATES, ids=",".join(map(str, ids))).json()] == ids
    cut = sorted(c.updated_at for c in harvest.ordered())[20]
    recent = harvest.get(CANDIDATES, updated_at=f"gte|{cut.isoformat()}", per_page="500").json()
    assert len(recent) == sum(1 for c in harvest.ordered() if c.updated_at >= cut)
    job_id = next(iter(harvest.org.jobs))
    rows = harvest.get(APPLICATIONS, job_ids=str(job_id), per_page="500").json()
    assert rows and all(r["job_id"] == job_id for r in rows)
    assert len(rows) == sum(1 for a in harvest.org.applications.values() if a.job_id == job_id)
    active = harvest.get(APPLICATIONS, status="active", per_page="500").json()
    assert active and {r["status"] for r in active} == {"in_process"}
    assert harvest.get(APPLICATIONS, status="in_process").status_code == 422


def test_over_the_window_is_429_with_retry_after(harvest: Harvest) -> None:
    harvest.org.rate_limit = (2, 30.0)
    headers = harvest.bearer()
    answers = [httpx.get(f"{harvest.url}{CANDIDATES}", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
    assert 1 <= int(answers[2].headers["retry-after"]) <= 30


# --- tokens -------------------------------------------------------------------------------------


async def test_one_token_serves_many_concurrent_calls(harvest: Harvest) -> None:
    ids = [str(c.id) for c in harvest.ordered()]
    await asyncio.gather(*(harvest.adapter.get_candidates([i]) for i in ids[:10]))
    await harvest.adapter.list_candidates(CandidateQuery(), Position(), 5)
    [token_call] = harvest.tokens()
    assert token_call.body == {
        "grant_type": "client_credentials",
        "sub": str(harvest.org.users[0].id),
    }
    assert len(harvest.calls("GET")) == 11


async def test_a_401_mints_exactly_one_new_token_for_all_callers(harvest: Harvest) -> None:
    ids = [str(c.id) for c in harvest.ordered()]
    await harvest.adapter.get_candidates(ids[:1])
    harvest.emulator.expire_tokens()
    found = await asyncio.gather(*(harvest.adapter.get_candidates([i]) for i in ids[:8]))
    assert [len(f) for f in found] == [1] * 8
    assert len(harvest.tokens()) == 2
    assert sum(1 for c in harvest.calls("GET") if c.status == 401) == 8


@pytest.mark.parametrize("field", ["expires_at", "expires_in"])
async def test_a_token_is_replaced_shortly_before_it_expires(harvest: Harvest, field: str) -> None:
    harvest.org.token_ttl, harvest.org.token_expiry_field = 0.4, field
    await harvest.adapter.get_candidates([str(harvest.ordered()[0].id)])
    await asyncio.sleep(0.25)  # past half the lifetime: the adapter mints before the server refuses
    await harvest.adapter.get_candidates([str(harvest.ordered()[0].id)])
    assert len(harvest.tokens()) == 2
    assert all(c.status == 200 for c in harvest.calls())


async def test_refused_client_credentials_are_auth_failed_without_the_secret(
    harvest: Harvest,
) -> None:
    adapter = adapter_for(harvest.url, harvest.org, secret="wrong-secret-value")
    try:
        with pytest.raises(UpstreamAuthFailed) as refused:
            await adapter.list_candidates(CandidateQuery(), Position(), 5)
    finally:
        await adapter.aclose()
    assert refused.value.account == "gh-harvest"
    assert "wrong-secret-value" not in str(refused.value) and "wrong-secret-value" not in repr(
        adapter.tokens
    )
    assert harvest.calls() == []


async def test_a_token_refused_twice_fails_with_auth_failed(harvest: Harvest) -> None:
    real = harvest.emulator._bearer

    def always_expired(request: Any) -> Any:
        raise __import__("emulators.greenhouse", fromlist=["HarvestError"]).HarvestError(
            401, "Unauthorized", ["Token has expired"]
        )

    harvest.emulator._bearer = always_expired  # type: ignore[method-assign]
    try:
        with pytest.raises(UpstreamAuthFailed):
            await harvest.adapter.get_candidates(["1"])
    finally:
        harvest.emulator._bearer = real  # type: ignore[method-assign]
    assert len(harvest.tokens()) == 2 and len(harvest.calls("GET")) == 2


# --- listing --------------------------------------------------------------------------------------


async def test_first_page_carries_filters_and_follow_ups_only_the_cursor(harvest: Harvest) -> None:
    page = await harvest.adapter.list_candidates(CandidateQuery(), Position(), 3)
    assert [r.remote_id for r in page.records] == [str(c.id) for c in harvest.ordered()[:7]]
    assert page.total is None and page.next_token is not None
    await harvest.adapter.list_candidates(CandidateQuery(), Position(page.next_token), 3)
    first, follow_up = harvest.calls("GET", CANDIDATES)
    assert first.query == {"per_page": "7"}
    assert follow_up.query == {"cursor": page.next_token}


async def test_resuming_mid_page_refetches_it_and_drops_the_used_rows(harvest: Harvest) -> None:
    ordered = [str(c.id) for c in harvest.ordered()]
    first = await harvest.adapter.list_candidates(CandidateQuery(), Position(), 3)
    resume = first.resume_at(3)
    assert resume == Position(None, 3)
    again = await harvest.adapter.list_candidates(CandidateQuery(), resume, 3)
    assert [r.remote_id for r in again.records] == ordered[3:7]
    later = await harvest.adapter.list_candidates(
        CandidateQuery(), Position(first.next_token, 2), 3
    )
    assert [r.remote_id for r in later.records] == ordered[9:14]


async def test_an_email_search_is_pushed_down(harvest: Harvest) -> None:
    someone = harvest.ordered()[11]
    email = someone.email_addresses[0]["value"]
    page = await harvest.adapter.list_candidates(
        CandidateQuery(search=email.upper()), Position(), 5
    )
    assert [r.remote_id for r in page.records] == [str(someone.id)]
    [call] = harvest.calls("GET", CANDIDATES)
    assert call.query["email"] == email.upper()


async def test_a_name_search_scans_bounded_pages_and_never_returns_unfiltered_rows(
    served: tuple[str, GreenhouseEmulator], harvest: Harvest
) -> None:
    adapter = adapter_for(harvest.url, harvest.org, scan_rows=9)
    someone = harvest.ordered()[25]
    needle = someone.last_name[1:4].swapcase()
    expected = [
        str(c.id)
        for c in harvest.ordered()
        if any(
            needle.casefold() in t.casefold()
            for t in (
                c.first_name,
                c.last_name,
                f"{c.first_name} {c.last_name}",
                *(e["value"] for e in c.email_addresses),
            )
        )
    ]
    try:
        assert await all_rows(adapter, CandidateQuery(search=needle), 2) == expected
    finally:
        await adapter.aclose()
    scans = harvest.calls("GET", CANDIDATES)
    assert scans[0].query == {"per_page": "9"}
    assert all(set(c.query) == {"cursor"} for c in scans[1:])


async def test_the_job_filter_goes_through_applications_then_ids(harvest: Harvest) -> None:
    job_id = next(iter(harvest.org.jobs))
    members = sorted(
        {a.candidate_id for a in harvest.org.applications.values() if a.job_id == job_id},
        key=lambda i: min(
            a.id
            for a in harvest.org.applications.values()
            if a.candidate_id == i and a.job_id == job_id
        ),
    )
    rows = await all_rows(harvest.adapter, CandidateQuery(job_remote_id=str(job_id)), 3)
    assert rows == [str(i) for i in members]
    first_apps = harvest.calls("GET", APPLICATIONS)[0]
    assert first_apps.query == {"job_ids": str(job_id), "per_page": "7"}
    by_ids = harvest.calls("GET", CANDIDATES)
    assert by_ids and all(len(c.query["ids"].split(",")) <= 7 for c in by_ids)
    assert await all_rows(harvest.adapter, CandidateQuery(job_remote_id="no-such-job"), 3) == []


async def test_only_a_scanned_name_search_says_filtered_locally(harvest: Harvest) -> None:
    someone = harvest.ordered()[3]
    email = someone.email_addresses[0]["value"]
    job_id = str(next(iter(harvest.org.jobs)))
    for query, local in (
        (CandidateQuery(), False),
        (CandidateQuery(search=email), False),
        (CandidateQuery(search=someone.last_name[:3]), True),
        (CandidateQuery(job_remote_id=job_id), False),
        (CandidateQuery(job_remote_id=job_id, search=someone.last_name[:3]), True),
    ):
        page = await harvest.adapter.list_candidates(query, Position(), 3)
        assert page.filtered_locally is local, query
        if page.next_token is not None:
            later = await harvest.adapter.list_candidates(query, Position(page.next_token), 3)
            assert later.filtered_locally is local, query


def updated_bound(harvest: Harvest) -> tuple[datetime, list[str]]:
    """A bound equal to one candidate's `updated_at`, and the ids updated strictly after it."""
    middle = sorted(harvest.ordered(), key=lambda c: c.updated_at)[len(harvest.org.candidates) // 2]
    bound = middle.updated_at
    return bound, [str(c.id) for c in harvest.ordered() if c.updated_at > bound]


async def test_updated_after_is_pushed_down_and_strictly_after(harvest: Harvest) -> None:
    bound, expected = updated_bound(harvest)
    assert await all_rows(harvest.adapter, CandidateQuery(updated_after=bound), 4) == expected
    first = harvest.calls("GET", CANDIDATES)[0]
    assert first.query["updated_at"].startswith("gt|")
    assert datetime.fromisoformat(first.query["updated_at"][3:]) == bound
    # through the name scan too
    needle = "a"
    scanned = await all_rows(harvest.adapter, CandidateQuery(search=needle, updated_after=bound), 3)
    assert scanned == [
        i
        for i in expected
        if any(
            needle in t.casefold()
            for c in [harvest.org.candidates[int(i)]]
            for t in (c.first_name, c.last_name, *(e["value"] for e in c.email_addresses))
        )
    ]


async def test_updated_after_on_the_job_filter_goes_to_the_ids_read(harvest: Harvest) -> None:
    bound, expected = updated_bound(harvest)
    job_id = max(
        harvest.org.jobs,
        key=lambda j: sum(a.job_id == j for a in harvest.org.applications.values()),
    )
    every = await all_rows(harvest.adapter, CandidateQuery(job_remote_id=str(job_id)), 3)
    harvest.emulator.reset_log()
    query = CandidateQuery(job_remote_id=str(job_id), updated_after=bound)
    rows = await all_rows(harvest.adapter, query, 3)
    assert rows == [i for i in every if i in expected] and len(rows) < len(every)
    by_ids = harvest.calls("GET", CANDIDATES)
    assert by_ids and all(c.query["updated_at"].startswith("gt|") for c in by_ids)


@pytest.mark.parametrize("suffix", ["", "/", "/v3", "/v3/"])
async def test_base_url_with_or_without_v3_reaches_harvest_v3(
    harvest: Harvest, suffix: str
) -> None:
    adapter = adapter_for(harvest.url, harvest.org, base_url=f"{harvest.url}{suffix}")
    try:
        page = await adapter.list_candidates(CandidateQuery(), Position(), 3)
        assert [r.remote_id for r in page.records] == [str(c.id) for c in harvest.ordered()[:7]]
        [found] = await adapter.get_candidates([page.records[0].remote_id])
        assert found.remote_id == page.records[0].remote_id
    finally:
        await adapter.aclose()
    assert {c.path for c in harvest.calls()} == {CANDIDATES}


async def test_a_404_on_a_list_is_a_bad_response_never_a_missing_candidate(
    harvest: Harvest,
) -> None:
    adapter = adapter_for(harvest.url, harvest.org, base_url=f"{harvest.url}/v3/nothing/v3")
    try:
        for call in (
            adapter.list_candidates(CandidateQuery(), Position(), 3),
            adapter.list_candidates(CandidateQuery(search="ann"), Position(), 3),
            adapter.get_candidates(["1"]),
            adapter.applications_for(["1"]),
        ):
            with pytest.raises(UpstreamBadResponse) as failed:
                await call
            assert failed.value.code == "UPSTREAM_BAD_RESPONSE"
            assert "base_url" in failed.value.message
            assert "candidate" not in failed.value.message and harvest.url not in str(failed.value)
    finally:
        await adapter.aclose()
    assert {c.status for c in harvest.calls()} == {404}


async def test_get_candidates_uses_ids_in_chunks_of_50(harvest: Harvest) -> None:
    for n in range(20):
        cid = GreenhouseOrg.next_id(harvest.org.candidates, 0)
        harvest.org.candidates[cid] = GhCandidate(
            cid,
            f"Extra{n}",
            "Person",
            harvest.ordered()[0].created_at,
            harvest.ordered()[0].updated_at,
        )
    ids = [str(c.id) for c in harvest.ordered()]
    records = await harvest.adapter.get_candidates([*ids, "424242", "x/../y"])
    assert [r.remote_id for r in records] == ids
    assert sorted(len(c.query["ids"].split(",")) for c in harvest.calls("GET", CANDIDATES)) == [
        11,
        50,
    ]


async def test_applications_are_batched_per_50_candidates(harvest: Harvest) -> None:
    ids = [str(c.id) for c in harvest.ordered()]
    found = await harvest.adapter.applications_for(ids)
    [call] = harvest.calls("GET", APPLICATIONS)
    assert call.query == {"candidate_ids": ",".join(ids), "per_page": "500"}
    assert set(found) == set(ids)
    assert sum(len(v) for v in found.values()) == len(harvest.org.applications)
    statuses = {a.status for v in found.values() for a in v}
    assert {ApplicationStatus.ACTIVE, ApplicationStatus.REJECTED} <= statuses


# --- writing ----------------------------------------------------------------------------------------


async def test_create_with_a_nested_application(harvest: Harvest) -> None:
    job_id = next(iter(harvest.org.jobs))
    result = await harvest.adapter.create_candidate(
        CandidateDraft(
            first_name="Cho",
            last_name="Chang",
            company="Ravenclaw",
            tags=("seeker",),
            skills=("Flying",),
            emails=(Email("cho@example.com", EmailType.PERSONAL),),
            phones=(Phone("+44 7", PhoneType.SKYPE),),
            urls=(
                Url("https://cho.example", UrlType.PORTFOLIO),
                Url("https://twitter.com/cho", UrlType.SOCIAL_MEDIA),
            ),
            application=ApplicationDraft(str(job_id)),
        )
    )
    [call] = harvest.calls("POST", CANDIDATES)
    assert call.body == {
        "first_name": "Cho",
        "last_name": "Chang",
        "company": "Ravenclaw",
        "email_addresses": [{"value": "cho@example.com", "type": "personal"}],
        "phone_numbers": [{"value": "+44 7", "type": "skype"}],
        "website_addresses": [{"value": "https://cho.example", "type": "portfolio"}],
        "social_media_addresses": [{"value": "https://twitter.com/cho"}],
        "tags": ["seeker"],
        "application": {"job_id": job_id},
    }
    assert call.status == 201 and result.created is True
    assert [w.field for w in result.warnings] == [("skills",)]
    assert result.record.full_name == "Cho Chang" and result.record.applications is None
    stored = harvest.org.candidates[int(result.record.remote_id)]
    assert any(
        a.candidate_id == stored.id and a.job_id == job_id
        for a in harvest.org.applications.values()
    )


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (CandidateDraft(first_name="A"), ("last_name",)),
        (
            CandidateDraft(full_name="A B", urls=(Url("https://x.example", UrlType.JOB_POSTING),)),
            ("urls", "0", "type"),
        ),
        (
            CandidateDraft(full_name="A B", application=ApplicationDraft("abc")),
            ("application", "job_id"),
        ),
    ],
)
async def test_bad_create_input_is_rejected_before_any_call(
    harvest: Harvest, draft: CandidateDraft, field: tuple[str, ...]
) -> None:
    with pytest.raises(Rejected) as rejected:
        await harvest.adapter.create_candidate(draft)
    assert [p.field for p in rejected.value.problems] == [field]
    assert harvest.calls() == [] and harvest.tokens() == []


async def test_a_422_on_create_is_rejected_with_the_field(harvest: Harvest) -> None:
    with pytest.raises(Rejected) as rejected:
        await harvest.adapter.create_candidate(
            CandidateDraft(first_name="A", last_name="B", application=ApplicationDraft("1"))
        )
    [problem] = rejected.value.problems
    assert problem.field == ("application", "job_id")


async def test_update_of_one_email_sends_the_merged_list(harvest: Harvest) -> None:
    someone = next(c for c in harvest.ordered() if len(c.email_addresses) == 2)
    before = [dict(e) for e in someone.email_addresses]
    result = await harvest.adapter.update_candidate(
        str(someone.id),
        CandidatePatch(
            emails=(
                Email("new@example.com", EmailType.WORK),
                Email(before[0]["value"].upper(), EmailType.OTHER),
            )
        ),
    )
    [patch] = harvest.calls("PATCH")
    assert patch.body == {
        "email_addresses": [
            {"value": before[0]["value"], "type": "other"},
            before[1],
            {"value": "new@example.com", "type": "work"},
        ]
    }
    assert [e.value for e in result.record.emails] == [
        before[0]["value"],
        before[1]["value"],
        "new@example.com",
    ]


async def test_update_keeps_types_names_splits_and_null_clears(harvest: Harvest) -> None:
    someone = next(c for c in harvest.ordered() if c.phone_numbers and c.tags)
    phone, tags = someone.phone_numbers[0], list(someone.tags)
    await harvest.adapter.update_candidate(
        str(someone.id),
        CandidatePatch(
            full_name="Minerva McGonagall",
            company=None,
            phones=(Phone(phone["value"]),),
            tags=("transfiguration",),
            urls=None,
            skills=("x",),
        ),
    )
    [patch] = harvest.calls("PATCH")
    assert patch.body == {
        "first_name": "Minerva",
        "last_name": "McGonagall",
        "company": None,
        "phone_numbers": [phone],
        "website_addresses": [],
        "social_media_addresses": [],
        "tags": [*tags, "transfiguration"],
    }
    assert (someone.first_name, someone.company, someone.website_addresses) == ("Minerva", None, [])


async def test_update_without_list_fields_does_not_read_first(harvest: Harvest) -> None:
    someone = harvest.ordered()[0]
    result = await harvest.adapter.update_candidate(
        str(someone.id), CandidatePatch(title="Headmistress")
    )
    assert [c.method for c in harvest.calls()] == ["PATCH"]
    assert result.record.title == "Headmistress"


async def test_update_rejects_bad_types_and_unknown_ids(harvest: Harvest) -> None:
    someone = harvest.ordered()[0]
    with pytest.raises(Rejected):
        await harvest.adapter.update_candidate(str(someone.id), CandidatePatch(first_name=""))
    with pytest.raises(Rejected) as rejected:
        await harvest.adapter.update_candidate(
            str(someone.id), CandidatePatch(urls=(Url("https://x.example", UrlType.RESUME),))
        )
    assert [p.field for p in rejected.value.problems] == [("urls", "0", "type")]
    with pytest.raises(Rejected) as rejected:
        await harvest.adapter.update_candidate(str(someone.id), CandidatePatch(full_name="Madonna"))
    assert [p.field for p in rejected.value.problems] == [("full_name",)]
    with pytest.raises(NotFound):
        await harvest.adapter.update_candidate("../1", CandidatePatch(emails=(Email("a@b.co"),)))
    assert harvest.calls() == [] and harvest.tokens() == []
    with pytest.raises(NotFound):
        await harvest.adapter.update_candidate("424242", CandidatePatch(company="X"))
    with pytest.raises(NotFound):
        await harvest.adapter.update_candidate("424242", CandidatePatch(emails=(Email("a@b.co"),)))


async def test_rate_limit_outage_and_bad_bodies(harvest: Harvest) -> None:
    await harvest.adapter.get_candidates(["1"])
    harvest.org.rate_limit = (0, 30.0)
    with pytest.raises(UpstreamRateLimited) as limited:
        await harvest.adapter.get_candidates(["1"])
    assert limited.value.retry_after is not None and limited.value.retry_after >= 1
    harvest.org.rate_limit, harvest.org.outage = (100, 10.0), True
    fresh = adapter_for(harvest.url, harvest.org)
    try:
        with pytest.raises(UpstreamUnavailable):
            await fresh.get_candidates(["1"])
    finally:
        await fresh.aclose()
    assert isinstance(
        harvest.adapter._error(422, {"message": "x"}, write=False), UpstreamBadResponse
    )
