"""The Redis-backed pieces against a real redis-server: each test's clients stand for processes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg
from providers.base import AccountConfig, CandidatePage, CandidateQuery, Position
from providers.errors import UpstreamOutcomeUnknown, UpstreamTimeout
from providers.greenhouse import GreenhouseHarvestAdapter
from providers.model import CandidateRecord
from providers.rows import read_rows
from providers.talynce.adapter import candidate_record as talynce_candidate
from providers.upstream.http import Upstream, build_client
from providers.upstream.resilience import deadline_scope
from providers.upstream.sharing import Sharing
from resolvers.accounts import Accounts, ServedAccount
from resolvers.candidates import FoundCandidate
from resolvers.mutations import WriteOutcome
from resolvers.outcomes import OutcomeCodec
from store.budget import RedisRateBudget
from store.cache import Miss
from store.cache_redis import RedisCacheBackend
from store.idempotency_redis import RedisIdempotencyStore
from store.redis_link import RedisLink, StoreDown, account_scope, connect
from store.tokens import RedisTokenCache
from tests.redis_support import (
    RedisServer,
    free_port,
    redis_server,
    running_redis,
    unique_prefix,
)
from tests.servers import serve_in_thread

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here

ACCOUNT = AccountConfig(
    id="acme", name="Acme", provider="talynce", base_url="http://x", rate_limit=(3, 0.4)
)


class Processes:
    """Links with a prefix in common, each with its own client: what N processes would hold."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = unique_prefix()
        self.links: list[RedisLink] = []

    def link(self, pause: float = 1.0) -> RedisLink:
        link = RedisLink(connect(self.url), self.prefix, pause=pause)
        self.links.append(link)
        return link

    async def aclose(self) -> None:
        for link in self.links:
            await link.aclose()


@asynccontextmanager
async def harvest_in_processes(
    processes: Processes, count: int
) -> AsyncIterator[tuple[GreenhouseEmulator, GreenhouseOrg, list[GreenhouseHarvestAdapter]]]:
    """A seeded Greenhouse org on its emulator, and `count` Harvest adapters of one account as
    that many processes would build them: each with its own Redis link for budget and tokens."""
    org = GreenhouseOrg.seeded(
        "Hogwarts", partner_api_key="pk", client_id="cid", client_secret="csecret", candidates=5
    )
    emulator = GreenhouseEmulator([org])
    with serve_in_thread(emulator.app) as url:
        config = AccountConfig(
            id="gh",
            name="GH",
            provider="greenhouse",
            base_url=f"{url}/v3",
            credentials={"client_id": "cid", "client_secret": "csecret"},
            options={"api": "harvest", "user_id": str(org.users[0].id), "token_url": "/token"},
        )
        adapters = []
        for _ in range(count):
            link = processes.link()
            sharing = Sharing(
                budget=lambda a, link=link: RedisRateBudget(link, a),  # type: ignore[misc]
                tokens=lambda a, link=link: RedisTokenCache(link, a),  # type: ignore[misc]
            )
            adapters.append(GreenhouseHarvestAdapter(config, build_client(config), sharing))
        try:
            yield emulator, org, adapters
        finally:
            for adapter in adapters:
                await adapter.aclose()


@pytest.fixture
async def processes(redis_server: RedisServer) -> AsyncIterator[Processes]:
    shared = Processes(redis_server.url)
    yield shared
    await shared.aclose()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A server of the test's own, which it may stop."""
    with running_redis(password="private-redis-pw-0123") as server:
        yield server


# --- rate budgets -------------------------------------------------------------------------------


async def test_two_processes_together_stay_within_one_budget(processes: Processes) -> None:
    budgets = [RedisRateBudget(processes.link(), ACCOUNT) for _ in range(2)]
    granted: list[float] = []

    async def call(budget: RedisRateBudget) -> None:
        assert await budget.acquire(None) is None
        granted.append(time.monotonic())

    began = time.monotonic()
    await asyncio.gather(*(call(budgets[n % 2]) for n in range(12)))
    limit, window_ms = 3, 400
    # The slots granted, on Redis's clock: when each caller woke adds the machine's scheduling
    # delays, which say nothing of the budget.
    link = processes.links[0]
    sent = link.key("rate", account_scope(ACCOUNT), "sent")
    slots = [score for _, score in await link.client.zrange(sent, 0, -1, withscores=True)]
    assert len(slots) == 12
    assert all(
        later - earlier >= window_ms for earlier, later in zip(slots, slots[limit:], strict=False)
    )
    assert max(granted) - began < 4 * window_ms / 1000  # reservations, not polling: no time is lost


async def test_a_wait_too_long_is_refused_without_spending_a_slot(processes: Processes) -> None:
    account = AccountConfig(id="a", name="A", provider="talynce", base_url="x", rate_limit=(1, 5.0))
    budget = RedisRateBudget(processes.link(), account)
    assert await budget.acquire(0.1) is None
    refused = await budget.acquire(0.1)
    assert refused is not None and 4.5 < refused <= 5.0
    other = RedisRateBudget(processes.link(), account)
    assert 4.5 < (await other.acquire(0.1) or 0) <= 5.0  # the refusal reserved nothing


async def test_a_hold_from_one_process_holds_the_others(processes: Processes) -> None:
    account = AccountConfig(id="a", name="A", provider="talynce", base_url="x")
    first, second = (RedisRateBudget(processes.link(), account) for _ in range(2))
    first.block_for(0.5)  # e.g. the provider answered 429 with Retry-After
    await asyncio.sleep(0.05)
    held = await second.acquire(0.01)
    assert held is not None and 0.3 < held <= 0.5


async def test_budgets_of_two_accounts_are_apart(processes: Processes) -> None:
    other = AccountConfig(id="b", name="B", provider="talynce", base_url="x", rate_limit=(3, 0.4))
    link = processes.link()
    mine, theirs = RedisRateBudget(link, ACCOUNT), RedisRateBudget(link, other)
    for _ in range(3):
        assert await mine.acquire(0) is None
    assert await theirs.acquire(0) is None
    assert await mine.acquire(0) is not None


def test_upstream_takes_the_budget_its_sharing_offers_for_the_account(
    processes: Processes,
) -> None:
    budget = RedisRateBudget(processes.link(), ACCOUNT)
    sharing = Sharing(budget=lambda account: budget, tokens=lambda account: None)  # type: ignore[arg-type,return-value]
    shared = Upstream(ACCOUNT, build_client(ACCOUNT), sharing=sharing)
    alone = Upstream(ACCOUNT, build_client(ACCOUNT))
    assert shared.budget is budget and alone.budget is not budget


# --- idempotency ---------------------------------------------------------------------------------


def live_accounts() -> Accounts:
    return Accounts([ServedAccount(ACCOUNT, provider=object())])  # type: ignore[arg-type]


def stores(processes: Processes, lease: float = 10.0) -> tuple[RedisIdempotencyStore, ...]:
    codec = OutcomeCodec(live_accounts())
    return tuple(RedisIdempotencyStore(processes.link(), codec, 60, lease) for _ in range(2))


async def test_one_claimant_writes_and_the_other_gets_its_outcome(processes: Processes) -> None:
    first, second = stores(processes)
    claims = [asyncio.ensure_future(s.claim("acme\x00k1", "fp")) for s in (first, second)]
    # The owner's claim returns at once; the other waits for the outcome (no fixed sleep: under
    # load on two cores a Redis round trip can take longer than any small pause).
    finished, _ = await asyncio.wait(claims, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0.05)
    done = [c for c in claims if c.done()]
    assert finished
    assert len(done) == 1 and done[0].result().owner
    owner = first if claims[0] in done else second
    accounts = live_accounts()
    outcome = WriteOutcome(
        candidate=FoundCandidate(accounts.require("acme"), CandidateRecord("c-1", first_name="A")),
        created=True,
    )
    await owner.finish("acme\x00k1", outcome)
    waiter = next(c for c in claims if c not in done)
    replay = (await waiter).result
    assert not (await waiter).owner and isinstance(replay, WriteOutcome)
    assert replay.candidate is not None and outcome.candidate is not None
    assert replay.candidate.record == outcome.candidate.record and replay.created
    assert replay.candidate.account.id == "acme"
    assert (await first.claim("acme\x00k1", "other input")).conflict


async def test_a_released_key_can_be_claimed_again(processes: Processes) -> None:
    first, second = stores(processes)
    assert (await first.claim("acme\x00k2", "fp")).owner
    waiting = asyncio.ensure_future(second.claim("acme\x00k2", "fp"))
    await asyncio.sleep(0.05)
    await first.release("acme\x00k2")
    assert (await waiting).owner


async def test_an_unknown_outcome_is_what_every_repeat_gets(processes: Processes) -> None:
    first, second = stores(processes)
    assert (await first.claim("acme\x00k3", "fp")).owner
    await first.finish("acme\x00k3", UpstreamOutcomeUnknown("lost", account="acme"))
    replay = (await second.claim("acme\x00k3", "fp")).result
    assert isinstance(replay, UpstreamOutcomeUnknown) and replay.message == "lost"


async def test_an_owner_that_vanished_leaves_an_unknown_outcome(processes: Processes) -> None:
    first, second = stores(processes, lease=0.2)
    assert (await first.claim("acme\x00k4", "fp")).owner  # and then the process dies
    replay = (await second.claim("acme\x00k4", "fp")).result
    assert isinstance(replay, UpstreamOutcomeUnknown) and replay.account == "acme"


async def test_a_waiter_out_of_time_is_told_so(processes: Processes) -> None:
    first, second = stores(processes)
    assert (await first.claim("acme\x00k5", "fp")).owner
    with deadline_scope(0.15), pytest.raises(UpstreamTimeout):
        await second.claim("acme\x00k5", "fp")


async def test_keys_of_two_accounts_are_apart(processes: Processes) -> None:
    first, second = stores(processes)
    assert (await first.claim("acme\x00same", "fp")).owner
    assert (await second.claim("globex\x00same", "fp")).owner


# --- tokens --------------------------------------------------------------------------------------


async def test_token_cache_keeps_a_token_until_its_refresh_time(processes: Processes) -> None:
    first, second = (RedisTokenCache(processes.link(), ACCOUNT) for _ in range(2))
    assert await first.load() is None
    await first.save("tok-1", 0.3)
    value, seconds = await second.load() or ("", 0.0)
    assert value == "tok-1" and 0.2 < seconds <= 0.3
    assert "tok-1" not in repr(first)
    await asyncio.sleep(0.35)
    assert await second.load() is None


async def test_harvest_processes_share_one_token(processes: Processes) -> None:
    async with harvest_in_processes(processes, 3) as (emulator, _, adapters):
        for adapter in adapters:
            await adapter.list_candidates(CandidateQuery(), Position(), 2)
        assert len(emulator.calls("token")) == 1
        emulator.expire_tokens()  # every process hears 401; one mints, the others reuse it
        await adapters[0].list_candidates(CandidateQuery(), Position(), 2)
        for adapter in adapters[1:]:
            await adapter.list_candidates(CandidateQuery(), Position(), 2)
        assert len(emulator.calls("token")) == 2


# --- response cache ------------------------------------------------------------------------------


async def test_cache_entries_are_shared_and_a_renewal_forgets_them(processes: Processes) -> None:
    first, second = (RedisCacheBackend(processes.link(), 30) for _ in range(2))
    generation = await first.generation("acme:1")
    assert generation is not None and await second.generation("acme:1") == generation
    record = CandidateRecord("c1", company="Initech")
    await first.write("acme:1", generation, "candidate", {"n1": record, "n2": None})
    assert await second.read("acme:1", generation, "candidate", ["n1", "n2", "n3"]) == [
        record,
        None,
        Miss.MISS,
    ]
    assert await second.read("globex:2", generation, "candidate", ["n1"]) == [Miss.MISS]
    await second.renew("acme:1")
    renewed = await first.generation("acme:1")
    assert renewed not in (None, generation)
    assert await first.read("acme:1", renewed or "", "candidate", ["n1"]) == [Miss.MISS]


async def test_generations_asked_together_are_read_with_one_command(
    processes: Processes,
) -> None:
    """A page over 64 accounts asks each account's generation at once: one MGET answers them
    all (64 GETs were a third of the gateway's CPU), each with its own scope's value, and a
    renewal finished before the ask is seen."""
    cache, other = RedisCacheBackend(processes.link(), 30), RedisCacheBackend(processes.link(), 30)
    scopes = [f"org{n}:1" for n in range(64)]
    first = await asyncio.gather(*(cache.generation(scope) for scope in scopes))
    assert None not in first and len(set(first)) == 64
    await other.renew(scopes[7])
    link = processes.links[0]
    before = (await link.client.info("commandstats")).get("cmdstat_mget", {}).get("calls", 0)
    again = await asyncio.gather(*(cache.generation(scope) for scope in scopes))
    stats = await link.client.info("commandstats")
    assert stats["cmdstat_mget"]["calls"] == before + 1
    assert again[7] not in (None, first[7])
    assert again[:7] + again[8:] == first[:7] + first[8:]
    assert await other.generation(scopes[7]) == again[7]


async def test_reads_asked_together_are_one_command(processes: Processes) -> None:
    """The kept pages a page over many accounts reads are asked at once: one MGET answers every
    account's names (one GET each held back the upstream calls behind them), each caller
    getting its own entries in the order it named them."""
    writer, reader = (
        RedisCacheBackend(processes.link(), 30),
        RedisCacheBackend(processes.link(), 30),
    )
    scopes = [f"org{n}:1" for n in range(16)]
    generations = await asyncio.gather(*(writer.generation(scope) for scope in scopes))
    for n, (scope, generation) in enumerate(zip(scopes, generations, strict=True)):
        await writer.write(scope, generation or "", "candidate", {"a": CandidateRecord(f"{n}")})
    link = processes.links[1]
    before = (await link.client.info("commandstats")).get("cmdstat_mget", {}).get("calls", 0)
    found = await asyncio.gather(
        *(
            reader.read(scope, generation or "", "candidate", ["b", "a"])
            for scope, generation in zip(scopes, generations, strict=True)
        )
    )
    stats = await link.client.info("commandstats")
    assert stats["cmdstat_mget"]["calls"] == before + 1
    assert found == [[Miss.MISS, CandidateRecord(f"{n}")] for n in range(16)]


async def test_a_kept_page_with_what_orjson_cannot_write_is_still_shared(
    processes: Processes,
) -> None:
    """Kept pages are written with orjson; a provider's integer past 64 bits is not JSON orjson
    writes, so that page is written by json and read back the same."""
    first, second = (RedisCacheBackend(processes.link(), 30) for _ in range(2))
    rows = [{"id": "c1", "full_name": "Ada Lovelace", "screening_score": 2**70}, {"id": "c2"}]
    records, _ = read_rows(rows, talynce_candidate)
    page = CandidatePage(records, Position("0"), None)
    generation = await first.generation("acme:1") or ""
    await first.write(
        "acme:1",
        generation,
        "ahead",
        {"p": page, "q": dataclasses.replace(page, records=records[1:])},
    )
    [back, rest] = await second.read("acme:1", generation, "ahead", ["p", "q"])
    assert back == page and rest == dataclasses.replace(page, records=records[1:])
    assert isinstance(back, CandidatePage) and back.records[0].custom_fields == {
        "screening_score": 2**70
    }


# --- Redis going away -----------------------------------------------------------------------------


async def test_without_redis_everything_falls_back_and_warns_once(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    link = RedisLink(connect(private_redis.url), unique_prefix(), pause=0.2)
    try:
        budget = RedisRateBudget(link, ACCOUNT)
        cache = RedisCacheBackend(link, 30)
        store = RedisIdempotencyStore(link, OutcomeCodec(live_accounts()), 60, 10)
        tokens = RedisTokenCache(link, ACCOUNT)
        assert await cache.generation("acme:1") is not None
        private_redis.stop()
        caplog.set_level(logging.INFO, "gateway.store")
        for _ in range(3):
            assert await budget.acquire(None) is None
            assert await cache.generation("acme:1") is None  # uncached
            await tokens.save("t", 10)
            assert await tokens.load() is None
        claim = await store.claim("acme\x00k", "fp")
        assert claim.owner
        await store.finish("acme\x00k", UpstreamOutcomeUnknown("lost"))
        replay = (await store.claim("acme\x00k", "fp")).result
        assert isinstance(replay, UpstreamOutcomeUnknown)  # the same process still replays
        await asyncio.sleep(0.25)
        with pytest.raises(StoreDown):
            await link.run(lambda r: r.ping())
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "serving without it" in warnings[0].getMessage()

        private_redis.start()
        await asyncio.sleep(0.25)
        assert await cache.generation("acme:1") is not None
        back = [r.getMessage() for r in caplog.records if "reachable again" in r.getMessage()]
        assert len(back) == 1
        assert all(private_redis.password not in r.getMessage() for r in caplog.records)  # type: ignore[operator]
    finally:
        await link.aclose()


async def test_a_renewal_owed_from_an_outage_is_made_before_the_next_read(
    processes: Processes,
) -> None:
    link = processes.link(pause=0)
    cache = RedisCacheBackend(link, 30)
    before = await cache.generation("acme:1") or ""
    await cache.write("acme:1", before, "candidate", {"n": CandidateRecord("old")})
    reachable, link.client = link.client, connect(f"redis://127.0.0.1:{free_port()}/0")
    await cache.renew("acme:1")  # the write went upstream, but Redis did not hear of it
    assert await cache.generation("acme:1") is None  # so nothing is read from the cache
    await link.client.aclose()
    link.client = reachable
    after = await cache.generation("acme:1")
    assert after not in (None, before)
    assert await cache.read("acme:1", before, "candidate", ["n"]) == [CandidateRecord("old")]


def test_a_generation_asked_on_a_loop_that_stopped_does_not_hold_the_next_loop(
    redis_server: RedisServer,
) -> None:
    """The scopes asked in one turn are read after it: a loop stopped in between leaves its
    batch unread, and a later loop asks afresh instead of waiting on it."""
    link = RedisLink(connect(redis_server.url), unique_prefix())
    cache = RedisCacheBackend(link, 30)

    async def ask_and_stop() -> None:
        asking = asyncio.ensure_future(cache.generation("acme:1"))
        await asyncio.sleep(0)  # asked, not yet read
        asking.cancel()
        asyncio.get_running_loop().stop()

    first = asyncio.new_event_loop()
    stopping = first.create_task(ask_and_stop())
    first.run_forever()
    assert stopping.done()
    first.close()

    async def ask() -> str | None:
        try:
            return await asyncio.wait_for(cache.generation("acme:1"), 5)
        finally:
            await link.aclose()

    assert asyncio.run(ask()) is not None
