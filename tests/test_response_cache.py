"""The response cache in front of an adapter: hits, single flight, scopes and invalidation."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from providers.base import CandidatePage, CandidateQuery, Capability, Position
from providers.errors import UpstreamOutcomeUnknown
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    WriteResult,
)
from resolvers.cache import CachedProvider
from store.cache import MemoryCacheBackend
from store.single_flight import SingleFlight
from tests.conftest import make_orgs, running_stack


class Counting:
    """A provider that counts its calls and answers after a short, adjustable pause."""

    name = "fake"
    capabilities = frozenset(Capability)

    def __init__(self, label: str = "x", pause: float = 0.0) -> None:
        self.label = label
        self.pause = pause
        self.calls: Counter[str] = Counter()
        self.fail_writes: Exception | None = None

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        self.calls["list"] += 1
        await asyncio.sleep(self.pause)
        records = tuple(CandidateRecord(f"{self.label}{n}") for n in range(limit))
        return CandidatePage(records, position, None, limit)

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        self.calls["get"] += 1
        self.calls["get_ids"] += len(remote_ids)
        await asyncio.sleep(self.pause)
        return [CandidateRecord(i, company=self.label) for i in remote_ids if i != "gone"]

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        self.calls["apps"] += 1
        return {
            i: [ApplicationRecord(f"a-{i}", i, None, ApplicationStatus.ACTIVE)]
            for i in remote_ids
            if i != "none"
        }

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult:
        self.calls["create"] += 1
        if self.fail_writes is not None:
            raise self.fail_writes
        return WriteResult(CandidateRecord("new"), created=True)

    async def update_candidate(self, remote_id: str, patch: CandidatePatch) -> WriteResult:
        self.calls["update"] += 1
        return WriteResult(CandidateRecord(remote_id, company="changed"))

    async def aclose(self) -> None:
        self.calls["close"] += 1


def cached(
    inner: Counting, backend: MemoryCacheBackend, scope: str = "acme:1", **kwargs: Any
) -> CachedProvider:
    return CachedProvider(inner, scope, backend, **kwargs)  # type: ignore[arg-type]


async def test_a_repeated_read_is_served_from_the_cache_and_counted() -> None:
    inner, seen = Counting(), Counter[tuple[str, str]]()
    provider = cached(
        inner, MemoryCacheBackend(30), lookup=lambda op, outcome: seen.update([(op, outcome)])
    )
    first = await provider.list_candidates(CandidateQuery("x"), Position(), 3)
    assert await provider.list_candidates(CandidateQuery("x"), Position(), 3) == first
    await provider.list_candidates(CandidateQuery("y"), Position(), 3)  # other arguments
    await provider.list_candidates(CandidateQuery("x"), Position(None, 1), 3)
    assert inner.calls["list"] == 3
    assert seen == {("list_candidates", "miss"): 3, ("list_candidates", "hit"): 1}


async def test_lookups_by_id_share_entries_across_batches_and_remember_absence() -> None:
    inner = Counting()
    provider = cached(inner, MemoryCacheBackend(30))
    assert [r.remote_id for r in await provider.get_candidates(["1", "2", "gone"])] == ["1", "2"]
    found = await provider.get_candidates(["2", "3", "gone", "2"])
    assert sorted(r.remote_id for r in found) == ["2", "3"]
    assert inner.calls["get_ids"] == 4  # 1, 2, gone; then only 3
    apps = await provider.applications_for(["1", "none"])
    again = await provider.applications_for(["1", "none"])
    assert (
        apps
        == again
        == {"1": [ApplicationRecord("a-1", "1", None, ApplicationStatus.ACTIVE)], "none": []}
    )
    assert inner.calls["apps"] == 1


async def test_concurrent_identical_reads_make_one_upstream_call() -> None:
    inner, seen = Counting(pause=0.05), Counter[str]()
    provider = cached(
        inner, MemoryCacheBackend(30), lookup=lambda op, outcome: seen.update([outcome])
    )
    pages = await asyncio.gather(
        *(provider.list_candidates(CandidateQuery(), Position(), 5) for _ in range(10))
    )
    assert inner.calls["list"] == 1 and all(p == pages[0] for p in pages)
    assert seen == {"miss": 1, "coalesced": 9}
    await asyncio.gather(*(provider.get_candidates(["7", "8"]) for _ in range(5)))
    assert inner.calls["get"] == 1


async def test_accounts_never_read_each_others_entries() -> None:
    backend = MemoryCacheBackend(30)
    acme, globex = Counting("acme"), Counting("globex")
    a, g = cached(acme, backend, "acme:1"), cached(globex, backend, "globex:2")
    assert (await a.get_candidates(["1"]))[0].company == "acme"
    assert (await g.get_candidates(["1"]))[0].company == "globex"
    assert (await g.list_candidates(CandidateQuery(), Position(), 2)).records[
        0
    ].remote_id == "globex0"
    assert (await a.list_candidates(CandidateQuery(), Position(), 2)).records[
        0
    ].remote_id == "acme0"
    assert acme.calls["get"] == globex.calls["get"] == 1


async def test_a_write_through_the_gateway_forgets_that_accounts_reads_only() -> None:
    backend = MemoryCacheBackend(30)
    acme, globex = Counting("acme"), Counting("globex")
    a, g = cached(acme, backend, "acme:1"), cached(globex, backend, "globex:2")
    for provider in (a, g):
        await provider.get_candidates(["1"])
        await provider.list_candidates(CandidateQuery(), Position(), 2)
    await a.update_candidate("1", CandidatePatch(company="changed"))
    for provider in (a, g):
        await provider.get_candidates(["1"])
        await provider.list_candidates(CandidateQuery(), Position(), 2)
    assert (acme.calls["get"], acme.calls["list"]) == (2, 2)
    assert (globex.calls["get"], globex.calls["list"]) == (1, 1)
    await a.create_candidate(CandidateDraft(first_name="N"))
    await a.get_candidates(["1"])
    assert acme.calls["get"] == 3


async def test_a_write_with_an_unknown_outcome_forgets_too() -> None:
    inner = Counting()
    provider = cached(inner, MemoryCacheBackend(30))
    await provider.get_candidates(["1"])
    inner.fail_writes = UpstreamOutcomeUnknown("lost")
    with pytest.raises(UpstreamOutcomeUnknown):
        await provider.create_candidate(CandidateDraft(first_name="N"))
    await provider.get_candidates(["1"])
    assert inner.calls["get"] == 2


async def test_entries_expire_and_the_memory_backend_stays_bounded() -> None:
    inner = Counting()
    provider = cached(inner, MemoryCacheBackend(0.05, max_entries=3))
    await provider.get_candidates(["1"])
    await asyncio.sleep(0.08)
    await provider.get_candidates(["1"])
    assert inner.calls["get"] == 2
    await provider.get_candidates(["a", "b", "c", "d"])
    assert len(provider._backend._entries) == 3  # type: ignore[attr-defined]


async def test_a_shared_call_survives_its_first_caller_giving_up() -> None:
    flights = SingleFlight()
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(0.05)
        return "done"

    first = asyncio.ensure_future(flights.run("k", slow))
    await started.wait()
    second = asyncio.ensure_future(flights.run("k", slow))
    first.cancel()
    assert await second == "done"
    assert "k" not in flights


async def test_failures_reach_every_waiter_and_are_not_cached() -> None:
    inner = Counting(pause=0.02)
    provider = cached(inner, MemoryCacheBackend(30))

    async def boom(query: CandidateQuery, position: Position, limit: int) -> CandidatePage:
        inner.calls["list"] += 1
        await asyncio.sleep(0.02)
        raise RuntimeError("upstream broke")

    inner.list_candidates = boom  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(provider.list_candidates(CandidateQuery(), Position(), 1) for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, RuntimeError) for r in results) and inner.calls["list"] == 1
    await asyncio.gather(
        provider.list_candidates(CandidateQuery(), Position(), 1), return_exceptions=True
    )
    assert inner.calls["list"] == 2


LIST = '{ candidates(first: 4, accounts: ["acme"]) { edges { node { id company } } } }'


def test_the_gateway_caches_in_memory_without_redis() -> None:
    """`read_ahead = false`: its subject is the response cache's own list lookups, which
    read-ahead (in front of the cache) would answer before the cache is asked."""
    with running_stack(make_orgs(), cache_ttl=30.0, read_ahead=False) as stack:
        first = stack.graphql(LIST)
        assert stack.graphql(LIST) == first
        assert len([c for c in stack.calls("acme") if c.method == "GET"]) == 1
        metrics = httpx.get(f"{stack.url}/metrics").text
        assert (
            'gateway_cache_lookups_total{account="acme",operation="list_candidates",outcome="hit"} 1.0'
            in metrics
        )
        node = first["data"]["candidates"]["edges"][0]["node"]
        changed = stack.graphql(
            'mutation($id: ID!) { updateCandidate(id: $id, input: {company: "Cached Co"}) { userErrors { code } } }',
            {"id": node["id"]},
        )
        assert changed["data"]["updateCandidate"]["userErrors"] == []
        fresh = stack.graphql(LIST)
        assert fresh["data"]["candidates"]["edges"][0]["node"]["company"] == "Cached Co"
