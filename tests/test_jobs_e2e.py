"""Jobs end to end: GraphQL over HTTP to the gateway in front of the Talynce, Merge and
Greenhouse emulators (Partner and two Harvest accounts), all real servers on loopback.

Covers `jobs` (merge, sources, exactly-once paging, status and search), `job`, `node`/`nodes`
with job ids, `Job.candidates`, `Application.job` names with the calls they cost, `updatedAfter`
per provider, and `totalCount` exact or null. Ground truth is read from the emulators' data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolvers.ids import encode_id
from tests.all_providers import Stack, running_stack

LISTING_ACCOUNTS = ("acme", "gh-harvest", "gh-durmstrang", "merge-initech")

JOBS = """
query($first: Int, $after: String, $search: String, $status: JobStatus,
      $updatedAfter: DateTime, $accounts: [ID!]) {
  jobs(first: $first, after: $after, search: $search, status: $status,
       updatedAfter: $updatedAfter, accounts: $accounts) {
    totalCount
    edges { cursor node { id remoteId name status rawStatus account { id } } }
    pageInfo { hasNextPage endCursor }
    sources { account { id } status totalCount filteredLocally error { code } }
  }
}
"""

CANDIDATES = """
query($first: Int, $after: String, $updatedAfter: DateTime, $accounts: [ID!]) {
  candidates(first: $first, after: $after, updatedAfter: $updatedAfter, accounts: $accounts) {
    totalCount
    edges { node { remoteId account { id } } }
    pageInfo { hasNextPage endCursor }
    sources { account { id } status totalCount filteredLocally error { code } }
  }
}
"""

APPLICATION_JOBS = """
query($accounts: [ID!], $first: Int) {
  candidates(accounts: $accounts, first: $first) {
    edges { node { applications { job { id remoteId name job { id name } } } } }
  }
}
"""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as running:
        yield running


def page_through(stack: Stack, query: str, field: str, size: int, **variables: Any) -> list[Any]:
    edges: list[Any] = []
    after = None
    for _ in range(500):
        page = stack.data(query, first=size, after=after, **variables)[field]
        edges += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the listing never ended")


def by_account(edges: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for edge in edges:
        found.setdefault(edge["node"]["account"]["id"], []).append(edge["node"]["remoteId"])
    return found


# --- jobs ----------------------------------------------------------------------------------


def test_jobs_merge_every_account_and_partner_reads_unsupported(stack: Stack) -> None:
    before = stack.upstream_calls()
    page = stack.data(JOBS, first=100)["jobs"]
    assert not [key for key in stack.upstream_calls() - before if key.startswith("partner")]
    sources = {s["account"]["id"]: s for s in page["sources"]}
    assert list(sources) == ["acme", "gh-partner", "gh-harvest", "gh-durmstrang", "merge-initech"]
    assert sources["gh-partner"]["status"] == "UNSUPPORTED"
    assert sources["gh-partner"]["error"]["code"] == "UNSUPPORTED_BY_PROVIDER"
    owners = [edge["node"]["account"]["id"] for edge in page["edges"]]
    assert owners[:4] == list(LISTING_ACCOUNTS)  # one from each account in turn
    found = by_account(page["edges"])
    for account in LISTING_ACCOUNTS:
        truth = stack.job_truth(account)
        assert sorted(found[account]) == sorted(truth), account
        names = {e["node"]["remoteId"]: e["node"]["name"] for e in page["edges"]}
        assert all(names[i] == truth[i][0] for i in found[account])
    for edge in page["edges"]:
        node = edge["node"]
        raw = stack.job_truth(node["account"]["id"])[node["remoteId"]][1]
        assert node["rawStatus"] == raw
        if (raw or "").upper() in ("OPEN", "CLOSED", "DRAFT", "ARCHIVED"):
            assert node["status"] == (raw or "").upper()


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sizes=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6))
def test_paging_jobs_yields_every_job_exactly_once(stack: Stack, sizes: list[int]) -> None:
    seen: list[tuple[str, str]] = []
    after = None
    for n in range(200):
        page = stack.data(JOBS, first=sizes[n % len(sizes)], after=after)["jobs"]
        seen += [(e["node"]["account"]["id"], e["node"]["remoteId"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    truth = [(a, i) for a in LISTING_ACCOUNTS for i in stack.job_truth(a)]
    assert Counter(seen) == Counter(truth)


def test_status_filter_keeps_only_jobs_in_that_state(stack: Stack) -> None:
    found = by_account(page_through(stack, JOBS, "jobs", 7, status="OPEN"))
    for account in LISTING_ACCOUNTS:
        truth = {
            i for i, (_, raw, _) in stack.job_truth(account).items() if raw in ("open", "OPEN")
        }
        assert truth, f"{account} has no open job to find"
        assert sorted(found.get(account, [])) == sorted(truth), account


def test_search_matches_job_names_case_insensitively(stack: Stack) -> None:
    name = next(iter(stack.job_truth("acme").values()))[0]
    word = max(name.split(), key=len)
    edges = page_through(stack, JOBS, "jobs", 5, search=word.swapcase())
    found = by_account(edges)
    for account in LISTING_ACCOUNTS:
        truth = {
            i
            for i, (n, _, _) in stack.job_truth(account).items()
            if word.casefold() in n.casefold()
        }
        assert sorted(found.get(account, [])) == sorted(truth), account
    assert found["acme"]


def test_a_candidates_cursor_is_refused_by_jobs(stack: Stack) -> None:
    cursor = stack.data(CANDIDATES, first=2)["candidates"]["pageInfo"]["endCursor"]
    body = stack.post(JOBS, first=2, after=cursor)
    assert body["errors"][0]["extensions"]["code"] == "BAD_CURSOR"


def test_job_node_and_nodes_fetch_jobs_by_id_in_one_batch_per_account(stack: Stack) -> None:
    acme_ids = sorted(stack.job_truth("acme"))[:3]
    harvest_ids = sorted(stack.job_truth("gh-harvest"))[:4]
    gids = [encode_id("Job", "acme", i) for i in acme_ids]
    gids += [encode_id("Job", "gh-harvest", i) for i in harvest_ids]
    candidate = next(iter(stack.acme.candidates))
    gids += [encode_id("Job", "acme", "no-such-job"), encode_id("Candidate", "acme", candidate)]
    before = stack.upstream_calls()
    nodes = stack.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Job { remoteId name } } }",
        ids=gids,
    )["nodes"]
    calls = stack.upstream_calls() - before
    assert [n["remoteId"] for n in nodes[:7]] == acme_ids + harvest_ids
    assert [n["id"] for n in nodes[:7]] == gids[:7]
    assert nodes[7] is None and nodes[8]["__typename"] == "Candidate"
    assert nodes[0]["name"] == stack.job_truth("acme")[acme_ids[0]][0]
    assert calls["harvest GET /v3/jobs"] == 1  # the four Harvest jobs: one `ids=` read
    for remote_id in [*acme_ids, "no-such-job"]:
        assert calls[f"talynce GET /api/v1/jobs/{remote_id}"] == 1  # Talynce has no batch read
    assert calls[f"talynce GET /api/v1/candidates/{candidate}"] == 1

    one = stack.data(
        "query($id: ID!) { job(id: $id) { id name stages { id name order } } "
        "node(id: $id) { ... on Job { remoteId } } }",
        id=gids[3],
    )
    assert one["job"]["name"] == stack.job_truth("gh-harvest")[harvest_ids[0]][0]
    assert one["job"]["stages"] and all(s["name"] for s in one["job"]["stages"])
    assert one["node"]["remoteId"] == harvest_ids[0]


def test_nodes_refuses_more_than_100_ids_before_any_call(stack: Stack) -> None:
    before = stack.upstream_calls()
    ids = [encode_id("Job", "acme", str(n)) for n in range(101)]
    body = stack.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=ids)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert stack.upstream_calls() == before
    bad = stack.post('{ nodes(ids: ["not-an-id"]) { id } }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("account", ["acme", "gh-harvest", "merge-initech"])
def test_job_candidates_is_the_job_filter_reached_from_the_job(stack: Stack, account: str) -> None:
    applied = APPLICATION_JOBS
    edges = stack.data(applied, accounts=[account], first=100)["candidates"]["edges"]
    counts = Counter(a["job"]["id"] for e in edges for a in e["node"]["applications"] if a["job"])
    job_id = counts.most_common(1)[0][0]
    nested = stack.data(
        "query($id: ID!) { job(id: $id) { candidates(first: 100) { "
        "edges { node { id } } sources { account { id } status } } } }",
        id=job_id,
    )["job"]["candidates"]
    direct = stack.data(
        "query($id: ID!) { candidates(jobId: $id, first: 100) { edges { node { id } } } }",
        id=job_id,
    )["candidates"]
    assert [s["account"]["id"] for s in nested["sources"]] == [account]
    ids = [e["node"]["id"] for e in nested["edges"]]
    assert ids == [e["node"]["id"] for e in direct["edges"]]
    assert len(ids) == counts[job_id]


# --- Application.job names -----------------------------------------------------------------


def test_application_job_names_cost_one_jobs_batch_per_account(stack: Stack) -> None:
    before = stack.upstream_calls()
    edges = stack.data(
        APPLICATION_JOBS, accounts=["acme", "gh-harvest", "merge-initech"], first=60
    )["candidates"]["edges"]
    calls = stack.upstream_calls() - before
    refs = [a["job"] for e in edges for a in e["node"]["applications"] if a["job"]]
    owners = {ref["id"]: ref for ref in refs}
    per_account: dict[str, set[str]] = {}
    for ref in refs:
        account = next(
            a for a in LISTING_ACCOUNTS if encode_id("Job", a, ref["remoteId"]) == ref["id"]
        )
        per_account.setdefault(account, set()).add(ref["remoteId"])
        assert ref["name"] == stack.job_truth(account)[ref["remoteId"]][0]
        assert ref["job"]["id"] == ref["id"] and ref["job"]["name"] == ref["name"]
    assert set(per_account) == {"acme", "gh-harvest", "merge-initech"}, owners
    # Talynce reads jobs one GET each, Merge one GET each (plus its stages): each job once.
    for remote_id in per_account["acme"]:
        assert calls[f"talynce GET /api/v1/jobs/{remote_id}"] == 1
    assert sum(n for k, n in calls.items() if k.startswith("talynce GET /api/v1/jobs/")) == len(
        per_account["acme"]
    )
    assert calls["merge GET /jobs/{id}"] == len(per_account["merge-initech"])
    assert calls["harvest GET /v3/jobs"] == 1


def test_twenty_talynce_candidates_cost_each_of_their_jobs_once(stack: Stack) -> None:
    before = stack.upstream_calls()
    edges = stack.data(APPLICATION_JOBS, accounts=["acme"], first=20)["candidates"]["edges"]
    calls = stack.upstream_calls() - before
    assert len(edges) == 20
    named = {a["job"]["remoteId"] for e in edges for a in e["node"]["applications"]}
    jobs_calls = {k: n for k, n in calls.items() if k.startswith("talynce GET /api/v1/jobs")}
    assert jobs_calls == {f"talynce GET /api/v1/jobs/{i}": 1 for i in named}


def test_partner_applications_name_their_job_without_a_jobs_call(stack: Stack) -> None:
    hogwarts = stack.harvest["gh-harvest"]
    ids = [
        encode_id("Candidate", "gh-partner", str(c))
        for c in sorted({a.candidate_id for a in hogwarts.applications.values() if a.job_id})[:5]
    ]
    before = stack.upstream_calls()
    nodes = stack.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Candidate { "
        "applications { job { id name job { id } } } } } }",
        ids=ids,
    )["nodes"]
    calls = stack.upstream_calls() - before
    refs = [a["job"] for n in nodes for a in n["applications"] if a["job"]]
    assert refs and all(r["name"] and r["job"] is None for r in refs)
    assert not [k for k in calls if "jobs" in k]
    assert calls["partner GET /v1/partner/candidates"] == 1  # five candidates, one batch


# --- updatedAfter and totalCount -----------------------------------------------------------


def _midpoint(instants: list[datetime]) -> datetime:
    """An instant strictly between two distinct ones near the middle: no record sits on it."""
    ordered = sorted(set(instants))
    low, high = ordered[len(ordered) // 2 - 1], ordered[len(ordered) // 2]
    return (low + (high - low) / 2).astimezone(UTC)


@pytest.mark.parametrize("kind", ["candidates", "jobs"])
@pytest.mark.parametrize("account", ["acme", "gh-harvest", "merge-initech"])
def test_updated_after_keeps_only_later_records(stack: Stack, kind: str, account: str) -> None:
    query = CANDIDATES if kind == "candidates" else JOBS
    everything = page_through(stack, query, kind, 100, accounts=[account])
    if kind == "candidates":
        changes = stack.candidate_changes(account)
    else:
        changes = {i: truth[2] for i, truth in stack.job_truth(account).items()}
    listed = {e["node"]["remoteId"] for e in everything}
    moment = _midpoint([changes[i] for i in listed])
    gh_before, merge_before = len(stack.greenhouse.requests), len(stack.merge.emulator.requests)
    later = page_through(
        stack, query, kind, 100, accounts=[account], updatedAfter=moment.isoformat()
    )
    sources = stack.data(query, first=100, accounts=[account], updatedAfter=moment.isoformat())[
        kind
    ]["sources"]
    expected = {i for i in listed if changes[i] > moment}
    assert 0 < len(expected) < len(listed)
    assert sorted(e["node"]["remoteId"] for e in later) == sorted(expected)
    [source] = sources
    assert source["status"] == "OK"
    if account == "acme":  # Talynce has no such filter: a bounded scan, said so
        assert source["filteredLocally"] is True
    elif account == "gh-harvest":  # pushed down as `updated_at=gt|…`
        path = "/v3/candidates" if kind == "candidates" else "/v3/jobs"
        asked = [r for r in stack.greenhouse.requests[gh_before:] if r.path == path]
        assert asked and all(r.query["updated_at"].startswith("gt|") for r in asked)
        assert source["filteredLocally"] is False
    else:  # pushed down as `modified_after`
        route = "/candidates" if kind == "candidates" else "/jobs"
        asked = [r for r in stack.merge.emulator.requests[merge_before:] if r.route == route]
        assert asked and all("modified_after" in r.query for r in asked)
        assert source["filteredLocally"] is False


@pytest.mark.parametrize("kind", ["candidates", "jobs"])
def test_updated_after_reads_partner_unsupported_never_unfiltered(stack: Stack, kind: str) -> None:
    query = CANDIDATES if kind == "candidates" else JOBS
    page = stack.data(query, first=10, updatedAfter="2020-01-01T00:00:00Z")[kind]
    sources = {s["account"]["id"]: s for s in page["sources"]}
    assert sources["gh-partner"]["status"] == "UNSUPPORTED"
    assert "gh-partner" not in {e["node"]["account"]["id"] for e in page["edges"]}


def test_updated_after_needs_an_offset(stack: Stack) -> None:
    body = stack.post(CANDIDATES, first=1, updatedAfter="2026-01-01T00:00:00")
    assert body["errors"] and "offset" in body["errors"][0]["message"]


def test_total_count_is_exact_or_null(stack: Stack) -> None:
    acme = stack.data(CANDIDATES, first=3, accounts=["acme"])["candidates"]
    assert acme["totalCount"] == len(stack.acme.candidates) == acme["sources"][0]["totalCount"]
    jobs = stack.data(JOBS, first=3, accounts=["acme", "gh-partner"])["jobs"]
    assert jobs["totalCount"] == len(stack.acme.jobs)  # Partner serves no rows: not counted
    mixed = stack.data(CANDIDATES, first=3, accounts=["acme", "merge-initech", "gh-harvest"])[
        "candidates"
    ]
    totals = {s["account"]["id"]: s["totalCount"] for s in mixed["sources"]}
    assert totals["acme"] == len(stack.acme.candidates)
    assert None in (totals["merge-initech"], totals["gh-harvest"])
    assert mixed["totalCount"] is None
    # Once paged through, the same listing's rows still number what `sources` said for acme.
    rows = page_through(stack, CANDIDATES, "candidates", 50, accounts=["acme"])
    assert len(rows) == acme["totalCount"]


def test_job_names_are_looked_up_only_where_applications_lack_them(stack: Stack) -> None:
    """Merge expands the job on its applications, so its names cost no call; Harvest names
    jobs by id only, so its page's jobs cost one `ids=` read."""
    before = stack.upstream_calls()
    edges = stack.data(
        "query($accounts: [ID!]) { candidates(accounts: $accounts, first: 40) { "
        "edges { node { account { id } applications { job { remoteId name } } } } } }",
        accounts=["gh-harvest", "merge-initech"],
    )["candidates"]["edges"]
    calls = stack.upstream_calls() - before
    for edge in edges:
        account = edge["node"]["account"]["id"]
        for application in edge["node"]["applications"]:
            job = application["job"]
            if job is not None:
                assert job["name"] == stack.job_truth(account)[job["remoteId"]][0]
    assert calls["merge GET /jobs/{id}"] == 0
    assert calls["harvest GET /v3/jobs"] == 1
