"""Queries end to end: GraphQL over HTTP to the gateway, which calls the emulators over HTTP."""

from __future__ import annotations

from typing import Any

from resolvers.ids import encode_id
from tests.conftest import Stack, make_orgs, running_stack

LIST = """
query($first: Int, $after: String, $search: String, $jobId: ID, $accounts: [ID!]) {
  candidates(first: $first, after: $after, search: $search, jobId: $jobId, accounts: $accounts) {
    totalCount
    pageInfo { hasNextPage endCursor }
    sources { account { id } status totalCount latencyMs error { code message retryAfter } }
    edges { cursor node { id remoteId account { id } fullName masked
                          emails { value } currentCompensation { amount rawValue rawUnit } } }
  }
}
"""


def listing(stack: Stack, **variables: Any) -> dict[str, Any]:
    body = stack.graphql(LIST, variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["candidates"]
    return result


def list_calls(stack: Stack, org: str | None = None) -> int:
    return sum(1 for r in stack.calls(org) if r.path == "/api/v1/candidates" and r.method == "GET")


def test_accounts_lists_every_configured_account(shared_stack: Stack) -> None:
    body = shared_stack.graphql("{ accounts { id name provider capabilities } }")
    accounts = body["data"]["accounts"]
    assert [a["id"] for a in accounts] == ["acme", "globex", "initech"]
    assert {a["provider"] for a in accounts} == {"TALYNCE"}
    assert "SEARCH" in accounts[0]["capabilities"]


def test_first_page_interleaves_accounts_and_sums_totals(shared_stack: Stack) -> None:
    page = listing(shared_stack, first=6)
    owners = [edge["node"]["account"]["id"] for edge in page["edges"]]
    assert owners == ["acme", "globex", "initech"] * 2
    assert page["totalCount"] == 237
    assert page["pageInfo"]["hasNextPage"] is True
    assert [(s["account"]["id"], s["status"], s["totalCount"]) for s in page["sources"]] == [
        ("acme", "OK", 100),
        ("globex", "OK", 100),
        ("initech", "OK", 37),
    ]
    assert all(s["latencyMs"] >= 0 for s in page["sources"])
    expected = [c.id for c in shared_stack.orgs["acme"].ordered_candidates()[:2]]
    assert [
        e["node"]["remoteId"] for e in page["edges"] if e["node"]["account"]["id"] == "acme"
    ] == (expected)


def list_queries(stack: Stack, since: int) -> list[tuple[str, str, str]]:
    """(org, offset, limit) of the candidate list calls after the first `since` requests."""
    return sorted(
        (str(r.org), r.query["offset"], r.query["limit"])
        for r in stack.emulator.requests[since:]
        if r.path == "/api/v1/candidates"
    )


def test_a_page_reads_each_account_once_in_its_providers_page_and_keeps_the_rest(
    stack: Stack,
) -> None:
    """Read-ahead is on by default: the first page asks each account for Talynce's maximum
    page (100), and the next page is answered from the rows kept, with no upstream call."""
    first = listing(stack, first=30)
    assert list_queries(stack, 0) == [
        ("acme", "0", "100"),
        ("globex", "0", "100"),
        ("initech", "0", "100"),
    ]
    before = len(stack.emulator.requests)
    second = listing(stack, first=30, after=first["pageInfo"]["endCursor"])
    assert list_queries(stack, before) == []
    shown = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert len(shown) == len(set(shown)) == 60


def test_without_read_ahead_a_page_asks_each_account_for_its_share_only() -> None:
    with running_stack(make_orgs(), read_ahead=False) as stack:
        first = listing(stack, first=30)
        assert list_queries(stack, 0) == [
            ("acme", "0", "10"),
            ("globex", "0", "10"),
            ("initech", "0", "10"),
        ]
        before = len(stack.emulator.requests)
        listing(stack, first=30, after=first["pageInfo"]["endCursor"])
        assert list_queries(stack, before) == [
            ("acme", "10", "10"),
            ("globex", "10", "10"),
            ("initech", "10", "10"),
        ]


def test_edge_cursor_resumes_right_after_its_edge(shared_stack: Stack) -> None:
    page = listing(shared_stack, first=9)
    ids = [e["node"]["id"] for e in page["edges"]]
    resumed = listing(shared_stack, first=5, after=page["edges"][3]["cursor"])
    assert [e["node"]["id"] for e in resumed["edges"]][:5] == ids[4:9]


def test_search_matches_name_or_email_case_insensitively(shared_stack: Stack) -> None:
    someone = shared_stack.orgs["globex"].ordered_candidates()[10]
    last_name = someone.full_name.split()[-1]
    page = listing(shared_stack, search=last_name.upper(), first=100)
    names = [e["node"]["fullName"] for e in page["edges"]]
    assert someone.full_name in names
    assert all(last_name.lower() in n.lower() for n in names) or any(
        e["node"]["masked"] is False for e in page["edges"]
    )
    by_email = listing(shared_stack, search=someone.email.upper(), first=10)
    assert [e["node"]["remoteId"] for e in by_email["edges"]] == [someone.id]


def test_job_filter_narrows_the_fan_out_to_the_jobs_account(shared_stack: Stack) -> None:
    org = shared_stack.orgs["acme"]
    job = org.jobs[0]
    expected = {
        c.id for c in org.candidates.values() if any(a.job_id == job.id for a in c.applications)
    }
    calls_before = {name: list_calls(shared_stack, name) for name in shared_stack.orgs}
    page = listing(shared_stack, jobId=encode_id("Job", "acme", job.id), first=100)
    assert {e["node"]["remoteId"] for e in page["edges"]} == expected
    assert {e["node"]["account"]["id"] for e in page["edges"]} == {"acme"}
    assert list_calls(shared_stack, "globex") == calls_before["globex"]
    assert list_calls(shared_stack, "initech") == calls_before["initech"]
    assert [s["account"]["id"] for s in page["sources"]] == ["acme"]


def test_accounts_argument_limits_the_fan_out(shared_stack: Stack) -> None:
    page = listing(shared_stack, accounts=["initech"], first=50)
    assert page["totalCount"] == 37
    assert {e["node"]["account"]["id"] for e in page["edges"]} == {"initech"}
    assert page["pageInfo"]["hasNextPage"] is False


def test_candidate_and_node_round_trip_global_ids(shared_stack: Stack) -> None:
    page = listing(shared_stack, first=3)
    node = page["edges"][1]["node"]
    body = shared_stack.graphql(
        """query($id: ID!) {
             candidate(id: $id) { id remoteId fullName
               applications { id status rawStatus job { id remoteId } candidate { id } } }
             node(id: $id) { __typename id ... on Candidate { remoteId } }
           }""",
        {"id": node["id"]},
    )
    candidate = body["data"]["candidate"]
    assert candidate["id"] == node["id"] and candidate["remoteId"] == node["remoteId"]
    assert body["data"]["node"] == {
        "__typename": "Candidate",
        "id": node["id"],
        "remoteId": node["remoteId"],
    }
    stored = shared_stack.orgs["globex"].candidates[node["remoteId"]]
    assert len(candidate["applications"]) == len(stored.applications)
    for application in candidate["applications"]:
        assert application["candidate"]["id"] == node["id"]
        again = shared_stack.graphql(
            "query($id: ID!) { node(id: $id) { __typename id ... on Application { status } } }",
            {"id": application["id"]},
        )["data"]["node"]
        assert again == {
            "__typename": "Application",
            "id": application["id"],
            "status": application["status"],
        }


def test_application_status_is_normalized_and_raw_is_kept(shared_stack: Stack) -> None:
    org = shared_stack.orgs["acme"]
    hired = next(
        c for c in org.candidates.values() if any(a.status == "Hired" for a in c.applications)
    )
    body = shared_stack.graphql(
        "query($id: ID!) { candidate(id: $id) { applications { status rawStatus stage { id name } } } }",
        {"id": encode_id("Candidate", "acme", hired.id)},
    )
    statuses = {(a["status"], a["rawStatus"]) for a in body["data"]["candidate"]["applications"]}
    assert ("HIRED", "Hired") in statuses


def test_masked_candidates_come_back_masked(shared_stack: Stack) -> None:
    org = shared_stack.orgs["acme"]
    masked_id = org.masked_ids()[0]
    body = shared_stack.graphql(
        """query($id: ID!) { candidate(id: $id) { masked fullName emails { value } phones { value }
                                                   currentCompensation { amount } } }""",
        {"id": encode_id("Candidate", "acme", masked_id)},
    )
    candidate = body["data"]["candidate"]
    assert candidate["masked"] is True
    assert candidate["fullName"] == org.candidates[masked_id].full_name
    assert candidate["emails"] == [] and candidate["phones"] == []
    assert candidate["currentCompensation"] is None


def test_lpa_is_reported_in_whole_units_with_the_raw_unit(shared_stack: Stack) -> None:
    org = shared_stack.orgs["acme"]
    someone = next(
        c for c in org.ordered_candidates() if c.current_ctc and c.talent_pool_status != "masked"
    )
    body = shared_stack.graphql(
        "query($id: ID!) { candidate(id: $id) { currentCompensation { amount currency period rawValue rawUnit } } }",
        {"id": encode_id("Candidate", "acme", someone.id)},
    )
    assert body["data"]["candidate"]["currentCompensation"] == {
        "amount": round(someone.current_ctc * 100_000, 2),
        "currency": "INR",
        "period": "YEAR",
        "rawValue": someone.current_ctc,
        "rawUnit": "LPA",
    }


def test_ids_of_unknown_accounts_or_candidates_read_as_null(shared_stack: Stack) -> None:
    before = len(shared_stack.emulator.requests)
    body = shared_stack.graphql(
        """query($a: ID!, $b: ID!) { a: candidate(id: $a) { id } b: node(id: $b) { id } }""",
        {"a": encode_id("Candidate", "nope", "x"), "b": encode_id("Candidate", "nope", "y")},
    )
    assert body == {"data": {"a": None, "b": None}}
    assert len(shared_stack.emulator.requests) == before
    missing = shared_stack.graphql(
        "query($id: ID!) { candidate(id: $id) { id } }",
        {"id": encode_id("Candidate", "acme", "00000000-0000-4000-8000-000000000000")},
    )
    assert missing == {"data": {"candidate": None}}


def test_bad_arguments_are_refused_before_any_upstream_call(shared_stack: Stack) -> None:
    cases = [
        ("{ candidates(first: 0) { totalCount } }", "BAD_USER_INPUT"),
        ("{ candidates(first: 101) { totalCount } }", "BAD_USER_INPUT"),
        ('{ candidates(accounts: ["nope"]) { totalCount } }', "NOT_FOUND"),
        ('{ candidates(jobId: "not-an-id") { totalCount } }', "BAD_USER_INPUT"),
        ('{ candidates(after: "garbage") { totalCount } }', "BAD_CURSOR"),
        ('{ candidate(id: "%%%") { id } }', "BAD_USER_INPUT"),
        ('{ node(id: "WyJDYW5kaWRhdGUiXQ") { id } }', "BAD_USER_INPUT"),
        ('{ candidates(search: "%s") { totalCount } }' % ("x" * 201), "BAD_USER_INPUT"),
    ]
    for query, code in cases:
        before = len(shared_stack.emulator.requests)
        body = shared_stack.graphql(query)
        assert body["errors"][0]["extensions"]["code"] == code, (query, body)
        assert len(shared_stack.emulator.requests) == before, query


def test_a_cursor_only_serves_the_filters_it_was_made_for(shared_stack: Stack) -> None:
    page = listing(shared_stack, first=2, search="a")
    before = len(shared_stack.emulator.requests)
    body = shared_stack.graphql(
        LIST, {"first": 2, "search": "e", "after": page["pageInfo"]["endCursor"]}
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_CURSOR"
    assert len(shared_stack.emulator.requests) == before


def test_upstream_calls_overlap_across_accounts(stack: Stack) -> None:
    for org in stack.orgs.values():
        org.latency = 0.2
    listing(stack, first=9)
    calls = [r for r in stack.emulator.requests if r.path == "/api/v1/candidates"]
    assert len(calls) == 3
    assert max(r.started for r in calls) < min(r.finished for r in calls)


def test_a_page_of_50_with_applications_has_a_bounded_call_count(stack: Stack) -> None:
    """Bound: one list call per account, plus one GET per candidate shown (Talynce has no batch
    read and its list omits applications); never more, however many fields ask for them."""
    body = stack.graphql(
        """{ candidates(first: 50) { edges { node { id
              applications { status job { id } }
              again: applications { id } } } } }"""
    )
    assert "errors" not in body
    lists = [r for r in stack.emulator.requests if r.path == "/api/v1/candidates"]
    gets = [r for r in stack.emulator.requests if r.path.startswith("/api/v1/candidates/")]
    assert len(lists) == 3
    assert len(gets) == 50
    assert len({r.path for r in gets}) == 50


def test_a_page_fetches_applications_only_when_they_are_asked_for(stack: Stack) -> None:
    """No per-candidate GET when nothing asks for applications; one per candidate shown when
    a fragment nested under the edges does (the page's look-ahead follows fragments)."""
    bare = stack.graphql("{ candidates(first: 9) { edges { node { id fullName } } } }")
    assert "errors" not in bare
    assert not [r for r in stack.emulator.requests if r.path.startswith("/api/v1/candidates/")]
    nested = stack.graphql(
        """{ candidates(first: 9) { edges { ...E } } }
        fragment E on CandidateEdge { node { ... on Candidate { applications { id } } } }"""
    )
    assert "errors" not in nested
    edges = nested["data"]["candidates"]["edges"]
    assert len(edges) == 9 and all(isinstance(e["node"]["applications"], list) for e in edges)
    gets = [r for r in stack.emulator.requests if r.path.startswith("/api/v1/candidates/")]
    assert len(gets) == len({r.path for r in gets}) == 9


def test_lookups_in_one_request_are_deduplicated(stack: Stack) -> None:
    ids = [
        encode_id("Candidate", "acme", c.id) for c in stack.orgs["acme"].ordered_candidates()[:3]
    ]
    query = "query($a: ID!, $b: ID!, $c: ID!) { x: candidate(id: $a) { id } y: candidate(id: $a) { id applications { id } } z: node(id: $b) { id } w: candidate(id: $c) { id } }"
    body = stack.graphql(query, {"a": ids[0], "b": ids[1], "c": ids[2]})
    assert body["data"]["x"]["id"] == ids[0]
    assert (
        len([r for r in stack.emulator.requests if r.path.startswith("/api/v1/candidates/")]) == 3
    )


def test_a_failing_account_costs_the_others_nothing(stack: Stack) -> None:
    stack.orgs["globex"].outage = True
    body = stack.graphql(LIST, {"first": 10})
    page = body["data"]["candidates"]
    assert {e["node"]["account"]["id"] for e in page["edges"]} == {"acme", "initech"}
    assert len(page["edges"]) == 10
    globex = next(s for s in page["sources"] if s["account"]["id"] == "globex")
    assert globex["status"] == "ERROR"
    assert globex["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    [error] = body["errors"]
    assert error["path"] == ["candidates"]
    assert error["extensions"] == {
        "code": "UPSTREAM_UNAVAILABLE",
        "account": "globex",
        "provider": "talynce",
    }
    # The failed account kept its place: once it recovers, the next page starts it from the top.
    stack.orgs["globex"].outage = False
    resumed = listing(stack, first=10, after=page["pageInfo"]["endCursor"])
    first_globex = next(e for e in resumed["edges"] if e["node"]["account"]["id"] == "globex")
    assert first_globex["node"]["remoteId"] == stack.orgs["globex"].ordered_candidates()[0].id


def test_rate_limits_and_auth_failures_are_reported_per_account(stack: Stack) -> None:
    stack.orgs["acme"].rate_limit = (0, 30.0)
    stack.orgs["initech"].api_key = "rotated-elsewhere"
    stack.emulator.orgs = {org.api_key: org for org in stack.orgs.values()}
    body = stack.graphql(LIST, {"first": 5})
    codes = {e["extensions"]["account"]: e["extensions"] for e in body["errors"]}
    assert codes["acme"]["code"] == "UPSTREAM_RATE_LIMITED"
    assert codes["acme"]["retryAfter"] > 0
    assert codes["initech"]["code"] == "UPSTREAM_AUTH_FAILED"
    assert "initech" in next(
        e["message"] for e in body["errors"] if e["extensions"]["account"] == "initech"
    )
    assert len(body["data"]["candidates"]["edges"]) == 5
    assert "key-initech-secret" not in str(body) and "127.0.0.1" not in str(body)


def test_syntax_errors_carry_a_code(shared_stack: Stack) -> None:
    body = shared_stack.graphql("{ candidates(first: ) }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
