"""Two gateway processes sharing one Redis behave as one gateway (issue 9).

Each gateway is its own `python -m gateway serve` process; both point at one Talynce emulator
served by this test (which counts and timestamps what reaches it) and at one redis-server with
a password, started here and stopped mid-run by the last test. The password travels in an
environment variable (`store_url_env`) and must never appear in either process's log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.talynce.app import RecordedRequest, TalynceEmulator, TalynceOrg
from tests.conftest import make_orgs
from tests.redis_support import RedisServer, free_port, running_redis
from tests.servers import serve_in_thread, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "scale-out-redis-password-7f3a"
BUDGET = (4, 1.0)  # globex: calls per seconds, for both gateways together
WARNING = "shared store (Redis) failed"


@dataclass
class Gateway:
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def metric(self, name: str, **labels: str) -> float:
        wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in httpx.get(f"{self.url}/metrics").text.splitlines():
            if line.startswith(f"{name}{{{wanted}}} "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class ScaleOut:
    a: Gateway
    b: Gateway
    redis: RedisServer
    emulator: TalynceEmulator
    orgs: dict[str, TalynceOrg]

    def calls(
        self, org: str, since: float, keep: Callable[[RecordedRequest], bool] = lambda r: True
    ) -> list[RecordedRequest]:
        name = self.orgs[org].name
        return [
            r for r in self.emulator.requests if r.org == name and r.started >= since and keep(r)
        ]


CONFIG = """
[gateway]
store_url_env = "SCALE_REDIS_URL"
store_prefix = "{prefix}"
cache_ttl = 30
request_timeout = 15
# These tests count the response cache's lookups and the calls one budget admits; read-ahead
# would answer repeated lists before either (its sharing through Redis: tests/test_read_ahead.py).
read_ahead = false

[[accounts]]
id = "acme"
provider = "talynce"
base_url = "{upstream}/api/v1"
api_key_env = "SCALE_ACME_KEY"

[[accounts]]
id = "globex"
provider = "talynce"
base_url = "{upstream}/api/v1"
api_key_env = "SCALE_GLOBEX_KEY"
rate_limit = [{limit}, {window}]
"""


def start_gateway(config: Path, log: Path, env: dict[str, str]) -> Gateway:
    port = free_port()
    command = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
    command += ["--port", str(port), "--log-format", "json"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=env
        )
    return Gateway(f"http://127.0.0.1:{port}", log, process)


def wait_until_up(gateway: Gateway) -> None:
    wait_until_healthy(gateway.url, gateway.process, gateway.log_text, "gateway")


@pytest.fixture(scope="module")
def scale_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    orgs = make_orgs()
    emulator = TalynceEmulator(orgs.values())
    folder = tmp_path_factory.mktemp("scale-out")
    with running_redis(password=PASSWORD) as redis, serve_in_thread(emulator.app) as upstream:
        config = folder / "gateway.toml"
        config.write_text(
            CONFIG.format(
                prefix=f"scale-{uuid.uuid4().hex[:8]}",
                upstream=upstream,
                limit=BUDGET[0],
                window=BUDGET[1],
            )
        )
        env = {
            **os.environ,
            "SCALE_REDIS_URL": redis.url,
            "SCALE_ACME_KEY": orgs["acme"].api_key,
            "SCALE_GLOBEX_KEY": orgs["globex"].api_key,
            "ATS_GATEWAY_SHARED_CURSOR_SECRET": "scale-out-cursor-secret",
        }
        a = start_gateway(config, folder / "a.log", env)
        b = start_gateway(config, folder / "b.log", env)
        try:
            wait_until_up(a)
            wait_until_up(b)
            yield ScaleOut(a, b, redis, emulator, orgs)
        finally:
            for gateway in (a, b):
                gateway.process.terminate()
                gateway.process.wait(timeout=15)
            for gateway in (a, b):
                assert PASSWORD not in gateway.log_text()


CREATE = """
mutation($key: String!, $email: String!) {
  createCandidate(input: {account: "acme", firstName: "Scale", lastName: "Out",
                          emails: [{value: $email, type: WORK}], idempotencyKey: $key}) {
    created candidate { id } userErrors { code }
  }
}
"""


def both_at_once(scale_out: ScaleOut, send: Callable[[Gateway], Any]) -> list[Any]:
    """Sends to both gateways at the same moment, from two threads."""
    start = threading.Barrier(2)

    def go(gateway: Gateway) -> Any:
        start.wait()
        return send(gateway)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(go, (scale_out.a, scale_out.b)))


def test_one_idempotency_key_sent_to_both_gateways_creates_one_candidate(
    scale_out: ScaleOut,
) -> None:
    since = time.monotonic()
    scale_out.orgs["acme"].latency = 0.3  # both requests are in flight together
    try:
        for n in range(3):
            variables = {"key": f"import-{uuid.uuid4()}", "email": f"scale{n}@example.com"}
            answers = both_at_once(scale_out, lambda g, v=variables: g.graphql(CREATE, v))
            assert all("errors" not in body for body in answers), answers
            payloads = [body["data"]["createCandidate"] for body in answers]
            assert payloads[0] == payloads[1]  # the first outcome, replayed
            assert payloads[0]["created"] is True and payloads[0]["userErrors"] == []
    finally:
        scale_out.orgs["acme"].latency = 0.0
    posts = scale_out.calls("acme", since, lambda r: r.method == "POST")
    assert len(posts) == 3


LIST_SEARCH = (
    'query($s: String) { candidates(first: 2, accounts: ["globex"], search: $s) { totalCount } }'
)


def test_together_the_gateways_stay_within_one_accounts_budget(scale_out: ScaleOut) -> None:
    for gateway in (scale_out.a, scale_out.b):  # connections to the emulator are open, so
        gateway.graphql(LIST_SEARCH, {"s": "warm-up"})  # a call's grant and arrival are close
    time.sleep(BUDGET[1])
    since = time.monotonic()
    searches = [f"nobody-{n}" for n in range(16)]  # distinct, so the cache cannot answer

    def send(n: int) -> dict[str, Any]:
        gateway = scale_out.a if n % 2 else scale_out.b
        return gateway.graphql(LIST_SEARCH, {"s": searches[n]})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, range(16)))
    assert all("errors" not in body for body in answers), answers
    started = sorted(r.started for r in scale_out.calls("globex", since))
    assert len(started) == 16
    limit, window = BUDGET
    tight = [later - earlier for earlier, later in zip(started, started[limit:], strict=False)]
    # Any `limit + 1` calls span a window, less the time between a call's grant (on Redis's
    # clock) and its arrival here: tens of ms while a gateway's loop is busy taking the burst
    # in, a few hundred on a machine busy with other tests. Without sharing, the same burst
    # puts the fifth call ~0.0-0.2 s after the first.
    assert min(tight) >= window / 2, tight


CANDIDATE = "query($id: ID!) { candidate(id: $id) { company } }"
LIST = '{ candidates(first: 3, accounts: ["acme"]) { edges { node { id company } } } }'
UPDATE = """
mutation($id: ID!, $company: String) {
  updateCandidate(id: $id, input: {company: $company}) { userErrors { code } }
}
"""


def test_cache_hits_are_counted_and_a_write_through_one_gateway_refreshes_the_other(
    scale_out: ScaleOut,
) -> None:
    a, b = scale_out.a, scale_out.b
    listing = a.graphql(LIST)
    node = listing["data"]["candidates"]["edges"][1]["node"]
    since = time.monotonic()
    hits_before = b.metric(
        "gateway_cache_lookups_total", account="acme", operation="get_candidates", outcome="hit"
    )
    assert b.graphql(LIST) == listing  # B reads what A cached
    first = a.graphql(CANDIDATE, {"id": node["id"]})
    assert b.graphql(CANDIDATE, {"id": node["id"]}) == first
    assert b.graphql(CANDIDATE, {"id": node["id"]}) == first
    upstream = scale_out.calls("acme", since, lambda r: r.method == "GET")
    assert len(upstream) == 1  # A's one read of the candidate; everything else was a hit
    hits = b.metric(
        "gateway_cache_lookups_total", account="acme", operation="get_candidates", outcome="hit"
    )
    assert hits - hits_before == 2
    assert (
        b.metric(
            "gateway_cache_lookups_total",
            account="acme",
            operation="list_candidates",
            outcome="hit",
        )
        >= 1
    )

    company = f"Scale Co {uuid.uuid4().hex[:6]}"
    changed = a.graphql(UPDATE, {"id": node["id"], "company": company})
    assert changed["data"]["updateCandidate"]["userErrors"] == []
    assert b.graphql(CANDIDATE, {"id": node["id"]})["data"]["candidate"]["company"] == company
    fresh = b.graphql(LIST)["data"]["candidates"]["edges"][1]["node"]
    assert fresh["company"] == company


def test_redis_going_away_degrades_to_uncached_operation_with_one_warning(
    scale_out: ScaleOut,
) -> None:
    a, b = scale_out.a, scale_out.b
    for gateway in (a, b):
        assert gateway.graphql(LIST)["data"]  # warm
        assert WARNING not in gateway.log_text()
    scale_out.redis.stop()
    try:
        since = time.monotonic()
        for gateway in (a, b):
            for _ in range(4):
                body = gateway.graphql(LIST)
                assert "errors" not in body and len(body["data"]["candidates"]["edges"]) == 3
            ready = httpx.get(f"{gateway.url}/readyz")
            assert ready.status_code == 200 and ready.json()["store"] == "redis-unreachable"
            assert (
                gateway.metric(
                    "gateway_cache_lookups_total",
                    account="acme",
                    operation="list_candidates",
                    outcome="uncached",
                )
                >= 4
            )
        assert len(scale_out.calls("acme", since)) == 8  # every read went upstream
        key = {"key": f"outage-{uuid.uuid4()}", "email": "outage@example.com"}
        replies = [a.graphql(CREATE, key) for _ in range(2)]
        assert replies[0] == replies[1] and "errors" not in replies[0]  # per process, still once
        assert len(scale_out.calls("acme", since, lambda r: r.method == "POST")) == 1
        for gateway in (a, b):
            assert gateway.log_text().count(WARNING) == 1
    finally:
        scale_out.redis.start()
    time.sleep(1.2)  # the link leaves Redis alone for a second after a failure
    for gateway in (a, b):
        assert "errors" not in gateway.graphql(LIST)
        assert "reachable again" in gateway.log_text()
        assert httpx.get(f"{gateway.url}/readyz").json()["store"] == "redis"
