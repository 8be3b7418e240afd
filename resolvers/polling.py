"""Change events for accounts whose provider sends no webhooks (Talynce), found by reading.

The subscription layer calls `async with poller.watch(account_id): …` for each account a
subscriber watches. Watches are counted per account: the first starts a polling task, the last
to leave stops it; watching an account that is not polled (its provider sends webhooks) costs
nothing. While watched, every `interval` seconds the task:

- reads candidates with `updated_after` (the last `updated_at` it saw, less a second of
  overlap), through the account's adapter, so its rate budget, breaker and retries apply and
  the response cache does not (a poll must see the provider, not a copy): a row it did not
  know is CREATED, a known row whose `updated_at` moved is UPDATED;
- on its first poll and every `SWEEP_EVERY`th, lists the account (no filter) to learn which
  candidates exist: a candidate known before and absent from a complete listing is DELETED.

Bounds: each read stops after `max_rows` rows (in pages of `PAGE`). An account with more
candidates than that is never swept completely, so deletions there are not detected (logged
once); its new and changed rows still are. Talynce lists only candidates this way, so only
candidate events are polled. Events carry a content dedupe id (account, candidate,
`updated_at`), so replicas polling the same account publish each change once between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from providers.base import CandidatePage, CandidateQuery, Position, Provider
from providers.errors import ProviderError
from providers.events import ChangeEvent, ChangeKind, ObjectType, content_dedupe_id, parse_time
from providers.model import CandidateRecord
from resolvers.accounts import Accounts
from store.events import BusUnavailable

__all__ = ["ChangePoller"]

log = logging.getLogger("gateway.polling")
PAGE = 100
SWEEP_EVERY = 4
OVERLAP = timedelta(seconds=1)

Publish = Callable[[ChangeEvent], Awaitable[object]]


def _adapter(provider: Provider) -> Provider:
    """The adapter itself, past the response cache (which keeps it as `inner`)."""
    while (inner := getattr(provider, "inner", None)) is not None:
        provider = inner
    return provider


@dataclass
class _Watched:
    watchers: int
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # the first sweep is done


@dataclass
class _State:
    """What one account's poller knows: each candidate's last `updated_at`; whether that is the
    whole account (so absence means deletion); the newest `updated_at` seen."""

    seen: dict[str, str | None] = field(default_factory=dict)
    complete: bool = False
    newest: datetime | None = None
    listed: bool = False  # the first sweep succeeded: `seen` is a baseline
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


class ChangePoller:
    def __init__(
        self,
        accounts: Accounts,
        publish: Publish,
        *,
        polled: Iterable[str],
        interval: float,
        max_rows: int,
    ) -> None:
        self._accounts = accounts
        self._publish = publish
        self._polled = frozenset(polled)
        self.interval = interval
        self.max_rows = max_rows
        self._watched: dict[str, _Watched] = {}

    def polls(self, account_id: str) -> bool:
        return account_id in self._polled

    @property
    def watched(self) -> dict[str, int]:
        """Watchers per polled account being watched now."""
        return {account: w.watchers for account, w in self._watched.items()}

    @asynccontextmanager
    async def watch(self, account_id: str) -> AsyncIterator[None]:
        """Polls `account_id` while at least one `watch` of it is open (no-op if not polled).

        Entering returns once the first sweep has listed the account (or failed), so a change
        made after entering is one the poller will report."""
        if not self.polls(account_id):
            yield
            return
        watched = self._watched.get(account_id)
        if watched is None:
            watched = self._watched[account_id] = _Watched(0)
            watched.task = asyncio.create_task(self._run(account_id, watched.ready))
        watched.watchers += 1
        try:
            await watched.ready.wait()
            yield
        finally:
            watched.watchers -= 1
            if watched.watchers == 0 and self._watched.get(account_id) is watched:
                del self._watched[account_id]
                await _stop(watched)

    async def _run(self, account_id: str, ready: asyncio.Event) -> None:
        served = self._accounts.get(account_id)
        if served is None:
            ready.set()
            return
        provider, state, polls = _adapter(served.provider), _State(), 0
        while True:
            try:
                if polls % SWEEP_EVERY == 0 or not state.listed:
                    await self._sweep(account_id, provider, state, first=not state.listed)
                else:
                    await self._changed(account_id, provider, state)
            except ProviderError as error:
                log.warning("polling %s failed (%s); trying again", account_id, error.code)
            except BusUnavailable:
                log.warning("polling %s: the event bus is unavailable; trying again", account_id)
            ready.set()
            polls += 1
            await asyncio.sleep(self.interval)

    async def _rows(
        self, provider: Provider, query: CandidateQuery
    ) -> tuple[list[CandidateRecord], bool]:
        """Up to `max_rows` rows of a listing, and whether that was all of it."""
        rows: list[CandidateRecord] = []
        position: Position | None = Position()
        pages = -(-self.max_rows // PAGE)
        for _ in range(pages):
            assert position is not None
            page: CandidatePage = await provider.list_candidates(query, position, PAGE)
            rows.extend(page.records)
            position = page.resume_at(len(page.records))
            if position is None:
                return rows[: self.max_rows], len(rows) <= self.max_rows
        return rows[: self.max_rows], False

    async def _sweep(
        self, account_id: str, provider: Provider, state: _State, *, first: bool
    ) -> None:
        rows, complete = await self._rows(provider, CandidateQuery())
        if first:
            state.seen = {row.remote_id: row.updated_at for row in rows}
            state.complete = complete
            state.listed = True
            state.newest = max((self._time(row) for row in rows), default=state.started)
            if not complete:
                state.newest = max(state.newest, state.started)
                log.info(
                    "%s has over %d candidates: deletions are not polled", account_id, self.max_rows
                )
            return
        await self._emit(account_id, state, rows)
        if complete and state.complete:
            present = {row.remote_id for row in rows}
            for gone in [remote_id for remote_id in state.seen if remote_id not in present]:
                await self._publish(self._event(account_id, gone, ChangeKind.DELETED, None))
                del state.seen[gone]

    async def _changed(self, account_id: str, provider: Provider, state: _State) -> None:
        after = (state.newest or state.started) - OVERLAP
        rows, _ = await self._rows(provider, CandidateQuery(updated_after=after))
        await self._emit(account_id, state, rows)

    async def _emit(self, account_id: str, state: _State, rows: list[CandidateRecord]) -> None:
        for row in rows:
            known = row.remote_id in state.seen
            if known and state.seen[row.remote_id] == row.updated_at:
                continue
            if known:
                kind = ChangeKind.UPDATED
            elif state.complete:
                kind = ChangeKind.CREATED
            else:  # a row we never listed: new only if created since we started watching
                created = parse_time(row.created_at, state.started)
                kind = ChangeKind.CREATED if created >= state.started else ChangeKind.UPDATED
            await self._publish(self._event(account_id, row.remote_id, kind, row.updated_at))
            state.seen[row.remote_id] = row.updated_at
            when = self._time(row)
            state.newest = max(state.newest or when, when)
        if not state.complete and len(state.seen) > 4 * self.max_rows:
            state.seen.clear()  # only skips re-reads of the overlap; dedupe ids cover those

    @staticmethod
    def _time(row: CandidateRecord) -> datetime:
        return parse_time(row.updated_at or row.created_at)

    @staticmethod
    def _event(
        account_id: str, remote_id: str, kind: ChangeKind, updated: str | None
    ) -> ChangeEvent:
        return ChangeEvent(
            account=account_id,
            object_type=ObjectType.CANDIDATE,
            kind=kind,
            remote_id=remote_id,
            occurred_at=parse_time(updated),
            # Not the kind: replicas that started watching at different times may call one
            # change CREATED and UPDATED; the row's state is what makes it one change.
            dedupe_id=content_dedupe_id(
                account_id, "poll", remote_id, "deleted" if kind is ChangeKind.DELETED else updated
            ),
        )

    async def aclose(self) -> None:
        for watched in list(self._watched.values()):
            await _stop(watched)
        self._watched.clear()


async def _stop(watched: _Watched) -> None:
    if watched.task is not None:
        watched.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watched.task
