"""Merged paging across accounts: composite cursors and the fan-out that fills one page.

Generic over the record type (`Page[R]`): candidates and jobs page through this one merge, one
cursor codec and one per-account `sources` report; a listing differs only in how it asks an
account for a page (`Plan`).

Order: a fair interleave in account order, one row from each account in turn; the cursor keeps
whose turn is next, so the order is the same whatever page sizes a client uses.
Each account is asked for about its share of the page, and accounts that still have rows top up
for those that ran out, so a page costs one list call per account in the common case. A cursor
holds every account's own position (provider token plus rows already used from that page), so
paging to the end yields each row exactly once whatever the page sizes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import enum
import hashlib
import hmac
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic

from providers.base import Capability, Page, Position, R
from providers.errors import ProviderError, UnsupportedByProvider
from providers.upstream.resilience import remaining
from resolvers.accounts import ServedAccount
from resolvers.compact import compact_json
from resolvers.errors import BadCursor, contain

__all__ = [
    "AccountState",
    "CursorCodec",
    "Fetch",
    "Lane",
    "Listing",
    "MergedPage",
    "Plan",
    "SourceResult",
    "SourceState",
    "fingerprint",
    "merge_page",
    "unsupported",
]

MAX_ROUNDS = 8
START = Position()

Fetch = Callable[[Position, int], Awaitable[Page[R]]]
"""One account's list call for one listing: `(position, limit)` → a page."""
Plan = Callable[[ServedAccount], Fetch[R] | ProviderError]
"""How a listing asks each account: its list call, or why the account cannot serve it."""


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account's place in a listing; `position` None means it has no rows left."""

    position: Position | None = START
    total: int | None = None


def fingerprint(**filters: object) -> str:
    """A short digest of the filters a cursor was made for, so it cannot serve other ones."""
    raw = json.dumps(filters, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class CursorCodec:
    """Signs cursors so a tampered or forged one is refused rather than followed.

    The tag is keyed BLAKE2b (RFC 7693's MAC mode), 16 bytes, checked in constant time. A page
    signs a cursor per edge; keyed BLAKE2b is one pass over the payload from a state keyed once,
    where HMAC-SHA256 was two hashes and a fresh key schedule per cursor (~1 µs against ~4.5).
    A secret longer than BLAKE2b's 64-byte key is hashed down to one.
    """

    def __init__(self, secret: bytes) -> None:
        key = secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()
        self._keyed = hashlib.blake2b(key=key, digest_size=16)

    def _sign(self, payload: bytes) -> bytes:
        tag = self._keyed.copy()
        tag.update(payload)
        return tag.digest()

    def encode(self, filters: str, states: Mapping[str, AccountState], turn: int = 0) -> str:
        accounts = {
            account_id: (
                [None, 0, 1, state.total]
                if state.position is None
                else [state.position.token, state.position.skip, 0, state.total]
            )
            for account_id, state in states.items()
        }
        payload = compact_json({"f": filters, "a": accounts, "t": turn})
        token = base64.urlsafe_b64encode(payload + self._sign(payload))
        return token.rstrip(b"=").decode()

    def decode(self, cursor: str, filters: str) -> tuple[dict[str, AccountState], int]:
        """The accounts' positions and whose turn is next, as `encode` was given them."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise BadCursor("after is not a cursor this gateway issued", field=("after",)) from None
        payload, signature = raw[:-16], raw[-16:]
        if len(raw) <= 16 or not hmac.compare_digest(signature, self._sign(payload)):
            raise BadCursor("after is not a cursor this gateway issued", field=("after",))
        data = json.loads(payload)
        if data.get("f") != filters:
            raise BadCursor(
                "after was issued for another listing or other search, jobId, status, "
                "updatedAfter or accounts arguments; start again without it",
                field=("after",),
            )
        states = {}
        for account_id, (token, skip, done, total) in data["a"].items():
            position = None if done else Position(token, skip)
            states[account_id] = AccountState(position, total)
        return states, int(data.get("t", 0))


@dataclass(eq=False)
class Lane(Generic[R]):
    """One account's part of a page: what it was asked, what it answered, how it went."""

    account: ServedAccount
    start: AccountState
    list_page: Fetch[R]
    pages: list[Page[R]] = field(default_factory=list)
    next_fetch: Position | None = None
    total: int | None = None
    error: ProviderError | None = None
    latency_ms: float | None = None
    calls: int = 0
    filtered_locally: bool = False
    request_id: str = "-"

    def __post_init__(self) -> None:
        self.next_fetch = self.start.position
        self.total = self.start.total

    @property
    def buffered(self) -> int:
        return sum(len(page.records) for page in self.pages)

    @property
    def can_fetch(self) -> bool:
        return self.next_fetch is not None and self.error is None

    async def fetch(self, limit: int) -> None:
        assert self.next_fetch is not None
        began = time.perf_counter()
        try:
            page = await self.list_page(self.next_fetch, limit)
            # Rows read ahead are mapped as they are first read (providers.rows.LazyRecords):
            # read them here, where whatever a mapping raises is this account's failure alone.
            collections.deque(page.records, maxlen=0)
        except Exception as error:  # any failure is this account's alone; cancellation is not
            account = self.account
            self.error = contain(
                error,
                account=account.id,
                provider=account.provider_name,
                request_id=self.request_id,
            )
            return
        finally:
            self.calls += 1
            spent = (time.perf_counter() - began) * 1000
            self.latency_ms = (self.latency_ms or 0.0) + spent
        self.pages.append(page)
        self.filtered_locally = self.filtered_locally or page.filtered_locally
        if page.total is not None:
            self.total = page.total
        self.next_fetch = page.resume_at(len(page.records))

    def skipped_within(self, consumed: int) -> int:
        """The provider's unreadable rows passed once `consumed` fetched rows are handed out."""
        skipped = 0
        for page in self.pages:
            skipped += page.skipped_within(consumed)
            if consumed < len(page.records):
                break
            consumed -= len(page.records)
        return skipped

    def state_after(self, consumed: int) -> AccountState:
        """This account's place once `consumed` of the rows it fetched were handed out."""
        if not self.pages:
            return AccountState(self.start.position, self.total)
        for page in self.pages:
            if consumed < len(page.records):
                return AccountState(page.resume_at(consumed), self.total)
            consumed -= len(page.records)
        last = self.pages[-1]
        return AccountState(last.resume_at(len(last.records)), self.total)


@dataclass
class MergedPage(Generic[R]):
    lanes: list[Lane[R]]
    skipped: list[tuple[ServedAccount, ProviderError]]
    items: list[tuple[Lane[R], R]]
    turn: int = 0

    def turn_after(self, count: int) -> int:
        """Whose turn is next once the first `count` items were handed out."""
        if count == 0:
            return self.turn
        lane = self.items[count - 1][0]
        return (self.lanes.index(lane) + 1) % len(self.lanes)

    def unreadable(self, lane: Lane[R]) -> int:
        """How many unreadable rows of `lane`'s account this page passes over."""
        return lane.skipped_within(sum(1 for owner, _ in self.items if owner is lane))

    def states_after(self, count: int) -> dict[str, AccountState]:
        """Every account's place once the first `count` items of this page were handed out."""
        used: dict[int, int] = {}
        for lane, _ in self.items[:count]:
            used[id(lane)] = used.get(id(lane), 0) + 1
        return {lane.account.id: lane.state_after(used.get(id(lane), 0)) for lane in self.lanes}

    def steps(self) -> Iterator[tuple[dict[str, AccountState], int]]:
        """`(states_after(n), turn_after(n))` for n = 1, 2, … len(items), in one pass: every
        edge of a page carries a cursor, and computing each from scratch would be quadratic."""
        lanes = {id(lane): n for n, lane in enumerate(self.lanes)}
        used = dict.fromkeys(lanes, 0)
        states = {lane.account.id: lane.state_after(0) for lane in self.lanes}
        for lane, _ in self.items:
            used[id(lane)] += 1
            states[lane.account.id] = lane.state_after(used[id(lane)])
            yield dict(states), (lanes[id(lane)] + 1) % len(self.lanes)

    @property
    def end_states(self) -> dict[str, AccountState]:
        return self.states_after(len(self.items))

    @property
    def has_next(self) -> bool:
        return any(state.position is not None for state in self.end_states.values())

    @property
    def total(self) -> int | None:
        """How many rows paging this listing to its end yields: exact or None. None as soon as
        one account that serves it reports no total (summing the others would under-count);
        an UNSUPPORTED account serves no rows, so it counts for nothing either way."""
        totals = [lane.total for lane in self.lanes]
        return None if None in totals else sum(t for t in totals if t is not None)


def unsupported(account: ServedAccount, needs: Sequence[Capability]) -> ProviderError | None:
    """UNSUPPORTED_BY_PROVIDER naming what the account lacks of `needs`, or None."""
    missing = [c for c in needs if not account.can(c)]
    if not missing:
        return None
    what = ", ".join(c.value.lower().replace("_", " ") for c in missing)
    return UnsupportedByProvider(
        f"account {account.id!r} ({account.provider_name}) cannot serve this listing: {what}",
        account=account.id,
        provider=account.provider_name,
    )


def _interleave(lanes: Sequence[Lane[R]], first: int, turn: int) -> list[tuple[Lane[R], R]]:
    """Takes rows in turn from each account that has any, starting with `turn`.

    An account that ran out of fetched rows but still has more upstream ends the page early
    rather than being skipped, so the order never depends on how a page was fetched.
    """
    queues = [[record for page in lane.pages for record in page.records] for lane in lanes]
    used = [0] * len(lanes)
    items: list[tuple[Lane[R], R]] = []
    while len(items) < first:
        for step in range(len(lanes)):
            n = (turn + step) % len(lanes)
            if used[n] < len(queues[n]):
                items.append((lanes[n], queues[n][used[n]]))
                used[n] += 1
                turn = n + 1
                break
            if lanes[n].can_fetch:
                return items
        else:
            return items
    return items


async def merge_page(
    accounts: Sequence[ServedAccount],
    plan: Plan[R],
    start: Mapping[str, AccountState],
    first: int,
    turn: int = 0,
    *,
    request_id: str = "-",
) -> MergedPage[R]:
    """Fills one page of `first` rows from the accounts, concurrently, asking each for its share.

    Whatever an account's call raises (but cancellation) becomes that account's error, so the
    others' rows are still served; `request_id` names the request in the log of a bug."""
    lanes: list[Lane[R]] = []
    skipped: list[tuple[ServedAccount, ProviderError]] = []
    for account in accounts:
        list_page = plan(account)
        if isinstance(list_page, ProviderError):
            skipped.append((account, list_page))
        else:
            state = start.get(account.id, AccountState())
            lanes.append(Lane(account, state, list_page, request_id=request_id))
    for _ in range(MAX_ROUNDS):
        need = first - sum(lane.buffered for lane in lanes)
        active = [lane for lane in lanes if lane.can_fetch]
        left = remaining()
        if need <= 0 or not active or (left is not None and left <= 0):
            break
        share = math.ceil(need / len(active))
        await asyncio.gather(*(lane.fetch(share) for lane in active))
    turn = turn % len(lanes) if lanes else 0
    return MergedPage(lanes, skipped, _interleave(lanes, first, turn), turn)


class SourceState(enum.StrEnum):
    OK = "OK"
    DONE = "DONE"
    ERROR = "ERROR"
    UNSUPPORTED = "UNSUPPORTED"


@dataclass(frozen=True, slots=True)
class SourceResult:
    account: ServedAccount
    state: SourceState
    error: ProviderError | None
    total: int | None
    latency_ms: float | None
    filtered_locally: bool = False
    skipped: int = 0


@dataclass
class Listing(Generic[R]):
    """One merged page as a connection shows it: its rows, their cursors, and how each account
    fared. `accounts` gives the order `sources` are reported in (configuration order)."""

    page: MergedPage[R]
    cursors: CursorCodec
    filters: str
    accounts: Sequence[ServedAccount]

    @property
    def rows(self) -> list[tuple[ServedAccount, R]]:
        return [(lane.account, record) for lane, record in self.page.items]

    def edge_cursors(self) -> list[str]:
        """The cursor after each item, in order: `[cursor_after(1), cursor_after(2), …]`."""
        encode = self.cursors.encode
        return [encode(self.filters, states, turn) for states, turn in self.page.steps()]

    def cursor_after(self, count: int) -> str:
        page = self.page
        return self.cursors.encode(self.filters, page.states_after(count), page.turn_after(count))

    @property
    def sources(self) -> list[SourceResult]:
        results = []
        for lane in self.page.lanes:
            if isinstance(lane.error, UnsupportedByProvider):  # a filter it cannot apply
                state = SourceState.UNSUPPORTED
            elif lane.error is not None:
                state = SourceState.ERROR
            elif lane.calls == 0:
                state = SourceState.DONE
            else:
                state = SourceState.OK
            results.append(
                SourceResult(
                    lane.account,
                    state,
                    lane.error,
                    lane.total,
                    lane.latency_ms,
                    lane.filtered_locally,
                    self.page.unreadable(lane),
                )
            )
        for account, refusal in self.page.skipped:
            results.append(SourceResult(account, SourceState.UNSUPPORTED, refusal, None, None))
        order = {account.id: n for n, account in enumerate(self.accounts)}
        return sorted(results, key=lambda source: order[source.account.id])
