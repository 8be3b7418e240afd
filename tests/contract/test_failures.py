"""What every adapter promises when things go wrong or are not offered (README, "Partial
results", "Writes", DESIGN's error codes): upstream failures map to the gateway's own errors and
codes, naming the account and provider and never the secret; writes return warnings for what the
provider cannot hold and typed problems for what it refuses; an operation an adapter does not
declare is refused as UNSUPPORTED_BY_PROVIDER, never answered empty."""

from __future__ import annotations

import pytest

from emulators.faults import FaultProfile
from providers.base import CandidateQuery, Capability, Position, Provider
from providers.errors import NotFound, ProviderError, Rejected, UnsupportedByProvider
from providers.model import CandidateDraft, CandidatePatch, Email, EmailType, Url, UrlType
from tests.contract.backends import Backend
from tests.contract.support import operation


async def read(backend: Backend, adapter: Provider) -> object:
    """The adapter's plainest read: a list page, or a lookup where it cannot list."""
    if Capability.LIST in adapter.capabilities:
        return await adapter.list_candidates(CandidateQuery(), Position(), 5)
    return await adapter.get_candidates(sorted(backend.people())[:2])


def assert_named_and_discreet(error: ProviderError, backend: Backend, adapter: Provider) -> None:
    config = backend.config(credentials_ok=True)
    assert (error.account, error.provider) == (config.id, config.provider)
    for text in (str(error), repr(error), error.message):
        assert backend.secret not in text and backend.url not in text


async def test_refused_credentials_are_auth_failed(backend: Backend) -> None:
    adapter = backend.adapter(credentials_ok=False)
    with pytest.raises(ProviderError) as failed:
        await read(backend, adapter)
    assert failed.value.code == "UPSTREAM_AUTH_FAILED"
    assert_named_and_discreet(failed.value, backend, adapter)


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("forbidden", None, "UPSTREAM_AUTH_FAILED"),
        ("error", 404, "UPSTREAM_BAD_RESPONSE"),  # a read of no one record: the route is wrong
        ("rate_limit", None, "UPSTREAM_RATE_LIMITED"),
        ("error", 500, "UPSTREAM_UNAVAILABLE"),
        ("error", 503, "UPSTREAM_UNAVAILABLE"),
        ("malformed", None, "UPSTREAM_BAD_RESPONSE"),
        ("truncated", None, "UPSTREAM_BAD_RESPONSE"),
        ("html", None, "UPSTREAM_BAD_RESPONSE"),
    ],
)
async def test_upstream_failures_map_to_the_gateways_codes(
    backend: Backend, fault: str, status: int | None, code: str
) -> None:
    adapter = backend.adapter()
    await read(backend, adapter)  # credentials (a Harvest token) are in hand before the fault
    backend.set_faults(FaultProfile(script=[fault], error_statuses=(status or 500,)))
    with pytest.raises(ProviderError) as failed:
        await read(backend, adapter)
    assert failed.value.code == code
    assert_named_and_discreet(failed.value, backend, adapter)
    if fault == "rate_limit":
        assert failed.value.retry_after == 1


@pytest.mark.parametrize("capability", list(Capability))
async def test_an_undeclared_operation_is_refused_never_empty(
    backend: Backend, capability: Capability
) -> None:
    adapter = backend.adapter()
    call = operation(adapter, capability)
    if capability in adapter.capabilities:
        try:
            await call()
        except UnsupportedByProvider:
            pytest.fail(f"{capability} is declared but refused")
        except ProviderError:
            pass  # a declared operation may still refuse this input (say, an empty draft)
        return
    with pytest.raises(UnsupportedByProvider) as refused:
        await call()
    assert refused.value.code == "UNSUPPORTED_BY_PROVIDER"
    assert_named_and_discreet(refused.value, backend, adapter)


FULL_DRAFT = CandidateDraft(
    first_name="Nadia",
    last_name="Okafor",
    emails=(Email("nadia.okafor@example.org", EmailType.WORK), Email("nadia@example.net")),
    urls=(Url("https://nadia.example", UrlType.PERSONAL),),
    skills=("Kotlin", "SQL"),
    external_id="contract-nadia",
    notice_period_days=30,
)


async def test_create_keeps_what_it_can_and_warns_of_the_rest(backend: Backend) -> None:
    adapter = backend.adapter()
    if Capability.CREATE not in adapter.capabilities:
        with pytest.raises(UnsupportedByProvider):
            await adapter.create_candidate(FULL_DRAFT)
        return
    result = await adapter.create_candidate(FULL_DRAFT)
    assert (result.record.first_name, result.record.last_name) == ("Nadia", "Okafor")
    assert result.record.emails[0].value == "nadia.okafor@example.org"
    assert result.warnings, "every provider drops part of this draft, and must say so"
    assert all(w.code and w.field and w.message for w in result.warnings), result.warnings
    if Capability.GET_MANY in adapter.capabilities:
        stored = await adapter.get_candidates([result.record.remote_id])
        assert [r.remote_id for r in stored] == [result.record.remote_id]


async def test_a_refused_create_is_typed_and_stores_nothing(backend: Backend) -> None:
    adapter = backend.adapter()
    before = set(backend.people())
    with pytest.raises(Rejected) as refused:
        await adapter.create_candidate(CandidateDraft(first_name="Solo"))
    assert refused.value.code == "BAD_USER_INPUT"
    assert refused.value.problems and all(p.code and p.message for p in refused.value.problems)
    assert_named_and_discreet(refused.value, backend, adapter)
    assert set(backend.people()) == before


async def test_update_changes_a_known_candidate_and_names_an_unknown_one(backend: Backend) -> None:
    adapter = backend.adapter()
    someone = sorted(backend.people())[0]
    patch = CandidatePatch(title="Chief Tester")
    if Capability.UPDATE not in adapter.capabilities:
        with pytest.raises(UnsupportedByProvider):
            await adapter.update_candidate(someone, patch)
        return
    result = await adapter.update_candidate(someone, patch)
    assert (result.record.remote_id, result.record.title) == (someone, "Chief Tester")
    for unknown in backend.unknown_ids:
        with pytest.raises(NotFound) as missing:
            await adapter.update_candidate(unknown, patch)
        assert missing.value.code == "NOT_FOUND"
