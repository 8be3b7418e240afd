"""Contract tests: the Greenhouse Partner adapter against the emulator over real HTTP."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg, RecordedRequest
from providers.base import AccountConfig, CandidateQuery, Position
from providers.errors import (
    NotFound,
    ProviderError,
    Rejected,
    UnsupportedByProvider,
    UpstreamAuthFailed,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from providers.greenhouse import GreenhousePartnerAdapter
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
from tests.test_greenhouse_mapping import DOC_POST_REQUEST, doc_json

API_KEY = "gh-partner-key-0123456789"
OAUTH_TOKEN = "gh-partner-oauth-abcdef"
CANDIDATES = "/v1/partner/candidates"


def fresh_org() -> GreenhouseOrg:
    org = GreenhouseOrg.seeded(
        "Hogwarts",
        partner_api_key=API_KEY,
        client_id="cid",
        client_secret="csecret",
        candidates=60,
        seed=3,
    )
    org.partner_oauth_token = OAUTH_TOKEN
    return org


def adapter_for(
    url: str, org: GreenhouseOrg, *, timeout: float = 10.0, **credentials: str
) -> GreenhousePartnerAdapter:
    config = AccountConfig(
        id="gh-partner",
        name="Hogwarts",
        provider="greenhouse",
        base_url=f"{url}/v1/partner",
        credentials=credentials or {"api_key": API_KEY},
        options={"api": "partner", "on_behalf_of": org.users[0].email},
        timeout=timeout,
        retries=0,
    )
    return GreenhousePartnerAdapter(config, build_client(config))


@dataclass
class Partner:
    url: str
    emulator: GreenhouseEmulator
    org: GreenhouseOrg
    adapter: GreenhousePartnerAdapter

    def calls(self, method: str | None = None) -> list[RecordedRequest]:
        return self.emulator.calls("partner", method)

    def ids(self) -> list[str]:
        return [str(i) for i in sorted(self.org.candidates)]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, GreenhouseEmulator]]:
    emulator = GreenhouseEmulator([fresh_org()])
    with serve_in_thread(emulator.app) as url:
        yield url, emulator


@pytest.fixture
async def partner(served: tuple[str, GreenhouseEmulator]) -> AsyncIterator[Partner]:
    url, emulator = served
    org = fresh_org()
    emulator.orgs[:] = [org]
    emulator.reset_log()
    adapter = adapter_for(url, org)
    yield Partner(url, emulator, org, adapter)
    await adapter.aclose()


def raw_get(partner: Partner, path: str, headers: dict[str, str], **params: str) -> httpx.Response:
    return httpx.get(f"{partner.url}{path}", params=params, headers=headers)


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def assert_discreet(error: ProviderError, *secrets: str) -> None:
    for text in (str(error), repr(error), error.message):
        assert all(secret not in text for secret in secrets)


# --- the emulator, as the document describes it ---------------------------------------------


def test_emulator_requires_basic_key_and_a_known_on_behalf_of_user(partner: Partner) -> None:
    some = partner.ids()[0]
    user = partner.org.users[0].email
    ok = raw_get(
        partner,
        CANDIDATES,
        {"Authorization": basic(API_KEY), "On-Behalf-Of": user},
        candidate_ids=some,
    )
    assert ok.status_code == 200 and isinstance(ok.json(), list)
    for headers in (
        {"Authorization": basic(API_KEY)},
        {"Authorization": basic(API_KEY), "On-Behalf-Of": "stranger@example.com"},
        {"Authorization": basic("wrong-key"), "On-Behalf-Of": user},
        {"Authorization": basic(API_KEY, "a-password"), "On-Behalf-Of": user},
        {"On-Behalf-Of": user},
    ):
        refused = raw_get(partner, CANDIDATES, headers, candidate_ids=some)
        assert refused.status_code == 401
        assert set(refused.json()) == {"errors"} and refused.json()["errors"][0]["message"]


def test_emulator_answers_an_array_drops_unknown_ids_and_caps_the_list(partner: Partner) -> None:
    headers = {"Authorization": basic(API_KEY), "On-Behalf-Of": partner.org.users[0].email}
    known = partner.ids()[:2]
    body = raw_get(
        partner, CANDIDATES, headers, candidate_ids=f"{known[0]}, 999, {known[1]}"
    ).json()
    assert [c["id"] for c in body] == [int(i) for i in known]
    assert set(body[0]) == {"id", "name", "external_id", "applications"}
    assert raw_get(partner, CANDIDATES, headers, candidate_ids="999").json() == []
    too_many = raw_get(partner, CANDIDATES, headers, candidate_ids=",".join(map(str, range(1, 52))))
    assert too_many.status_code == 400
    assert too_many.json() == {
        "errors": [{"message": "candidate_ids accepts at most 50 ids", "field": "candidate_ids"}]
    }
    assert raw_get(partner, CANDIDATES, headers).status_code == 400
    assert raw_get(partner, "/v1/partner/nowhere", headers).status_code == 404


def test_emulator_accepts_the_documents_post_example_once_its_ids_exist(partner: Partner) -> None:
    example = doc_json(DOC_POST_REQUEST)
    pool = partner.org.prospect_pools[0]
    example |= {
        "job_id": next(iter(partner.org.jobs)),
        "prospect_pool_id": pool.id,
        "prospect_pool_stage_id": pool.stages[0][0],
        "prospect_owner_email": partner.org.users[1].email,
    }
    headers = {"Authorization": basic(API_KEY), "On-Behalf-Of": partner.org.users[0].email}
    answer = httpx.post(f"{partner.url}{CANDIDATES}", json=example, headers=headers)
    assert answer.status_code == 200, answer.text
    created = answer.json()
    assert set(created) == {"id", "application_id", "external_id", "profile_url"}
    assert created["profile_url"].endswith(
        f"/people/{created['id']}?application_id={created['application_id']}"
    )
    stored = partner.org.candidates[created["id"]]
    assert stored.email_addresses == [{"value": "hpotter@hogwarts.edu", "type": "other"}]
    assert stored.website_addresses == [{"value": "https://harrypotter.com", "type": "blog"}]
    assert stored.social_media_addresses == [{"value": "https://twitter.com/hp"}]
    batch = httpx.post(f"{partner.url}{CANDIDATES}", json=[example, example], headers=headers)
    assert isinstance(batch.json(), list) and len(batch.json()) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"first_name": None}, "first_name"),
        ({"external_id": None}, "external_id"),
        ({"prospect": False, "job_id": None}, "job_id"),
        ({"job_id": 1}, "job_id"),
        ({"emails": [{"email": "a@b.co", "type": "home"}]}, "emails[0].type"),
        ({"phone_numbers": [{"phone_number": "1", "type": "skype"}]}, "phone_numbers[0].type"),
        (
            {
                "prospect": False,
                "prospect_pool_id": None,
                "prospect_pool_stage_id": None,
                "prospect_owner_email": None,
                "addresses": [{"address": "x", "type": "castle"}],
            },
            "addresses[0].type",
        ),
        ({"prospect_pool_stage_id": 1}, "prospect_pool_stage_id"),
        ({"favourite_spell": "expelliarmus"}, "favourite_spell"),
    ],
)
def test_emulator_refuses_invalid_creates_with_the_field(
    partner: Partner, change: dict[str, Any], field: str
) -> None:
    body = {
        "first_name": "Harry",
        "last_name": "Potter",
        "external_id": "x",
        "job_id": next(iter(partner.org.jobs)),
    } | change
    headers = {"Authorization": basic(API_KEY), "On-Behalf-Of": partner.org.users[0].email}
    answer = httpx.post(
        f"{partner.url}{CANDIDATES}",
        json={k: v for k, v in body.items() if v is not None},
        headers=headers,
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == field


# --- the adapter ------------------------------------------------------------------------------


async def test_get_candidates_is_one_call_for_up_to_50_ids_and_drops_unknown_ones(
    partner: Partner,
) -> None:
    ids = partner.ids()[:20]
    records = await partner.adapter.get_candidates([*ids, "999999", "../etc", ids[0]])
    assert [r.remote_id for r in records] == ids
    [call] = partner.calls("GET")
    assert call.query["candidate_ids"] == ",".join([*ids, "999999"])
    assert call.user == partner.org.users[0].email
    stored = partner.org.candidates[int(ids[0])]
    assert (records[0].first_name, records[0].last_name) == (stored.first_name, stored.last_name)


async def test_get_candidates_chunks_at_50(partner: Partner) -> None:
    ids = partner.ids()[:55]
    records = await partner.adapter.get_candidates(ids)
    assert len(records) == 55
    assert sorted(len(c.query["candidate_ids"].split(",")) for c in partner.calls("GET")) == [5, 50]


async def test_no_call_for_ids_that_cannot_exist(partner: Partner) -> None:
    assert await partner.adapter.get_candidates(["abc", "1.5"]) == []
    assert partner.calls() == []


async def test_applications_come_with_the_candidate(partner: Partner) -> None:
    candidate_id = next(
        a.candidate_id for a in partner.org.applications.values() if a.status == "hired"
    )
    found = await partner.adapter.applications_for([str(candidate_id)])
    statuses = {a.status for a in found[str(candidate_id)]}
    assert ApplicationStatus.HIRED in statuses
    hired = next(a for a in found[str(candidate_id)] if a.status is ApplicationStatus.HIRED)
    assert hired.raw_status == "Hired" and hired.job is not None and hired.job.remote_id is None
    assert hired.job.name in {j.name for j in partner.org.jobs.values()}


async def test_oauth_bearer_token_works_too(partner: Partner) -> None:
    adapter = adapter_for(partner.url, partner.org, oauth_token=OAUTH_TOKEN)
    try:
        assert len(await adapter.get_candidates(partner.ids()[:3])) == 3
    finally:
        await adapter.aclose()


@pytest.mark.parametrize(
    "credentials", [{"api_key": "wrong-partner-key"}, {"oauth_token": "wrong-oauth-token"}]
)
async def test_refused_credentials_are_upstream_auth_failed_naming_the_account(
    partner: Partner, credentials: dict[str, str]
) -> None:
    adapter = adapter_for(partner.url, partner.org, **credentials)
    try:
        with pytest.raises(UpstreamAuthFailed) as refused:
            await adapter.get_candidates(partner.ids()[:1])
    finally:
        await adapter.aclose()
    assert refused.value.account == "gh-partner" and refused.value.provider == "greenhouse"
    assert "gh-partner" in refused.value.message
    assert_discreet(refused.value, *credentials.values(), basic(credentials.get("api_key", "")))


async def test_listing_and_updating_are_unsupported_without_a_call(partner: Partner) -> None:
    with pytest.raises(UnsupportedByProvider):
        await partner.adapter.list_candidates(CandidateQuery(), Position(), 10)
    with pytest.raises(UnsupportedByProvider):
        await partner.adapter.update_candidate(partner.ids()[0], CandidatePatch(company="X"))
    assert partner.calls() == []


async def test_create_a_prospect_with_contacts_and_account_prospect_settings(
    served: tuple[str, GreenhouseEmulator], partner: Partner
) -> None:
    pool = partner.org.prospect_pools[0]
    config = AccountConfig(
        id="gh-partner",
        name="H",
        provider="greenhouse",
        base_url=f"{partner.url}/v1/partner",
        credentials={"api_key": API_KEY},
        retries=0,
        options={
            "api": "partner",
            "on_behalf_of": partner.org.users[0].email,
            "prospect_pool_id": pool.id,
            "prospect_pool_stage_id": pool.stages[1][0],
            "prospect_owner_email": partner.org.users[1].email,
            "referrer": {"email": "ref@example.com", "first_name": "Ref", "last_name": "Errer"},
        },
    )
    adapter = GreenhousePartnerAdapter(config, build_client(config))
    draft = CandidateDraft(
        full_name="Luna Lovegood",
        company="The Quibbler",
        external_id="ext-1",
        notes="Sees thestrals",
        emails=(Email("luna@quibbler.example", EmailType.WORK), Email("luna@home.example")),
        phones=(Phone("+44 20 1234", PhoneType.MOBILE),),
        urls=(
            Url("https://quibbler.example", UrlType.COMPANY),
            Url("https://twitter.com/luna", UrlType.SOCIAL_MEDIA),
        ),
        locations=("Ottery St Catchpole",),
        skills=("Divination",),
        resume_url="https://files.example/luna.pdf",
    )
    try:
        result = await adapter.create_candidate(draft)
    finally:
        await adapter.aclose()
    [call] = partner.calls("POST")
    assert call.body == {
        "prospect": True,
        "first_name": "Luna",
        "last_name": "Lovegood",
        "external_id": "ext-1",
        "company": "The Quibbler",
        "resume": "https://files.example/luna.pdf",
        "notes": "Sees thestrals",
        "emails": [
            {"email": "luna@quibbler.example", "type": "work"},
            {"email": "luna@home.example", "type": "other"},
        ],
        "phone_numbers": [{"phone_number": "+44 20 1234", "type": "mobile"}],
        "websites": [{"url": "https://quibbler.example", "type": "company"}],
        "social_media": [{"url": "https://twitter.com/luna"}],
        "addresses": [{"address": "Ottery St Catchpole", "type": "other"}],
        "referrer": {"email": "ref@example.com", "first_name": "Ref", "last_name": "Errer"},
        "prospect_pool_id": pool.id,
        "prospect_pool_stage_id": pool.stages[1][0],
        "prospect_owner_email": partner.org.users[1].email,
    }
    record = result.record
    assert result.created is True
    assert [w.field for w in result.warnings] == [("skills",)]
    stored = partner.org.candidates[int(record.remote_id)]
    assert (stored.first_name, stored.last_name) == ("Luna", "Lovegood")
    [application] = record.applications or ()
    assert application.job is None and application.profile_url is not None
    assert record.profile_url == f"https://app.greenhouse.io/people/{record.remote_id}"
    assert record.external_id == "ext-1"


async def test_create_on_a_job_is_a_candidate_not_a_prospect(partner: Partner) -> None:
    job_id = next(iter(partner.org.jobs))
    result = await partner.adapter.create_candidate(
        CandidateDraft(
            first_name="Neville",
            last_name="Longbottom",
            external_id="n-1",
            application=ApplicationDraft(str(job_id), status="Interview"),
        )
    )
    [call] = partner.calls("POST")
    assert (
        isinstance(call.body, dict)
        and call.body["prospect"] is False
        and call.body["job_id"] == job_id
    )
    [application] = result.record.applications or ()
    assert application.job is not None and application.job.remote_id == str(job_id)
    assert partner.org.applications[int(application.remote_id)].job_id == job_id
    assert [w.field for w in result.warnings] == [("application",)]
    fetched = await partner.adapter.get_candidates([result.record.remote_id])
    assert (
        fetched[0].applications is not None
        and fetched[0].applications[0].stage == "Application Review"
    )


@pytest.mark.parametrize(
    ("draft", "fields"),
    [
        (CandidateDraft(first_name="A", last_name="B"), [("external_id",)]),
        (CandidateDraft(first_name="A", external_id="x"), [("last_name",)]),
        (
            CandidateDraft(full_name="A B", external_id="x", phones=(Phone("1", PhoneType.SKYPE),)),
            [("phones", "0", "type")],
        ),
        (
            CandidateDraft(
                full_name="A B", external_id="x", urls=(Url("https://x.example", UrlType.RESUME),)
            ),
            [("urls", "0", "type")],
        ),
        (
            CandidateDraft(full_name="A B", external_id="x", emails=(Email("a@b.co", "home"),)),
            [("emails", "0", "type")],
        ),  # type: ignore[arg-type]
        (
            CandidateDraft(
                full_name="A B", external_id="x", application=ApplicationDraft("not-a-number")
            ),
            [("application", "job_id")],
        ),
    ],
)
async def test_bad_input_is_rejected_before_any_call(
    partner: Partner, draft: CandidateDraft, fields: list[tuple[str, ...]]
) -> None:
    with pytest.raises(Rejected) as rejected:
        await partner.adapter.create_candidate(draft)
    assert [p.field for p in rejected.value.problems] == fields
    assert partner.calls() == []


async def test_a_refusal_upstream_becomes_a_field_problem(partner: Partner) -> None:
    with pytest.raises(Rejected) as rejected:
        await partner.adapter.create_candidate(
            CandidateDraft(
                first_name="A", last_name="B", external_id="x", application=ApplicationDraft("1")
            )
        )
    [problem] = rejected.value.problems
    assert problem.field == ("application", "job_id")
    assert problem.message == "Greenhouse refused this value as invalid"  # not Greenhouse's text
    assert len(partner.calls("POST")) == 1


async def test_outage_latency_and_not_found(partner: Partner) -> None:
    partner.org.outage = True
    with pytest.raises(UpstreamUnavailable):
        await partner.adapter.get_candidates(partner.ids()[:1])
    partner.org.outage, partner.org.latency = False, 0.5
    slow = adapter_for(partner.url, partner.org, timeout=0.1)
    try:
        with pytest.raises(UpstreamTimeout):
            await slow.get_candidates(partner.ids()[:1])
    finally:
        await slow.aclose()
    assert isinstance(partner.adapter._error(404, {"errors": [{"message": "gone"}]}), NotFound)
