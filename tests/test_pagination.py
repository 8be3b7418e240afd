"""Composite cursors and the merged page: unit tests with in-memory providers, plus argument
checks through the real gateway (they must be refused before any upstream call)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.base import (
    AccountConfig,
    CandidatePage,
    CandidateQuery,
    Capability,
    JobPage,
    Position,
    Provider,
)
from providers.errors import UpstreamUnavailable
from providers.model import CandidateRecord, JobRecord
from resolvers.accounts import ServedAccount
from resolvers.candidates import plan
from resolvers.compact import compact_json
from resolvers.errors import BadCursor
from resolvers.ids import encode_id
from resolvers.pagination import AccountState, CursorCodec, MergedPage, fingerprint, merge_page
from tests.conftest import Stack

SECRET = b"unit-test-secret"
FILTERS = fingerprint(search="ada", job=None, accounts=["a", "b"])
CAPABILITIES = frozenset({Capability.LIST, Capability.SEARCH, Capability.FILTER_JOB})


# --- in-memory providers ------------------------------------------------------------------------


@dataclass
class OffsetProvider:
    """Offset paging like Talynce: the token is an offset, `limit` is honoured."""

    rows: Sequence[str]
    name: str = "offset"
    capabilities: frozenset[Capability] = CAPABILITIES
    asked: list[tuple[Position, int]] = field(default_factory=list)

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        self.asked.append((position, limit))
        offset = int(position.token or 0) + position.skip
        end = min(offset + limit, len(self.rows))
        return CandidatePage(
            records=tuple(CandidateRecord(remote_id=r) for r in self.rows[offset:end]),
            position=Position(str(offset)),
            next_token=str(end) if end < len(self.rows) else None,
            total=len(self.rows),
        )


@dataclass
class CursorProvider:
    """Cursor paging like Harvest v3: fixed-size pages whatever `limit` says, no total."""

    rows: Sequence[str]
    page_size: int
    name: str = "cursor"
    capabilities: frozenset[Capability] = CAPABILITIES
    asked: list[tuple[Position, int]] = field(default_factory=list)

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        self.asked.append((position, limit))
        start = int((position.token or "p0")[1:])  # token "pN" names the page starting at row N
        page = self.rows[start : start + self.page_size]
        end = start + len(page)
        return CandidatePage(
            records=tuple(CandidateRecord(remote_id=r) for r in page[position.skip :]),
            position=position,
            next_token=f"p{end}" if end < len(self.rows) else None,
        )


@dataclass
class BrokenProvider:
    name: str = "broken"
    capabilities: frozenset[Capability] = CAPABILITIES
    asked: list[tuple[Position, int]] = field(default_factory=list)

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        self.asked.append((position, limit))
        raise UpstreamUnavailable("down", account="b", provider=self.name)


def rows(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}" for n in range(count)]


def account(account_id: str, provider: object) -> ServedAccount:
    config = AccountConfig(account_id, account_id.title(), "fake", "http://fake.invalid")
    return ServedAccount(config, cast(Provider, provider))


query_for = plan(CandidateQuery())


def ids(page: MergedPage) -> list[str]:
    return [record.remote_id for _, record in page.items]


async def page_through(
    accounts: Sequence[ServedAccount], sizes: Callable[[int], int], codec: CursorCodec
) -> list[list[str]]:
    """Pages to the end, passing each page's end state through an encoded cursor."""
    pages: list[list[str]] = []
    start: dict[str, AccountState] = {}
    turn = 0
    while True:
        first = sizes(len(pages))
        page = await merge_page(accounts, query_for, start, first, turn)
        assert len(page.items) <= first
        pages.append(ids(page))
        if not page.has_next:
            return pages
        assert page.items, "a page with more to come must make progress"
        cursor = codec.encode(FILTERS, page.end_states, page.turn_after(len(page.items)))
        start, turn = codec.decode(cursor, FILTERS)
        assert len(pages) < 1000


def round_robin(queues: Sequence[Sequence[str]]) -> list[str]:
    """The documented order: one row from each account in turn, skipping those that ran out."""
    iterators = [list(queue) for queue in queues]
    out: list[str] = []
    while any(iterators):
        for queue in iterators:
            if queue:
                out.append(queue.pop(0))
    return out


# --- CursorCodec --------------------------------------------------------------------------------

STATES = {
    "a": AccountState(Position("40", 3), 100),
    "b": AccountState(Position(), None),
    "c": AccountState(Position("opaque/token==", 0), 7),
}


def test_cursor_round_trips_positions_totals_and_turn() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(FILTERS, STATES, turn=2)
    assert codec.decode(cursor, FILTERS) == (STATES, 2)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor


def test_cursor_round_trips_accounts_that_are_done() -> None:
    codec = CursorCodec(SECRET)
    states = {**STATES, "d": AccountState(None, 100), "e": AccountState(None, None)}
    decoded, _ = codec.decode(codec.encode(FILTERS, states), FILTERS)
    assert decoded == states
    assert decoded["d"].position is None


def test_cursor_with_a_tampered_payload_byte_is_refused() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(FILTERS, STATES)
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload = raw[:-16].replace(b'"40"', b'"41"')
    assert payload != raw[:-16]
    forged = base64.urlsafe_b64encode(bytes(payload) + bytes(raw[-16:])).rstrip(b"=").decode()
    with pytest.raises(BadCursor) as caught:
        codec.decode(forged, FILTERS)
    assert caught.value.code == "BAD_CURSOR"
    assert caught.value.field == ("after",)


@pytest.mark.parametrize("index", [0, 10, 40, -12])
def test_cursor_with_any_flipped_character_is_refused(index: int) -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(FILTERS, STATES)
    flipped = "B" if cursor[index] != "B" else "C"
    with pytest.raises(BadCursor):
        codec.decode(cursor[:index] + flipped + cursor[index + 1 :], FILTERS)


def test_cursor_signed_with_another_secret_is_refused() -> None:
    cursor = CursorCodec(b"someone-else").encode(FILTERS, STATES)
    with pytest.raises(BadCursor):
        CursorCodec(SECRET).decode(cursor, FILTERS)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "!!!!",
        "é",
        "AAAA",
        "a" * 5,
        base64.urlsafe_b64encode(b"x" * 40).decode(),
        base64.urlsafe_b64encode(b'{"f":"x","a":{},"t":0}' + b"\0" * 16).decode(),
    ],
)
def test_garbage_is_not_a_cursor(garbage: str) -> None:
    with pytest.raises(BadCursor):
        CursorCodec(SECRET).decode(garbage, FILTERS)


def test_cursor_for_other_filters_is_refused_saying_so() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(FILTERS, STATES)
    other = fingerprint(search="bob", job=None, accounts=["a", "b"])
    with pytest.raises(BadCursor) as caught:
        codec.decode(cursor, other)
    message = caught.value.message
    assert "other search, jobId, status, updatedAfter or accounts" in message
    assert caught.value.field == ("after",)


def test_fingerprint_is_stable_and_tells_filters_apart() -> None:
    assert fingerprint(search="a", job=None) == fingerprint(job=None, search="a")
    variants = [
        fingerprint(search=s, job=j, accounts=a)
        for s in (None, "a", "b")
        for j in (None, "job")
        for a in (["a"], ["a", "b"])
    ]
    assert len(set(variants)) == len(variants)


# --- merge_page ---------------------------------------------------------------------------------


async def test_rows_interleave_round_robin_in_account_order() -> None:
    providers = [OffsetProvider(rows(p, 50)) for p in "abc"]
    accounts = [account(p, provider) for p, provider in zip("abc", providers, strict=True)]
    page = await merge_page(accounts, query_for, {}, 7)
    assert ids(page) == ["a0", "b0", "c0", "a1", "b1", "c1", "a2"]
    assert page.turn_after(7) == 1
    second = await merge_page(accounts, query_for, page.end_states, 5, page.turn_after(7))
    assert ids(second) == ["b2", "c2", "a3", "b3", "c3"]
    assert page.total == 150


async def test_each_account_is_asked_for_its_share_of_the_page() -> None:
    providers = [OffsetProvider(rows(p, 50)) for p in "abc"]
    accounts = [account(p, provider) for p, provider in zip("abc", providers, strict=True)]
    await merge_page(accounts, query_for, {}, 10)
    assert [provider.asked for provider in providers] == [[(Position(), 4)]] * 3
    await merge_page(accounts[:2], query_for, {}, 7)
    assert [provider.asked[1:] for provider in providers[:2]] == [[(Position(), 4)]] * 2


async def test_accounts_with_rows_left_top_up_for_one_that_ran_out() -> None:
    short, b, c = (
        OffsetProvider(rows("a", 2)),
        OffsetProvider(rows("b", 50)),
        OffsetProvider(rows("c", 50)),
    )
    accounts = [account("a", short), account("b", b), account("c", c)]
    page = await merge_page(accounts, query_for, {}, 9)
    assert short.asked == [(Position(), 3)]
    assert b.asked == [(Position(), 3), (Position("3"), 1)]
    assert c.asked == [(Position(), 3), (Position("3"), 1)]
    assert ids(page) == ["a0", "b0", "c0", "a1", "b1", "c1", "b2", "c2", "b3"]
    assert page.end_states["a"].position is None
    assert page.end_states["b"] == AccountState(Position("4"), 50)
    assert page.end_states["c"] == AccountState(Position("3", 0), 50)
    assert page.has_next


async def test_accounts_that_are_done_are_not_asked_again() -> None:
    done, b = OffsetProvider(rows("a", 2)), OffsetProvider(rows("b", 50))
    accounts = [account("a", done), account("b", b)]
    start = {"a": AccountState(None, 2), "b": AccountState(Position("10"), 50)}
    page = await merge_page(accounts, query_for, start, 6)
    assert done.asked == []
    assert b.asked == [(Position("10"), 6)]
    assert ids(page) == rows("b", 16)[10:]
    assert page.total == 52


async def test_fixed_size_cursor_pages_resume_mid_page_with_skip() -> None:
    provider = CursorProvider(rows("x", 12), page_size=5)
    accounts = [account("x", provider)]
    page = await merge_page(accounts, query_for, {}, 3)
    assert ids(page) == ["x0", "x1", "x2"]
    assert page.end_states["x"].position == Position(None, 3)
    second = await merge_page(accounts, query_for, page.end_states, 4)
    assert ids(second) == ["x3", "x4", "x5", "x6"]
    assert provider.asked[1:] == [(Position(None, 3), 4), (Position("p5"), 2)]
    assert second.end_states["x"].position == Position("p5", 2)
    third = await merge_page(accounts, query_for, second.end_states, 100)
    assert ids(third) == rows("x", 12)[7:]
    assert not third.has_next


async def test_a_failing_account_keeps_its_place_and_the_others_still_serve() -> None:
    a, broken, c = OffsetProvider(rows("a", 20)), BrokenProvider(), OffsetProvider(rows("c", 20))
    accounts = [account("a", a), account("b", broken), account("c", c)]
    start = {"b": AccountState(Position("5", 2), 30)}
    page = await merge_page(accounts, query_for, start, 6)
    assert ids(page) == ["a0", "c0", "a1", "c1", "a2", "c2"]
    assert broken.asked[0] == (Position("5", 2), 2)
    assert page.end_states["b"] == AccountState(Position("5", 2), 30)
    assert page.end_states["a"] == AccountState(Position("3"), 20)
    failed = next(lane for lane in page.lanes if lane.account.id == "b")
    assert isinstance(failed.error, UpstreamUnavailable)
    assert page.has_next


@dataclass(frozen=True)
class Shape:
    kinds: list[tuple[str, int, int]]  # (kind, rows, page size) per account
    sizes: list[int]


shapes = st.builds(
    Shape,
    kinds=st.lists(
        st.tuples(st.sampled_from(["offset", "cursor"]), st.integers(0, 40), st.integers(1, 9)),
        min_size=1,
        max_size=4,
    ),
    sizes=st.lists(st.integers(1, 25), min_size=1, max_size=6),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes)
async def test_paging_yields_every_row_once_in_round_robin_order(shape: Shape) -> None:
    accounts: list[ServedAccount] = []
    for n, (kind, count, page_size) in enumerate(shape.kinds):
        data = rows(f"{n}-", count)
        provider = OffsetProvider(data) if kind == "offset" else CursorProvider(data, page_size)
        accounts.append(account(f"acct{n}", provider))
    pages = await page_through(
        accounts, lambda n: shape.sizes[n % len(shape.sizes)], CursorCodec(SECRET)
    )
    seen = [row for page in pages for row in page]
    expected = round_robin([rows(f"{n}-", count) for n, (_, count, _) in enumerate(shape.kinds)])
    assert seen == expected


# --- through the gateway: arguments are checked before any upstream call ------------------------

LIST = """
query($first: Int, $after: String, $search: String, $jobId: ID, $accounts: [ID!]) {
  candidates(first: $first, after: $after, search: $search, jobId: $jobId, accounts: $accounts) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { remoteId } }
  }
}
"""


def refused(stack: Stack, **variables: Any) -> str:
    """The error code of a listing that must fail before the gateway calls any upstream."""
    before = len(stack.emulator.requests)
    body = stack.graphql(LIST, variables)
    assert len(stack.emulator.requests) == before
    assert body["data"] is None
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def end_cursor(stack: Stack, **variables: Any) -> str:
    body = stack.graphql(LIST, variables)
    assert "errors" not in body, body
    cursor: str = body["data"]["candidates"]["pageInfo"]["endCursor"]
    return cursor


@pytest.mark.parametrize("first", [0, -1, 101])
def test_first_outside_1_to_100_is_bad_user_input(shared_stack: Stack, first: int) -> None:
    assert refused(shared_stack, first=first) == "BAD_USER_INPUT"


def test_first_of_100_is_served(shared_stack: Stack) -> None:
    body = shared_stack.graphql(LIST, {"first": 100})
    assert len(body["data"]["candidates"]["edges"]) == 100


def test_a_cursor_reused_with_another_search_is_bad_cursor(shared_stack: Stack) -> None:
    cursor = end_cursor(shared_stack, search="a", first=3)
    assert refused(shared_stack, search="b", first=3, after=cursor) == "BAD_CURSOR"
    assert refused(shared_stack, first=3, after=cursor) == "BAD_CURSOR"
    assert refused(shared_stack, search="a", accounts=["acme"], after=cursor) == "BAD_CURSOR"


def test_a_tampered_cursor_is_bad_cursor(shared_stack: Stack) -> None:
    cursor = end_cursor(shared_stack, first=3)
    middle = len(cursor) // 2
    tampered = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    assert refused(shared_stack, first=3, after=tampered) == "BAD_CURSOR"
    assert refused(shared_stack, first=3, after="garbage") == "BAD_CURSOR"


def test_an_unknown_account_is_not_found(shared_stack: Stack) -> None:
    assert refused(shared_stack, accounts=["nope"]) == "NOT_FOUND"
    assert refused(shared_stack, accounts=["acme", "nope"]) == "NOT_FOUND"


@pytest.mark.parametrize(
    "job_id",
    [
        "not-an-id",
        "",
        encode_id("Candidate", "acme", "x"),
        base64.urlsafe_b64encode(b'["Job","acme"]').decode(),
    ],
)
def test_a_malformed_job_id_is_bad_user_input(shared_stack: Stack, job_id: str) -> None:
    assert refused(shared_stack, jobId=job_id) == "BAD_USER_INPUT"


NODE = "query($id: ID!) { node(id: $id) { id } }"


def node_error(stack: Stack, global_id: str) -> str | None:
    """The error code `node(id:)` answers `global_id` with, having called no upstream."""
    before = len(stack.emulator.requests)
    body = stack.graphql(NODE, {"id": global_id})
    assert len(stack.emulator.requests) == before, body
    assert body["data"] == {"node": None}
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def test_only_the_issued_spelling_of_an_id_finds_its_node(shared_stack: Stack) -> None:
    """Base64 skips what is not in its alphabet and takes padding, JSON takes spaces: each
    respelling would find the node and answer with an ID other than the one asked for."""
    body = shared_stack.graphql("{ candidates(first: 1) { edges { node { id } } } }")
    global_id = body["data"]["candidates"]["edges"][0]["node"]["id"]
    assert shared_stack.graphql(NODE, {"id": global_id})["data"]["node"]["id"] == global_id
    account, remote_id = json.loads(base64.urlsafe_b64decode(global_id + "==="))[1:]
    spaced = json.dumps(["Candidate", account, remote_id]).encode()
    for respelled in (
        global_id + "=",
        global_id[:4] + "!" + global_id[4:],
        global_id[:4] + "\n" + global_id[4:],
        base64.urlsafe_b64encode(spaced).decode(),
    ):
        assert node_error(shared_stack, respelled) == "BAD_USER_INPUT", respelled


def test_an_id_naming_no_unicode_text_is_bad_user_input(shared_stack: Stack) -> None:
    """A JSON escape decodes to a lone surrogate, which no upstream URL can carry."""
    forged = base64.urlsafe_b64encode(b'["Candidate","acme","\\ud800"]').rstrip(b"=").decode()
    assert node_error(shared_stack, forged) == "BAD_USER_INPUT"


@dataclass
class FilteringCursorProvider:
    """Like a provider that filters after paging: some pages come back empty with a next token."""

    pages: Sequence[Sequence[str]]
    name: str = "sparse"
    capabilities: frozenset[Capability] = CAPABILITIES

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        index = int(position.token or 0)
        page = self.pages[index]
        return CandidatePage(
            records=tuple(CandidateRecord(remote_id=r) for r in page[position.skip :]),
            position=position,
            next_token=str(index + 1) if index + 1 < len(self.pages) else None,
        )


async def test_empty_upstream_pages_still_move_the_cursor_forward() -> None:
    sparse = account("s", FilteringCursorProvider([[], [], ["s0"], [], ["s1", "s2"]]))
    codec = CursorCodec(b"k")
    start: dict[str, AccountState] = {}
    seen: list[str] = []
    positions = []
    for _ in range(20):
        page = await merge_page([sparse], query_for, start, 2)
        seen += ids(page)
        if not page.has_next:
            break
        cursor = codec.encode(FILTERS, page.end_states, page.turn_after(len(page.items)))
        start, _ = codec.decode(cursor, FILTERS)
        positions.append(start["s"].position)
    assert seen == ["s0", "s1", "s2"]
    assert len(positions) == len(set(positions)), "every page must move the position on"


# Mostly ASCII (control characters, DEL, quotes, backslashes), where the fast encoder answers.
TOKEN_TEXT = st.text(st.characters(max_codepoint=0x7F)) | st.text(
    st.sampled_from("a\x7f\x80é\u2028")
)
TOKEN_VALUES = st.recursive(
    st.none() | st.integers(min_value=-(2**70), max_value=2**70) | TOKEN_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TOKEN_TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(TOKEN_VALUES)
@settings(max_examples=600)
def test_ids_and_cursors_keep_the_bytes_of_the_standard_encoder(value: Any) -> None:
    """An ID a client stored must come back the same: the fast encoder may not change a byte."""
    assert compact_json(value) == json.dumps(value, separators=(",", ":")).encode()


@given(st.text(min_size=1), st.text(min_size=1))
def test_a_global_id_is_the_base64_of_its_standard_json(account: str, remote_id: str) -> None:
    raw = json.dumps(["Candidate", account, remote_id], separators=(",", ":")).encode()
    expected = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert encode_id("Candidate", account, remote_id) == expected


async def test_the_total_is_exact_or_none() -> None:
    """Summing only the accounts that report a total under-counts the rows paging yields."""
    counted = [
        account("a", OffsetProvider(rows("a", 5))),
        account("c", OffsetProvider(rows("c", 3))),
    ]
    page = await merge_page(counted, query_for, {}, 4)
    assert page.total == 8
    mixed = [*counted, account("b", CursorProvider(rows("b", 4), page_size=2))]
    assert (await merge_page(mixed, query_for, {}, 4)).total is None
    assert (await merge_page([], query_for, {}, 4)).total == 0


async def test_the_merge_pages_jobs_through_the_same_code() -> None:
    """One merge for every record type: a plan that lists jobs pages them like candidates."""
    jobs = {
        name: [JobRecord(remote_id=f"{name}{n}") for n in range(count)]
        for name, count in (("a", 3), ("b", 5))
    }

    def plan(served: ServedAccount) -> Any:
        async def list_page(position: Position, limit: int) -> JobPage:
            offset = int(position.token or 0) + position.skip
            records = jobs[served.id][offset : offset + limit]
            end = offset + len(records)
            following = str(end) if end < len(jobs[served.id]) else None
            return JobPage(tuple(records), Position(str(offset)), following, len(jobs[served.id]))

        return list_page

    accounts = [account("a", object()), account("b", object())]
    seen: list[str] = []
    states: dict[str, AccountState] = {}
    turn = 0
    for _ in range(10):
        page = await merge_page(accounts, plan, states, 2, turn)
        seen += [record.remote_id for _, record in page.items]
        if not page.has_next:
            break
        states, turn = page.end_states, page.turn_after(len(page.items))
    assert seen == ["a0", "b0", "a1", "b1", "a2", "b2", "b3", "b4"]
    assert page.total == 8
