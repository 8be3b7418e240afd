"""Greenhouse end to end: GraphQL over HTTP to the gateway, in front of the Greenhouse emulator
(Partner and Harvest accounts of one organisation, plus a Harvest account of another) and a
Talynce emulator, all over real HTTP; and the Harvest paging property.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulators.greenhouse import (
    GhCandidate,
    GreenhouseEmulator,
    GreenhouseOrg,
    RecordedRequest,
)
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig
from resolvers.ids import encode_id
from tests.conftest import SecretWatch
from tests.servers import serve_in_thread

HOGWARTS_KEY, HOGWARTS_CLIENT, HOGWARTS_SECRET = (
    "e2e-partner-key-0123",
    "e2e-hogwarts-client",
    "e2e-hogwarts-secret-4567",
)
DURMSTRANG_CLIENT, DURMSTRANG_SECRET = "e2e-durmstrang-client", "e2e-durmstrang-secret-8901"
TALYNCE_KEY = "e2e-talynce-key-2345"

LIST = """
query($first: Int, $after: String, $search: String, $jobId: ID, $accounts: [ID!]) {
  candidates(first: $first, after: $after, search: $search, jobId: $jobId, accounts: $accounts) {
    edges { node { id remoteId account { id } } }
    pageInfo { hasNextPage endCursor }
    sources { account { id } status error { code message } }
  }
}
"""


@dataclass
class Stack:
    url: str
    greenhouse: GreenhouseEmulator
    orgs: dict[str, GreenhouseOrg]  # by Harvest account id
    talynce: TalynceEmulator

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def calls(
        self, api: str, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        return self.greenhouse.calls(api, method, path)


def accounts(
    url: str, hogwarts: GreenhouseOrg, durmstrang: GreenhouseOrg, talynce_url: str
) -> tuple[AccountConfig, ...]:
    def greenhouse(
        account_id: str, path: str, credentials: dict[str, str], **options: object
    ) -> AccountConfig:
        return AccountConfig(
            id=account_id,
            name=account_id,
            provider="greenhouse",
            base_url=f"{url}{path}",
            credentials=credentials,
            options=options,
            retries=0,
        )

    return (
        AccountConfig(
            id="acme",
            name="Acme",
            provider="talynce",
            base_url=f"{talynce_url}/api/v1",
            credentials={"api_key": TALYNCE_KEY},
            retries=0,
        ),
        greenhouse(
            "gh-partner",
            "/v1/partner",
            {"api_key": HOGWARTS_KEY},
            api="partner",
            on_behalf_of=hogwarts.users[0].email,
        ),
        greenhouse(
            "gh-harvest",
            "/v3",
            {"client_id": HOGWARTS_CLIENT, "client_secret": HOGWARTS_SECRET},
            api="harvest",
            user_id=hogwarts.users[0].id,
            token_url="/token",
            page_size=7,
            scan_rows=10,
        ),
        greenhouse(
            "gh-durmstrang",
            "/v3",
            {"client_id": DURMSTRANG_CLIENT, "client_secret": DURMSTRANG_SECRET},
            api="harvest",
            user_id=durmstrang.users[0].id,
            token_url="/token",
            page_size=13,
        ),
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """One stack for the module; tests that write use candidates nobody else reads."""
    hogwarts = GreenhouseOrg.seeded(
        "Hogwarts",
        partner_api_key=HOGWARTS_KEY,
        client_id=HOGWARTS_CLIENT,
        client_secret=HOGWARTS_SECRET,
        candidates=45,
        seed=21,
    )
    durmstrang = GreenhouseOrg.seeded(
        "Durmstrang",
        partner_api_key="unused-key",
        client_id=DURMSTRANG_CLIENT,
        client_secret=DURMSTRANG_SECRET,
        candidates=30,
        seed=22,
    )
    greenhouse = GreenhouseEmulator([hogwarts, durmstrang])
    talynce = TalynceEmulator([TalynceOrg.seeded("acme", TALYNCE_KEY, candidates=20, seed=23)])
    with serve_in_thread(greenhouse.app) as gh_url, serve_in_thread(talynce.app) as talynce_url:
        settings = Settings(
            accounts(gh_url, hogwarts, durmstrang, talynce_url),
            cursor_secret=b"greenhouse-e2e-cursor-secret",
        )
        app = SecretWatch(create_app(settings), settings.secrets())
        with serve_in_thread(app, lifespan="on") as url:
            yield Stack(
                url, greenhouse, {"gh-harvest": hogwarts, "gh-durmstrang": durmstrang}, talynce
            )


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def test_accounts_show_each_apis_own_capabilities(stack: Stack) -> None:
    found = {
        a["id"]: a
        for a in ok(stack.graphql("{ accounts { id provider capabilities } }"))["accounts"]
    }
    assert found["gh-partner"]["provider"] == "GREENHOUSE"
    assert sorted(found["gh-partner"]["capabilities"]) == ["APPLICATIONS", "CREATE", "GET_MANY"]
    assert sorted(found["gh-harvest"]["capabilities"]) == sorted(
        [
            *("APPLICATIONS", "CREATE", "FILTER_JOB", "FILTER_UPDATED", "GET_MANY", "JOBS"),
            *("LIST", "SEARCH", "UPDATE"),
            *("LIST_APPLICATIONS", "REJECT_REASONS", "CREATE_APPLICATION", "MOVE_APPLICATION"),
            *("REJECT_APPLICATION", "ADD_NOTE"),
        ]
    )


def test_one_listing_serves_harvest_and_talynce_and_reports_partner_unsupported(
    stack: Stack,
) -> None:
    before = len(stack.calls("partner"))
    page = ok(stack.graphql(LIST, {"first": 9, "accounts": ["acme", "gh-partner", "gh-harvest"]}))[
        "candidates"
    ]
    owners = [e["node"]["account"]["id"] for e in page["edges"]]
    assert owners == ["acme", "gh-harvest"] * 4 + ["acme"]
    sources = {s["account"]["id"]: s for s in page["sources"]}
    assert sources["acme"]["status"] == sources["gh-harvest"]["status"] == "OK"
    assert sources["gh-partner"]["status"] == "UNSUPPORTED"
    assert sources["gh-partner"]["error"]["code"] == "UNSUPPORTED_BY_PROVIDER"
    assert len(stack.calls("partner")) == before
    hogwarts = stack.orgs["gh-harvest"]
    assert [
        e["node"]["remoteId"] for e in page["edges"] if e["node"]["account"]["id"] == "gh-harvest"
    ] == [str(i) for i in sorted(hogwarts.candidates)[:4]]


SOURCES = """
query($first: Int, $after: String, $search: String, $accounts: [ID!]) {
  candidates(first: $first, after: $after, search: $search, accounts: $accounts) {
    edges { node { remoteId } }
    pageInfo { hasNextPage endCursor }
    sources { account { id } status filteredLocally }
  }
}
"""


def test_a_harvest_name_search_says_it_was_filtered_locally_on_every_page(stack: Stack) -> None:
    hogwarts = stack.orgs["gh-harvest"]
    someone = hogwarts.candidates[sorted(hogwarts.candidates)[30]]
    variables = {"first": 2, "search": someone.last_name[:3], "accounts": ["gh-harvest"]}
    pages = 0
    while True:
        result = ok(stack.graphql(SOURCES, variables))["candidates"]
        [source] = result["sources"]
        assert source["status"] == "OK" and source["filteredLocally"] is True
        pages += 1
        if not result["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = result["pageInfo"]["endCursor"]
    assert pages >= 2
    email = someone.email_addresses[0]["value"]
    for search in (email, None):  # pushed down, or no filter: nothing filtered here
        result = ok(
            stack.graphql(SOURCES, {"first": 2, "search": search, "accounts": ["gh-harvest"]})
        )
        assert result["candidates"]["sources"][0]["filteredLocally"] is False


def test_twenty_lookups_of_partner_candidates_are_one_upstream_call(stack: Stack) -> None:
    hogwarts = stack.orgs["gh-harvest"]
    ids = [str(i) for i in sorted(hogwarts.candidates)[:19]] + ["987654321"]
    fields = "\n".join(
        f'c{n}: candidate(id: "{encode_id("Candidate", "gh-partner", remote)}") {{ remoteId fullName firstName lastName applications {{ status rawStatus stage {{ id name }} job {{ id name }} }} }}'
        for n, remote in enumerate(ids)
    )
    before = len(stack.calls("partner"))
    data = ok(stack.graphql(f"{{ {fields} }}"))
    calls = stack.calls("partner")[before:]
    assert [(c.method, c.path) for c in calls] == [("GET", "/v1/partner/candidates")]
    assert calls[0].query["candidate_ids"] == ",".join(ids)
    assert data["c19"] is None
    first = hogwarts.candidates[int(ids[0])]
    assert (data["c0"]["firstName"], data["c0"]["lastName"]) == (first.first_name, first.last_name)
    some = next(d for d in data.values() if d and d["applications"] and d["applications"][0]["job"])
    assert some["applications"][0]["job"]["id"] is None and some["applications"][0]["job"]["name"]


def test_harvest_applications_of_a_page_are_one_batched_call(stack: Stack) -> None:
    before = len(stack.calls("harvest", "GET", "/v3/applications"))
    query = '{ candidates(first: 6, accounts: ["gh-harvest"]) { edges { node { remoteId applications { status rawStatus stage { id name } job { id remoteId } } } } } }'
    edges = ok(stack.graphql(query))["candidates"]["edges"]
    [call] = stack.calls("harvest", "GET", "/v3/applications")[before:]
    assert call.query["candidate_ids"] == ",".join(e["node"]["remoteId"] for e in edges)
    hogwarts = stack.orgs["gh-harvest"]
    for edge in edges:
        stored = [
            a
            for a in hogwarts.applications.values()
            if a.candidate_id == int(edge["node"]["remoteId"])
        ]
        assert sorted(a["rawStatus"] for a in edge["node"]["applications"]) == sorted(
            a.status for a in stored
        )


UPDATE = """
mutation($id: ID!, $input: UpdateCandidateInput!) {
  updateCandidate(id: $id, input: $input) {
    candidate { remoteId emails { value type } }
    userErrors { field code message }
  }
}
"""


def test_update_on_partner_is_a_user_error(stack: Stack) -> None:
    some = str(sorted(stack.orgs["gh-harvest"].candidates)[0])
    before = len(stack.calls("partner"))
    payload = ok(
        stack.graphql(
            UPDATE, {"id": encode_id("Candidate", "gh-partner", some), "input": {"company": "X"}}
        )
    )["updateCandidate"]
    assert payload["candidate"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["UNSUPPORTED_BY_PROVIDER"]
    assert len(stack.calls("partner")) == before


def test_harvest_update_of_one_email_sends_the_merged_list(stack: Stack) -> None:
    durmstrang = stack.orgs["gh-durmstrang"]
    someone: GhCandidate = next(
        c for c in reversed(list(durmstrang.candidates.values())) if len(c.email_addresses) == 1
    )
    kept = dict(someone.email_addresses[0])
    payload = ok(
        stack.graphql(
            UPDATE,
            {
                "id": encode_id("Candidate", "gh-durmstrang", str(someone.id)),
                "input": {"emails": [{"value": "viktor@durmstrang.example", "type": "WORK"}]},
            },
        )
    )["updateCandidate"]
    assert payload["userErrors"] == []
    assert payload["candidate"]["emails"] == [
        {"value": kept["value"], "type": kept["type"].upper()},
        {"value": "viktor@durmstrang.example", "type": "WORK"},
    ]
    patch = stack.calls("harvest", "PATCH")[-1]
    assert patch.body == {
        "email_addresses": [kept, {"value": "viktor@durmstrang.example", "type": "work"}]
    }


CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) {
    created candidate { id remoteId fullName profileUrl externalId applications { id status job { id } } }
    userErrors { field code message }
  }
}
"""


def test_create_through_partner_then_list_it_through_harvest(stack: Stack) -> None:
    job = next(iter(stack.orgs["gh-harvest"].jobs))
    payload = ok(
        stack.graphql(
            CREATE,
            {
                "input": {
                    "account": "gh-partner",
                    "firstName": "Dobby",
                    "lastName": "Elf",
                    "externalId": "dobby-1",
                    "application": {"jobId": encode_id("Job", "gh-partner", str(job))},
                }
            },
        )
    )["createCandidate"]
    assert payload["userErrors"] == [] and payload["created"] is True
    created = payload["candidate"]
    assert created["profileUrl"].endswith(f"/people/{created['remoteId']}")
    assert created["applications"][0]["job"]["id"] == encode_id("Job", "gh-partner", str(job))
    found = ok(stack.graphql(LIST, {"first": 5, "search": "dobby", "accounts": ["gh-harvest"]}))[
        "candidates"
    ]
    assert [e["node"]["remoteId"] for e in found["edges"]] == [created["remoteId"]]
    refused = ok(
        stack.graphql(
            CREATE,
            {
                "input": {
                    "account": "gh-partner",
                    "firstName": "No",
                    "lastName": "Id",
                    "phones": [{"value": "1", "type": "SKYPE"}],
                }
            },
        )
    )["createCandidate"]
    assert sorted(e["field"][-1] for e in refused["userErrors"]) == ["externalId", "type"]
