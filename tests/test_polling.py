"""Talynce has no webhooks: while someone watches an account, the gateway polls it through the
adapter and publishes what changed; when the last watcher leaves, polling stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from emulators.talynce.app import TalynceEmulator
from gateway.demo import running_server
from providers.events import ChangeKind, ObjectType
from resolvers.polling import ChangePoller
from store.events import BusEvent, Refetch
from tests.conftest import gateway_settings, make_orgs
from tests.live_support import live_gateway, take


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
            async with poller.watch("initech"), poller.watch("initech"):
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
