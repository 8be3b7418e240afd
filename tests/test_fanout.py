"""Shared socket subscriptions (`gateway.fanout`): subscribers of the same document, variables and
client key share one execution per event and receive the same payload under their own ids;
another key, or other arguments, is another group, and a tenant never sees another's event."""

from __future__ import annotations

from gateway.fanout import group_key, groups_of
from tests.test_subscriptions import CANDIDATES, CLIENTS, NARROW, WIDE, live, next_change
from tests.ws_support import graphql_socket, until


async def test_same_key_and_document_share_one_execution_and_payload() -> None:
    async with (
        live() as env,
        graphql_socket(env.ws, WIDE) as one,
        graphql_socket(env.ws, WIDE) as two,
        graphql_socket(env.ws, NARROW) as narrow,
    ):
        groups = groups_of(env.gateway.app.state.changes)
        await one.subscribe("1", CANDIDATES)
        await two.subscribe("7", CANDIDATES)
        await narrow.subscribe("1", CANDIDATES)
        await until(env.following(3))
        assert len(groups) == 2  # the wide key's two subscriptions run once

        await env.retitle("greenhouse-harvest", env.greenhouse_candidate(), "Shared")
        change: dict[str, object] = {}
        while change.get("account") != {"id": "greenhouse-harvest"}:  # the org's other API too
            first, second = await one.receive(), await two.receive()
            assert (first["id"], second["id"]) == ("1", "7")
            assert first["payload"] == second["payload"]
            change = first["payload"]["data"]["candidateChanged"]
        assert change["candidate"] == {"id": change["id"], "title": "Shared"}

        # The narrow key sees only merge-initech: its first event is Merge's, not Greenhouse's.
        await env.retitle("merge-initech", env.merge_candidate(), "Narrow's own")
        seen = await next_change(narrow)
        assert seen["account"] == {"id": "merge-initech"}

        # One member leaving ends nothing for the other.
        await one.send({"id": "1", "type": "complete"})
        await until(env.following(2))
        while (await next_change(two, "7"))["account"] != {"id": "merge-initech"}:
            pass  # the wide key's Greenhouse events (both APIs) came first
        assert len(groups) == 2
    await until(env.following(0))
    assert len(groups) == 0


def test_the_group_key_holds_the_client_and_every_argument() -> None:
    wide, narrow = CLIENTS
    key = group_key(wide, CANDIDATES, {"accounts": ["merge-initech"]}, None)
    assert key is not None
    assert key == group_key(wide, CANDIDATES, {"accounts": ["merge-initech"]}, None)
    assert key != group_key(narrow, CANDIDATES, {"accounts": ["merge-initech"]}, None)
    assert key != group_key(wide, CANDIDATES, {"accounts": ["greenhouse-harvest"]}, None)
    resume = 'subscription { candidateChanged(after: "m1-2") { id } }'
    assert group_key(wide, resume, None, None) is None  # a resume replays for itself alone
    assert group_key(wide, CANDIDATES, {"after": "m1-2"}, None) is None
    assert group_key(wide, CANDIDATES, {"after": None}, None) is not None
    assert group_key(wide, "query { accounts { id } }", None, None) is None
    assert group_key(wide, "subscription {", None, None) is None
