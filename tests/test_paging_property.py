"""Property: paging the merged listing to its end yields each matching candidate exactly once.

Runs against the real gateway over HTTP in front of the Talynce emulator (`shared_stack`,
read-only); the expected rows are computed from the emulator's own data with the gateway's search
rule (providers.search; masked candidates show no address to match).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.talynce.app import RecordedRequest, TalynceOrg
from providers.model import CandidateRecord, Email
from providers.search import is_address, matches_search
from providers.talynce.adapter import MAX_PAGE
from resolvers.ids import encode_id
from tests.conftest import Stack, make_orgs, running_stack

LIST = """
query($first: Int, $after: String, $search: String, $jobId: ID, $accounts: [ID!]) {
  candidates(first: $first, after: $after, search: $search, jobId: $jobId, accounts: $accounts) {
    edges { cursor node { id remoteId account { id } } }
    pageInfo { hasNextPage endCursor }
    totalCount
    sources { account { id } status totalCount }
  }
}
"""

MAX_PAGES = 15  # keeps an example to a few hundred ms; small pages get small result sets

Row = tuple[str, str]  # (account id, remote id)


@dataclass(frozen=True)
class Filters:
    search: str | None
    job: tuple[str, str] | None  # (account id, job remote id)
    accounts: list[str] | None

    def variables(self) -> dict[str, Any]:
        job_id = encode_id("Job", *self.job) if self.job else None
        return {"search": self.search, "jobId": job_id, "accounts": self.accounts}


def matches(org: TalynceOrg, candidate_id: str, filters: Filters) -> bool:
    candidate = org.candidates[candidate_id]
    shown = () if candidate.talent_pool_status == "masked" else (Email(candidate.email),)
    person = CandidateRecord(candidate.id, full_name=candidate.full_name, emails=shown)
    if filters.search and not matches_search(person, filters.search):
        return False
    if filters.job is not None:
        return any(a.job_id == filters.job[1] for a in candidate.applications)
    return True


def expected_by_account(stack: Stack, filters: Filters) -> list[list[Row]]:
    """Each account's matches in the emulator's list order, accounts in configuration order."""
    names = [n for n in stack.orgs if filters.accounts is None or n in filters.accounts]
    if filters.job is not None:
        names = [name for name in names if name == filters.job[0]]
    return [
        [
            (name, candidate.id)
            for candidate in stack.orgs[name].ordered_candidates()
            if matches(stack.orgs[name], candidate.id, filters)
        ]
        for name in names
    ]


def expected_rows(stack: Stack, filters: Filters) -> list[Row]:
    return [row for rows in expected_by_account(stack, filters) for row in rows]


def round_robin(queues: list[list[Row]]) -> list[Row]:
    """The documented merge order: one row from each account in turn, skipping those done."""
    out: list[Row] = []
    for depth in range(max(map(len, queues), default=0)):
        out += [queue[depth] for queue in queues if depth < len(queue)]
    return out


def page(stack: Stack, filters: Filters, first: int, after: str | None) -> dict[str, Any]:
    body = stack.graphql(LIST, {**filters.variables(), "first": first, "after": after})
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["candidates"]
    return result


def rows_of(result: dict[str, Any]) -> list[Row]:
    return [(e["node"]["account"]["id"], e["node"]["remoteId"]) for e in result["edges"]]


def recase(text: str, how: str, flips: Sequence[bool]) -> str:
    if how == "upper":
        return text.upper()
    if how == "lower":
        return text.lower()
    if how == "swap":
        return text.swapcase()
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, flips, strict=False))


@st.composite
def searches(draw: st.DrawFn, corpus: Sequence[str]) -> str | None:
    kind = draw(st.sampled_from(["none", "substring", "substring", "substring", "text"]))
    if kind == "none":
        return None
    if kind == "text":
        return draw(st.text(max_size=12))
    source = draw(st.sampled_from(corpus))
    start = draw(st.integers(0, len(source) - 1))
    end = draw(st.integers(start + 1, min(len(source), start + 8)))
    how = draw(st.sampled_from(["keep", "upper", "lower", "swap", "mixed"]))
    flips = draw(st.lists(st.booleans(), min_size=end - start, max_size=end - start))
    pad = draw(st.sampled_from(["", " ", "\t"]))
    return pad + recase(source[start:end], how, flips) + pad


@st.composite
def filter_sets(draw: st.DrawFn, stack: Stack) -> Filters:
    names = list(stack.orgs)
    corpus = sorted(
        {
            text
            for org in stack.orgs.values()
            for c in org.candidates.values()
            for text in (c.full_name, c.email)
        }
    )
    accounts = draw(
        st.none() | st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)
    )
    job = None
    if draw(st.integers(0, 3)) == 0:
        owner = draw(st.sampled_from(names))
        job = (owner, draw(st.sampled_from([j.id for j in stack.orgs[owner].jobs])))
    return Filters(draw(searches(corpus)), job, accounts)


def test_paging_to_the_end_yields_each_match_exactly_once(shared_stack: Stack) -> None:
    # The property runs inside the test so a failure report shows the drawn filters and page
    # sizes, not a repr of the whole stack and its seeded data.
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(filters=filter_sets(shared_stack), data=st.data())
    def pages_cover_every_match_once(filters: Filters, data: st.DataObject) -> None:
        expected = expected_rows(shared_stack, filters)
        smallest = max(1, math.ceil(len(expected) / MAX_PAGES))
        seen: list[Row] = []
        after: str | None = None
        for number in range(MAX_PAGES + 1):
            first = data.draw(st.integers(smallest, 100), label=f"first of page {number}")
            result = page(shared_stack, filters, first, after)
            if number == 0:  # Talynce cannot count whole-address matches: it scans for them
                counted = not is_address(filters.search or "")
                job_elsewhere = (
                    filters.job is not None
                    and filters.accounts is not None
                    and filters.job[0] not in filters.accounts
                )  # no account in scope can match: known to be none, without a scan
                total = len(expected) if counted or job_elsewhere else None
                assert result["totalCount"] == total
            assert len(result["edges"]) <= first
            seen += rows_of(result)
            if not result["pageInfo"]["hasNextPage"]:
                break
            after = result["pageInfo"]["endCursor"]
            assert after is not None, "hasNextPage without an endCursor"
        else:
            raise AssertionError(f"more than {MAX_PAGES + 1} pages of at least {smallest} rows")
        duplicates = [row for row, count in Counter(seen).items() if count > 1]
        assert duplicates == []
        assert sorted(seen) == sorted(expected)
        # and in the documented order, whatever the page sizes were
        assert seen == round_robin(expected_by_account(shared_stack, filters))

    pages_cover_every_match_once()


def test_a_job_outside_the_chosen_accounts_lists_nothing_and_counts_zero(
    shared_stack: Stack,
) -> None:
    job = shared_stack.orgs["acme"].jobs[0].id
    result = page(shared_stack, Filters(None, ("acme", job), ["globex", "initech"]), 10, None)
    assert result["edges"] == []
    assert result["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert result["totalCount"] == 0


def list_calls(stack: Stack) -> list[RecordedRequest]:
    return [r for r in stack.calls() if r.path == "/api/v1/candidates" and r.method == "GET"]


@pytest.fixture(scope="module")
def unread_ahead() -> Iterator[Stack]:
    """A gateway with `read_ahead = false`: every page asks the accounts for their share."""
    with running_stack(make_orgs(), read_ahead=False) as unread:
        yield unread


@pytest.mark.parametrize(
    ("accounts", "rows"),
    [
        (None, 237),  # acme 100, globex 100, initech 37: one Talynce page each
        (["acme", "initech"], 137),
    ],
)
def test_paging_by_7_reads_each_account_once_in_talynce_page_size(
    stack: Stack, accounts: list[str] | None, rows: int
) -> None:
    """Read-ahead (the default): the first page asks each chosen account once, for Talynce's
    maximum page (100) from the start; every account's rows fit in it, so every later page is
    served from the kept rows with no upstream call, each row once, in the merge's order."""
    names = {org.name: name for name, org in stack.orgs.items()}
    filters = Filters(None, None, accounts)
    calls_per_page: list[list[tuple[str, str, str]]] = []
    seen: list[Row] = []
    sizes: list[int] = []
    after: str | None = None
    while True:
        before = len(list_calls(stack))
        result = page(stack, filters, 7, after)
        calls_per_page.append(
            sorted(
                (names[str(c.org)], c.query["offset"], c.query["limit"])
                for c in list_calls(stack)[before:]
            )
        )
        rows_here = rows_of(result)
        sizes.append(len(rows_here))
        seen += rows_here
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    chosen = sorted(accounts or names.values())
    assert calls_per_page[0] == [(name, "0", str(MAX_PAGE)) for name in chosen]
    assert calls_per_page[1:] == [[]] * (len(calls_per_page) - 1)
    assert len(sizes) == math.ceil(rows / 7)
    assert all(size == 7 for size in sizes[:-1]), sizes
    assert seen == round_robin(expected_by_account(stack, filters))
    assert len(seen) == len(set(seen)) == rows


@pytest.mark.parametrize(
    ("accounts", "rows", "top_ups"),
    [
        # 237 rows, first=7: 16 pages over three accounts (share 3), then 18 over two (share 4).
        # No top-up is ever needed: when initech runs out (2 rows at offset 35) the others' share
        # surplus fills the page (2 + 3 + 3 >= 7), and on the last page nobody has rows left.
        (None, 237, 0),
        # acme + initech, share 4: initech's last 2 rows + acme's 4 leave the page one short, so
        # acme is asked once more, for 1 row, on exactly that page.
        (["acme", "initech"], 137, 1),
    ],
)
def test_without_read_ahead_paging_by_7_costs_one_call_per_account_with_rows_left(
    unread_ahead: Stack, accounts: list[str] | None, rows: int, top_ups: int
) -> None:
    """With `read_ahead = false`, each page asks every account that has rows left exactly
    once, for ceil(7 / active).

    A top-up call (a second round) is only allowed on a page where some account's answer ended its
    listing short of its share, and only to accounts that still have rows: at most one extra call
    per account that ran out on that page. Every page but the last is full.
    """
    names = {org.name: name for name, org in unread_ahead.orgs.items()}
    filters = Filters(None, None, accounts)
    totals = Counter(name for name, _ in expected_rows(unread_ahead, filters))
    left = dict(totals)  # rows of each account not handed out yet
    seen: list[Row] = []
    sizes: list[int] = []
    extra_calls = 0
    after: str | None = None
    while True:
        before = len(list_calls(unread_ahead))
        result = page(unread_ahead, filters, 7, after)
        calls = [(names[str(c.org)], c.query) for c in list_calls(unread_ahead)[before:]]
        active = [name for name in totals if left[name] > 0]
        share = math.ceil(7 / len(active))
        first_round, top_up = calls[: len(active)], calls[len(active) :]
        assert sorted(name for name, _ in first_round) == sorted(active), calls
        assert all(int(query["limit"]) == share for _, query in first_round), calls
        ran_out = [
            name
            for name, query in first_round
            if int(query["offset"]) + share > totals[name]  # answered fewer rows than asked
        ]
        if top_up:
            assert ran_out, f"top-up without an account running out: {calls}"
            assert len(top_up) <= len(ran_out) * (len(active) - 1), calls
            assert not {name for name, _ in top_up} & set(ran_out), calls
        extra_calls += len(top_up)
        rows_here = rows_of(result)
        sizes.append(len(rows_here))
        for name, _ in rows_here:
            left[name] -= 1
        seen += rows_here
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == rows
    assert sorted(seen) == sorted(expected_rows(unread_ahead, filters))
    assert all(size == 7 for size in sizes[:-1]), sizes
    assert 1 <= sizes[-1] <= 7
    assert extra_calls == top_ups
