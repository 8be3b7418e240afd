"""`applications` end to end: GraphQL over HTTP to the gateway in front of the Talynce, Merge and
Greenhouse emulators (the jobs suite's stack). A pipeline board is `applications(jobId:)`; its
truth is the same job's candidates' own applications, read through `candidates(jobId:)`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from resolvers.ids import decode_id, encode_id
from tests.all_providers import Stack, running_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as stack:
        yield stack


BOARD = """
query($jobId: ID, $candidateId: ID, $stageId: ID, $status: ApplicationStatus, $first: Int,
      $after: String, $accounts: [ID!]) {
  applications(jobId: $jobId, candidateId: $candidateId, stageId: $stageId, status: $status,
               first: $first, after: $after, accounts: $accounts) {
    edges { node { id remoteId status account { id } job { id } stage { id name }
                   candidate { id } } }
    pageInfo { hasNextPage endCursor }
    sources { account { id } status error { code } filteredLocally }
  }
}
"""

APPLIED = """
query($jobId: ID!) {
  candidates(jobId: $jobId, first: 100) {
    edges { node { id applications { id job { id } stage { id name } } } }
  }
}
"""

JOB_STAGES = "query($id: ID!) { job(id: $id) { stages { id remoteId name } } }"


def busiest_job(stack: Stack, account: str) -> str:
    """The job of `account` with the most applications, by its candidates' own applications."""
    edges = stack.data(
        "query($a: [ID!]) { candidates(accounts: $a, first: 100) "
        "{ edges { node { applications { job { id } } } } } }",
        a=[account],
    )["candidates"]["edges"]
    counts: dict[str, int] = {}
    for edge in edges:
        for application in edge["node"]["applications"]:
            if application["job"] and application["job"]["id"]:
                counts[application["job"]["id"]] = counts.get(application["job"]["id"], 0) + 1
    return max(sorted(counts), key=lambda job: counts[job])


def truth(stack: Stack, job: str) -> dict[str, Any]:
    """Application id → application, for every application to `job` its candidates hold."""
    edges = stack.data(APPLIED, jobId=job)["candidates"]["edges"]
    return {
        application["id"]: application
        for edge in edges
        for application in edge["node"]["applications"]
        if application["job"] and application["job"]["id"] == job
    }


def board(stack: Stack, rng: random.Random, **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(300):
        page = stack.data(BOARD, first=rng.randint(1, 7), after=after, **variables)
        listing = page["applications"]
        nodes += [edge["node"] for edge in listing["edges"]]
        if not listing["pageInfo"]["hasNextPage"]:
            return nodes
        after = listing["pageInfo"]["endCursor"]
    raise AssertionError("the board never ended")


@pytest.mark.parametrize("account", ["acme", "gh-harvest", "merge-initech"])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_jobs_board_pages_each_application_once(stack: Stack, account: str, seed: int) -> None:
    job = busiest_job(stack, account)
    expected = truth(stack, job)
    assert len(expected) >= 2
    nodes = board(stack, random.Random(seed), jobId=job)
    ids = [node["id"] for node in nodes]
    assert sorted(ids) == sorted(expected)  # each once: no repeat, none missing
    stages = stack.data(JOB_STAGES, id=job)["job"]["stages"]
    stage_ids = {stage["id"] for stage in stages or ()}
    for node in nodes:
        assert node["account"]["id"] == account and node["job"]["id"] == job
        assert node["stage"] == expected[node["id"]]["stage"]
        if node["stage"] and node["stage"]["id"] and stages is not None:
            assert node["stage"]["id"] in stage_ids  # the id moveApplication takes
        assert decode_id(node["candidate"]["id"]).account == account


def test_a_stage_narrows_the_board_and_implies_its_job(stack: Stack) -> None:
    job = busiest_job(stack, "gh-harvest")
    expected = truth(stack, job)
    stage = next(a["stage"] for a in expected.values() if a["stage"] and a["stage"]["id"])
    before = stack.upstream_calls()
    nodes = board(stack, random.Random(3), stageId=stage["id"])
    called = {key.split()[0] for key in stack.upstream_calls() - before}
    assert called == {"harvest"}  # the stage's account only
    assert sorted(n["id"] for n in nodes) == sorted(
        i for i, a in expected.items() if a["stage"] == stage
    )
    other = busiest_job(stack, "merge-initech")
    body = stack.post(BOARD, first=5, stageId=stage["id"], jobId=other)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_without_a_filter_talynce_and_partner_read_unsupported_not_failed(stack: Stack) -> None:
    body = stack.post(BOARD, first=20)
    assert "errors" not in body, body.get("errors")
    sources = {s["account"]["id"]: s for s in body["data"]["applications"]["sources"]}
    assert sources["acme"]["status"] == "UNSUPPORTED"  # Talynce lists per job or per candidate
    assert sources["gh-partner"]["status"] == "UNSUPPORTED"
    assert {sources[a]["error"]["code"] for a in ("acme", "gh-partner")} == {
        "UNSUPPORTED_BY_PROVIDER"
    }
    assert {sources[a]["status"] for a in ("gh-harvest", "merge-initech")} <= {"OK", "DONE"}
    owners = {edge["node"]["account"]["id"] for edge in body["data"]["applications"]["edges"]}
    assert owners == {"gh-harvest", "gh-durmstrang", "merge-initech"}


def test_a_candidates_applications_come_from_their_account_alone(stack: Stack) -> None:
    job = busiest_job(stack, "acme")
    holder = next(iter(truth(stack, job).values()))
    candidate = stack.data(
        "query($j: ID!) { candidates(jobId: $j, first: 1) { edges { node { id applications "
        "{ id } } } } }",
        j=job,
    )["candidates"]["edges"][0]["node"]
    before = stack.upstream_calls()
    nodes = board(stack, random.Random(4), candidateId=candidate["id"])
    assert sorted(n["id"] for n in nodes) == sorted(a["id"] for a in candidate["applications"])
    assert {key.split()[0] for key in stack.upstream_calls() - before} == {"talynce"}
    assert holder["job"]["id"] == job


def test_filters_are_checked_before_any_call(stack: Stack) -> None:
    before = stack.upstream_calls()
    for variables in (
        {"jobId": "not-an-id"},
        {"stageId": encode_id("Job", "acme", "1")},
        {"candidateId": encode_id("Candidate", "no-such-account", "1")},
    ):
        body = stack.post(BOARD, first=5, **variables)
        assert body["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "NOT_FOUND")
    assert stack.upstream_calls() == before
