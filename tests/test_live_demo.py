"""The demo's wiring: with no keys and no extra step, a change to an emulator's data (through
the gateway or through the emulator's own API) comes back as that provider's signed webhook
to the gateway's /webhooks/{account}, and onto the bus."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from emulators.merge.app import PREFIX as MERGE_PREFIX
from emulators.merge.app import MergeEmulator
from gateway.demo import demo_environment
from providers.events import ChangeKind, ObjectType
from resolvers.ids import encode_id
from store.events import BusEvent, Refetch
from tests.live_support import live_gateway, take

UPDATE = """
mutation($id: ID!, $input: UpdateCandidateInput!) {
  updateCandidate(id: $id, input: $input) { candidate { id } userErrors { code } }
}
"""


def shapes(items: list[BusEvent | Refetch]) -> set[tuple[str, ObjectType, ChangeKind, str]]:
    return {
        (i.event.account, i.event.object_type, i.event.kind, i.event.remote_id)
        for i in items
        if isinstance(i, BusEvent)
    }


async def test_demo_emulators_send_signed_webhooks_for_every_change() -> None:
    async with demo_environment() as demo:
        assert set(demo.settings.webhooks) == {
            "greenhouse-partner",
            "greenhouse-harvest",
            "merge-initech",
        }
        async with live_gateway(demo.settings) as gateway:
            demo.send_webhooks_to(gateway.url)
            stream: AsyncIterator[BusEvent | Refetch] = await gateway.bus.subscribe()
            # 1. Through the gateway: rename a Greenhouse candidate (Harvest account).
            org = demo.demos["greenhouse"].emulator.orgs[0]  # type: ignore[attr-defined]
            candidate_id = str(next(iter(org.candidates)))
            answer = await gateway.http.post(
                f"{gateway.url}/graphql",
                json={
                    "query": UPDATE,
                    "variables": {
                        "id": encode_id("Candidate", "greenhouse-harvest", candidate_id),
                        "input": {"title": "Changed in another tab"},
                    },
                },
            )
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            # Greenhouse notifies each of its web hooks: the org has one per demo account.
            assert shapes(await take(stream, 2)) == {
                ("greenhouse-harvest", ObjectType.CANDIDATE, ChangeKind.UPDATED, candidate_id),
                ("greenhouse-partner", ObjectType.CANDIDATE, ChangeKind.UPDATED, candidate_id),
            }
            # 2. Through the emulator's own API: a Merge candidate edited at Merge itself.
            merge: MergeEmulator = demo.demos["merge"].emulator  # type: ignore[assignment]
            linked = merge.accounts["merge_demo_initech"]
            merge_id = next(iter(linked.candidates))
            async with httpx.AsyncClient(base_url=_merge_url(demo, merge)) as http:
                edited = await http.patch(
                    f"{MERGE_PREFIX}/candidates/{merge_id}",
                    content=json.dumps(
                        {
                            "model": {"title": "Edited at Merge"},
                            "remote_user_id": linked.remote_users[0],
                        }
                    ),
                    headers={
                        "authorization": f"Bearer {merge.api_key}",
                        "x-account-token": linked.account_token,
                        "content-type": "application/json",
                    },
                )
            assert edited.status_code == 200, edited.text
            assert shapes(await take(stream, 1)) == {
                ("merge-initech", ObjectType.CANDIDATE, ChangeKind.UPDATED, merge_id)
            }
            assert merge.webhooks is not None and merge.webhooks.failed == 0


def _merge_url(demo: object, merge: MergeEmulator) -> str:
    settings = demo.settings  # type: ignore[attr-defined]
    account = next(a for a in settings.accounts if a.id == "merge-initech")
    return str(account.base_url).removesuffix(MERGE_PREFIX)
