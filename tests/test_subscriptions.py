"""Subscriptions end to end: the demo's emulators send signed webhooks (or are polled, Talynce)
to a gateway served over HTTP, and clients subscribe over graphql-transport-ws or GraphQL over
SSE with client keys, as an application would."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.talynce.app import TalynceEmulator
from gateway.demo import DemoEnvironment, demo_environment, running_server
from gateway.limits import QueryLimits
from gateway.security import Client, hash_key
from resolvers.ids import encode_id
from tests.conftest import gateway_settings, make_orgs
from tests.live_support import LiveGateway, greenhouse_signature, live_gateway, take
from tests.ws_support import (
    WITHIN,
    Closed,
    GraphQLSocket,
    graphql_socket,
    sse_events,
    until,
    ws_url,
)

WIDE, NARROW = "atsg_subs_wide_key_5b1f", "atsg_subs_narrow_key_5b1f"
CLIENTS = (
    Client("wide", hash_key(WIDE), None, write=True),
    Client("narrow", hash_key(NARROW), frozenset({"merge-initech"}), write=True),
)
CANDIDATES = """
subscription($accounts: [ID!], $after: String) {
  candidateChanged(accounts: $accounts, after: $after) {
    refetch kind id eventId occurredAt account { id } candidate { id title }
  }
}
"""
UPDATE = """
mutation($id: ID!, $title: String!) {
  updateCandidate(id: $id, input: {title: $title}) { candidate { id } userErrors { code } }
}
"""


REFETCH = {
    "refetch": True,
    "kind": None,
    "id": None,
    "eventId": None,
    "occurredAt": None,
    "account": None,
    "candidate": None,
}


@dataclasses.dataclass
class Live:
    demo: DemoEnvironment
    gateway: LiveGateway

    @property
    def ws(self) -> str:
        return ws_url(self.gateway.url)

    def following(self, count: int) -> Any:
        return lambda: self.gateway.app.state.changes.following == count

    def greenhouse_candidate(self) -> str:
        org = self.demo.demos["greenhouse"].emulator.orgs[0]  # type: ignore[attr-defined]
        return str(sorted(org.candidates)[0])

    def merge_candidate(self) -> str:
        merge = self.demo.demos["merge"].emulator
        return str(next(iter(merge.accounts["merge_demo_initech"].candidates)))  # type: ignore[attr-defined]

    async def seen_once(self) -> str:
        """The id of one Merge event a narrow subscriber saw, once it has left again."""
        async with graphql_socket(self.ws, NARROW) as first:
            await first.subscribe("1", CANDIDATES)
            await until(self.following(1))
            await self.retitle("merge-initech", self.merge_candidate(), "Seen")
            last: str = (await next_change(first))["eventId"]
        await until(self.following(0))
        return last

    async def retitle(self, account: str, remote_id: str, title: str) -> None:
        answer = await self.gateway.http.post(
            f"{self.gateway.url}/graphql",
            json={
                "query": UPDATE,
                "variables": {"id": encode_id("Candidate", account, remote_id), "title": title},
            },
            headers={"authorization": f"Bearer {WIDE}"},
        )
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text


@asynccontextmanager
async def live(**settings: Any) -> AsyncIterator[Live]:
    async with demo_environment() as demo:
        configured = dataclasses.replace(demo.settings, clients=CLIENTS, **settings)
        async with live_gateway(configured) as gateway:
            demo.send_webhooks_to(gateway.url)
            yield Live(demo, gateway)


async def next_change(sock: GraphQLSocket, id: str = "1") -> dict[str, Any]:
    message = await sock.receive()
    assert message["type"] == "next" and message["id"] == id, message
    assert "errors" not in message["payload"], message
    change: dict[str, Any] = message["payload"]["data"]["candidateChanged"]
    return change


async def test_a_webhook_reaches_a_subscriber_with_the_current_object() -> None:
    async with live() as env, graphql_socket(env.ws, WIDE) as sock:
        await sock.subscribe("1", CANDIDATES, {"accounts": ["greenhouse-harvest"]})
        await until(env.following(1))
        remote_id = env.greenhouse_candidate()
        await env.retitle("greenhouse-harvest", remote_id, "Head of Live Updates")
        change = await next_change(sock)
        gid = encode_id("Candidate", "greenhouse-harvest", remote_id)
        assert change["refetch"] is False
        assert (change["kind"], change["id"], change["account"]) == (
            "UPDATED",
            gid,
            {"id": "greenhouse-harvest"},
        )
        assert change["candidate"] == {"id": gid, "title": "Head of Live Updates"}
        assert change["eventId"] and change["occurredAt"].endswith("Z")


async def test_a_subscription_outlives_the_request_timeout() -> None:
    """Each event is fetched with a request's time of its own, not what was left of the
    subscribing request's."""
    timeout = 0.5
    async with live(request_timeout=timeout) as env, graphql_socket(env.ws, NARROW) as sock:
        await sock.subscribe("1", CANDIDATES)
        await until(env.following(1))
        await asyncio.sleep(timeout * 2)  # no event to await: the point is time passing
        await env.retitle("merge-initech", env.merge_candidate(), "Much later")
        change = await next_change(sock)
        assert change["candidate"]["title"] == "Much later"


async def test_one_fetch_per_event_however_many_subscribers() -> None:
    async with live() as env:
        greenhouse = env.demo.demos["greenhouse"].emulator
        async with graphql_socket(env.ws, WIDE) as one, graphql_socket(env.ws, WIDE) as two:
            for sock in (one, two):
                await sock.subscribe("1", CANDIDATES, {"accounts": ["greenhouse-harvest"]})
            await until(env.following(2))
            remote_id = env.greenhouse_candidate()
            await env.retitle("greenhouse-harvest", remote_id, "Fetched once")
            greenhouse.reset_log()  # type: ignore[attr-defined]
            seen = [await next_change(one), await next_change(two)]
        assert [c["candidate"]["title"] for c in seen] == ["Fetched once"] * 2
        reads = [r for r in greenhouse.requests if r.method == "GET"]  # type: ignore[attr-defined]
        assert len(reads) == 1, [r.path for r in reads]


async def test_a_narrow_key_never_sees_another_accounts_event() -> None:
    async with (
        live() as env,
        graphql_socket(env.ws, NARROW) as narrow,
        graphql_socket(env.ws, WIDE) as wide,
    ):
        await narrow.subscribe("1", CANDIDATES)
        await wide.subscribe("1", CANDIDATES)
        await until(env.following(2))
        await env.retitle("greenhouse-harvest", env.greenhouse_candidate(), "Not for narrow")
        await env.retitle("merge-initech", env.merge_candidate(), "For narrow")
        wide_seen = {(await next_change(wide))["account"]["id"] for _ in range(3)}
        assert wide_seen == {"greenhouse-harvest", "greenhouse-partner", "merge-initech"}
        # Greenhouse's events were on the bus first: the narrow key's first is Merge's.
        first = await next_change(narrow)
        assert first["account"] == {"id": "merge-initech"}
        assert first["candidate"]["title"] == "For narrow"
        # Naming an account the key may not see is refused as queries refuse it.
        await narrow.subscribe("2", CANDIDATES, {"accounts": ["greenhouse-harvest"]})
        refused = await narrow.receive()
        assert refused["id"] == "2", refused
        errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND", refused
        assert "greenhouse-harvest" not in str(refused).replace("'greenhouse-harvest'", "", 1)


async def test_sockets_without_a_valid_key_are_refused() -> None:
    async with live() as env:
        for payload in ({}, {"Authorization": "Bearer atsg_wrong"}, {"Authorization": WIDE}):
            sock = await GraphQLSocket.open(env.ws)
            with pytest.raises(Closed) as closed:
                await sock.init(payload)
            assert closed.value.code == 4403
        refused = await GraphQLSocket.open(env.ws)
        await refused.subscribe("1", CANDIDATES)  # before connection_init: nothing runs
        with pytest.raises(Closed) as unauthorized:
            await refused.receive()
        assert unauthorized.value.code == 4401
        with pytest.raises(Exception, match="403"):
            await GraphQLSocket.open(env.ws, {"Authorization": "Bearer atsg_wrong"})
        async with graphql_socket(env.ws, NARROW, in_header=True) as keyed:
            await keyed.subscribe("q", "{ accounts { id } }")
            answer = await keyed.receive()
            assert answer["payload"]["data"] == {"accounts": [{"id": "merge-initech"}]}
        assert env.gateway.app.state.changes.following == 0


async def test_a_page_on_another_origin_opens_a_socket_only_when_allowed() -> None:
    async with live(cors_origins=("https://app.example",)) as env:
        with pytest.raises(Exception, match="403"):
            await GraphQLSocket.open(env.ws, origin="https://elsewhere.example")
        sock = await GraphQLSocket.open(env.ws, origin="https://app.example")
        try:
            assert (await sock.init({"Authorization": f"Bearer {NARROW}"}))["type"] == (
                "connection_ack"
            )
        finally:
            await sock.close()


async def test_sse_needs_a_key_and_streams_changes() -> None:
    async with live() as env:
        url = f"{env.gateway.url}/graphql"
        sse = {"accept": "text/event-stream"}
        body = {"query": CANDIDATES, "variables": {"accounts": ["merge-initech"]}}
        for auth in ({}, {"authorization": "Bearer atsg_wrong"}):
            refused = await env.gateway.http.post(url, json=body, headers=sse | auth)
            assert refused.status_code == 401
            assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        keyed = sse | {"authorization": f"Bearer {NARROW}"}
        async with (
            httpx.AsyncClient(timeout=WITHIN) as http,
            http.stream("POST", url, json=body, headers=keyed) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            await until(env.following(1))
            await env.retitle("merge-initech", env.merge_candidate(), "Over SSE")
            event, data = await anext(sse_events(stream))
        assert event == "next"
        change = data["data"]["candidateChanged"]
        assert change["account"] == {"id": "merge-initech"}
        assert change["candidate"]["title"] == "Over SSE"


async def test_resume_after_the_last_event_and_refetch_when_unknown() -> None:
    async with live() as env:
        last = await env.seen_once()
        await env.retitle("merge-initech", env.merge_candidate(), "Missed one")
        await env.retitle("merge-initech", env.merge_candidate(), "Missed two")
        async with graphql_socket(env.ws, NARROW) as back:
            await back.subscribe("1", CANDIDATES, {"after": last})
            missed = [await next_change(back), await next_change(back)]
            assert [m["candidate"]["title"] for m in missed] == ["Missed two", "Missed two"]
            assert len({last, *(m["eventId"] for m in missed)}) == 3
            await back.subscribe("2", CANDIDATES, {"after": "m00000000-1"})
            message = await back.receive()
            assert message["id"] == "2", message
            assert message["payload"]["data"]["candidateChanged"] == REFETCH


async def test_resume_after_an_event_that_left_the_window_is_told_to_refetch() -> None:
    async with live(event_window_max=2) as env:
        last = await env.seen_once()
        for n in range(3):  # the bus keeps two: the first one after `last` is gone
            await env.retitle("merge-initech", env.merge_candidate(), f"Missed {n}")
        async with graphql_socket(env.ws, NARROW) as back:
            await back.subscribe("1", CANDIDATES, {"after": last})
            assert await next_change(back) == REFETCH
            await until(env.following(1))
            await env.retitle("merge-initech", env.merge_candidate(), "Live again")
            after = await next_change(back)
        assert after["candidate"]["title"] == "Live again"


async def test_other_accounts_events_never_make_a_resume_refetch() -> None:
    """A resume replays at most `event_replay_max` events, else says refetch: it counted every
    account's events, so a narrow key that resumed learned whether accounts it may not see had
    had more than that many changes since. Only the events it would see count."""
    async with live(event_replay_max=1) as env:
        last = await env.seen_once()
        bus = await env.gateway.bus.subscribe()
        for n in range(3):
            await env.retitle(
                "greenhouse-harvest", env.greenhouse_candidate(), f"Not for narrow {n}"
            )
        await env.retitle("merge-initech", env.merge_candidate(), "Missed")
        await take(bus, 4)  # all four are on the bus before the resume
        async with graphql_socket(env.ws, NARROW) as back:
            await back.subscribe("1", CANDIDATES, {"after": last})
            missed = await next_change(back)
        assert missed["refetch"] is False
        assert missed["account"] == {"id": "merge-initech"}
        assert missed["candidate"]["title"] == "Missed"


async def test_event_ids_count_nothing_and_cannot_be_made_up() -> None:
    """Ids were the bus's counter (`m<epoch>-<n>`): the gap between two of a narrow key's
    events counted the events of accounts it may not see, and an id made up by changing the
    number resumed wherever it pointed. Every id but one the gateway issued is unknown."""
    async with live() as env, graphql_socket(env.ws, NARROW) as narrow:
        await narrow.subscribe("1", CANDIDATES)
        await until(env.following(1))
        await env.retitle("greenhouse-harvest", env.greenhouse_candidate(), "Not for narrow")
        await env.retitle("merge-initech", env.merge_candidate(), "For narrow")
        seen = (await next_change(narrow))["eventId"]
        made_up = {seen[:-1] + c for c in "0123456789abcdef"} - {seen}
        for n, event_id in enumerate(sorted(made_up)):
            await narrow.subscribe(f"p{n}", CANDIDATES, {"after": event_id})
            message = await narrow.receive()
            assert message["id"] == f"p{n}", message
            assert message["payload"]["data"]["candidateChanged"] == REFETCH, event_id


async def test_limits_apply_to_subscription_documents() -> None:
    async with live(limits=QueryLimits(max_depth=3)) as env:
        deep = "subscription { candidateChanged { candidate { applications { job { id } } } } }"
        async with graphql_socket(env.ws, WIDE) as sock:
            await sock.subscribe("1", deep)
            message = await sock.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        answer = await env.gateway.http.post(
            f"{env.gateway.url}/graphql",
            json={"query": deep},
            headers={"accept": "text/event-stream", "authorization": f"Bearer {WIDE}"},
        )
        assert "QUERY_TOO_COMPLEX" in answer.text
        assert env.gateway.app.state.changes.following == 0


async def test_a_talynce_change_is_seen_through_polling() -> None:
    async with live(poll_interval=0.2) as env, graphql_socket(env.ws, WIDE) as sock:
        poller = env.gateway.app.state.poller
        assert poller.watched == {}
        await sock.subscribe("1", CANDIDATES, {"accounts": ["acme-talent"]})
        await until(env.following(1))
        assert poller.watched == {"acme-talent": 1}
        # The polls' upstream calls reach the metrics, though no request of a client made them.
        metrics = env.gateway.app.state.metrics
        polled = 'gateway_upstream_calls_total{account="acme-talent",endpoint="GET candidates"'
        await until(lambda: polled in metrics.exposition().decode())
        talynce = env.demo.demos["talynce"].emulator
        org = next(iter(talynce.orgs.values()))  # type: ignore[attr-defined]
        remote_id = str(sorted(org.candidates)[0])
        await env.retitle("acme-talent", remote_id, "Polled")
        change = await next_change(sock)
        assert change["id"] == encode_id("Candidate", "acme-talent", remote_id)
        assert change["candidate"]["title"] == "Polled"
    assert poller.watched == {}


async def test_operations_over_a_socket_get_the_checks_of_a_post(tmp_path: Path) -> None:
    accounts = "{ accounts { id } }"
    digest = hashlib.sha256(accounts.encode()).hexdigest()
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({digest: accounts}))
    async with (
        live(trusted_documents=manifest, introspection=False) as env,
        graphql_socket(env.ws, NARROW) as sock,
    ):
        await sock.subscribe("1", accounts)  # text alone: not a trusted document
        refused = await sock.receive()
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        await sock.subscribe("2", CANDIDATES)
        assert (await sock.receive())["payload"][0]["extensions"]["code"] == (
            "PERSISTED_QUERY_NOT_ALLOWED"
        )
        named = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        await sock.send(
            {"id": "3", "type": "subscribe", "payload": {"query": None, "extensions": named}}
        )
        answer = await sock.receive()
        assert answer == {
            "id": "3",
            "type": "next",
            "payload": {"data": {"accounts": [{"id": "merge-initech"}]}},
        }
    async with live(introspection=False) as env, graphql_socket(env.ws, WIDE) as sock:
        await sock.subscribe("1", "{ __schema { queryType { name } } }")
        message = await sock.receive()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors and "introspection" in errors[0]["message"].lower(), message


APPLICATIONS = """
subscription($job: ID, $candidate: ID) {
  applicationChanged(accounts: ["greenhouse-harvest"], jobId: $job, candidateId: $candidate) {
    kind id application { id stage { id } }
  }
}
"""
JOB_STAGES = "query($id: ID!) { job(id: $id) { stages { id } } }"
MOVE = """
mutation($id: ID!, $stage: ID!) {
  moveApplication(input: {id: $id, stageId: $stage}) { userErrors { code } }
}
"""


async def test_application_changes_filtered_by_candidate_and_job() -> None:
    async with live() as env, graphql_socket(env.ws, WIDE) as sock:
        org = env.demo.demos["greenhouse"].emulator.orgs[0]  # type: ignore[attr-defined]
        open_ = [
            a
            for a in org.applications.values()
            if a.job_id is not None and not a.prospect and a.rejected_at is None
        ]
        moved = open_[0]
        other = next(
            a for a in open_ if a.job_id != moved.job_id and a.candidate_id != moved.candidate_id
        )

        def gid(kind: str, remote: object, parent: object = None) -> str:
            return encode_id(
                kind, "greenhouse-harvest", str(remote), None if parent is None else str(parent)
            )

        app_id = gid("Application", moved.id, moved.candidate_id)
        await sock.subscribe(
            "other", APPLICATIONS, {"candidate": gid("Candidate", other.candidate_id)}
        )
        await sock.subscribe("job", APPLICATIONS, {"job": gid("Job", moved.job_id)})
        await sock.subscribe(
            "mine", APPLICATIONS, {"candidate": gid("Candidate", moved.candidate_id)}
        )
        await until(env.following(3))
        http, url = env.gateway.http, f"{env.gateway.url}/graphql"
        auth = {"authorization": f"Bearer {WIDE}"}

        async def move(application: Any) -> tuple[str, str]:
            job = gid("Job", application.job_id)
            stages = await http.post(
                url, json={"query": JOB_STAGES, "variables": {"id": job}}, headers=auth
            )
            stage = stages.json()["data"]["job"]["stages"][-1]["id"]
            moved_id = gid("Application", application.id, application.candidate_id)
            answer = await http.post(
                url,
                json={"query": MOVE, "variables": {"id": moved_id, "stage": stage}},
                headers=auth,
            )
            assert answer.json()["data"]["moveApplication"]["userErrors"] == [], answer.text
            return moved_id, stage

        _, stage = await move(moved)
        got = {}
        for _ in range(2):
            message = await sock.receive()
            got[message["id"]] = message["payload"]["data"]["applicationChanged"]
        assert set(got) == {"job", "mine"}  # not "other": another candidate's subscription
        for change in got.values():
            assert change["id"] == app_id
            assert change["application"] == {"id": app_id, "stage": {"id": stage}}
        # Had "other" been sent the first move, it would come now, before its own.
        other_id, _ = await move(other)
        message = await sock.receive()
        assert message["id"] == "other", message
        assert message["payload"]["data"]["applicationChanged"]["id"] == other_id


async def test_job_changes_reach_job_subscribers_only() -> None:
    async with (
        live() as env,
        graphql_socket(env.ws, NARROW) as narrow,
        graphql_socket(env.ws, WIDE) as wide,
    ):
        query = "subscription { jobChanged { kind id job { id name } } }"
        await wide.subscribe("1", query)
        await narrow.subscribe("1", query)
        await wide.subscribe("2", CANDIDATES)
        await until(env.following(3))
        org = env.demo.demos["greenhouse"].emulator.orgs[0]  # type: ignore[attr-defined]
        job = next(iter(org.jobs.values()))
        raw = json.dumps({"action": "job_updated", "payload": {"job": {"id": job.id}}}).encode()
        secret = env.demo.settings.webhooks["greenhouse-harvest"].secret
        answer = await env.gateway.post(
            "greenhouse-harvest", raw, {"Signature": greenhouse_signature(raw, secret)}
        )
        assert answer.status_code == 202, answer.text
        message = await wide.receive()
        assert message["id"] == "1", message  # not the candidates subscription
        change = message["payload"]["data"]["jobChanged"]
        gid = encode_id("Job", "greenhouse-harvest", str(job.id))
        assert change == {"kind": "UPDATED", "id": gid, "job": {"id": gid, "name": job.name}}
        # The narrow key (Merge only) is told nothing: its next message is a Merge change.
        await narrow.subscribe("2", CANDIDATES)
        await until(env.following(4))
        await env.retitle("merge-initech", env.merge_candidate(), "After the job")
        assert (await narrow.receive())["id"] == "2"


async def test_each_operation_on_a_socket_reports_its_own_partial_failures() -> None:
    async with live() as env, graphql_socket(env.ws, WIDE) as sock:
        org = env.demo.demos["greenhouse"].emulator.orgs[0]  # type: ignore[attr-defined]
        org.outage = True
        await sock.subscribe("1", "{ candidates(first: 5) { edges { node { id } } } }")
        partial = (await sock.receive())["payload"]
        assert partial["data"]["candidates"]["edges"], partial  # the other accounts answered
        failed = {e["extensions"]["account"] for e in partial["errors"]}
        assert failed == {"greenhouse-harvest"}, partial
        assert await sock.receive() == {"id": "1", "type": "complete"}
        await sock.subscribe("2", "{ accounts { id } }")
        clean = (await sock.receive())["payload"]
        assert "errors" not in clean, clean


METERED, OPERATOR = "atsg_subs_metered_key_5b1f", "atsg_subs_operator_key_5b1f"
CANARY = "m1-424242"  # an `after` this bus never issued (a refetch at once); in no log line


async def test_socket_and_sse_operations_are_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    orgs = make_orgs()
    emulator = TalynceEmulator(orgs.values())
    caplog.set_level(logging.INFO, logger="gateway.requests")
    async with running_server(emulator.app) as port:
        settings = gateway_settings(
            f"http://127.0.0.1:{port}",
            orgs,
            clients=(Client("metered", hash_key(METERED), None),),
            metrics_key_sha256=hash_key(OPERATOR),
        )
        async with live_gateway(settings) as gateway:
            variables = {"accounts": ["initech"], "after": CANARY}
            async with graphql_socket(ws_url(gateway.url), METERED) as sock:
                await sock.subscribe("q", "query Accounts { accounts { id } }")
                assert (await _message(sock))["type"] == "next"
                await sock.subscribe("bad", "{ nope }")
                assert (await _message(sock))["type"] == "error"
                unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
                await sock.send(
                    {"id": "apq", "type": "subscribe", "payload": {"extensions": unknown}}
                )
                assert (await _message(sock))["type"] == "error"
                await sock.subscribe("s", CANDIDATES, variables)
                message = await _message(sock)
                assert message["payload"]["data"]["candidateChanged"]["refetch"] is True
                await sock.send({"id": "s", "type": "complete"})
                await until(lambda: len(_ended(caplog, "ws")) == 4)
            headers = {"accept": "text/event-stream", "authorization": f"Bearer {METERED}"}
            body = {"query": CANDIDATES, "variables": variables, "operationName": None}
            async with (
                httpx.AsyncClient(timeout=WITHIN) as http,
                http.stream("POST", f"{gateway.url}/graphql", json=body, headers=headers) as stream,
            ):
                event, data = await anext(sse_events(stream))
                assert event == "next" and data["data"]["candidateChanged"]["refetch"] is True
            await until(lambda: len(_ended(caplog, "sse")) == 1)  # the client left

            lines = {line.request_id: line for line in _ended(caplog, "ws")}
            by_kind = {(r.operation_type, r.outcome): r for r in lines.values()}
            assert by_kind[("query", "ok")].events == 1
            assert by_kind[("query", "ok")].operation == "Accounts"
            assert by_kind[("query", "rejected")].error_codes
            refused = by_kind[("unknown", "rejected")]
            assert refused.error_codes == ["PERSISTED_QUERY_NOT_FOUND"]
            subscription = by_kind[("subscription", "ok")]
            assert subscription.events == 1 and subscription.duration_ms > 0
            (sse,) = _ended(caplog, "sse")
            assert (sse.operation_type, sse.outcome, sse.events) == ("subscription", "ok", 1)
            http_lines = [r for r in caplog.records if r.name == "gateway.requests"]
            assert not [r for r in http_lines if getattr(r, "outcome", None) == "refused"]
            assert all(CANARY not in _text(r) for r in http_lines)

            metrics = await gateway.http.get(
                f"{gateway.url}/metrics", headers={"authorization": f"Bearer {OPERATOR}"}
            )
            text = metrics.text
            for sample in (
                'gateway_graphql_operations_started_total{transport="ws",type="subscription"} 1.0',
                'gateway_graphql_operations_started_total{transport="sse",type="subscription"} 1.0',
                'gateway_graphql_operations_started_total{transport="ws",type="query"} 2.0',
                'gateway_graphql_operations_completed_total{outcome="ok",transport="ws",type="query"} 1.0',
                'gateway_graphql_operations_completed_total{outcome="rejected",transport="ws",type="unknown"} 1.0',
                'gateway_graphql_operations_completed_total{outcome="ok",transport="sse",type="subscription"} 1.0',
                'gateway_graphql_errors_total{code="PERSISTED_QUERY_NOT_FOUND",transport="ws"} 1.0',
            ):
                assert sample in text, sample


async def _message(sock: GraphQLSocket) -> dict[str, Any]:
    """The next message that is not an operation's `complete`."""
    while (message := await sock.receive())["type"] == "complete":
        pass
    return message


def _ended(caplog: pytest.LogCaptureFixture, transport: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "gateway.requests" and getattr(r, "transport", None) == transport
    ]


def _text(record: logging.LogRecord) -> str:
    return record.getMessage() + repr(vars(record))
