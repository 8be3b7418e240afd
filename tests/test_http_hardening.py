"""HTTP hardening: undecodable input, slow clients, private operator endpoints, redacted logs,
Accept weights and one shape for every refusal."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.security import Client, hash_key
from gateway.settings import ConfigError, parse_settings
from tests.conftest import Stack, gateway_settings, make_orgs, running_stack
from tests.servers import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
GQL = "application/graphql-response+json"
KEY, OPERATOR = "client-key-0123456789abcdef", "metrics-key-0123456789abcdef"
CLIENTS = (Client("app", hash_key(KEY), None, True),)
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def keyed() -> Iterator[Stack]:
    with running_stack(make_orgs(), clients=CLIENTS, request_timeout=1.5) as stack:
        yield stack


# Finding 3: what the gateway cannot decode is a 400 with a code, never a 500.


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_deeply_nested_variables_are_a_400_not_a_500(caplog: pytest.LogCaptureFixture) -> None:
    # Served bare: the session's operation log (replayed by test_compiled) is no place for these.
    settings = gateway_settings("http://127.0.0.1:9", make_orgs(), clients=CLIENTS)
    with serve_in_thread(create_app(settings), lifespan="on") as base:
        answers = ask_nested(f"{base}/graphql", caplog)
    for response in answers:
        assert response.status_code == 400, response.text[:200]
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


def ask_nested(url: str, caplog: pytest.LogCaptureFixture) -> list[httpx.Response]:
    deep = nested(20_000)
    deep_in_url = nested(2_000)  # past any parser's nesting limit, within a request head
    query = "query($v: String) { accounts { id } }"
    body = '{"query": "' + query + '", "variables": {"v": ' + deep + "}}"
    with caplog.at_level(logging.INFO):
        answers = [
            httpx.post(url, content=body, headers=AUTH | {"content-type": "application/json"}),
            httpx.get(
                url,
                params={"query": query, "variables": '{"v": ' + deep_in_url + "}"},
                headers=AUTH,
            ),
            httpx.get(
                url,
                params={"query": query, "extensions": '{"e": ' + deep_in_url + "}"},
                headers=AUTH,
            ),
            httpx.post(
                url,
                content=b'{"query": "\xff"}',
                headers=AUTH | {"content-type": "application/json"},
            ),
        ]
    return answers


# Finding 6: slow clients are cut.


def trickle(url: str, head: bytes, body: bytes, seconds_per_byte: float, limit: float) -> float:
    """Sends `head` at once, then `body` a byte every `seconds_per_byte`: seconds until the server
    answered or closed the connection. Fails when it is still open after `limit` seconds."""
    parts = urlsplit(url)
    began = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=limit) as sock:
        sock.sendall(head)
        sock.settimeout(seconds_per_byte)
        for index in itertools.count():
            if time.monotonic() - began > limit:
                break
            try:
                if index < len(body):
                    sock.sendall(body[index : index + 1])
                sock.recv(4096)  # an answer (a 408) or b"" (closed) both end it
                return time.monotonic() - began
            except TimeoutError:
                continue
            except OSError:
                return time.monotonic() - began
    pytest.fail(f"the connection was still open after {limit} s")


def test_a_slow_body_is_cut_near_the_request_timeout(keyed: Stack) -> None:
    host = urlsplit(keyed.url).netloc
    body = b'{"query": "{ accounts { id } }"}' + b" " * 200
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    took = trickle(keyed.url, head, body, 0.5, limit=10)
    assert 1.0 <= took <= 1.5 + 3


@contextmanager
def served(settings_overrides: dict[str, Any], http: str | None = None) -> Iterator[str]:
    """The gateway under the CLI's own server settings (`gateway.server`), in a thread."""
    from gateway.server import server_config

    settings = gateway_settings("http://127.0.0.1:9", make_orgs(), **settings_overrides)
    config = server_config(
        create_app(settings), settings, host="127.0.0.1", port=0, log_level="warning"
    )
    if http is not None:
        config.http = f"gateway.server:{http}"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("http", [None, "HeadDeadlineProtocol"], ids=["default", "h11"])
def test_a_slow_request_head_is_cut_at_the_header_timeout(http: str | None) -> None:
    with served({"clients": CLIENTS, "header_timeout": 1.0}, http) as url:
        head = f"POST /graphql HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * 100}\r\n".encode()
        took = trickle(url, b"", head, 0.5, limit=10)
        assert 0.9 <= took <= 1.0 + 3
        idle = trickle(url, b"", b"", 0.5, limit=10)  # a connection that sends nothing at all
        assert idle <= 1.0 + 3
        # A request that arrives in time is served, and its connection may carry another.
        with httpx.Client() as client:
            for _ in range(2):
                assert client.get(f"{url}/healthz").status_code == 200
                time.sleep(0.6)


def head_answer(url: str, pad: int) -> bytes:
    """The status line answering a GET /healthz whose head carries `pad` bytes of one header,
    sent in one piece (b"" when the server closed without answering)."""
    parts = urlsplit(url)
    head = f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * pad}\r\n\r\n".encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            return b""
    return answer.split(b"\r\n", 1)[0]


def test_a_request_head_over_16_kib_is_refused_under_httptools_too() -> None:
    """httptools (what `serve` runs when installed) buffered a head of any size: a megabyte
    of one header was answered 200. Whole in one read or in many, over 16 KiB is a 400."""
    with served({"clients": CLIENTS}) as url:
        assert head_answer(url, 15_000) == b"HTTP/1.1 200 OK"
        for pad in (20_000, 1_000_000):
            assert head_answer(url, pad) in (b"", b"HTTP/1.1 400 Bad Request"), pad


def test_connection_limits_are_settings() -> None:
    settings = parse_settings(
        {
            "accounts": [{"id": "a", "provider": "talynce", "api_key_env": "K"}],
            "gateway": {"header_timeout": 2.5, "keep_alive_timeout": 3, "max_connections": 50},
        },
        {"K": "k"},
    )
    assert (settings.header_timeout, settings.keep_alive_timeout, settings.max_connections) == (
        2.5,
        3,
        50,
    )
    for bad in (
        {"header_timeout": 0},
        {"keep_alive_timeout": 0.5},
        {"max_connections": 0},
        {"max_connections": "many"},
        {"metrics_key_sha256": "abc"},
    ):
        with pytest.raises(ConfigError, match="gateway\\."):
            parse_settings(
                {
                    "accounts": [{"id": "a", "provider": "talynce", "api_key_env": "K"}],
                    "gateway": bad,
                },
                {"K": "k"},
            )


# Finding 8: /metrics and the detailed /readyz are the operator's; readiness follows time.


def test_metrics_and_readiness_details_are_private_when_clients_are_configured(
    keyed: Stack,
) -> None:
    for headers in ({}, AUTH):
        assert httpx.get(f"{keyed.url}/metrics", headers=headers).status_code == 403
        ready = httpx.get(f"{keyed.url}/readyz", headers=headers)
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert httpx.get(f"{keyed.url}/healthz").json() == {"status": "ok"}


def test_the_metrics_key_opens_metrics_and_readiness_details() -> None:
    with running_stack(
        make_orgs(), clients=CLIENTS, metrics_key_sha256=hash_key(OPERATOR)
    ) as stack:
        operator = {"authorization": f"Bearer {OPERATOR}"}
        for headers in ({}, AUTH, {"authorization": "Bearer nope-nope-nope"}):
            refused = httpx.get(f"{stack.url}/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert "acme" not in httpx.get(f"{stack.url}/readyz", headers=headers).text
        assert (
            "gateway_graphql_requests" in httpx.get(f"{stack.url}/metrics", headers=operator).text
        )
        detail = httpx.get(f"{stack.url}/readyz", headers=operator).json()
        assert detail["breakers_open"] == [] and detail["accounts"] == 3


def test_readiness_comes_back_after_the_breaker_cooldown_with_no_traffic() -> None:
    with running_stack(make_orgs(), breaker_threshold=1, breaker_cooldown=1.0, retries=0) as stack:
        for org in stack.orgs.values():
            org.outage = True
        stack.graphql("{ candidates(first: 3) { totalCount } }")
        assert httpx.get(f"{stack.url}/readyz").status_code == 503
        time.sleep(1.3)  # the cooldown, and nothing else is asked meanwhile
        ready = httpx.get(f"{stack.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["breakers_open"] == []


# Finding 9: keys in query strings never reach the logs.


def test_query_strings_and_bearer_keys_stay_out_of_the_access_log(
    shared_stack: Stack, tmp_path: Path
) -> None:
    config = tmp_path / "g.toml"
    config.write_text(
        f'[[accounts]]\nid = "acme"\nprovider = "talynce"\n'
        f'base_url = "{shared_stack.upstream}/api/v1"\napi_key_env = "L_ACME_KEY"\n'
        f'[[clients]]\nname = "app"\nkey_sha256 = "{hash_key(KEY)}"\n'
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "L_ACME_KEY": shared_stack.orgs["acme"].api_key},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        httpx.post(f"{url}/graphql?access_token={KEY}", json={"query": "{ accounts { id } }"})
        httpx.get(f"{url}/graphql", params={"query": "{ accounts { id } }", "key": KEY})
        httpx.get(f"{url}/nowhere?token={KEY}", headers=AUTH)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    log = err.decode()
    assert "POST /graphql" in log  # the access log was on
    assert KEY not in log and "access_token" not in log
    # One line per request, whoever answered it (not uvicorn's access line beside ours).
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    answered = [line for line in lines if line["logger"] == "gateway.requests"]
    assert [line["message"] for line in lines if "/graphql" in line["message"]] == [
        "POST /graphql 401",
        "GET /graphql 401",
    ]
    assert [line["outcome"] for line in answered if "/graphql" in line["message"]] == [
        "refused",
        "refused",
    ]
    [nowhere] = [line for line in answered if "/nowhere" in line["message"]]
    assert nowhere["status"] == 404 and nowhere["duration_ms"] >= 0


def test_redaction_masks_credentials_by_shape() -> None:
    from gateway.redaction import RedactSecrets

    redact = RedactSecrets([]).redact
    assert KEY not in redact(f"Authorization: Bearer {KEY}")
    assert KEY not in redact(f"GET /graphql?x=1&access_token={KEY} 200")
    assert redact("GET /graphql?query=%7B%7D 200") == "GET /graphql?query=%7B%7D 200"


# Finding 10: Accept weights, and one shape for every refusal.


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (f"{GQL};q=0, application/json", "application/json"),
        (f"application/json;q=0.5, {GQL}", GQL),
        (f"application/json, {GQL};q=0.9", "application/json"),
        (f"application/json, {GQL}", GQL),
        ("*/*", "application/json"),
        (f"application/*;q=0.2, {GQL};q=0.1", "application/json"),
    ],
)
def test_accept_weights_are_honoured(shared_stack: Stack, accept: str, expected: str) -> None:
    response = httpx.post(
        f"{shared_stack.url}/graphql",
        json={"query": "{ accounts { id } }"},
        headers={"accept": accept},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == expected


def test_q_zero_everywhere_is_not_acceptable(shared_stack: Stack) -> None:
    response = httpx.post(
        f"{shared_stack.url}/graphql",
        json={"query": "{ accounts { id } }"},
        headers={"accept": f"{GQL};q=0, application/json;q=0"},
    )
    assert response.status_code == 406


def test_guard_refusals_have_the_shape_of_every_request_error(keyed: Stack) -> None:
    url = f"{keyed.url}/graphql"
    for accept, media_type in ((GQL, GQL), ("application/json", "application/json")):
        refusals = [
            httpx.post(url, json={"query": "{ accounts { id } }"}, headers={"accept": accept}),
            httpx.post(url, json={"query": "x" * 70_000}, headers=AUTH | {"accept": accept}),
            httpx.post(
                url, json=[{"query": "{ accounts { id } }"}], headers=AUTH | {"accept": accept}
            ),
            httpx.get(url, headers=AUTH | {"accept": accept}, params={"query": "{"}),
        ]
        assert [r.status_code for r in refusals[:3]] == [401, 413, 400]
        for response in refusals:
            assert response.headers["content-type"] == media_type, response.status_code
            body = response.json()
            assert "data" not in body, body
            assert body["errors"][0]["extensions"]["code"]
