"""`POST /webhooks/{account}` over HTTP: signatures per provider in their documented header
formats, refusals (401/413) that emit nothing and log one line without the secret, and
verified deliveries published to the bus without a call to the provider (whose base URL here
is a port nothing listens on)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from gateway.settings import ConfigError, parse_settings
from providers.events import WebhookAccount
from store.events import BusEvent
from tests.live_support import (
    GH_OTHER_SECRET,
    GH_SECRET,
    MERGE_SECRET,
    NOWHERE,
    body,
    greenhouse_signature,
    live_gateway,
    merge_signature,
    take,
    webhook_settings,
)

GH_DELIVERY = body(
    {
        "action": "update_candidate",
        "payload": {"candidate": {"id": 4242, "updated_at": "2026-11-30T10:00:00Z"}},
    }
)
MERGE_DELIVERY = body(
    {
        "hook": {"id": "hook-config-1", "event": "Candidate.changed", "target": "x"},
        "linked_account": {"id": "linked-1"},
        "data": {"id": "cand-uuid-1", "modified_at": "2026-11-30T10:00:00Z"},
    }
)


def gh_headers(raw: bytes, secret: str = GH_SECRET, event_id: str = "ev-1") -> dict[str, str]:
    return {"Signature": greenhouse_signature(raw, secret), "Greenhouse-Event-ID": event_id}


def merge_headers(raw: bytes, secret: str = MERGE_SECRET) -> dict[str, str]:
    return {"X-Merge-Webhook-Signature": merge_signature(raw, secret)}


Sign = Callable[..., dict[str, str]]
PROVIDERS = {
    # account, another account of the same provider, a valid body, how to sign, the remote id
    "greenhouse": ("gh", "gh2", GH_DELIVERY, gh_headers, "4242"),
    "merge": ("mg", "mg2", MERGE_DELIVERY, merge_headers, "cand-uuid-1"),
}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_only_a_correctly_signed_delivery_for_its_own_account_emits_an_event(
    provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    account, other, raw, sign, remote_id = PROVIDERS[provider]
    tampered = raw.replace(b"10:00:00Z", b"11:00:00Z")
    wrong = GH_OTHER_SECRET if provider == "greenhouse" else "not-the-org-key"
    async with live_gateway(webhook_settings()) as gateway:
        stream = await gateway.bus.subscribe()
        refusals = {
            "tampered body": await gateway.post(account, tampered, sign(raw)),
            "wrong secret": await gateway.post(account, raw, sign(raw, wrong)),
            "missing header": await gateway.post(account, raw, {}),
            "empty header": await gateway.post(account, raw, {k: "" for k in sign(raw)}),
            "another account": await gateway.post(other, raw, sign(raw)),
        }
        for case, response in refusals.items():
            assert response.status_code == 401, (case, response.text)
            assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        accepted = await gateway.post(account, raw, sign(raw))
        assert accepted.status_code == 202, accepted.text
        [first] = await take(stream, 1)
    # The first event on the bus is the accepted one: no refusal emitted anything before it.
    assert isinstance(first, BusEvent)
    assert (first.event.account, first.event.remote_id) == (account, remote_id)
    refused_lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused_lines) == len(refusals)
    for record in caplog.records:
        for secret in (GH_SECRET, GH_OTHER_SECRET, MERGE_SECRET):
            assert secret not in record.getMessage()


def answer(response: httpx.Response) -> tuple[object, ...]:
    """Everything a client sees of an answer but the time it was sent."""
    headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
    return response.status_code, headers, response.content


async def test_an_unknown_account_is_answered_as_a_bad_signature() -> None:
    """Unknown accounts were 404 and configured ones 401, so anyone could list account ids.
    Now an unknown account, or one without a webhook secret, gets the bad signature's answer:
    same status, headers and body, for a signed, an unsigned and an oversized delivery."""
    big = body({"action": "update_candidate", "payload": {"pad": "x" * 5000}})
    deliveries = {
        "signed": (GH_DELIVERY, gh_headers(GH_DELIVERY)),
        "unsigned": (GH_DELIVERY, {}),
        "merge-signed": (MERGE_DELIVERY, merge_headers(MERGE_DELIVERY)),
        "oversized": (big, gh_headers(big)),
    }
    async with live_gateway(webhook_settings(webhook_max_bytes=4096)) as gateway:
        wrong = {
            "signed": await gateway.post(
                "gh", GH_DELIVERY, gh_headers(GH_DELIVERY, GH_OTHER_SECRET)
            ),
            "unsigned": await gateway.post("gh", GH_DELIVERY, {}),
            "merge-signed": await gateway.post(
                "mg", MERGE_DELIVERY, merge_headers(MERGE_DELIVERY, "x")
            ),
            "oversized": await gateway.post("gh", big, gh_headers(big)),
        }
        assert [r.status_code for r in wrong.values()] == [401, 401, 401, 413]
        for account in ("nobody", "tal", "gh%20", "-"):
            for case, (raw, headers) in deliveries.items():
                response = await gateway.post(account, raw, headers)
                assert answer(response) == answer(wrong[case]), (account, case)
        wrong_method = await gateway.http.get(f"{gateway.url}/webhooks/gh")
        assert wrong_method.status_code == 405


async def test_an_oversized_delivery_is_413_even_when_signed() -> None:
    big = body({"action": "update_candidate", "payload": {"pad": "x" * 5000}})
    async with live_gateway(webhook_settings(webhook_max_bytes=4096)) as gateway:
        stream = await gateway.bus.subscribe()
        response = await gateway.post("gh", big, gh_headers(big))
        assert response.status_code == 413
        # Without Content-Length (chunked), the bounded read still stops at the limit.

        async def chunks() -> AsyncIterator[bytes]:
            yield big[:3000]
            yield big[3000:]

        chunked = await gateway.http.post(
            f"{gateway.url}/webhooks/gh", content=chunks(), headers=gh_headers(big)
        )
        assert chunked.status_code == 413
        small = await gateway.post("gh", GH_DELIVERY, gh_headers(GH_DELIVERY))
        assert small.status_code == 202
        [first] = await take(stream, 1)
        assert isinstance(first, BusEvent) and first.event.remote_id == "4242"


async def test_a_redelivery_is_published_once_and_unmapped_events_are_counted() -> None:
    ping = body({"action": "ping", "payload": {}})
    async with live_gateway(webhook_settings()) as gateway:
        stream = await gateway.bus.subscribe()
        for _ in range(2):  # Greenhouse delivers at least once: the same body again
            response = await gateway.post("gh", GH_DELIVERY, gh_headers(GH_DELIVERY, event_id="7"))
            assert response.status_code == 202
        assert response.json() == {"events": 1, "published": 0}
        dropped = await gateway.post("gh", ping, gh_headers(ping, event_id="8"))
        assert dropped.json() == {"events": 0, "published": 0}
        later = GH_DELIVERY.replace(b"10:00:00Z", b"10:05:00Z")  # the candidate changed again
        fresh = await gateway.post("gh", later, gh_headers(later, event_id="9"))
        assert fresh.json() == {"events": 1, "published": 1}
        first, second = await take(stream, 2)
        metrics = (await gateway.http.get(f"{gateway.url}/metrics")).text
    assert isinstance(first, BusEvent) and isinstance(second, BusEvent)
    assert first.event.dedupe_id != second.event.dedupe_id
    assert 'gateway_webhook_unmapped_events_total{account="gh",event="ping"} 1.0' in metrics


async def test_a_signed_body_replayed_with_a_fresh_event_id_is_a_duplicate() -> None:
    """`Greenhouse-Event-ID` is not signed: anyone holding one signed body could send it again
    under new ids, and each replay became new change events for every subscriber."""
    two_changes = body(
        {"action": "merge_candidate", "payload": {"person": {"id": 5, "new_candidate_id": 6}}}
    )
    async with live_gateway(webhook_settings()) as gateway:
        stream = await gateway.bus.subscribe()
        first = await gateway.post("gh", two_changes, gh_headers(two_changes, event_id="a"))
        assert first.json() == {"events": 2, "published": 2}
        for replayed_as in ("b", "c", ""):
            replay = await gateway.post(
                "gh", two_changes, gh_headers(two_changes, event_id=replayed_as)
            )
            assert replay.json() == {"events": 2, "published": 0}, replayed_as
        marker = await gateway.post("gh", GH_DELIVERY, gh_headers(GH_DELIVERY, event_id="d"))
        assert marker.json() == {"events": 1, "published": 1}
        events = await take(stream, 3)
    # The two changes of the one delivery, then the marker: no replay reached the bus between.
    remote_ids = [e.event.remote_id for e in events if isinstance(e, BusEvent)]
    assert remote_ids == ["5", "6", "4242"]


async def test_a_signed_body_that_is_not_a_delivery_is_400(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    junk = b"not json at all"
    async with live_gateway(webhook_settings()) as gateway:
        response = await gateway.post("mg", junk, merge_headers(junk))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_webhook_secrets_are_named_by_environment_variable_like_every_credential() -> None:
    def account(provider: str, **extra: object) -> dict[str, object]:
        table: dict[str, object] = {"id": "a", "provider": provider, "base_url": NOWHERE}
        credentials = {
            "talynce": {"api_key_env": "KEY"},
            "merge": {"api_key_env": "KEY", "account_token_env": "KEY"},
        }[provider]
        return table | credentials | extra

    env = {"KEY": "k", "HOOK": "the-hook-secret"}
    merge = parse_settings(
        {"accounts": [account("merge", webhook_secret_env="HOOK", webhook_origin="l-1")]}, env
    )
    assert merge.webhooks["a"] == WebhookAccount("a", "the-hook-secret", "l-1")
    assert "the-hook-secret" in merge.secrets()  # so log redaction knows it
    refusals = {
        "talynce sends no webhooks": account("talynce", webhook_secret_env="HOOK"),
        "environment variable MISSING is not set": account("merge", webhook_secret_env="MISSING"),
        "set webhook_secret_env too": account("merge", webhook_origin="l-1"),
        "unknown keys": account("merge", webhook_secret="inline"),
    }
    for message, table in refusals.items():
        with pytest.raises(ConfigError, match=message) as refused:
            parse_settings({"accounts": [table]}, env)
        assert "the-hook-secret" not in str(refused.value)
