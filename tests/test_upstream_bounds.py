"""Hostile or broken upstreams are bounded: an answer's size, the rows mapped from it, and the
pages followed for one call. End to end through the gateway over the emulators' fault kinds,
and adapter by adapter against real loopback upstreams (the transport's own limits are in
test_transport.py)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import providers.greenhouse.harvest as harvest_module
import providers.greenhouse.partner as partner_module
import providers.merge.wire as merge_wire
import providers.talynce.adapter as talynce_module
from emulators.faults import DEEP_JSON, FaultProfile
from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg
from emulators.merge.app import LinkedAccount
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.settings import ConfigError, Settings, parse_settings
from providers.base import AccountConfig, CandidateQuery, Position
from providers.errors import UpstreamBadResponse
from providers.greenhouse import GreenhouseHarvestAdapter, GreenhousePartnerAdapter
from providers.greenhouse.harvest import MAX_PAGES
from providers.merge.adapter import MAX_APPLICATION_PAGES, MergeAdapter
from providers.talynce.adapter import TalynceAdapter
from providers.upstream.http import build_client
from resolvers.ids import encode_id
from tests.merge_support import MergeServer, running_merge
from tests.servers import serve_in_thread

ACCOUNT = {"id": "a", "provider": "talynce", "base_url": "http://x", "api_key_env": "K"}
CLIENT_ID, CLIENT_SECRET = "bounds-client", "bounds-secret-0123456789"
TALYNCE_KEY = "bounds-talynce-key"
LARGE = 256 * 1024 * 1024  # lets 60 000 rows through, so what is mapped of them shows

LIST = """
query($first: Int, $search: String, $jobId: ID, $accounts: [ID!]) {
  candidates(first: $first, search: $search, jobId: $jobId, accounts: $accounts) {
    edges { node { remoteId } }
    pageInfo { hasNextPage }
    sources { account { id } status error { code message } }
  }
}
"""
ONE = "query($id: ID!) { candidate(id: $id) { remoteId } }"


def test_max_response_bytes_is_an_account_setting_checked_where_it_is_read() -> None:
    [account] = parse_settings({"accounts": [ACCOUNT]}, {"K": "k"}).accounts
    assert account.max_response_bytes == 8 * 1024 * 1024
    given: dict[str, Any] = {**ACCOUNT, "max_response_bytes": 65536}
    [account] = parse_settings({"accounts": [given]}, {"K": "k"}).accounts
    assert account.max_response_bytes == 65536
    for bad in (0, 1023, 2.5, "8MiB", True):
        with pytest.raises(ConfigError, match=r"accounts\[0\]\.max_response_bytes"):
            parse_settings({"accounts": [{**ACCOUNT, "max_response_bytes": bad}]}, {"K": "k"})


# --- end to end ---------------------------------------------------------------------------------


@dataclass
class Stack:
    url: str
    greenhouse: GreenhouseEmulator
    org: GreenhouseOrg
    merge: MergeServer
    linked: LinkedAccount
    talynce: TalynceOrg

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def listing(self, account: str, **variables: Any) -> dict[str, Any]:
        body = self.graphql(LIST, accounts=[account], **variables)
        assert "errors" not in body, body["errors"]
        page: dict[str, Any] = body["data"]["candidates"]
        return page

    def harvest_gets(self) -> int:
        return len(self.greenhouse.calls("harvest", "GET"))

    def merge_gets(self, route: str) -> int:
        return len(self.merge.calls("initech", route))


@pytest.fixture(scope="module")
def running() -> Iterator[Stack]:
    org = GreenhouseOrg.seeded(
        "Hogwarts",
        partner_api_key="bounds-partner-key",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        candidates=20,
        seed=31,
    )
    greenhouse = GreenhouseEmulator([org])
    talynce_org = TalynceOrg.seeded("acme", TALYNCE_KEY, candidates=20, seed=32)
    talynce = TalynceEmulator([talynce_org])
    linked = LinkedAccount.seeded("Initech", "bounds-merge-token", seed=33, candidates=20)
    with (
        serve_in_thread(greenhouse.app) as gh_url,
        serve_in_thread(talynce.app) as talynce_url,
        running_merge({"initech": linked}) as merge,
    ):
        accounts = (
            AccountConfig(
                id="gh",
                name="Hogwarts",
                provider="greenhouse",
                base_url=f"{gh_url}/v3",
                credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
                options={
                    "api": "harvest",
                    "user_id": str(org.users[0].id),
                    "token_url": "/token",
                    "page_size": 7,
                    "scan_rows": 10,
                },
                retries=0,
            ),
            AccountConfig(
                id="acme",
                name="Acme",
                provider="talynce",
                base_url=f"{talynce_url}/api/v1",
                credentials={"api_key": TALYNCE_KEY},
                retries=0,
            ),
            merge.config("initech"),
        )
        # read_ahead = false: each test turns a fault on and needs its query to reach upstream,
        # where read-ahead would answer from rows an earlier test's query kept.
        settings = Settings(accounts, cursor_secret=b"bounds-cursor-secret", read_ahead=False)
        app = create_app(settings)
        with serve_in_thread(app, lifespan="on") as url:
            yield Stack(url, greenhouse, org, merge, linked, talynce_org)


@pytest.fixture
def stack(running: Stack) -> Iterator[Stack]:
    """The shared stack with every fault cleared afterwards."""
    yield running
    running.org.faults = running.linked.faults = running.talynce.faults = FaultProfile()


def always(fault: str) -> FaultProfile:
    return FaultProfile(rates={fault: 1.0})


def test_harvest_candidate_by_id_stops_at_an_empty_page_that_links_to_another(
    stack: Stack,
) -> None:
    remote = str(next(iter(stack.org.candidates)))
    stack.org.faults = always("endless_next")
    before = stack.harvest_gets()
    body = stack.graphql(ONE, id=encode_id("Candidate", "gh", remote))
    assert "errors" not in body, body["errors"]
    assert body["data"]["candidate"] is None  # the upstream answered no such row
    assert stack.harvest_gets() - before == 1  # was thousands: the `[]` + next loop


def test_harvest_search_scan_stops_at_an_empty_page_that_links_to_another(stack: Stack) -> None:
    stack.org.faults = always("endless_next")
    before = stack.harvest_gets()
    page = stack.listing("gh", first=5, search="nobody at all")
    assert [s["status"] for s in page["sources"]] == ["OK"]
    assert page["edges"] == [] and page["pageInfo"]["hasNextPage"] is False
    assert stack.harvest_gets() - before == 1


@pytest.mark.parametrize("search", [None, "nobody at all"], ids=["listing", "search-scan"])
def test_merge_listing_stops_at_an_empty_page_that_links_to_another(
    stack: Stack, search: str | None
) -> None:
    stack.linked.faults = always("endless_next")
    before = stack.merge_gets("/candidates")
    page = stack.listing("merge-initech", first=5, search=search)
    assert [s["status"] for s in page["sources"]] == ["OK"]
    assert page["edges"] == [] and page["pageInfo"]["hasNextPage"] is False
    assert stack.merge_gets("/candidates") - before == 1


def test_merge_job_filter_stops_at_an_empty_page_that_links_to_another(stack: Stack) -> None:
    job = next(iter(stack.linked.jobs))
    stack.linked.faults = always("endless_next")
    before = stack.merge_gets("/applications")
    page = stack.listing("merge-initech", first=5, jobId=encode_id("Job", "merge-initech", job))
    assert page["edges"] == [] and page["pageInfo"]["hasNextPage"] is False
    assert stack.merge_gets("/applications") - before == 1


@pytest.mark.parametrize("account", ["gh", "acme", "merge-initech"])
def test_a_gzip_bomb_is_a_bad_response_of_its_account_only(stack: Stack, account: str) -> None:
    faulted = {"gh": stack.org, "acme": stack.talynce, "merge-initech": stack.linked}[account]
    faulted.faults = always("gzip_bomb")
    body = stack.graphql(LIST, first=4, accounts=["gh", "acme", "merge-initech"])
    sources = {s["account"]["id"]: s for s in body["data"]["candidates"]["sources"]}
    assert sources[account]["status"] != "OK"
    assert sources[account]["error"]["code"] == "UPSTREAM_BAD_RESPONSE"
    assert "max_response_bytes" in sources[account]["error"]["message"]
    assert [s["status"] for a, s in sources.items() if a != account] == ["OK", "OK"]


def test_huge_rows_past_the_default_cap_are_a_bad_response(stack: Stack) -> None:
    stack.talynce.faults = always("huge_rows")  # 60 000 rows of ~800 bytes: about 48 MiB
    body = stack.graphql(LIST, first=3, accounts=["acme", "gh"])
    sources = {s["account"]["id"]: s for s in body["data"]["candidates"]["sources"]}
    assert sources["acme"]["error"]["code"] == "UPSTREAM_BAD_RESPONSE"
    assert sources["gh"]["status"] == "OK"


def test_the_deep_json_fault_nests_an_array_as_deep_as_it_says(stack: Stack) -> None:
    stack.linked.faults = always("deep_json")
    response = httpx.get(
        f"{stack.merge.base_url}/candidates",
        headers={
            "Authorization": "Bearer merge-key-do-not-leak",
            "X-Account-Token": stack.linked.account_token,
        },
    )
    assert response.status_code == 200
    assert response.content == b"[" * DEEP_JSON + b"]" * DEEP_JSON


# --- adapter by adapter: rows mapped, pages followed -------------------------------------------


def counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[object]:
    """Counts the calls of the mapper `module.name` (the real one still maps each row)."""
    calls: list[object] = []
    mapper: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any) -> Any:
        calls.append(args[0])
        return mapper(*args)

    monkeypatch.setattr(module, name, counted)
    return calls


async def test_talynce_maps_only_the_rows_it_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    org = TalynceOrg.seeded("acme", TALYNCE_KEY, candidates=10, seed=1)
    org.faults = always("huge_rows")
    mapped = counting(monkeypatch, talynce_module, "candidate_record")
    with serve_in_thread(TalynceEmulator([org]).app) as url:
        account = AccountConfig(
            "acme",
            "Acme",
            "talynce",
            f"{url}/api/v1",
            {"api_key": TALYNCE_KEY},
            max_response_bytes=LARGE,
        )
        adapter = TalynceAdapter(account, build_client(account))
        page = await adapter.list_candidates(CandidateQuery(), Position(), 3)
        await adapter.aclose()
    assert len(page.records) == 3 and len(mapped) == 3  # of 60 000 sent


async def test_merge_maps_only_the_rows_it_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    linked = LinkedAccount.seeded("Initech", "bounds-merge-token", seed=3, candidates=10)
    linked.faults = always("huge_rows")
    mapped = counting(monkeypatch, merge_wire, "candidate_record")
    with running_merge({"initech": linked}) as merge:
        config = merge.config("initech")
        config = AccountConfig(**{**_fields(config), "max_response_bytes": LARGE})
        adapter = MergeAdapter(config, build_client(config))
        page = await adapter.list_candidates(CandidateQuery(), Position(), 3)
        await adapter.aclose()
    assert len(page.records) == 3 and len(mapped) == 3


async def test_greenhouse_maps_only_the_rows_it_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    org = GreenhouseOrg.seeded(
        "Hogwarts",
        partner_api_key="pk",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        candidates=10,
        seed=4,
    )
    org.faults = always("huge_rows")
    listed = counting(monkeypatch, harvest_module, "harvest_record")
    fetched = counting(monkeypatch, partner_module, "partner_record")
    remote = str(next(iter(org.candidates)))
    with serve_in_thread(GreenhouseEmulator([org]).app) as url:
        harvest = AccountConfig(
            "gh",
            "Hogwarts",
            "greenhouse",
            f"{url}/v3",
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            options={
                "api": "harvest",
                "user_id": str(org.users[0].id),
                "token_url": "/token",
                "page_size": 7,
            },
            max_response_bytes=LARGE,
        )
        adapter = GreenhouseHarvestAdapter(harvest, build_client(harvest))
        page = await adapter.list_candidates(CandidateQuery(), Position(), 3)
        assert len(page.records) == 7 and len(listed) == 7  # its page size, of 60 000 sent
        listed.clear()
        assert [r.remote_id for r in await adapter.get_candidates([remote])] == [remote]
        assert len(listed) == 1
        await adapter.aclose()
        partner = AccountConfig(
            "gp",
            "Hogwarts",
            "greenhouse",
            f"{url}/v1/partner",
            {"api_key": "pk"},
            options={"api": "partner", "on_behalf_of": org.users[0].email},
            max_response_bytes=LARGE,
        )
        adapter_p = GreenhousePartnerAdapter(partner, build_client(partner))
        assert [r.remote_id for r in await adapter_p.get_candidates([remote])] == [remote]
        assert len(fetched) == 1
        await adapter_p.aclose()


def _fields(config: AccountConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in AccountConfig.__slots__}


def endless_harvest(pages: list[str], *, cursor: str | None = None) -> Starlette:
    """A Harvest that answers every candidate list with one row and a next link: to a fresh
    cursor each time, or always to `cursor`."""

    async def token(request: Request) -> Response:
        return JSONResponse({"access_token": "t0k", "expires_in": 3600})

    async def candidates(request: Request) -> Response:
        pages.append(request.url.query)
        following = cursor or secrets.token_urlsafe(8)
        url = request.url.replace(query=f"cursor={following}")
        row = {"id": 7, "first_name": "Ada", "last_name": "Lovelace"}
        return JSONResponse([row], headers={"Link": f'<{url}>; rel="next"'})

    return Starlette(
        routes=[Route("/token", token, methods=["POST"]), Route("/v3/candidates", candidates)]
    )


def harvest_adapter(url: str) -> GreenhouseHarvestAdapter:
    config = AccountConfig(
        "gh",
        "Hogwarts",
        "greenhouse",
        f"{url}/v3",
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        options={"api": "harvest", "user_id": "1", "token_url": "/token"},
        retries=0,
    )
    return GreenhouseHarvestAdapter(config, build_client(config))


async def test_harvest_follows_at_most_max_pages_then_reports_a_bad_response() -> None:
    pages: list[str] = []
    with serve_in_thread(endless_harvest(pages)) as url:
        adapter = harvest_adapter(url)
        async with asyncio.timeout(30):
            with pytest.raises(UpstreamBadResponse) as caught:
                await adapter.get_candidates(["7"])
        await adapter.aclose()
    assert len(pages) == MAX_PAGES
    assert caught.value.account == "gh" and url not in caught.value.message


async def test_harvest_never_follows_a_cursor_twice() -> None:
    pages: list[str] = []
    with serve_in_thread(endless_harvest(pages, cursor="again")) as url:
        adapter = harvest_adapter(url)
        async with asyncio.timeout(30):
            found = await adapter.get_candidates(["7"])
        await adapter.aclose()
    assert [r.remote_id for r in found] == ["7"]
    assert pages[1:] == ["cursor=again"]


async def test_merge_reads_at_most_its_application_pages_then_reports_a_bad_response() -> None:
    pages: list[str] = []
    candidate = "0b6ac1ee-2a52-4a0e-9f39-54f6f2a40f11"

    async def applications(request: Request) -> Response:
        pages.append(request.url.query)
        row = {"id": "1c1d7f5e-5f0e-4a7b-8a8e-0d1f5b0f2a11", "candidate": candidate}
        return JSONResponse({"results": [row], "next": secrets.token_urlsafe(8)})

    app = Starlette(routes=[Route("/applications", applications)])
    with serve_in_thread(app) as url:
        config = AccountConfig(
            "merge", "Initech", "merge", url, {"api_key": "k", "account_token": "t"}, retries=0
        )
        adapter = MergeAdapter(config, build_client(config))
        async with asyncio.timeout(30):
            with pytest.raises(UpstreamBadResponse):
                await adapter.applications_for([candidate])
        await adapter.aclose()
    assert len(pages) == MAX_APPLICATION_PAGES


def test_fault_profiles_take_the_new_kinds_over_the_admin_endpoint() -> None:
    profile = FaultProfile.from_json(
        {"rates": {"gzip_bomb": 0.5, "huge_rows": 0.5}, "bomb_bytes": 1 << 20, "huge_rows": 9}
    )
    assert (profile.bomb_bytes, profile.huge_rows) == (1 << 20, 9)
    assert json.loads(json.dumps(profile.rates)) == {"gzip_bomb": 0.5, "huge_rows": 0.5}
