"""A hostile upstream, end to end: answers no emulator fault gives, from servers of the test's own.

A proxy in front of each real emulator serves the emulator's own answer (a write is stored) under
a redirect: a write so answered is `UPSTREAM_OUTCOME_UNKNOWN` and its key stays claimed; a read so
answered is its account's bad response, never data; so is any status that means nothing. An
answer whose head never ends is cut at the head bound, and trailer fields are never kept. An
absurd `Retry-After` neither wedges its account nor reaches a client unbounded. A Talynce poller
outlives the deadline of the subscriber that started it. A Harvest next link that is no URL is
its account's bad response, not an internal error; an unreadable X-RateLimit-Limit is ignored.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.faults import FaultProfile
from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg
from emulators.merge.app import LinkedAccount, MergeEmulator
from emulators.seed import Job
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.demo import running_server
from gateway.settings import Settings
from providers.base import AccountConfig
from providers.errors import UpstreamBadResponse, UpstreamOutcomeUnknown
from providers.upstream.http import MAX_RETRY_AFTER, Upstream, build_client
from providers.upstream.transport import MAX_HEAD_BYTES, ResponseTooLarge
from providers.upstream.writes import watch_writes
from tests.conftest import SecretWatch, Stack, gateway_settings, make_orgs, running_stack
from tests.live_support import live_gateway
from tests.servers import serve_in_thread
from tests.test_polling import CLIENTS as POLL_CLIENTS
from tests.test_polling import JOBS, TALYNCE_KEY, _next, _polls
from tests.test_transport import Handler, RawServer, Seen, client
from tests.test_upstream_bounds import harvest_adapter
from tests.test_write_once import (
    CLIENTS,
    CREATE,
    CREATORS,
    GH_CLIENT,
    GH_SECRET,
    MERGE_KEY,
    MERGE_TOKEN,
    UPDATE,
    accounts,
    create_input,
    error_code,
)
from tests.test_write_once import TALYNCE_KEY as WO_TALYNCE_KEY
from tests.test_write_once import Stack as WriteStack
from tests.ws_support import graphql_socket, until, ws_url

ELSEWHERE = "http://evil.invalid/collect?stolen=hostile-location-9f3e"
HOP_BY_HOP = {"content-length", "content-encoding", "transfer-encoding", "connection", "host"}


@dataclass
class Redirecting:
    """Which answers the proxy turns into redirects: writes, reads, or neither."""

    writes: bool = False
    reads: bool = False
    redirected: list[str] = field(default_factory=list)

    def applies(self, request: Request) -> bool:
        if request.url.path.endswith("/token"):  # the Harvest token is no call under test
            return False
        return self.reads if request.method == "GET" else self.writes


def redirecting_proxy(target: str, redirecting: Redirecting) -> Starlette:
    """Forwards every request to `target` and answers with its answer, under a 307 whenever
    `redirecting` says so: the body is the real answer, so only the status tells it apart."""

    async def forward(request: Request) -> Response:
        url = f"{target}{request.url.path}"
        if request.url.query:
            url += f"?{request.url.query}"
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        async with httpx.AsyncClient() as upstream:
            answer = await upstream.request(
                request.method, url, content=await request.body(), headers=headers
            )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        status = answer.status_code
        if redirecting.applies(request):
            redirecting.redirected.append(f"{request.method} {request.url.path}")
            status, kept["location"] = 307, ELSEWHERE
        return Response(answer.content, status_code=status, headers=kept)

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


@dataclass
class Proxied:
    stack: WriteStack
    redirecting: dict[str, Redirecting]


@pytest.fixture(scope="module")
def proxied() -> Iterator[Proxied]:
    talynce_org = TalynceOrg.seeded("ho-talynce", WO_TALYNCE_KEY, candidates=10, seed=4)
    linked = LinkedAccount.seeded("HoMerge", MERGE_TOKEN, seed=5, candidates=10)
    gh_org = GreenhouseOrg.seeded(
        "HoHarvest", partner_api_key="wo-pk", client_id=GH_CLIENT, client_secret=GH_SECRET, seed=6
    )
    talynce = TalynceEmulator([talynce_org])
    merge = MergeEmulator(MERGE_KEY, [linked])
    greenhouse = GreenhouseEmulator([gh_org])
    redirecting = {name: Redirecting() for name in ("talynce", "merge", "greenhouse")}
    unused = socket.socket()
    with (
        unused,
        serve_in_thread(talynce.app) as t_url,
        serve_in_thread(merge.app) as m_url,
        serve_in_thread(greenhouse.app) as g_url,
        serve_in_thread(redirecting_proxy(t_url, redirecting["talynce"])) as t_proxy,
        serve_in_thread(redirecting_proxy(m_url, redirecting["merge"])) as m_proxy,
        serve_in_thread(redirecting_proxy(g_url, redirecting["greenhouse"])) as g_proxy,
    ):
        configured = accounts(t_proxy, m_proxy, g_proxy, t_proxy, gh_org, linked.remote_users[0])
        settings = Settings(configured, cursor_secret=b"ho-cursor-secret", clients=CLIENTS)
        app = SecretWatch(create_app(settings), settings.secrets())
        with serve_in_thread(app, lifespan="on") as url:
            stack = WriteStack(
                url, talynce, talynce_org, merge, linked, greenhouse, gh_org, talynce, unused
            )
            yield Proxied(stack, redirecting)


@pytest.fixture
def redirects(proxied: Proxied) -> Iterator[Proxied]:
    yield proxied
    for redirecting in proxied.redirecting.values():
        redirecting.writes = redirecting.reads = False


def proxy_of(provider: str) -> str:
    return provider if provider in ("talynce", "merge") else "greenhouse"


@pytest.mark.parametrize("provider", CREATORS)
def test_a_create_answered_with_a_redirect_is_unknown_and_never_sent_again(
    redirects: Proxied, provider: str
) -> None:
    stack = redirects.stack
    redirects.redirecting[proxy_of(provider)].writes = True
    email = f"{provider}-redirected@example.com"
    variables = {"input": create_input(provider, email, idempotencyKey=f"k-{email}")}
    for _ in range(3):
        body = stack.graphql(CREATE, variables)
        assert body["data"] is None
        assert error_code(body) == ("UPSTREAM_OUTCOME_UNKNOWN", provider)
        assert "evil.invalid" not in str(body) and "hostile-location" not in str(body)
    assert stack.records(provider, email) == 1  # the provider did store it
    assert stack.writes(provider, email) == 1


@pytest.mark.parametrize("provider", ["talynce", "merge", "harvest"])
def test_an_update_answered_with_a_redirect_is_unknown(redirects: Proxied, provider: str) -> None:
    stack = redirects.stack
    redirects.redirecting[proxy_of(provider)].writes = True
    company = f"Redirected {provider}"
    body = stack.graphql(
        UPDATE, {"id": stack.some_candidate(provider), "input": {"company": company}}
    )
    assert body["data"] is None
    assert error_code(body) == ("UPSTREAM_OUTCOME_UNKNOWN", provider)
    assert stack.writes(provider, company) == 1


def test_a_read_answered_with_a_redirect_is_its_accounts_bad_response(redirects: Proxied) -> None:
    redirects.redirecting["talynce"].reads = True
    body = redirects.stack.graphql(
        "{ candidates(first: 50) { edges { node { account { id } } }"
        " sources { account { id } status error { code message } } } }"
    )
    page = body["data"]["candidates"]
    sources = {s["account"]["id"]: s for s in page["sources"]}
    talynce = sources["talynce"]
    assert (talynce["status"], talynce["error"]["code"]) == ("ERROR", "UPSTREAM_BAD_RESPONSE")
    served = {edge["node"]["account"]["id"] for edge in page["edges"]}
    assert served == {"merge", "harvest"}  # "flaky" is behind the same proxy; Partner lists none
    assert redirects.redirecting["talynce"].redirected
    assert "evil.invalid" not in str(body) and "hostile-location" not in str(body)


# --- an answer's head is bounded ------------------------------------------------------------------


async def endless_header(seen: Seen, writer: asyncio.StreamWriter) -> bool:
    """One header whose value never ends, sent faster than any read timeout."""
    writer.write(b"HTTP/1.1 200 OK\r\nx-endless: ")
    while True:
        writer.write(b"a" * 65536)
        await writer.drain()


async def many_headers(seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(
        b"HTTP/1.1 200 OK\r\n" + b"x-many: y\r\n" * 200_000 + b"content-length: 2\r\n\r\n{}"
    )
    return False


@pytest.mark.parametrize("handler", [endless_header, many_headers])
async def test_a_head_past_its_bound_is_refused_as_it_arrives(handler: Handler) -> None:
    async with RawServer(handler) as server:
        lean = client(server, timeout=30.0)
        began = time.monotonic()
        async with asyncio.timeout(10):
            with pytest.raises(ResponseTooLarge, match=f"headers are larger than {MAX_HEAD_BYTES}"):
                await lean.request("GET", "candidates")
        assert time.monotonic() - began < 5
        await lean.aclose()


async def test_a_head_within_its_bound_is_read_whole() -> None:
    lines = b"x-many: y\r\n" * ((MAX_HEAD_BYTES - 100) // 11)

    async def ok(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n" + lines + b"content-length: 2\r\n\r\n{}")
        return True

    async with RawServer(ok) as server:
        lean = client(server)
        reply = await lean.request("GET", "candidates")
        assert reply.content == b"{}"
        assert reply.headers["x-many"].count("y") == lines.count(b"\r\n")
        await lean.aclose()


async def test_trailers_are_counted_but_never_kept_as_headers() -> None:
    """A header repeated through a chunked answer's trailer would be joined into one value, at
    a cost that grows with the square of its count (minutes of the event loop, every account's,
    within max_response_bytes); and what follows the body must not change what came before it."""
    trailers = b"x-ratelimit-remaining: 0\r\n" * 300_000

    async def chunked(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-kept: head\r\n\r\n"
        writer.write(head + b"2\r\n{}\r\n0\r\n" + trailers + b"x-kept: trailer\r\n\r\n")
        return True

    async with RawServer(chunked) as server:
        lean = client(server, max_response_bytes=16 * 1024 * 1024)
        began = time.monotonic()
        reply = await lean.request("GET", "candidates")
        assert time.monotonic() - began < 5
        assert reply.content == b"{}"
        assert reply.headers["x-kept"] == "head"
        assert "x-ratelimit-remaining" not in reply.headers
        await lean.aclose()


# --- Retry-After ----------------------------------------------------------------------------------

LIST = """query { candidates(first: 3) {
  edges { node { remoteId } } sources { account { id } status error { code retryAfter } } } }"""


@pytest.fixture
def tuned() -> Iterator[Stack]:
    with running_stack(make_orgs(), request_timeout=1.0) as stack:
        yield stack


@pytest.mark.parametrize("told", ["inf", "1e400"])
def test_a_retry_after_that_is_no_number_is_ignored(tuned: Stack, told: str) -> None:
    """Not a pause at all: the 429 is retried after the usual backoff, and the account goes on."""
    tuned.orgs["acme"].faults = FaultProfile(script=deque(["rate_limit"]), retry_after=told)
    for _ in range(2):
        body = tuned.graphql(LIST)
        assert "errors" not in body, body["errors"]
    assert [r.status for r in tuned.calls("acme")] == [429, 200, 200]


def test_an_absurd_retry_after_is_bounded(tuned: Stack) -> None:
    tuned.orgs["acme"].faults = FaultProfile(script=deque(["rate_limit"]), retry_after="9" * 12)
    body = tuned.graphql(LIST)
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["account"]) == (
        "UPSTREAM_RATE_LIMITED",
        "acme",
    )
    assert error["extensions"]["retryAfter"] == MAX_RETRY_AFTER
    acme = next(s for s in body["data"]["candidates"]["sources"] if s["account"]["id"] == "acme")
    assert acme["error"] == {"code": "UPSTREAM_RATE_LIMITED", "retryAfter": MAX_RETRY_AFTER}


# --- polling outlives its first subscriber's deadline ----------------------------------------------


async def test_polling_goes_on_past_the_deadline_of_the_subscriber_that_started_it() -> None:
    orgs = make_orgs()
    org = orgs["initech"]
    emulator = TalynceEmulator(orgs.values())
    timeout = 0.5
    async with running_server(emulator.app) as port:
        upstream = f"http://127.0.0.1:{port}"
        settings = gateway_settings(
            upstream, orgs, poll_interval=0.05, clients=POLL_CLIENTS, request_timeout=timeout
        )
        async with (
            live_gateway(settings) as gateway,
            graphql_socket(ws_url(gateway.url), TALYNCE_KEY) as sock,
        ):
            await sock.subscribe("jobs", JOBS)
            await until(lambda: gateway.app.state.changes.following == 1)
            await _polls(emulator, "/api/v1/jobs", 1)
            # Polls go on for twice the subscriber's deadline (the time this is about).
            async with asyncio.timeout(10):
                await _polls(emulator, "/api/v1/jobs", round(2 * timeout / 0.05))
            now = datetime.now(UTC)
            org.jobs.append(
                Job(str(uuid.uuid4()), "Late Job", "open", created_at=now, updated_at=now)
            )
            async with asyncio.timeout(10):
                change = await _next(sock, "jobs", "jobChanged")
            assert (change["kind"], change["job"]["name"]) == ("CREATED", "Late Job")


# --- a next link that is no URL -------------------------------------------------------------------


def harvest_linking(link: str) -> Starlette:
    """A Harvest whose candidate list links on to `link`."""

    async def token(request: Request) -> Response:
        return JSONResponse({"access_token": "t0k", "expires_in": 3600})

    async def candidates(request: Request) -> Response:
        row = {"id": 7, "first_name": "Ada", "last_name": "Lovelace"}
        return JSONResponse([row], headers={"Link": f'<{link}>; rel="next"'})

    return Starlette(
        routes=[Route("/token", token, methods=["POST"]), Route("/v3/candidates", candidates)]
    )


@pytest.mark.parametrize("link", ["http://[::1/?cursor=hostile-9f3e", "http://h:1x/?cursor=9f3e"])
async def test_a_next_link_that_is_no_url_is_a_bad_response_of_its_account(link: str) -> None:
    with serve_in_thread(harvest_linking(link)) as url:
        adapter = harvest_adapter(url)
        async with asyncio.timeout(30):
            with pytest.raises(UpstreamBadResponse) as caught:
                await adapter.get_candidates(["7"])
        await adapter.aclose()
    assert caught.value.account == "gh"
    assert "9f3e" not in caught.value.message and url not in caught.value.message


# --- statuses that answer nothing -----------------------------------------------------------------


@pytest.mark.parametrize("status", [b"000", b"042", b"099", b"302", b"308"])
async def test_a_status_that_answers_nothing_is_a_bad_read_and_an_unknown_write(
    status: bytes,
) -> None:
    """A body under such a status is well-formed JSON, so only the status can tell it apart."""

    async def odd(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        body = b'{"data": {"id": "c-1", "full_name": "Ada"}}'
        head = b"HTTP/1.1 " + status + b" X\r\nlocation: " + ELSEWHERE.encode() + b"\r\n"
        writer.write(head + b"content-length: %d\r\n\r\n" % len(body) + body)
        return True

    async with RawServer(odd) as server:
        account = AccountConfig("acme", "Acme", "talynce", server.url, retries=3)
        upstream = Upstream(account, build_client(account))
        with pytest.raises(UpstreamBadResponse) as read:
            await upstream.send("GET", "candidates")
        with watch_writes() as watch, pytest.raises(UpstreamOutcomeUnknown) as write:
            await upstream.send("POST", "candidates", json={})
        assert watch.may_have_happened
        assert upstream.calls == 2  # neither retried nor followed
        for caught in (read, write):
            assert caught.value.account == "acme"
            assert "evil.invalid" not in caught.value.message
        await upstream.aclose()


@pytest.mark.parametrize("limit", ["9" * 5000, "\u00b2", "\u0661\u0660"])
async def test_an_unreadable_rate_limit_header_is_ignored(limit: str) -> None:
    """Not an error: the answer is still the answer, to a read and to a write alike."""

    async def odd(seen: Seen, writer: asyncio.StreamWriter) -> bool:
        extra = f"x-ratelimit-limit: {limit}\r\n".encode()
        writer.write(b"HTTP/1.1 200 OK\r\n" + extra + b"content-length: 2\r\n\r\n[]")
        return True

    async with RawServer(odd) as server:
        account = AccountConfig("acme", "Acme", "talynce", server.url, rate_limit=(100, 60.0))
        upstream = Upstream(account, build_client(account))
        assert (await upstream.send("GET", "candidates")).content == b"[]"
        with watch_writes():
            assert (await upstream.send("POST", "candidates", json={})).content == b"[]"
        assert upstream.budget.limit == 100  # type: ignore[attr-defined]
        await upstream.aclose()
