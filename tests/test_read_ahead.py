"""Read-ahead across many accounts: whole provider pages, the rest kept for the next pages.

Every test runs the gateway over HTTP in front of the Talynce emulator with 16 accounts and
counts the list calls that reach it. The minimum a full paging run can cost is each account's
rows in pages of Talynce's maximum (100); without read-ahead every page asks every account.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from redis import Redis

from emulators.faults import FaultProfile
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from providers.rows import Mapper
from providers.talynce import adapter as talynce_adapter
from providers.talynce.adapter import MAX_PAGE
from tests.conftest import Stack, gateway_settings, running_stack
from tests.redis_support import RedisServer, redis_server, unique_prefix
from tests.servers import serve_in_thread
from tests.test_paging_property import Filters, Row, expected_by_account, page, round_robin, rows_of

__all__ = ["redis_server"]  # the fixture, imported so pytest finds it here

ACCOUNTS = 16
ROWS = 130  # two upstream pages of 100 each: the minimum is two calls per account
FIRST = 20
EVERYONE = Filters(None, None, None)

UPDATE = """
mutation($id: ID!, $company: String!) {
  updateCandidate(id: $id, input: {company: $company}) { userErrors { code } }
}
"""


def many_orgs(prefix: str = "org") -> dict[str, TalynceOrg]:
    return {
        f"{prefix}{n:02}": TalynceOrg.seeded(
            f"{prefix}{n:02}", f"key-{prefix}{n:02}-secret", candidates=ROWS, jobs=1, seed=n
        )
        for n in range(ACCOUNTS)
    }


def list_calls(stack: Stack) -> list[str]:
    """The orgs of the candidate list calls that reached the emulator, in order."""
    return [
        str(r.org)
        for r in stack.emulator.requests
        if r.path == "/api/v1/candidates" and r.method == "GET"
    ]


def minimum_calls(stack: Stack) -> int:
    return sum(math.ceil(len(rows) / MAX_PAGE) for rows in expected_by_account(stack, EVERYONE))


def page_through(
    stack: Stack, first: int = FIRST, after: str | None = None, pages: int | None = None
) -> list[Row]:
    """The rows of the pages from `after` to the end, or of the next `pages` pages."""
    seen: list[Row] = []
    while pages is None or pages > 0:
        result = page(stack, EVERYONE, first, after)
        seen += rows_of(result)
        if not result["pageInfo"]["hasNextPage"]:
            return seen
        after = result["pageInfo"]["endCursor"]
        pages = None if pages is None else pages - 1
    return seen


def assert_exactly_once_in_order(stack: Stack, seen: list[Row], whole: bool = True) -> None:
    """`seen` is the merge order's first rows (all of them when `whole`), each once."""
    assert [row for row, n in Counter(seen).items() if n > 1] == []
    expected = round_robin(expected_by_account(stack, EVERYONE))
    assert seen == (expected if whole else expected[: len(seen)])


@pytest.fixture(scope="module")
def ahead() -> Iterator[Stack]:
    """A gateway with the default settings: read-ahead is on."""
    with running_stack(many_orgs()) as stack:
        yield stack


def test_a_full_run_costs_the_minimum() -> None:
    """Each account's two pages are read once: one for the first page, one when its kept
    rows run out. (A TTL past the run: a loaded machine can page slower than the default.)"""
    with running_stack(many_orgs(), read_ahead_ttl=600) as fresh:
        seen = page_through(fresh)
        assert_exactly_once_in_order(fresh, seen)
        assert len(seen) == ACCOUNTS * ROWS
        assert len(list_calls(fresh)) == minimum_calls(fresh) == 2 * ACCOUNTS


def test_kept_rows_are_mapped_when_shown_and_each_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each account's read is 100 rows of which a page shows one or two: mapping them all
    before the page answered cost ~25 µs a row on one core, for every account in scope. Rows
    are mapped as pages show them, and a kept row once, whichever page shows it."""
    mapped: list[str] = []
    original = talynce_adapter.candidate_record

    def counted(raw: Any) -> Any:
        mapped.append(str(raw["id"]))
        return original.read(raw)

    counting = Mapper(f"test.counted.{uuid.uuid4()}", original.readable, counted)
    monkeypatch.setattr(talynce_adapter, "candidate_record", counting)
    with running_stack(many_orgs(), read_ahead_ttl=600) as fresh:
        seen = page(fresh, EVERYONE, FIRST, None)
        assert len(list_calls(fresh)) == ACCOUNTS
        assert FIRST <= len(mapped) <= 2 * FIRST  # of the 1 600 rows read
        rest = page_through(fresh, after=seen["pageInfo"]["endCursor"])
        assert_exactly_once_in_order(fresh, rows_of(seen) + rest)
    assert Counter(Counter(mapped).values()) == {1: ACCOUNTS * ROWS}


def test_without_read_ahead_every_page_asks_every_account() -> None:
    with running_stack(many_orgs(), read_ahead=False) as fresh:
        seen = page_through(fresh, pages=3)
        assert_exactly_once_in_order(fresh, seen, whole=False)
        assert Counter(list_calls(fresh)) == {org.name: 3 for org in fresh.orgs.values()}


def test_the_next_page_is_served_from_kept_rows_with_no_upstream_call(ahead: Stack) -> None:
    first = page(ahead, EVERYONE, FIRST, None)
    before = len(list_calls(ahead))
    second = page(ahead, EVERYONE, FIRST, first["pageInfo"]["endCursor"])
    assert len(list_calls(ahead)) == before
    assert (
        rows_of(first) + rows_of(second)
        == round_robin(expected_by_account(ahead, EVERYONE))[: 2 * FIRST]
    )


def test_a_first_page_is_read_anew_and_shows_a_change_made_at_the_provider(ahead: Stack) -> None:
    """Kept rows serve the cursors a page handed out, never a listing opened anew: a change
    made in the ATS itself (not through the gateway) shows on the next first page."""
    listing = "{ candidates(first: %d) { edges { node { remoteId company account { id } } } } }"
    shown = ahead.graphql(listing % FIRST)["data"]["candidates"]["edges"][0]["node"]
    org = ahead.orgs[shown["account"]["id"]]
    [stored] = [c for c in org.ordered_candidates() if c.id == shown["remoteId"]]
    stored.current_company = "Changed At The Provider"
    before = len(list_calls(ahead))
    again = ahead.graphql(listing % FIRST)["data"]["candidates"]["edges"][0]["node"]
    assert again["company"] == "Changed At The Provider"
    assert len(list_calls(ahead)) == before + ACCOUNTS  # one read per account, as any first page


def test_evicted_pages_are_read_again_and_still_yield_each_row_once() -> None:
    pages = 12
    with running_stack(many_orgs(), read_ahead_max_pages=1) as stack:
        seen = page_through(stack, first=7, pages=pages)
        assert_exactly_once_in_order(stack, seen, whole=False)
        assert len(seen) == 7 * pages
        # only the last account read keeps its page: the others are read again on each page
        assert len(list_calls(stack)) >= pages * (ACCOUNTS - 1)


def test_an_expired_page_is_read_again_skipping_the_rows_shown() -> None:
    ttl = 4.0  # pages 2 and 3 must both fall within it, even on a loaded machine
    with running_stack(many_orgs(), read_ahead_ttl=ttl) as stack:
        first = page(stack, EVERYONE, FIRST, None)
        time.sleep(ttl * 1.5)  # nothing to await: expiry is the passing of time
        before = len(list_calls(stack))
        second = page(stack, EVERYONE, FIRST, first["pageInfo"]["endCursor"])
        reread = list_calls(stack)[before:]
        assert sorted(reread) == sorted(org.name for org in stack.orgs.values())
        third = page(stack, EVERYONE, FIRST, second["pageInfo"]["endCursor"])
        assert len(list_calls(stack)) == before + ACCOUNTS  # read ahead again: kept once more
        seen = rows_of(first) + rows_of(second) + rows_of(third)
        assert_exactly_once_in_order(stack, seen, whole=False)
        assert len(seen) == 3 * FIRST


def test_a_write_to_an_account_drops_its_kept_rows_only(ahead: Stack) -> None:
    first = page(ahead, EVERYONE, FIRST, None)
    target = first["edges"][0]["node"]
    body = ahead.graphql(UPDATE, {"id": target["id"], "company": "Read Ahead Ltd"})
    assert body["data"]["updateCandidate"]["userErrors"] == []
    before = len(list_calls(ahead))
    page(ahead, EVERYONE, FIRST, first["pageInfo"]["endCursor"])
    owner = ahead.orgs[target["account"]["id"]].name
    assert list_calls(ahead)[before:] == [owner]


@contextmanager
def redis_gateways(
    emulator_orgs: dict[str, TalynceOrg],
    configured: list[dict[str, TalynceOrg]],
    redis: RedisServer,
    prefix: str,
) -> Iterator[list[Stack]]:
    """One emulator for `emulator_orgs`; one gateway per entry of `configured` (its accounts),
    each its own app with its own memory, all sharing read-ahead through one Redis under
    `prefix`."""
    emulator = TalynceEmulator(emulator_orgs.values())
    with serve_in_thread(emulator.app) as upstream:
        stacks: list[Stack] = []
        with _served(upstream, configured, redis.url, prefix, emulator, stacks):
            yield stacks


@contextmanager
def _served(
    upstream: str,
    configured: list[dict[str, TalynceOrg]],
    url: str,
    prefix: str,
    emulator: TalynceEmulator,
    stacks: list[Stack],
) -> Iterator[None]:
    if not configured:
        yield
        return
    orgs, rest = configured[0], configured[1:]
    # A TTL past any run here: a loaded machine can page slower than the default 60 s.
    settings: dict[str, Any] = {"store_url": url, "store_prefix": prefix, "read_ahead_ttl": 600}
    app = create_app(gateway_settings(upstream, orgs, **settings))
    with serve_in_thread(app, lifespan="on") as gateway:
        stacks.append(Stack(gateway, emulator, orgs, upstream))
        with _served(upstream, rest, url, prefix, emulator, stacks):
            yield


def shared_pages(redis: RedisServer, prefix: str) -> int:
    """How many read-ahead pages are kept in Redis under `prefix`."""
    with Redis.from_url(redis.url) as client:
        return sum(1 for _ in client.scan_iter(match=f"{prefix}:ahead:*:ahead:*"))


KEPT_AS = 2 * ACCOUNTS  # each first page under the token asked (none) and the one it names ("0")


def wait_for_shared_pages(redis: RedisServer, prefix: str, count: int) -> None:
    """Pages reach Redis after the answer that read them: waits (bounded) until they did."""
    deadline = time.monotonic() + 10
    while shared_pages(redis, prefix) < count:
        assert time.monotonic() < deadline, f"{shared_pages(redis, prefix)} of {count} shared"
        time.sleep(0.01)


def test_two_gateways_share_read_ahead_through_redis(redis_server: RedisServer) -> None:
    orgs, prefix = many_orgs(), unique_prefix()
    with redis_gateways(orgs, [orgs, orgs], redis_server, prefix) as (a, b):
        first = page(a, EVERYONE, FIRST, None)
        assert len(list_calls(a)) == ACCOUNTS
        wait_for_shared_pages(redis_server, prefix, KEPT_AS)
        seen = rows_of(first) + page_through(b, first=50, after=first["pageInfo"]["endCursor"])
        assert_exactly_once_in_order(a, seen)
        assert len(list_calls(a)) == minimum_calls(a) == 2 * ACCOUNTS


def test_kept_rows_of_one_tenant_never_serve_another(redis_server: RedisServer) -> None:
    """Two gateways on one Redis name an account alike but point it at different tenants."""
    mine, theirs = many_orgs("mine"), many_orgs("theirs")
    as_mine = dict(zip(list(mine), theirs.values(), strict=True))  # same ids, other tenants
    with redis_gateways(mine | theirs, [mine, as_mine], redis_server, unique_prefix()) as (a, b):
        page(a, EVERYONE, FIRST, None)
        before = len(list_calls(a))
        shown = rows_of(page(b, EVERYONE, FIRST, None))
        assert sorted(list_calls(b)[before:]) == sorted(org.name for org in theirs.values())
        assert shown == round_robin(expected_by_account(b, EVERYONE))[:FIRST]


def test_a_write_through_one_gateway_drops_the_kept_rows_the_other_decoded(
    redis_server: RedisServer,
) -> None:
    orgs, prefix = many_orgs(), unique_prefix()
    with redis_gateways(orgs, [orgs, orgs], redis_server, prefix) as (a, b):
        first = page(a, EVERYONE, FIRST, None)
        wait_for_shared_pages(redis_server, prefix, KEPT_AS)
        second = page(b, EVERYONE, FIRST, first["pageInfo"]["endCursor"])  # B keeps copies
        target = first["edges"][0]["node"]
        body = a.graphql(UPDATE, {"id": target["id"], "company": "Shared Ahead Ltd"})
        assert body["data"]["updateCandidate"]["userErrors"] == []
        before = len(list_calls(b))
        page(b, EVERYONE, FIRST, second["pageInfo"]["endCursor"])
        assert list_calls(b)[before:] == [orgs[target["account"]["id"]].name]


UNREAD = """query($first: Int, $after: String) { candidates(first: $first, after: $after) {
  edges { node { remoteId account { id } } }
  pageInfo { hasNextPage endCursor }
  sources { account { id } skippedRecords }
} }"""


def listed(stack: Stack, org: str) -> list[str]:
    """The ids of `org`'s candidates in Talynce's listing order, read from the emulator."""
    ids: list[str] = []
    for offset in range(0, ROWS, MAX_PAGE):
        answer = httpx.get(
            f"{stack.upstream}/api/v1/candidates",
            params={"limit": MAX_PAGE, "offset": offset},
            headers={"Authorization": f"Bearer key-{org}-secret"},
        )
        ids += [row["id"] for row in answer.json()["data"]]
    return ids


@pytest.mark.parametrize("read_ahead", [True, False])
def test_unreadable_rows_are_passed_once_and_reported_once(read_ahead: bool) -> None:
    """Rows without an id at the start, middle, end and edge of the provider's pages, some side
    by side: paging yields every other row once in merge order, and each left-out row is
    reported by exactly one page, whether kept pages are sliced or each page asks anew. (The
    merge's turns shift around a left-out row, so each account's order is compared.)"""
    places = {"org03": [0, 5, 6, 99, 100, 129], "org07": [19, 20, 21], "org11": [40]}
    with running_stack(many_orgs(), read_ahead=read_ahead) as fresh:
        order = {org: listed(fresh, org) for org in places}
        bad = {(org, order[org][n]) for org, ns in places.items() for n in ns}
        for org, ns in places.items():
            fresh.orgs[org].faults = FaultProfile(idless=frozenset(order[org][n] for n in ns))

        seen: list[tuple[str, str]] = []
        reported: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        after = None
        while True:
            body = fresh.graphql(UNREAD, {"first": 13, "after": after})
            result = body["data"]["candidates"]
            seen += rows_of(result)
            reported.update({s["account"]["id"]: s["skippedRecords"] for s in result["sources"]})
            errors.update(e["extensions"]["account"] for e in body.get("errors", ()))
            if not result["pageInfo"]["hasNextPage"]:
                break
            after = result["pageInfo"]["endCursor"]
    assert [row for row, n in Counter(seen).items() if n > 1] == []
    assert len(seen) == ACCOUNTS * ROWS - len(bad)
    for account in order:
        assert [r for a, r in seen if a == account] == [
            r for r in order[account] if (account, r) not in bad
        ]
    assert +reported == {org: len(ns) for org, ns in places.items()}
    assert set(errors) == set(places)
