"""Merge end to end: GraphQL over HTTP to the gateway, which calls Merge and Talynce emulators.

Call bound for `Candidate.applications` on a page of N Merge candidates: the list call(s) plus
exactly one `GET /applications?candidate_id=` per candidate (one DataLoader batch per request),
and no per-candidate `GET /candidates/{id}`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulators.merge.app import LinkedAccount
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig
from resolvers.ids import encode_id
from tests.merge_support import API_KEY, MergeServer, linked_accounts, running_merge
from tests.servers import serve_in_thread

LIST = """
query($first: Int, $after: String, $search: String, $jobId: ID, $accounts: [ID!]) {
  candidates(first: $first, after: $after, search: $search, jobId: $jobId, accounts: $accounts) {
    totalCount
    pageInfo { hasNextPage endCursor }
    sources { account { id provider } status totalCount error { code message } }
    edges { node { id remoteId account { id } fullName emails { value type rawType } } }
  }
}
"""

WITH_APPLICATIONS = """
query($accounts: [ID!], $first: Int) {
  candidates(accounts: $accounts, first: $first) {
    edges { node { remoteId applications { remoteId status rawStatus stage { id name } job { id remoteId name } } } }
  }
}
"""

CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) {
    created
    candidate { id remoteId fullName emails { value type } tags }
    warnings { field code message }
    userErrors { field code message }
  }
}
"""

UPDATE = """
mutation($id: ID!, $input: UpdateCandidateInput!) {
  updateCandidate(id: $id, input: $input) {
    candidate { id fullName company title }
    warnings { field code message }
    userErrors { field code message }
  }
}
"""


@dataclass
class MixedStack:
    """A gateway over one Talynce org (`acme`) and two Merge linked accounts."""

    url: str
    merge: MergeServer
    talynce: TalynceEmulator
    orgs: dict[str, TalynceOrg]

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=30
        )
        assert response.status_code == 200, response.text
        secrets = [API_KEY, *(a.account_token for a in self.merge.accounts.values())]
        assert not [s for s in secrets if s in response.text], "a Merge credential reached a client"
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@contextmanager
def mixed_stack(
    merge_accounts: dict[str, LinkedAccount], talynce_rows: int
) -> Iterator[MixedStack]:
    orgs = {"acme": TalynceOrg.seeded("acme", "key-acme-secret", candidates=talynce_rows, seed=1)}
    talynce = TalynceEmulator(orgs.values())
    with running_merge(merge_accounts) as merge, serve_in_thread(talynce.app) as talynce_url:
        accounts = (
            AccountConfig(
                id="acme",
                name="Acme",
                provider="talynce",
                base_url=f"{talynce_url}/api/v1",
                credentials={"api_key": "key-acme-secret"},
            ),
            *(merge.config(name) for name in merge_accounts),
        )
        app = create_app(Settings(accounts, cursor_secret=b"x"))
        with serve_in_thread(app, lifespan="on") as url:
            yield MixedStack(url, merge, talynce, orgs)


@pytest.fixture(scope="module")
def shared() -> Iterator[MixedStack]:
    """Read-only tests share one stack; they must not write or turn knobs."""
    with mixed_stack(linked_accounts(), 20) as stack:
        yield stack


@pytest.fixture
def fresh() -> Iterator[MixedStack]:
    with mixed_stack(linked_accounts(), 5) as stack:
        yield stack


def test_accounts_show_merge_with_its_capabilities(shared: MixedStack) -> None:
    accounts = shared.graphql("{ accounts { id provider capabilities } }")["accounts"]
    assert [(a["id"], a["provider"]) for a in accounts] == [
        ("acme", "TALYNCE"),
        ("merge-initech", "MERGE"),
        ("merge-hooli", "MERGE"),
    ]
    assert set(accounts[1]["capabilities"]) == {
        "LIST", "SEARCH", "FILTER_JOB", "GET_MANY", "APPLICATIONS", "CREATE", "UPDATE", "JOBS",
        "FILTER_UPDATED", "LIST_APPLICATIONS", "REJECT_REASONS", "CREATE_APPLICATION",
        "MOVE_APPLICATION", "ADD_NOTE",
    }  # fmt: skip


def test_one_query_interleaves_merge_and_talynce(shared: MixedStack) -> None:
    page = shared.graphql(LIST, first=9)["candidates"]
    owners = [e["node"]["account"]["id"] for e in page["edges"]]
    assert owners == ["acme", "merge-initech", "merge-hooli"] * 3
    assert [(s["account"]["id"], s["status"], s["totalCount"]) for s in page["sources"]] == [
        ("acme", "OK", 20),
        ("merge-initech", "OK", None),
        ("merge-hooli", "OK", None),
    ]
    # Merge reports no total, so no exact one exists for the listing (acme's is in sources).
    assert page["totalCount"] is None and page["pageInfo"]["hasNextPage"] is True
    initech = shared.merge.accounts["initech"].ordered_candidates()
    merge_rows = [e["node"] for e in page["edges"] if e["node"]["account"]["id"] == "merge-initech"]
    assert [n["remoteId"] for n in merge_rows] == [c.id for c in initech[:3]]
    emails = merge_rows[0]["emails"]
    assert emails[0]["value"] == initech[0].email_addresses[0]["value"]
    assert (
        emails[0]["type"]
        == emails[0]["rawType"]
        == initech[0].email_addresses[0]["email_address_type"]
    )


def test_job_filter_narrows_to_the_merge_account_and_uses_applications(shared: MixedStack) -> None:
    linked = shared.merge.accounts["initech"]
    job = next(iter(linked.jobs.values()))
    expected = {a.candidate_id for a in linked.applications.values() if a.job_id == job.id}
    before = len(shared.merge.emulator.requests)
    page = shared.graphql(LIST, jobId=encode_id("Job", "merge-initech", job.id), first=100)[
        "candidates"
    ]
    assert {e["node"]["remoteId"] for e in page["edges"]} == expected
    assert [s["account"]["id"] for s in page["sources"]] == ["merge-initech"]
    calls = shared.merge.emulator.requests[before:]
    assert [(c.route, c.query.get("job_id"), c.query.get("expand")) for c in calls] == [
        ("/applications", job.id, "candidate")
    ]


def test_applications_cost_one_call_per_candidate_in_one_batch(fresh: MixedStack) -> None:
    """A fresh stack: read-ahead keeps the list page, so a page another test read first would
    cost no list call here. The list is read once, in Merge's largest page (100)."""
    linked = fresh.merge.accounts["initech"]
    edges = fresh.graphql(WITH_APPLICATIONS, accounts=["merge-initech"], first=10)["candidates"][
        "edges"
    ]
    requests = fresh.merge.emulator.requests
    assert Counter(c.route for c in requests) == Counter({"/candidates": 1, "/applications": 10})
    [listed] = [c for c in requests if c.route == "/candidates"]
    assert listed.query["page_size"] == "100"
    statuses = set()
    for edge in edges:
        node = edge["node"]
        stored = linked.applications_of(node["remoteId"])
        assert [a["remoteId"] for a in node["applications"]] == [a.id for a in stored]
        for application, row in zip(node["applications"], stored, strict=True):
            assert application["stage"]["name"] == linked.stages[str(row.stage_id)].name
            assert application["job"]["name"] == linked.jobs[row.job_id].name
            assert application["job"]["id"] == encode_id("Job", "merge-initech", row.job_id)
            statuses.add(application["status"])
    assert statuses <= {"ACTIVE", "REJECTED", "HIRED"} and "ACTIVE" in statuses


def test_candidate_by_id_reads_merge_once(shared: MixedStack) -> None:
    someone = shared.merge.accounts["hooli"].ordered_candidates()[4]
    gid = encode_id("Candidate", "merge-hooli", someone.id)
    before = len(shared.merge.emulator.requests)
    data = shared.graphql("query($id: ID!) { candidate(id: $id) { remoteId fullName } }", id=gid)
    assert data["candidate"] == {
        "remoteId": someone.id,
        "fullName": f"{someone.first_name} {someone.last_name}",
    }
    assert [c.route for c in shared.merge.emulator.requests[before:]] == ["/candidates/{id}"]


def test_a_deleted_merge_candidate_read_by_id_says_so_in_typed_fields(fresh: MixedStack) -> None:
    linked = fresh.merge.accounts["hooli"]
    gone, kept = linked.ordered_candidates()[1:3]
    gone.remote_was_deleted = True
    query = "query($id: ID!) { candidate(id: $id) { atsRemoteId remoteWasDeleted customFields } }"
    read = fresh.graphql(query, id=encode_id("Candidate", "merge-hooli", gone.id))["candidate"]
    other = fresh.graphql(query, id=encode_id("Candidate", "merge-hooli", kept.id))["candidate"]
    talynce = next(iter(fresh.orgs["acme"].candidates))
    elsewhere = fresh.graphql(query, id=encode_id("Candidate", "acme", talynce))["candidate"]
    assert (read["atsRemoteId"], read["remoteWasDeleted"]) == (gone.remote_id, True)
    assert (other["atsRemoteId"], other["remoteWasDeleted"]) == (kept.remote_id, False)
    assert not {"remote_id", "remote_was_deleted"} & set(read["customFields"] or {})
    assert (elsewhere["atsRemoteId"], elsewhere["remoteWasDeleted"]) == (None, False)


def test_create_reports_merge_warnings_with_input_paths(fresh: MixedStack) -> None:
    payload = fresh.graphql(
        CREATE,
        input={
            "account": "merge-hooli",
            "firstName": "Ada",
            "lastName": "Byron",
            "emails": [{"value": "ada@hooli.example", "type": "WORK"}],
            "tags": ["VIP"],
            "skills": ["Maths"],
        },
    )["createCandidate"]
    assert payload["userErrors"] == [] and payload["created"] is True
    assert payload["candidate"]["emails"] == [{"value": "ada@hooli.example", "type": "WORK"}]
    assert sorted((w["code"], tuple(w["field"])) for w in payload["warnings"]) == [
        ("IGNORED_FIELD", ("input", "skills")),
        ("UNRECOGNIZED_FIELD", ("input", "tags")),
    ]
    (post,) = [c for c in fresh.merge.emulator.requests if c.method == "POST"]
    assert post.body["remote_user_id"] == fresh.merge.accounts["hooli"].remote_users[0]


def test_create_errors_become_user_errors_with_field_paths(fresh: MixedStack) -> None:
    taken = str(fresh.merge.accounts["hooli"].ordered_candidates()[0].email_addresses[0]["value"])
    missing = fresh.graphql(
        CREATE, input={"account": "merge-hooli", "firstName": "No", "lastName": "Mail"}
    )
    duplicate = fresh.graphql(
        CREATE,
        input={
            "account": "merge-hooli",
            "firstName": "Du",
            "lastName": "Pe",
            "emails": [{"value": taken}],
        },
    )
    assert missing["createCandidate"]["candidate"] is None
    assert [(e["code"], e["field"]) for e in missing["createCandidate"]["userErrors"]] == [
        ("MISSING_REQUIRED_FIELD", ["input", "emails"])
    ]
    assert [(e["code"], e["field"]) for e in duplicate["createCandidate"]["userErrors"]] == [
        ("DUPLICATE_MODEL_EXISTS", ["input", "emails", "0", "value"])
    ]


def test_update_sends_a_partial_patch(fresh: MixedStack) -> None:
    linked = fresh.merge.accounts["initech"]
    target = linked.ordered_candidates()[1]
    payload = fresh.graphql(
        UPDATE, id=encode_id("Candidate", "merge-initech", target.id), input={"title": "Principal"}
    )["updateCandidate"]
    assert payload["userErrors"] == [] and payload["warnings"] == []
    assert payload["candidate"]["title"] == "Principal"
    assert payload["candidate"]["company"] == target.company
    (patch,) = [c for c in fresh.merge.emulator.requests if c.method == "PATCH"]
    assert patch.body == {"model": {"title": "Principal"}, "remote_user_id": linked.remote_users[0]}


def test_a_name_search_says_merge_was_filtered_locally(shared: MixedStack) -> None:
    query = "query($s: String) { candidates(search: $s, first: 5) { sources { account { id } filteredLocally } } }"
    by_name = {
        s["account"]["id"]: s["filteredLocally"]
        for s in shared.graphql(query, s="an")["candidates"]["sources"]
    }
    assert by_name == {"acme": False, "merge-initech": True, "merge-hooli": True}
    email = shared.merge.accounts["initech"].ordered_candidates()[0].email_addresses[0]["value"]
    by_email = {
        s["account"]["id"]: s["filteredLocally"]
        for s in shared.graphql(query, s=email)["candidates"]["sources"]
    }
    # Talynce matches part of an address, so it is asked and its rows are checked here.
    assert by_email == {"acme": True, "merge-initech": False, "merge-hooli": False}
