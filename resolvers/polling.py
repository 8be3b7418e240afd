"""Change events for accounts whose provider sends no webhooks (Talynce), found by reading.

The subscription layer calls `async with poller.watch(account_id, object_type): …` for each
account a subscriber watches, naming what it watches. Watches are counted per account and
object type: the first starts the account's polling task, the last to leave stops it; while it
runs, each poll reads only for the types watched now (a candidate watcher alone never starts
application reads). Watching an account that is not polled (its provider sends webhooks) costs
nothing. Every `interval` seconds the task, through the account's adapter (so its rate budget,
breaker and retries apply and the response cache does not: a poll must see the provider):

- candidates (watched for CANDIDATE or APPLICATION events): reads them with `updated_after`
  (the newest `updated_at` seen, less a second of overlap): a row it did not know is CREATED, a
  known row whose `updated_at` moved is UPDATED; on its first poll and every `SWEEP_EVERY`th it
  lists the account unfiltered, and a candidate known before and absent from a complete listing
  is DELETED;
- jobs (watched for JOB events): the same, over the jobs listing;
- applications (watched for APPLICATION events): see `resolvers.polled_applications`; Talynce
  lists them only with their candidate, so they are read (one GET each) for the candidates
  whose `updated_at` moved, which a stage move, a rejection or a new application made through
  the candidate update does.

Bounds: each listing read stops after `max_rows` rows (in pages of `PAGE`). An account with
more candidates (or jobs) than that is never swept completely, so their deletions are not
detected (logged once); new and changed rows still are. Events carry a content dedupe id
(account, object, its `updated_at`), so replicas polling one account publish each change once
between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from providers.base import CandidateQuery, JobQuery, Page, Position, Provider
from providers.errors import ProviderError
from providers.events import ChangeKind, ObjectType, parse_time
from providers.model import CandidateRecord, JobRecord
from providers.upstream.observe import Observer, watch_request
from providers.upstream.resilience import deadline_scope
from resolvers.accounts import Accounts
from resolvers.poll_events import Publish, poll_event
from resolvers.polled_applications import PolledApplications
from store.events import BusUnavailable

__all__ = ["ChangePoller"]

log = logging.getLogger("gateway.polling")
PAGE = 100
SWEEP_EVERY = 4
OVERLAP = timedelta(seconds=1)

Row = CandidateRecord | JobRecord
T = TypeVar("T")
Lister = Callable[[datetime | None, Position, int], Awaitable[Page[Any]]]
# The listing a watched type needs read: applications are found through their candidates.
LISTING_OF = {
    ObjectType.CANDIDATE: ObjectType.CANDIDATE,
    ObjectType.APPLICATION: ObjectType.CANDIDATE,
    ObjectType.JOB: ObjectType.JOB,
}


def _adapter(provider: Provider) -> Provider:
    """The adapter itself, past the response cache (which keeps it as `inner`)."""
    while (inner := getattr(provider, "inner", None)) is not None:
        provider = inner
    return provider


@dataclass
class _Watched:
    watchers: Counter[ObjectType] = field(default_factory=Counter)
    task: asyncio.Task[None] | None = None
    # Per type: its first poll is done (or failed), so a change made after is one reported.
    ready: dict[ObjectType, asyncio.Event] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # a type needs its first poll


@dataclass
class _Listing:
    """What one account's poller knows of one listing: each row's last `updated_at`; whether
    that is the whole listing (so absence means deletion); the newest `updated_at` seen."""

    object_type: ObjectType
    read: Lister
    seen: dict[str, str | None] = field(default_factory=dict)
    complete: bool = False
    newest: datetime | None = None
    listed: bool = False  # the first sweep succeeded: `seen` is a baseline
    polls: int = 0
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class _Found:
    """What one read of a listing found: rows new or changed, and rows gone."""

    changed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)


class ChangePoller:
    def __init__(
        self,
        accounts: Accounts,
        publish: Publish,
        *,
        polled: Iterable[str],
        interval: float,
        max_rows: int,
        timeout: float,
        observer: Observer | None = None,
    ) -> None:
        """`observer` hears the polls' upstream calls (the app's metrics): each account's
        poll runs in a context of its own, apart from any request's."""
        self._accounts = accounts
        self._observer = observer
        self._publish = publish
        self._polled = frozenset(polled)
        self.interval = interval
        self.max_rows = max_rows
        self.timeout = timeout
        self._watched: dict[str, _Watched] = {}

    def polls(self, account_id: str) -> bool:
        return account_id in self._polled

    @property
    def watched(self) -> dict[str, int]:
        """Watchers per polled account being watched now."""
        return {account: w.watchers.total() for account, w in self._watched.items()}

    @property
    def watched_types(self) -> dict[str, dict[ObjectType, int]]:
        """Watchers per object type of each polled account being watched now."""
        return {account: dict(w.watchers) for account, w in self._watched.items()}

    @asynccontextmanager
    async def watch(self, account_id: str, object_type: ObjectType) -> AsyncIterator[None]:
        """Polls `account_id` for `object_type` changes while at least one such `watch` is open
        (no-op if the account is not polled).

        Entering returns once the first poll for that type has read the account (or failed),
        so a change made after entering is one the poller will report."""
        if not self.polls(account_id):
            yield
            return
        watched = self._watched.get(account_id)
        if watched is None:
            watched = self._watched[account_id] = _Watched()
            # A context of its own: the task outlives the subscriber that starts it, whose
            # request deadline would otherwise end every poll after it (see `_guarded`).
            watched.task = asyncio.create_task(
                self._run(account_id, watched), context=contextvars.Context()
            )
        watched.watchers[object_type] += 1
        ready = watched.ready.get(object_type)
        if ready is None:
            ready = watched.ready[object_type] = asyncio.Event()
            watched.wake.set()
        try:
            await ready.wait()
            yield
        finally:
            watched.watchers[object_type] -= 1
            if watched.watchers[object_type] == 0:
                del watched.watchers[object_type]
                if watched.ready.get(object_type) is ready:
                    del watched.ready[object_type]
            if not watched.watchers and self._watched.get(account_id) is watched:
                del self._watched[account_id]
                await _stop(watched)

    async def _run(self, account_id: str, watched: _Watched) -> None:
        if self._observer is not None:
            watch_request(self._observer)  # this task's own context
        served = self._accounts.get(account_id)
        while served is None:  # nothing to poll, until the watches end: none need wait
            for ready in watched.ready.values():
                ready.set()
            watched.wake.clear()
            await watched.wake.wait()
        provider = _adapter(served.provider)
        listings: dict[ObjectType, _Listing] = {}
        applications: PolledApplications | None = None
        while True:
            watched.wake.clear()
            types = set(watched.watchers)
            needed = {LISTING_OF[t] for t in types}
            for gone in set(listings) - needed:
                del listings[gone]
            for listing_type in needed - set(listings):
                listings[listing_type] = _Listing(listing_type, _lister(provider, listing_type))
            if ObjectType.APPLICATION not in types:
                applications = None
            elif applications is None:
                applications = PolledApplications(
                    account_id, provider, self._publish, self.max_rows
                )
            for listing in listings.values():
                publish = listing.object_type in types
                found = await self._guarded(account_id, self._poll(account_id, listing, publish))
                if applications is not None and listing.object_type is ObjectType.CANDIDATE:
                    if found is not None and listing.listed:
                        applications.note(found.changed, found.gone)
                    await self._guarded(account_id, applications.poll())
            for object_type in types:
                if (polled := watched.ready.get(object_type)) is not None:
                    polled.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await watched.wake.wait()

    async def _guarded(self, account_id: str, step: Awaitable[T]) -> T | None:
        """A step of a poll, given a request's time (`timeout`), so an upstream that never
        finishes its answer cannot hold the poller; a failure is logged and the next poll
        tries again."""
        try:
            with deadline_scope(self.timeout):
                return await step
        except ProviderError as error:
            log.warning("polling %s failed (%s); trying again", account_id, error.code)
        except BusUnavailable:
            log.warning("polling %s: the event bus is unavailable; trying again", account_id)
        except Exception:  # a poller that died would leave its watchers waiting in silence
            log.exception("polling %s failed unexpectedly; trying again", account_id)
        return None

    async def _poll(self, account_id: str, listing: _Listing, publish: bool) -> _Found:
        first = not listing.listed
        sweep = first or listing.polls % SWEEP_EVERY == 0
        listing.polls += 1
        if sweep:
            return await self._sweep(account_id, listing, publish, first=first)
        after = (listing.newest or listing.started) - OVERLAP
        rows, _ = await self._rows(listing, after)
        return _Found(await self._emit(account_id, listing, rows, publish))

    async def _rows(self, listing: _Listing, after: datetime | None) -> tuple[list[Row], bool]:
        """Up to `max_rows` rows of a listing, and whether that was all of it."""
        rows: list[Row] = []
        position: Position | None = Position()
        for _ in range(-(-self.max_rows // PAGE)):
            assert position is not None
            page = await listing.read(after, position, PAGE)
            rows.extend(page.records)
            position = page.resume_at(len(page.records))
            if position is None:
                return rows[: self.max_rows], len(rows) <= self.max_rows
        return rows[: self.max_rows], False

    async def _sweep(
        self, account_id: str, listing: _Listing, publish: bool, *, first: bool
    ) -> _Found:
        rows, complete = await self._rows(listing, None)
        if first:
            listing.seen = {row.remote_id: row.updated_at for row in rows}
            listing.complete = complete
            listing.listed = True
            listing.newest = max((_time(row) for row in rows), default=listing.started)
            if not complete:
                listing.newest = max(listing.newest, listing.started)
                log.info(
                    "%s has over %d %ss: their deletions are not polled",
                    account_id,
                    self.max_rows,
                    listing.object_type.lower(),
                )
            return _Found()
        changed = await self._emit(account_id, listing, rows, publish)
        gone: list[str] = []
        if complete and listing.complete:
            present = {row.remote_id for row in rows}
            gone = [remote_id for remote_id in listing.seen if remote_id not in present]
            for remote_id in gone:
                if publish:
                    await self._publish(
                        poll_event(
                            account_id, listing.object_type, remote_id, ChangeKind.DELETED, None
                        )
                    )
                del listing.seen[remote_id]
        return _Found(changed, gone)

    async def _emit(
        self, account_id: str, listing: _Listing, rows: list[Row], publish: bool
    ) -> list[str]:
        """Publishes (when `publish`) the rows that are new or changed, and returns their ids."""
        changed: list[str] = []
        for row in rows:
            known = row.remote_id in listing.seen
            if known and listing.seen[row.remote_id] == row.updated_at:
                continue
            if known:
                kind = ChangeKind.UPDATED
            elif listing.complete:
                kind = ChangeKind.CREATED
            else:  # a row we never listed: new only if created since we started watching
                created = parse_time(row.created_at, listing.started)
                kind = ChangeKind.CREATED if created >= listing.started else ChangeKind.UPDATED
            if publish:
                await self._publish(
                    poll_event(account_id, listing.object_type, row.remote_id, kind, row.updated_at)
                )
            changed.append(row.remote_id)
            listing.seen[row.remote_id] = row.updated_at
            when = _time(row)
            listing.newest = max(listing.newest or when, when)
        if not listing.complete and len(listing.seen) > 4 * self.max_rows:
            listing.seen.clear()  # only skips re-reads of the overlap; dedupe ids cover those
        return changed

    async def aclose(self) -> None:
        for watched in list(self._watched.values()):
            await _stop(watched)
        self._watched.clear()


def _lister(provider: Provider, object_type: ObjectType) -> Lister:
    if object_type is ObjectType.JOB:

        async def jobs(after: datetime | None, position: Position, limit: int) -> Page[Any]:
            return await provider.list_jobs(JobQuery(updated_after=after), position, limit)

        return jobs

    async def candidates(after: datetime | None, position: Position, limit: int) -> Page[Any]:
        return await provider.list_candidates(CandidateQuery(updated_after=after), position, limit)

    return candidates


def _time(row: Row) -> datetime:
    return parse_time(row.updated_at or row.created_at)


async def _stop(watched: _Watched) -> None:
    if watched.task is not None:
        watched.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watched.task
