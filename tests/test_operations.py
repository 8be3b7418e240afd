"""Operating the gateway: health, readiness, metrics and the request log."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.__main__ import main
from gateway.logs import JsonFormatter, TextFormatter
from tests.conftest import Stack, make_orgs, running_stack


def test_healthz_and_readyz_answer_when_up(shared_stack: Stack) -> None:
    assert httpx.get(f"{shared_stack.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{shared_stack.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


@pytest.fixture
def fragile() -> Iterator[Stack]:
    with running_stack(make_orgs(), breaker_threshold=1, breaker_cooldown=60, retries=0) as stack:
        yield stack


def test_readyz_fails_when_every_breaker_is_open(fragile: Stack) -> None:
    fragile.orgs["acme"].outage = True
    fragile.graphql("{ candidates(first: 3) { totalCount } }")
    assert httpx.get(f"{fragile.url}/readyz").status_code == 200  # others still serve
    for org in fragile.orgs.values():
        org.outage = True
    fragile.graphql("{ candidates(first: 3) { totalCount } }")
    ready = httpx.get(f"{fragile.url}/readyz")
    assert ready.status_code == 503
    assert sorted(ready.json()["breakers_open"]) == ["acme", "globex", "initech"]


def test_metrics_count_requests_and_upstream_calls_without_data(stack: Stack) -> None:
    stack.graphql(
        "query Listing { candidates(first: 6) { edges { node { fullName emails { value } } } } }"
    )
    stack.orgs["globex"].outage = True
    # A first page is read anew: one call per account each time, a provider-sized page
    # (read-ahead) that fills the page without asking again when globex fails.
    stack.graphql("query Listing { candidates(first: 6) { totalCount } }")
    text = httpx.get(f"{stack.url}/metrics").text
    assert 'gateway_graphql_requests_total{operation="Listing",outcome="ok"} 1.0' in text
    assert 'gateway_graphql_requests_total{operation="Listing",outcome="partial"} 1.0' in text
    assert (
        'gateway_upstream_calls_total{account="acme",endpoint="GET candidates",outcome="200",provider="talynce"} 2.0'
        in text
    )
    assert 'account="globex",endpoint="GET candidates",outcome="UPSTREAM_UNAVAILABLE"' in text
    assert 'gateway_upstream_retries_total{account="globex",provider="talynce"}' in text
    someone = stack.orgs["acme"].ordered_candidates()[0]
    assert someone.full_name not in text and someone.email not in text
    assert all(org.api_key not in text for org in stack.orgs.values())


def test_operation_names_from_clients_cannot_flood_the_metrics(shared_stack: Stack) -> None:
    shared_stack.graphql("query Weird_Name_With_Spaces_Is_Fine { accounts { id } }")
    httpx.post(
        f"{shared_stack.url}/graphql",
        json={"query": "{ accounts { id } }", "operationName": "x" * 200},
    )
    text = httpx.get(f"{shared_stack.url}/metrics").text
    assert "x" * 65 not in text


def _lines_of(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "gateway.requests" and getattr(r, "request_id", None) == request_id
    ]


def test_one_log_line_per_request_with_id_duration_and_upstream_calls(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.requests"):
        response = httpx.post(
            f"{shared_stack.url}/graphql",
            json={"query": 'query Two { candidates(first: 2, accounts: ["acme"]) { totalCount } }'},
        )
        # The line is written once the answer is sent: the client may read it first.
        give_up = time.monotonic() + 10
        while not (lines := _lines_of(caplog, response.headers["x-request-id"])):
            assert time.monotonic() < give_up, "no log line for the request"
            time.sleep(0.01)
    [line] = lines
    assert line.operation == "Two"  # type: ignore[attr-defined]
    assert line.outcome == "ok"  # type: ignore[attr-defined]
    assert line.upstream_calls == 1  # type: ignore[attr-defined]
    assert line.duration_ms > 0  # type: ignore[attr-defined]
    parsed = json.loads(JsonFormatter().format(line))
    assert parsed["request_id"] == response.headers["x-request-id"]
    assert parsed["status"] == 200 and parsed["upstream_calls"] == 1


def test_a_terminal_line_cannot_be_forged_by_a_path_holding_a_newline() -> None:
    """A path is percent-decoded: `/x%0a2026-01-01 INFO ... 200` would print a second line
    in the terminal format. Its control characters are escaped; a traceback keeps its lines."""
    path = "/x\n2026-01-01 00:00:00 INFO gateway.requests POST /graphql 200\r\x1b[2K"
    line = logging.LogRecord("gateway.requests", logging.INFO, "", 0, f"GET {path} 404", None, None)
    text = TextFormatter().format(line)
    assert "\n" not in text and "\r" not in text and "\x1b" not in text
    assert "/x\\x0a2026-01-01" in text and text.endswith("\\x0d\\x1b[2K 404")
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("gateway", logging.ERROR, "", 0, "failed", None, sys.exc_info())
    assert "\nTraceback" in TextFormatter().format(failed)


def test_check_config_ping_prints_a_table_per_account(
    shared_stack: Stack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ACME_KEY", shared_stack.orgs["acme"].api_key)
    monkeypatch.setenv("BAD_KEY", "not-the-key")
    upstream = shared_stack.upstream
    config = tmp_path / "g.toml"
    config.write_text(
        f'[[accounts]]\nid = "good"\nprovider = "talynce"\nbase_url = "{upstream}/api/v1"\napi_key_env = "ACME_KEY"\n'
        f'[[accounts]]\nid = "bad"\nprovider = "talynce"\nbase_url = "{upstream}/api/v1"\napi_key_env = "BAD_KEY"\nretries = 0\n'
    )
    assert main(["check-config", str(config), "--ping"]) == 1
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert rows["good"][1:3] == ["talynce", "OK"]
    assert rows["bad"][1:3] == ["talynce", "UPSTREAM_AUTH_FAILED"]
    assert "not-the-key" not in out and shared_stack.orgs["acme"].api_key not in out


HEAP_PROBE = """
import asyncio, gc
from tests.conftest import gateway_settings, make_orgs
from gateway.app import create_app

async def main():
    settings = gateway_settings("http://127.0.0.1:9", make_orgs())
    first, second = create_app(settings), create_app(settings)
    before = gc.get_freeze_count()
    async with first.router.lifespan_context(first):
        frozen = gc.get_freeze_count()
    async with second.router.lifespan_context(second):
        again = gc.get_freeze_count()
    print(before, frozen, again)

asyncio.run(main())
"""


def test_startup_freezes_the_heap_once_per_process() -> None:
    """A serving process keeps its schema and clients out of every full collection; the
    second app in a process (tests, reloads) leaves the first freeze as it was."""
    done = subprocess.run(
        [sys.executable, "-c", HEAP_PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    before, frozen, again = map(int, done.stdout.split())
    assert before == 0
    assert frozen > 10_000
    assert again <= frozen  # nothing added; frozen objects still die when unreferenced
