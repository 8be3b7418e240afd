"""Two gateway processes, one redis-server: a webhook received by replica A (its own
`python -m gateway serve` process) is on the bus of replica B (served here, so the test reads
its bus), in the order A received them, each once, and a redelivery to either is dropped; and
reaches a client subscribed to replica B; and an event id a client got from one replica resumes
on the other (they share the cursor secret, which seals event ids)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.settings import load_settings
from resolvers.ids import encode_id
from store.events import BusEvent
from tests.live_support import (
    NOWHERE,
    body,
    greenhouse_signature,
    live_gateway,
    merge_signature,
    take,
)
from tests.redis_support import RedisServer, free_port, redis_server, unique_prefix
from tests.servers import wait_until_healthy
from tests.ws_support import graphql_socket, until, ws_url

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[gateway]
store_url_env = "LIVE_REDIS_URL"
cursor_secret_env = "LIVE_CURSOR_SECRET"
store_prefix = "{prefix}"

[[accounts]]
id = "gh"
provider = "greenhouse"
base_url = "{nowhere}"
client_id_env = "LIVE_GH_ID"
client_secret_env = "LIVE_GH_SECRET"
webhook_secret_env = "LIVE_GH_HOOK"
options = {{ api = "harvest", user_id = "1" }}

[[accounts]]
id = "mg"
provider = "merge"
base_url = "{nowhere}"
api_key_env = "LIVE_MERGE_KEY"
account_token_env = "LIVE_MERGE_TOKEN"
webhook_secret_env = "LIVE_MERGE_HOOK"
webhook_origin = "linked-1"
"""
GH_HOOK, MERGE_HOOK = "replica-gh-hook-secret", "replica-merge-org-key"


@pytest.fixture
def replica_a(
    redis_server: RedisServer, tmp_path: Path
) -> Iterator[tuple[str, Path, dict[str, str]]]:
    config = tmp_path / "gateway.toml"
    config.write_text(CONFIG.format(prefix=unique_prefix(), nowhere=NOWHERE))
    env = {
        **os.environ,
        "LIVE_REDIS_URL": redis_server.url,
        "LIVE_CURSOR_SECRET": "replica-cursor-secret-3d9a",
        "LIVE_GH_ID": "replica-gh-client-id-3d9a",
        "LIVE_GH_SECRET": "replica-gh-client-secret-3d9a",
        "LIVE_GH_HOOK": GH_HOOK,
        "LIVE_MERGE_KEY": "replica-merge-api-key-3d9a",
        "LIVE_MERGE_TOKEN": "replica-merge-token-3d9a",
        "LIVE_MERGE_HOOK": MERGE_HOOK,
    }
    port = free_port()
    log = tmp_path / "a.log"
    command = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log.read_text, "replica A")
        yield url, config, env
    finally:
        process.terminate()
        process.wait(timeout=15)
        text = log.read_text(errors="replace")
        assert GH_HOOK not in text and MERGE_HOOK not in text


def deliveries() -> list[tuple[str, bytes, dict[str, str]]]:
    sent = []
    for n in range(6):
        if n % 2 == 0:
            raw = body({"action": "update_candidate", "payload": {"candidate": {"id": 100 + n}}})
            headers = {
                "Signature": greenhouse_signature(raw, GH_HOOK),
                "Greenhouse-Event-ID": f"e{n}",
            }
            sent.append(("gh", raw, headers))
        else:
            raw = body(
                {
                    "hook": {"id": "h", "event": "Candidate.changed"},
                    "linked_account": {"id": "linked-1"},
                    "data": {"id": f"m-{n}", "modified_at": f"2026-11-30T10:00:0{n}Z"},
                }
            )
            sent.append(
                ("mg", raw, {"X-Merge-Webhook-Signature": merge_signature(raw, MERGE_HOOK)})
            )
    return sent


async def test_a_webhook_into_replica_a_reaches_replica_b_in_order_once(
    replica_a: tuple[str, Path, dict[str, str]],
) -> None:
    url_a, config, env = replica_a
    async with live_gateway(load_settings(config, env)) as replica_b:
        stream = await replica_b.bus.subscribe()
        sent = deliveries()
        async with httpx.AsyncClient(timeout=10) as http:
            for account, raw, headers in sent:
                answer = await http.post(
                    f"{url_a}/webhooks/{account}", content=raw, headers=headers
                )
                assert answer.status_code == 202, answer.text
                assert answer.json()["published"] == 1
            for account, raw, headers in sent[:2]:  # redelivered, to A and to B: dropped
                again = await http.post(f"{url_a}/webhooks/{account}", content=raw, headers=headers)
                assert again.json()["published"] == 0
                on_b = await replica_b.post(account, raw, headers)
                assert on_b.json()["published"] == 0
            marker = deliveries()[0][1].replace(b"100", b"999")
            marker_headers = {"Signature": greenhouse_signature(marker, GH_HOOK)}
            assert (await replica_b.post("gh", marker, marker_headers)).status_code == 202
        got = await take(stream, len(sent) + 1)
    events = [item.event for item in got if isinstance(item, BusEvent)]
    assert [(e.account, e.remote_id) for e in events] == [
        ("gh", "100"),
        ("mg", "m-1"),
        ("gh", "102"),
        ("mg", "m-3"),
        ("gh", "104"),
        ("mg", "m-5"),
        ("gh", "999"),  # nothing in between: each redelivery was dropped
    ]


async def test_a_subscriber_on_replica_b_receives_a_webhook_sent_to_replica_a(
    replica_a: tuple[str, Path, dict[str, str]],
) -> None:
    url_a, config, env = replica_a
    async with live_gateway(load_settings(config, env)) as replica_b:
        changes = replica_b.app.state.changes
        async with graphql_socket(ws_url(replica_b.url)) as sock:
            await sock.subscribe(
                "1", 'subscription { candidateChanged(accounts: ["gh"]) { kind id eventId } }'
            )
            await until(lambda: changes.following == 1)
            account, raw, headers = deliveries()[0]
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(
                    f"{url_a}/webhooks/{account}", content=raw, headers=headers
                )
            assert answer.json()["published"] == 1
            message = await sock.receive()
    assert message["type"] == "next", message
    change = message["payload"]["data"]["candidateChanged"]
    assert change["kind"] == "UPDATED"
    assert change["id"] == encode_id("Candidate", "gh", "100")


async def test_an_event_id_from_replica_b_resumes_on_replica_a(
    replica_a: tuple[str, Path, dict[str, str]],
) -> None:
    """A client reconnecting to another replica passes its last event id as `after`: the
    replica that did not issue it reads it (the key is derived from the shared cursor secret)
    and replays what followed it, in order; the id itself shows no stream position."""
    url_a, config, env = replica_a
    query = (
        "subscription($after: String) { candidateChanged(after: $after) { refetch id eventId } }"
    )
    sent = deliveries()[::2]  # three Greenhouse candidates: 100, 102, 104
    async with live_gateway(load_settings(config, env)) as replica_b:
        changes = replica_b.app.state.changes
        async with graphql_socket(ws_url(replica_b.url)) as on_b:
            await on_b.subscribe("1", query)
            await until(lambda: changes.following == 1)
            assert (await replica_b.post(*sent[0])).json()["published"] == 1
            first = (await on_b.receive())["payload"]["data"]["candidateChanged"]
        event_id = first["eventId"]
        assert not re.fullmatch(r"\d+-\d+", event_id), event_id
        for account, raw, headers in sent[1:]:
            assert (await replica_b.post(account, raw, headers)).json()["published"] == 1
        async with graphql_socket(ws_url(url_a)) as on_a:
            await on_a.subscribe("1", query, {"after": event_id})
            for remote_id in ("102", "104"):
                change = (await on_a.receive())["payload"]["data"]["candidateChanged"]
                assert change["refetch"] is False, change
                assert change["id"] == encode_id("Candidate", "gh", remote_id)
