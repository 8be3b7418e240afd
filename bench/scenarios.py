"""The bench's requests: GraphQL documents and the scenarios (A, A1, B, C, D, E) built from them.

A scenario is plain data (URL, method, body, what counts as success) so the same definition
drives both load generators: wrk's Lua script and the Python client are rendered from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from bench import topology

__all__ = [
    "CANDIDATE_FIELDS",
    "Marker",
    "Scenario",
    "build_scenarios",
    "create_body",
    "graphql_body",
    "list_query",
    "lookup_query",
]

Mode = Literal["fixed", "create", "paging"]

CANDIDATE_FIELDS = """
  id remoteId fullName firstName lastName company title masked
  emails { value type } phones { value type } locations skills experienceYears
  currentCompensation { amount currency period } noticePeriodDays resumeUrl source
  createdAt updatedAt account { id }
"""
"""About twenty fields a client lists, as in the issue's in-process measurement."""

APPLICATION_FIELDS = "applications { id status rawStatus appliedAt job { id remoteId } }"
"""What Talynce's get-by-id carries for each application. Not the job's name: Talynce names a
job only by id, so a name costs a jobs lookup per distinct job, a read GraphQL Mesh's shape A
(bench.peer) does not make."""

CREATE_MUTATION = """
mutation Create($input: CreateCandidateInput!) {
  createCandidate(input: $input) {
    created
    candidate { id fullName emails { value } }
    warnings { code }
    userErrors { field code message }
  }
}
"""


def list_query(*, first: int, applications: bool) -> str:
    """`candidates` with every field a client shows in a list, optionally with applications."""
    nested = APPLICATION_FIELDS if applications else ""
    return f"""
query List($accounts: [ID!], $after: String) {{
  candidates(first: {first}, accounts: $accounts, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    sources {{ account {{ id }} status latencyMs error {{ code }} }}
    edges {{ cursor node {{ {CANDIDATE_FIELDS} {nested} }} }}
  }}
}}
"""


def lookup_query(ids: list[str], *, applications: bool = True) -> str:
    """One `candidate(id)` per ID, aliased c0..cN, sharing a fragment to stay under limits."""
    nested = APPLICATION_FIELDS if applications else ""
    aliases = "\n".join(
        f"  c{n}: candidate(id: {json.dumps(gid)}) {{ ...Fields }}" for n, gid in enumerate(ids)
    )
    return (
        f"query Lookup {{\n{aliases}\n}}\n"
        f"fragment Fields on Candidate {{ {CANDIDATE_FIELDS} {nested} }}\n"
    )


def graphql_body(query: str, variables: dict[str, Any] | None = None) -> str:
    return json.dumps({"query": query, "variables": variables or {}}, separators=(",", ":"))


def create_body(
    *, account: str, email_local: str, idempotency_key: str | None = None, name: str = ""
) -> str:
    """A createCandidate request; `email_local` makes the email unique (tokens allowed)."""
    candidate: dict[str, Any] = {
        "account": account,
        "fullName": name or "Bench Candidate",
        "emails": [{"value": f"{email_local}@bench.example.com"}],
        "company": "Bench Ltd",
        "title": "Engineer",
    }
    if idempotency_key is not None:
        candidate["idempotencyKey"] = idempotency_key
    return graphql_body(CREATE_MUTATION, {"input": candidate})


@dataclass(frozen=True, slots=True)
class Marker:
    """`"key": value` somewhere in a response body, whatever the JSON spacing."""

    key: str
    regex_value: str
    lua_value: str

    def regex(self) -> str:
        return rf'"{self.key}"\s*:\s*{self.regex_value}'

    def lua(self) -> str:
        return f'"{self.key}"%s*:%s*{self.lua_value}'


FAILED = Marker("errors", r"\[", "%[")
"""A GraphQL response with a non-empty `errors` list failed, even with HTTP 200."""


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    title: str
    target: Literal["gateway", "emulator"]
    mode: Mode
    path: str
    method: str = "POST"
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    accounts: tuple[str, ...] = ()
    """For `create`: the `__ACCT__` token cycles through these."""
    fail: Marker | None = FAILED
    require: Marker | None = None
    gateway_accounts: int = topology.ORGS
    """How many accounts one request fans out to (for the per-page call checks)."""


def build_scenarios(lookup_ids: list[str], tag: str) -> list[Scenario]:
    """The issue's scenarios in run order: writes last, so reads see only the seeded data."""
    four = topology.account_ids()
    # Uncompressed whichever generator runs: httpx would offer zstd and wrk nothing, and the
    # markers are matched in the body as sent (bench.compression measures compression apart).
    json_headers = {"content-type": "application/json", "accept-encoding": "identity"}
    return [
        Scenario(
            "D",
            "floor: GET /api/v1/candidates?limit=20 straight from one emulator tenant",
            "emulator",
            "fixed",
            "/api/v1/candidates?limit=20",
            method="GET",
            headers={"authorization": f"Bearer {topology.api_key(0)}"},
            fail=None,
            gateway_accounts=1,
        ),
        Scenario(
            "A",
            "candidates(first: 20) with applications over 4 accounts",
            "gateway",
            "fixed",
            "/graphql",
            body=graphql_body(list_query(first=20, applications=True), {"accounts": four}),
            headers=json_headers,
        ),
        Scenario(
            "A1",
            "candidates(first: 20) with applications over 1 account",
            "gateway",
            "fixed",
            "/graphql",
            body=graphql_body(list_query(first=20, applications=True), {"accounts": four[:1]}),
            headers=json_headers,
            gateway_accounts=1,
        ),
        Scenario(
            "B",
            f"{len(lookup_ids)} aliased candidate(id) lookups with applications",
            "gateway",
            "fixed",
            "/graphql",
            body=graphql_body(lookup_query(lookup_ids)),
            headers=json_headers,
        ),
        Scenario(
            "E",
            "paging run: candidates(first: 100) over 2 accounts, endCursor to the end",
            "gateway",
            "paging",
            "/graphql",
            body=graphql_body(list_query(first=100, applications=False), {"accounts": four[:2]}),
            headers=json_headers,
            gateway_accounts=2,
        ),
        Scenario(
            "C",
            "createCandidate, a unique email each",
            "gateway",
            "create",
            "/graphql",
            body=create_body(account="__ACCT__", email_local=f"bench-{tag}-__SEQ__"),
            headers=json_headers,
            accounts=tuple(four),
            require=Marker("created", "true", "true"),
            gateway_accounts=1,
        ),
    ]
