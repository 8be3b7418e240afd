"""Talynce has no webhooks: while someone watches an account, the gateway polls it through the
adapter and publishes what changed; when the last watcher leaves, polling stops."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from emulators.seed import Job
from emulators.talynce.app import TalynceEmulator
from gateway.demo import running_server
from gateway.security import Client, hash_key
from providers.events import ChangeEvent, ChangeKind, ObjectType
from resolvers.ids import encode_id
from resolvers.polling import ChangePoller
from store.events import BusEvent, Refetch
from tests.conftest import gateway_settings, make_orgs
from tests.live_support import live_gateway, take
from tests.ws_support import GraphQLSocket, graphql_socket, until, ws_url


async def test_a_watched_talynce_account_publishes_its_changes_and_stops_when_unwatched() -> None:
    orgs = make_orgs()
    acme = orgs["initech"]  # 37 candidates: one page, so deletions are detectable
    emulator = TalynceEmulator(orgs.values())
    async with running_server(emulator.app) as port:
        upstream = f"http://127.0.0.1:{port}"
        settings = gateway_settings(upstream, orgs, poll_interval=0.05)
        async with live_gateway(settings) as gateway, httpx.AsyncClient(timeout=10) as http:
            poller: ChangePoller = gateway.app.state.poller
            stream = await gateway.bus.subscribe()
            auth = {"authorization": f"Bearer {acme.api_key}"}
            candidates = ObjectType.CANDIDATE
            async with poller.watch("initech", candidates), poller.watch("initech", candidates):
                assert poller.watched == {"initech": 2}
                created = await http.post(
                    f"{upstream}/api/v1/candidates",
                    json={"full_name": "Polly Poller", "email": "polly@example.com"},
                    headers=auth,
                )
                assert created.status_code in (200, 201), created.text
                new_id = created.json()["data"]["id"]
                changed_id = next(iter(acme.candidates))
                patched = await http.patch(
                    f"{upstream}/api/v1/candidates/{changed_id}",
                    json={"full_name": "Renamed By Test"},
                    headers=auth,
                )
                assert patched.status_code == 200, patched.text
                seen = await _events(stream, 2)
                assert (ChangeKind.CREATED, new_id) in seen
                assert (ChangeKind.UPDATED, changed_id) in seen
                gone = next(i for i in acme.candidates if i not in (new_id, changed_id))
                del acme.candidates[gone]  # Talynce's API has no delete: it happened upstream
                assert (ChangeKind.DELETED, gone) in await _events(stream, 1)
            assert poller.watched == {}
            before = len(emulator.requests)
            # Unwatched: five poll intervals later, nobody has called Talynce. (Proving that
            # nothing happens takes waiting; the interval is what bounds it.)
            await asyncio.sleep(5 * poller.interval)
            assert len(emulator.requests) == before


async def _events(
    stream: AsyncIterator[BusEvent | Refetch], count: int
) -> set[tuple[ChangeKind, str]]:
    got = await take(stream, count)
    events = [item.event for item in got if isinstance(item, BusEvent)]
    assert all(e.account == "initech" and e.object_type is ObjectType.CANDIDATE for e in events)
    return {(e.kind, e.remote_id) for e in events}


TALYNCE_KEY = "atsg_polling_client_key_9d2c"
CLIENTS = (Client("poll", hash_key(TALYNCE_KEY), None),)
APPLICATIONS = """
subscription { applicationChanged(accounts: ["initech"]) {
  kind id application { id status stage { name } } } }
"""
JOBS = 'subscription { jobChanged(accounts: ["initech"]) { kind id job { id name status } } }'


def _by_id_reads(emulator: TalynceEmulator) -> int:
    """`GET /candidates/{id}`: how Talynce gives a candidate's applications (one call each)."""
    return sum(
        1
        for r in emulator.requests
        if r.method == "GET" and r.path.startswith("/api/v1/candidates/")
    )


def _reads(emulator: TalynceEmulator, path: str) -> int:
    return sum(1 for r in emulator.requests if r.method == "GET" and r.path == path)


async def _polls(emulator: TalynceEmulator, path: str, count: int) -> None:
    """Waits until the poller has listed `path` `count` more times (each poll lists it once)."""
    start = _reads(emulator, path)
    await until(lambda: _reads(emulator, path) >= start + count)


async def test_application_reads_run_only_while_applications_are_watched() -> None:
    orgs = make_orgs()
    org = orgs["initech"]
    emulator = TalynceEmulator(orgs.values())
    owner = next(c for c in org.ordered_candidates() if c.applications)
    row = owner.applications[0]
    async with running_server(emulator.app) as port:
        upstream = f"http://127.0.0.1:{port}"
        settings = gateway_settings(upstream, orgs, poll_interval=0.05)
        async with live_gateway(settings) as gateway, httpx.AsyncClient(timeout=10) as http:
            poller: ChangePoller = gateway.app.state.poller
            stream = await gateway.bus.subscribe()

            async def move(status: str) -> None:
                answer = await http.patch(
                    f"{upstream}/api/v1/candidates/{owner.id}",
                    json={"application": {"job_id": row.job_id, "status": status}},
                    headers={"authorization": f"Bearer {org.api_key}"},
                )
                assert answer.status_code == 200, answer.text

            async with poller.watch("initech", ObjectType.CANDIDATE):
                await move("Interview")
                (event,) = await _bus_events(stream, 1)
                assert (event.object_type, event.remote_id) == (ObjectType.CANDIDATE, owner.id)
                await _polls(emulator, "/api/v1/candidates", 2)
                assert _by_id_reads(emulator) == 0  # a candidate watcher reads no applications
                assert _reads(emulator, "/api/v1/jobs") == 0
                async with poller.watch("initech", ObjectType.APPLICATION):
                    assert poller.watched_types == {
                        "initech": {ObjectType.CANDIDATE: 1, ObjectType.APPLICATION: 1}
                    }
                    await move("Rejected")
                    got = await _bus_events(stream, 2)
                    moved = next(e for e in got if e.object_type is ObjectType.APPLICATION)
                    assert (moved.kind, moved.remote_id) == (ChangeKind.UPDATED, row.id)
                    assert moved.parent_remote_id == owner.id
                    assert _by_id_reads(emulator) == 1  # the one changed candidate, read once
                reads = _by_id_reads(emulator)
                await move("Offered")
                (event,) = await _bus_events(stream, 1)
                assert event.object_type is ObjectType.CANDIDATE
                await _polls(emulator, "/api/v1/candidates", 2)
                assert _by_id_reads(emulator) == reads  # application polling stopped
            assert poller.watched == {}


async def test_job_and_application_changes_reach_their_subscribers() -> None:
    orgs = make_orgs()
    org = orgs["initech"]
    emulator = TalynceEmulator(orgs.values())
    owner = next(c for c in org.ordered_candidates() if c.applications)
    row = owner.applications[0]
    async with running_server(emulator.app) as port:
        upstream = f"http://127.0.0.1:{port}"
        settings = gateway_settings(upstream, orgs, poll_interval=0.05, clients=CLIENTS)
        async with (
            live_gateway(settings) as gateway,
            graphql_socket(ws_url(gateway.url), TALYNCE_KEY) as sock,
        ):
            poller: ChangePoller = gateway.app.state.poller
            await sock.subscribe("apps", APPLICATIONS)
            await sock.subscribe("jobs", JOBS)
            await until(lambda: gateway.app.state.changes.following == 2)
            await until(lambda: set(poller.watched_types.get("initech", {})) == _BOTH)
            await _polls(emulator, "/api/v1/jobs", 1)  # both are polled now: baselines taken

            moved = await gateway.http.patch(
                f"{upstream}/api/v1/candidates/{owner.id}",
                json={"application": {"job_id": row.job_id, "status": "Rejected"}},
                headers={"authorization": f"Bearer {org.api_key}"},
            )
            assert moved.status_code == 200, moved.text
            change = await _next(sock, "apps", "applicationChanged")
            assert change["kind"] == "UPDATED"
            assert change["id"] == encode_id("Application", "initech", row.id, owner.id)
            assert change["application"]["status"] == "REJECTED"
            assert change["application"]["stage"] == {"name": "Rejected"}

            now = datetime.now(UTC)
            new = Job(str(uuid.uuid4()), "Poll Engineer", "open", created_at=now, updated_at=now)
            org.jobs.append(new)  # Talynce's API writes no jobs: it happened upstream
            change = await _next(sock, "jobs", "jobChanged")
            assert (change["kind"], change["job"]["name"]) == ("CREATED", "Poll Engineer")
            assert change["id"] == encode_id("Job", "initech", new.id)

            later = now + timedelta(seconds=1)
            org.jobs[-1] = dataclasses.replace(new, status="closed", updated_at=later)
            change = await _next(sock, "jobs", "jobChanged")
            assert (change["kind"], change["job"]["status"]) == ("UPDATED", "CLOSED")

            del org.jobs[-1]
            change = await _next(sock, "jobs", "jobChanged")
            assert (change["kind"], change["job"]) == ("DELETED", None)

            await sock.send({"id": "jobs", "type": "complete"})
            await until(lambda: set(poller.watched_types.get("initech", {})) == _APPS)
            await _polls(emulator, "/api/v1/candidates", 1)  # a poll that began without jobs
            jobs_read = _reads(emulator, "/api/v1/jobs")
            await _polls(emulator, "/api/v1/candidates", 2)
            assert _reads(emulator, "/api/v1/jobs") == jobs_read  # job polling stopped
        await until(lambda: poller.watched == {})
        before = len(emulator.requests)
        await asyncio.sleep(5 * poller.interval)  # nothing to await: proving no calls happen
        assert len(emulator.requests) == before


_BOTH = {ObjectType.APPLICATION, ObjectType.JOB}
_APPS = {ObjectType.APPLICATION}


async def _next(sock: GraphQLSocket, id: str, field: str) -> dict[str, Any]:
    message = await sock.receive()
    assert message["type"] == "next" and message["id"] == id, message
    assert "errors" not in message["payload"], message
    change: dict[str, Any] = message["payload"]["data"][field]
    return change


async def _bus_events(stream: AsyncIterator[BusEvent | Refetch], count: int) -> list[ChangeEvent]:
    got = await take(stream, count)
    return [item.event for item in got if isinstance(item, BusEvent)]
