"""A write that may have reached its provider is never sent again, end to end over HTTP.

The gateway stands in front of Talynce, Merge and Greenhouse Harvest emulators whose fault
profiles store a write and then lose its answer (a 5xx, a cut 201, an HTML 200). Each such
create is `UPSTREAM_OUTCOME_UNKNOWN`, its idempotency key keeps that outcome, and a retry with
the key sends nothing. Only a write that provably never left (connection refused) frees its key.
Keys are scoped per client; a refused Harvest token is never sent again.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from emulators.faults import FaultProfile
from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg
from emulators.merge.app import PREFIX, LinkedAccount, MergeEmulator
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.security import Client, hash_key
from gateway.settings import Settings
from providers.base import AccountConfig, CandidateQuery, Position
from providers.errors import UpstreamAuthFailed
from resolvers.ids import encode_id
from tests.conftest import SecretWatch
from tests.redis_support import RedisServer, redis_server
from tests.servers import serve_in_thread
from tests.test_shared_store import Processes, harvest_in_processes

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here

TALYNCE_KEY, MERGE_KEY, MERGE_TOKEN = "wo-talynce-key-0123", "wo-merge-key-4567", "wo-merge-tok-89"
GH_CLIENT, GH_SECRET, FLAKY_KEY = "wo-gh-client", "wo-gh-secret-0123", "wo-flaky-key-4567"
FIRST, SECOND = "wo-first-client-key-0123", "wo-second-client-key-4567"
CLIENTS = (
    Client("first-app", hash_key(FIRST), None, True),
    Client("second-app", hash_key(SECOND), None, True),
)
PROVIDERS = ("talynce", "merge", "harvest")
CREATORS = (*PROVIDERS, "partner")  # Greenhouse's Partner API creates but cannot update
FAULTS = [
    ("stored_error", 500),
    ("stored_error", 502),
    ("stored_error", 503),
    ("stored_truncated", 500),
    ("stored_html", 500),
]

CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) { created candidate { id remoteId } userErrors { field code } }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdateCandidateInput!) {
  updateCandidate(id: $id, input: $input) { candidate { company } userErrors { field code } }
}
"""


@dataclass
class Stack:
    url: str
    talynce: TalynceEmulator
    talynce_org: TalynceOrg
    merge: MergeEmulator
    linked: LinkedAccount
    greenhouse: GreenhouseEmulator
    gh_org: GreenhouseOrg
    flaky: TalynceEmulator
    flaky_socket: socket.socket

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, key: str = FIRST
    ) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def set_faults(self, provider: str, profile: FaultProfile) -> None:
        owner = {"talynce": self.talynce_org, "merge": self.linked}.get(provider, self.gh_org)
        owner.faults = profile

    def writes(self, provider: str, needle: str) -> int:
        """Write requests that reached `provider`'s emulator carrying `needle` in their body."""
        log: list[Any] = {
            "talynce": self.talynce.requests,
            "merge": self.merge.requests,
            "harvest": self.greenhouse.calls("harvest"),
            "partner": self.greenhouse.calls("partner"),
        }[provider]
        return sum(1 for r in log if r.method in ("POST", "PATCH") and needle in json.dumps(r.body))

    def records(self, provider: str, email: str) -> int:
        """Candidates `provider` holds with this email address."""
        if provider == "talynce":
            return sum(1 for c in self.talynce_org.candidates.values() if c.email == email)
        holders = self.linked.candidates if provider == "merge" else self.gh_org.candidates
        return sum(
            1 for c in holders.values() if any(e.get("value") == email for e in c.email_addresses)
        )

    def some_candidate(self, provider: str) -> str:
        """The global id of a seeded candidate of `provider`'s account."""
        if provider == "talynce":
            remote = next(
                c.id
                for c in self.talynce_org.ordered_candidates()
                if c.talent_pool_status == "not_linked"
            )
        elif provider == "merge":
            remote = next(iter(self.linked.candidates))
        else:
            remote = str(min(self.gh_org.candidates))
        return encode_id("Candidate", provider, remote)


def accounts(
    talynce: str, merge: str, greenhouse: str, flaky: str, gh_org: GreenhouseOrg, merge_user: str
) -> Any:
    common: dict[str, Any] = {"retries": 2}  # writes must not be retried even so
    return (
        AccountConfig(
            id="talynce",
            name="Talynce",
            provider="talynce",
            base_url=f"{talynce}/api/v1",
            credentials={"api_key": TALYNCE_KEY},
            **common,
        ),
        AccountConfig(
            id="merge",
            name="Merge",
            provider="merge",
            base_url=merge + PREFIX,
            credentials={"api_key": MERGE_KEY, "account_token": MERGE_TOKEN},
            options={"remote_user_id": merge_user},
            **common,
        ),
        AccountConfig(
            id="harvest",
            name="Harvest",
            provider="greenhouse",
            base_url=f"{greenhouse}/v3",
            credentials={"client_id": GH_CLIENT, "client_secret": GH_SECRET},
            options={"api": "harvest", "user_id": gh_org.users[0].id, "token_url": "/token"},
            **common,
        ),
        AccountConfig(
            id="partner",
            name="Partner",
            provider="greenhouse",
            base_url=f"{greenhouse}/v1/partner",
            credentials={"api_key": "wo-pk"},
            options={"api": "partner", "on_behalf_of": gh_org.users[0].email},
            **common,
        ),
        AccountConfig(
            id="flaky",
            name="Flaky",
            provider="talynce",
            base_url=f"{flaky}/api/v1",
            credentials={"api_key": FLAKY_KEY},
            **common,
        ),
    )


@contextmanager
def serve_on(app: ASGIApp, sock: socket.socket) -> Iterator[None]:
    """Serves `app` on an already bound socket (until now bound but not listening: refused)."""
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.01)
    assert server.started
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    talynce_org = TalynceOrg.seeded("wo-talynce", TALYNCE_KEY, candidates=10, seed=4)
    linked = LinkedAccount.seeded("WoMerge", MERGE_TOKEN, seed=5, candidates=10)
    gh_org = GreenhouseOrg.seeded(
        "WoHarvest", partner_api_key="wo-pk", client_id=GH_CLIENT, client_secret=GH_SECRET, seed=6
    )
    talynce = TalynceEmulator([talynce_org])
    merge = MergeEmulator(MERGE_KEY, [linked])
    greenhouse = GreenhouseEmulator([gh_org])
    flaky = TalynceEmulator([TalynceOrg.seeded("wo-flaky", FLAKY_KEY, candidates=8, seed=7)])
    flaky_socket = socket.socket()
    flaky_socket.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    flaky_url = f"http://127.0.0.1:{flaky_socket.getsockname()[1]}"
    with (
        flaky_socket,
        serve_in_thread(talynce.app) as t_url,
        serve_in_thread(merge.app) as m_url,
        serve_in_thread(greenhouse.app) as g_url,
    ):
        settings = Settings(
            accounts(t_url, m_url, g_url, flaky_url, gh_org, linked.remote_users[0]),
            cursor_secret=b"wo-cursor-secret",
            clients=CLIENTS,
        )
        app = SecretWatch(create_app(settings), settings.secrets())
        with serve_in_thread(app, lifespan="on") as url:
            yield Stack(
                url, talynce, talynce_org, merge, linked, greenhouse, gh_org, flaky, flaky_socket
            )


def create_input(provider: str, email: str, **fields: Any) -> dict[str, Any]:
    return {
        "account": provider,
        "firstName": "Wren",
        "lastName": "Once",
        "emails": [{"value": email, "type": "PERSONAL"}],
        **({"externalId": f"ext-{email}"} if provider == "partner" else {}),
        **fields,
    }


def error_code(body: dict[str, Any]) -> tuple[str, str]:
    [error] = body["errors"]
    return error["extensions"]["code"], error["extensions"]["account"]


@pytest.mark.parametrize("provider", CREATORS)
@pytest.mark.parametrize(("fault", "status"), FAULTS)
def test_a_create_stored_but_unanswered_is_unknown_and_never_sent_again(
    stack: Stack, provider: str, fault: str, status: int
) -> None:
    email = f"{provider}-{fault}-{status}@example.com"
    stack.set_faults(provider, FaultProfile(script=deque([fault]), error_statuses=(status,)))
    variables = {"input": create_input(provider, email, idempotencyKey=f"k-{email}")}
    first = stack.graphql(CREATE, variables)
    assert first["data"] is None
    assert error_code(first) == ("UPSTREAM_OUTCOME_UNKNOWN", provider)
    assert stack.records(provider, email) == 1  # the provider did store it
    for _ in range(2):
        again = stack.graphql(CREATE, variables)
        assert error_code(again) == ("UPSTREAM_OUTCOME_UNKNOWN", provider)
    assert stack.writes(provider, email) == 1
    assert stack.records(provider, email) == 1


@pytest.mark.parametrize("provider", CREATORS)
def test_a_create_without_a_key_is_unknown_too(stack: Stack, provider: str) -> None:
    email = f"{provider}-nokey@example.com"
    stack.set_faults(provider, FaultProfile(script=deque(["stored_html"])))
    body = stack.graphql(CREATE, {"input": create_input(provider, email)})
    assert error_code(body) == ("UPSTREAM_OUTCOME_UNKNOWN", provider)
    assert stack.writes(provider, email) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["stored_error", "stored_truncated"])
def test_an_update_applied_but_unanswered_is_unknown_and_sent_once(
    stack: Stack, provider: str, fault: str
) -> None:
    company = f"Patched {provider} {fault}"
    stack.set_faults(provider, FaultProfile(script=deque([fault]), error_statuses=(502,)))
    body = stack.graphql(
        UPDATE, {"id": stack.some_candidate(provider), "input": {"company": company}}
    )
    assert body["data"] is None
    assert error_code(body) == ("UPSTREAM_OUTCOME_UNKNOWN", provider)
    assert stack.writes(provider, company) == 1  # 502 is retryable for reads, never for writes


def test_a_create_refused_at_connect_frees_its_key_and_the_retry_writes(stack: Stack) -> None:
    variables = {"input": create_input("flaky", "flaky@example.com", idempotencyKey="k-flaky")}
    refused = stack.graphql(CREATE, variables)
    assert error_code(refused) == ("UPSTREAM_UNAVAILABLE", "flaky")
    with serve_on(stack.flaky.app, stack.flaky_socket):
        retried = stack.graphql(CREATE, variables)
        assert retried["data"]["createCandidate"]["created"] is True
        assert stack.graphql(CREATE, variables) == retried  # and now the key replays
    assert [r.method for r in stack.flaky.requests] == ["POST"]


def test_a_providers_refusal_frees_nothing_and_is_kept_under_the_key(stack: Stack) -> None:
    """A 4xx validation refusal is an answer: userErrors, kept under the key."""
    job = encode_id("Job", "talynce", stack.talynce_org.jobs[0].id)
    variables = {
        "input": create_input(
            "talynce",
            "refused@example.com",
            idempotencyKey="k-refused",
            application={"jobId": job, "status": "Teleported"},
        )
    }
    first = stack.graphql(CREATE, variables)
    assert first["data"]["createCandidate"]["userErrors"] == [
        {"field": ["input", "application", "status"], "code": "INVALID_PIPELINE_STATUS"}
    ]
    assert stack.graphql(CREATE, variables) == first
    assert stack.writes("talynce", "refused@example.com") == 1


# --- keys are per client ------------------------------------------------------------------------


def test_another_clients_key_behaves_as_unused(stack: Stack) -> None:
    def create(key: str, email: str, client: str) -> dict[str, Any]:
        variables = {"input": create_input("harvest", email, idempotencyKey=key)}
        payload: dict[str, Any] = stack.graphql(CREATE, variables, key=client)["data"][
            "createCandidate"
        ]
        return payload

    first = create("k-replay", "mine@example.com", FIRST)
    assert first["created"] is True
    # The same key and input from another client is that client's own first use: it writes,
    # rather than being handed the first client's candidate.
    theirs = create("k-replay", "mine@example.com", SECOND)
    assert theirs["created"] is True and theirs["candidate"] != first["candidate"]
    assert stack.writes("harvest", "mine@example.com") == 2
    # Other input under a key the first client used is no conflict for the second: nothing
    # tells it the key exists, and it cannot squat it either.
    squatted = create("k-squat", "first-owner@example.com", FIRST)
    other = create("k-squat", "squatter@example.com", SECOND)
    assert other["userErrors"] == [] and other["created"] is True
    # Each client still gets its own first outcome back.
    assert create("k-replay", "mine@example.com", FIRST) == first
    assert create("k-squat", "first-owner@example.com", FIRST) == squatted
    assert create("k-squat", "squatter@example.com", SECOND) == other
    assert stack.writes("harvest", "first-owner@example.com") == 1


# --- a refused token is never sent again ----------------------------------------------------------


def test_a_refused_harvest_token_is_not_sent_again(stack: Stack) -> None:
    query = '{ candidates(first: 2, accounts: ["harvest"]) { edges { node { id } } } }'
    assert "errors" not in stack.graphql(query)
    stack.greenhouse.expire_tokens()
    stack.gh_org.refuse_tokens = 1  # the token minted after the 401 is refused as well
    before = len(stack.greenhouse.calls("harvest"))
    failed = stack.graphql(query)
    assert error_code(failed) == ("UPSTREAM_AUTH_FAILED", "harvest")
    after_failure = stack.greenhouse.calls("harvest")[before:]
    assert [c.status for c in after_failure] == [401, 401]
    answered = stack.graphql(query)
    assert "errors" not in answered
    # One call with a newly minted token: the refused one was not tried first.
    assert [c.status for c in stack.greenhouse.calls("harvest")[before + 2 :]] == [200]


async def test_a_refused_token_is_dropped_from_the_shared_store(
    redis_server: RedisServer,
) -> None:
    processes = Processes(redis_server.url)
    try:
        async with harvest_in_processes(processes, 2) as (emulator, org, adapters):
            await adapters[0].list_candidates(CandidateQuery(), Position(), 2)
            emulator.expire_tokens()
            org.refuse_tokens = 1
            with pytest.raises(UpstreamAuthFailed):
                await adapters[0].list_candidates(CandidateQuery(), Position(), 2)
            before = len(emulator.calls("harvest"))
            await adapters[1].list_candidates(CandidateQuery(), Position(), 2)
            assert [c.status for c in emulator.calls("harvest")[before:]] == [200]
            await adapters[0].list_candidates(CandidateQuery(), Position(), 2)
            assert [c.status for c in emulator.calls("harvest")[before:]] == [200, 200]
            assert len(emulator.calls("token")) == 3
    finally:
        await processes.aclose()


# --- the soak, with tiny numbers ------------------------------------------------------------------


def test_the_write_soak_holds_with_tiny_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.write_soak import main

    with pytest.raises(SystemExit) as ended:
        main(["--keys", "12", "--rounds", "12", "--repeats", "1", "--down-rate", "0.5"])
    printed = capsys.readouterr().out
    assert ended.value.code == 0, printed
    assert "FAIL" not in printed and "exactly one upstream write" in printed
