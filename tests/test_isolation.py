"""One broken account, or one broken record, never hides the others: end to end over HTTP.

The gateway runs against Talynce emulator tenants, plus, where a test needs an upstream that
answers something no emulator would, a small loopback server of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulators.talynce.app import TalynceEmulator
from gateway.app import create_app
from providers.base import (
    AccountConfig,
    CandidatePage,
    CandidateQuery,
    Capability,
    Position,
    Provider,
)
from providers.errors import UpstreamRateLimited
from resolvers.accounts import Accounts, ServedAccount
from resolvers.candidates import plan
from resolvers.errors import AccountFailed
from resolvers.ids import encode_id
from resolvers.loaders import Loaders
from resolvers.pagination import AccountState, merge_page
from tests.conftest import SecretWatch, Stack, gateway_settings, make_orgs, running_stack
from tests.servers import serve_in_thread

DEEP = 100_000


def _deep_json(request: Request) -> Response:
    """A 200 whose JSON nests 100 000 levels: valid, and deeper than any parser's stack."""
    return Response(b"[" * DEEP + b"]" * DEEP, media_type="application/json")


DEEP_UPSTREAM = [Route("/{path:path}", _deep_json, methods=["GET", "POST", "PATCH"])]


@dataclasses.dataclass
class Answer:
    body: dict[str, Any]
    request_id: str

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])


def post(url: str, query: str, variables: dict[str, Any] | None = None) -> Answer:
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
    )
    assert response.status_code == 200, response.text
    return Answer(response.json(), response.headers["x-request-id"])


@contextmanager
def stack_with_broken_account(how: str, **overrides: Any) -> Iterator[Stack]:
    """acme, broken, globex: `broken` is a Talynce account whose every call fails in a way
    no adapter expects (`how`): a credential that cannot go in a header, or an upstream
    answering JSON too deep to parse."""
    orgs = make_orgs()
    del orgs["initech"]
    emulator = TalynceEmulator(orgs.values())
    with (
        serve_in_thread(emulator.app) as upstream,
        serve_in_thread(Starlette(routes=DEEP_UPSTREAM)) as deep,
    ):
        settings = gateway_settings(upstream, orgs, **overrides)
        acme, globex = settings.accounts
        broken = dataclasses.replace(acme, id="broken", name="Broken")
        if how == "non_ascii_key":
            broken = dataclasses.replace(broken, credentials={"api_key": "key-brøken-secret"})
        else:
            broken = dataclasses.replace(
                broken, base_url=f"{deep}/api/v1", credentials={"api_key": "key-deep-secret"}
            )
        settings = dataclasses.replace(settings, accounts=(acme, broken, globex))
        app = SecretWatch(create_app(settings), settings.secrets())
        with serve_in_thread(app, lifespan="on") as url:
            yield Stack(url, emulator, orgs, upstream)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def gateway_log() -> Iterator[Records]:
    capture = Records()
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)


PAGE = """
query($first: Int, $after: String) {
  candidates(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    sources { account { id } status error { code message } }
    edges { node { remoteId account { id } } }
  }
}
"""

# Another engineer maps these two to their own codes inside the HTTP client; until then (and for
# any other unexpected exception) the resolvers' net makes them INTERNAL for that account.
CODES = {"non_ascii_key": "UPSTREAM_AUTH_FAILED", "deep_json": "UPSTREAM_BAD_RESPONSE"}


@pytest.mark.parametrize("how", ["non_ascii_key", "deep_json"])
@pytest.mark.parametrize("compiled", [True, False])
def test_an_unexpected_exception_in_one_account_fails_only_that_account(
    how: str, compiled: bool
) -> None:
    with stack_with_broken_account(how, compiled_execution=compiled) as stack, gateway_log() as log:
        answer = post(stack.url, PAGE, {"first": 6})
        page = answer.body["data"]["candidates"]
        owners = [e["node"]["account"]["id"] for e in page["edges"]]
        assert owners == ["acme", "globex"] * 3
        sources = {s["account"]["id"]: s for s in page["sources"]}
        assert [s["account"]["id"] for s in page["sources"]] == ["acme", "broken", "globex"]
        assert sources["broken"]["status"] == "ERROR"
        assert sources["acme"]["status"] == sources["globex"]["status"] == "OK"
        [error] = answer.errors
        code = error["extensions"]["code"]
        assert code in {"INTERNAL", CODES[how]}
        assert sources["broken"]["error"]["code"] == code
        assert error["path"] == ["candidates"]
        assert error["extensions"]["account"] == "broken"
        assert error["extensions"]["provider"] == "talynce"
        assert "broken" in error["message"]
        if code == "INTERNAL":
            assert error["extensions"]["requestId"] == answer.request_id
            assert answer.request_id in error["message"]
            # The gateway's redaction filter turns a record's exc_info into (masked) exc_text.
            logged = [
                r
                for r in log.records
                if (r.exc_info or r.exc_text) and answer.request_id in r.getMessage()
            ]
            assert len(logged) == 1, [r.getMessage() for r in logged]
            assert "broken" in logged[0].getMessage()
        text = str(answer.body)
        assert "secret" not in text and "Traceback" not in text and "127.0.0.1" not in text

        # The failed account keeps its place: the next page asks it again, from its start.
        after = post(stack.url, PAGE, {"first": 6, "after": page["pageInfo"]["endCursor"]})
        statuses = {
            s["account"]["id"]: s["status"] for s in after.body["data"]["candidates"]["sources"]
        }
        assert statuses == {"acme": "OK", "broken": "ERROR", "globex": "OK"}


def test_candidate_lookups_of_a_broken_account_fail_alone() -> None:
    with stack_with_broken_account("non_ascii_key") as stack:
        good = encode_id("Candidate", "acme", stack.orgs["acme"].ordered_candidates()[0].id)
        bad = encode_id("Candidate", "broken", stack.orgs["acme"].ordered_candidates()[0].id)
        answer = post(
            stack.url,
            "query($g: ID!, $b: ID!) { g: candidate(id: $g) { id } b: candidate(id: $b) { id } "
            "n: node(id: $b) { id } }",
            {"g": good, "b": bad},
        )
        assert answer.body["data"] == {"g": {"id": good}, "b": None, "n": None}
        by_path = {tuple(e["path"]): e["extensions"] for e in answer.errors}
        assert set(by_path) == {("b",), ("n",)}
        for extensions in by_path.values():
            assert extensions["account"] == "broken" and extensions["provider"] == "talynce"
            assert extensions["code"] in {"INTERNAL", "UPSTREAM_AUTH_FAILED"}


def break_reads_of(stack: Stack, org: str, index: int) -> str:
    """One stored candidate the emulator cannot serialize: its list row is fine, but its own
    GET (the one that carries applications) answers HTTP 500. Returns its remote id."""
    candidate = stack.orgs[org].ordered_candidates()[index]
    candidate.applications = [*candidate.applications, None]  # type: ignore[list-item]
    return candidate.id


APPLICATIONS = """
{ list: candidates(first: 6) {
    edges { node { remoteId account { id } applications { id status } } } } }
"""


@pytest.mark.parametrize("compiled", [True, False])
def test_one_failed_applications_read_nulls_only_that_candidates_applications(
    compiled: bool,
) -> None:
    with running_stack(make_orgs(), compiled_execution=compiled) as stack:
        bad = break_reads_of(stack, "acme", 1)
        answer = post(stack.url, APPLICATIONS)
        edges = answer.body["data"]["list"]["edges"]
        assert len(edges) == 6
        [failed] = [n for n, e in enumerate(edges) if e["node"]["remoteId"] == bad]
        for n, edge in enumerate(edges):
            if n == failed:
                assert edge["node"]["applications"] is None
            else:
                assert isinstance(edge["node"]["applications"], list), edge
        assert any(e["node"]["applications"] for e in edges if e["node"]["account"]["id"] == "acme")
        [error] = answer.errors
        assert error["path"] == ["list", "edges", failed, "node", "applications"]
        assert error["extensions"]["account"] == "acme"
        assert error["extensions"]["provider"] == "talynce"
        assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
        # One GET per candidate shown (2 per account), then acme's two asked again one by one.
        gets = [r for r in stack.emulator.requests if r.path.startswith("/api/v1/candidates/")]
        assert len(gets) == 6 + 2


def test_one_failed_candidate_lookup_fails_only_that_lookup(stack: Stack) -> None:
    bad = break_reads_of(stack, "acme", 0)
    good = stack.orgs["acme"].ordered_candidates()[1].id
    ids = {"b": encode_id("Candidate", "acme", bad), "g": encode_id("Candidate", "acme", good)}
    answer = post(
        stack.url,
        "query($b: ID!, $g: ID!) { b: candidate(id: $b) { remoteId } "
        "g: candidate(id: $g) { remoteId applications { id } } }",
        ids,
    )
    assert answer.body["data"]["b"] is None
    assert answer.body["data"]["g"]["remoteId"] == good
    assert isinstance(answer.body["data"]["g"]["applications"], list)
    [error] = answer.errors
    assert error["path"] == ["b"]
    assert error["extensions"]["account"] == "acme"


ALIASED = """
{ a: candidates(first: 2) { edges { node { id } } }
  b: candidates(first: 3) { sources { status } edges { node { id } } } }
"""


@pytest.mark.parametrize("compiled", [True, False])
def test_partial_errors_of_aliased_listings_carry_their_own_paths(compiled: bool) -> None:
    with running_stack(make_orgs(), compiled_execution=compiled) as stack:
        stack.orgs["globex"].outage = True
        answer = post(stack.url, ALIASED)
        assert len(answer.body["data"]["a"]["edges"]) == 2
        assert len(answer.body["data"]["b"]["edges"]) == 3
        paths = sorted(e["path"] for e in answer.errors)
        assert paths == [["a"], ["b"]]
        assert all(e["extensions"]["account"] == "globex" for e in answer.errors)


# --- the resolvers' net, with in-memory adapters (it must hold for any exception) -----------------


@dataclasses.dataclass
class BuggyProvider:
    """An adapter with a bug: listing raises a plain exception; reading applications fails for
    any batch that holds the id "bad" (as one unmappable record fails a whole batch)."""

    error: Exception = dataclasses.field(default_factory=lambda: KeyError("boom"))
    name: str = "buggy"
    capabilities: frozenset[Capability] = frozenset(Capability)
    batches: list[list[str]] = dataclasses.field(default_factory=list)

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        raise self.error

    async def applications_for(self, remote_ids: Sequence[str]) -> dict[str, list[Any]]:
        self.batches.append(list(remote_ids))
        if "bad" in remote_ids:
            raise self.error
        return {i: [] for i in remote_ids}


def fake_account(account_id: str, provider: object) -> ServedAccount:
    config = AccountConfig(account_id, account_id.title(), "fake", "http://fake.invalid")
    return ServedAccount(config, cast(Provider, provider))


async def test_any_exception_of_a_lane_becomes_that_accounts_internal_error() -> None:
    from tests.test_pagination import OffsetProvider, rows

    accounts = [
        fake_account("a", OffsetProvider(rows("a", 5))),
        fake_account("b", BuggyProvider()),
        fake_account("c", OffsetProvider(rows("c", 5))),
    ]
    with gateway_log() as log:
        page = await merge_page(accounts, plan(CandidateQuery()), {}, 4, request_id="rq1")
    assert [record.remote_id for _, record in page.items] == ["a0", "c0", "a1", "c1"]
    error = page.lanes[1].error
    assert isinstance(error, AccountFailed)
    assert (error.code, error.account, error.provider, error.request_id) == (
        "INTERNAL",
        "b",
        "fake",
        "rq1",
    )
    assert "rq1" in error.message and "boom" not in error.message
    assert isinstance(error.__cause__, KeyError)
    logged = [r for r in log.records if "rq1" in r.getMessage()]
    assert len(logged) == 1 and (logged[0].exc_info or logged[0].exc_text)
    assert page.end_states["b"] == AccountState()  # keeps its place: asked again next page


async def test_a_failed_batch_is_asked_again_id_by_id_so_one_bad_record_fails_alone() -> None:
    provider = BuggyProvider()
    loaders = Loaders(Accounts([fake_account("b", provider)]), "rq2")
    with gateway_log() as log:
        results = await asyncio.gather(
            *(loaders.applications.load(("b", i)) for i in ["x", "bad", "y"]),
            return_exceptions=True,
        )
    assert results[0] == [] and results[2] == []
    assert isinstance(results[1], AccountFailed) and results[1].request_id == "rq2"
    assert sorted(map(sorted, provider.batches)) == [["bad"], ["bad", "x", "y"], ["x"], ["y"]]
    assert len([r for r in log.records if "rq2" in r.getMessage()]) == 1


async def test_an_account_wide_failure_is_not_asked_again_id_by_id() -> None:
    provider = BuggyProvider(error=UpstreamRateLimited("slow down", retry_after=5.0))
    loaders = Loaders(Accounts([fake_account("b", provider)]))
    results = await asyncio.gather(
        *(loaders.applications.load(("b", i)) for i in ["x", "bad", "y"]),
        return_exceptions=True,
    )
    assert all(isinstance(r, UpstreamRateLimited) for r in results)
    assert provider.batches == [["x", "bad", "y"]]
