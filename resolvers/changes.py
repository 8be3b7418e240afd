"""Subscriptions' read side: which bus events a subscriber sees, and each one's current object.

A subscriber sees an event only when its account is one the caller may see (the client key's
accounts, exactly as queries: `RequestContext.accounts`) and one it selected; nothing of any
other event reaches it, not even its ID. The object is fetched through the normal loaders,
once per event in this process however many subscribers read it (`EventObjects`), and the
subscriber's context reads nested fields through the same per-event loaders, so they too are
fetched once.

With `job` or `candidate` filters an event passes when its current object matches; a deletion
(nothing left to look at) passes when it is in the filter's account, and a failed fetch passes
too, its error shown where the object would be: a filter never hides a change it cannot rule out.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from providers.events import ChangeEvent, ChangeKind, ObjectType
from providers.upstream.resilience import set_deadline
from resolvers.accounts import Accounts
from resolvers.candidates import FoundApplication, FoundCandidate
from resolvers.context import RequestContext
from resolvers.ids import GlobalId, decode_id
from resolvers.jobs import FoundJob
from resolvers.loaders import Loaders
from store.events import BusEvent, EventBus, Refetch

__all__ = ["Change", "ChangeFeed", "EventObjects", "Found", "Watched", "on_following"]

Found = FoundCandidate | FoundApplication | FoundJob

on_following: ContextVar[Callable[[], None] | None] = ContextVar("on_following", default=None)
"""Called once a subscription reads the bus: a shared subscription (`gateway.fanout`) then
counts its members in `ChangeFeed.following`."""


class Watcher(Protocol):
    def watch(
        self, account_id: str, object_type: ObjectType
    ) -> AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class Watched:
    """What one subscription asks for, checked before it starts."""

    object_type: ObjectType
    accounts: frozenset[str]
    job: GlobalId | None = None
    candidate: GlobalId | None = None

    def shows(self, event: ChangeEvent) -> bool:
        """Whether the event is of the watched type and accounts: what a resume counts
        (`EventBus.subscribe`), so other accounts' events never decide a refetch."""
        return event.object_type is self.object_type and event.account in self.accounts


@dataclass(frozen=True, slots=True)
class Change:
    """One item for a subscriber: an event with its object being fetched, or, with `event`
    None, word that events were missed and the client must refetch."""

    event_id: str | None
    event: ChangeEvent | None
    current: asyncio.Future[Found | None] | None = None


@dataclass(slots=True)
class _Fetched:
    loaders: Loaders
    current: asyncio.Task[Found | None]


class EventObjects:
    """The current object of recent events, by bus event id: one fetch per event in this
    process, shared by every subscriber (the newest `size` events are kept)."""

    def __init__(self, accounts: Accounts, timeout: float, size: int = 512) -> None:
        self.accounts = accounts
        self.timeout = timeout
        self.size = size
        self._fetched: OrderedDict[str, _Fetched] = OrderedDict()

    def of(self, item: BusEvent) -> _Fetched:
        found = self._fetched.get(item.id)
        if found is None:
            loaders = Loaders(self.accounts, f"event-{item.id}")
            task = asyncio.ensure_future(self._fetch(loaders, item.event))
            task.add_done_callback(_retrieved)
            found = self._fetched[item.id] = _Fetched(loaders, task)
            while len(self._fetched) > self.size:
                self._fetched.popitem(last=False)
        return found

    async def _fetch(self, loaders: Loaders, event: ChangeEvent) -> Found | None:
        set_deadline(self.timeout)  # this task's own: a fetch gets a request's time
        return await _fetch(self.accounts, loaders, event)


def _retrieved(task: asyncio.Task[Found | None]) -> None:
    if not task.cancelled():
        task.exception()  # raised to whoever reads the object; not an unretrieved error


async def _fetch(accounts: Accounts, loaders: Loaders, event: ChangeEvent) -> Found | None:
    account = accounts.get(event.account)
    if account is None or event.kind is ChangeKind.DELETED:
        return None
    if event.object_type is ObjectType.CANDIDATE:
        record = await loaders.candidate(account.id, event.remote_id)
        return None if record is None else FoundCandidate(account, record)
    if event.object_type is ObjectType.JOB:
        job = await loaders.job(account.id, event.remote_id)
        return None if job is None else FoundJob(account, job)
    if event.parent_remote_id is None:
        return None
    owner = await loaders.candidate(account.id, event.parent_remote_id)
    if owner is None:
        return None
    for application in await loaders.applications_of(account.id, owner):
        if application.remote_id == event.remote_id:
            return FoundApplication(account, application)
    return None


class ChangeFeed:
    """Follows the bus for subscribers of this process (one per gateway app)."""

    def __init__(
        self, bus: EventBus, accounts: Accounts, poller: Watcher, *, timeout: float
    ) -> None:
        self.bus = bus
        self.poller = poller
        self.timeout = timeout
        self.objects = EventObjects(accounts, timeout)
        self.following = 0  # subscriptions of this process reading the bus now

    @staticmethod
    def plan(
        context: RequestContext,
        object_type: ObjectType,
        account_ids: Sequence[str] | None,
        *,
        job_id: str | None = None,
        candidate_id: str | None = None,
    ) -> Watched:
        """The subscription's filter; BAD_USER_INPUT or NOT_FOUND (an account the caller may
        not see) before anything is followed, as queries answer the same arguments."""
        selected = {account.id for account in context.accounts.select(account_ids)}
        job = None if job_id is None else decode_id(job_id, expect="Job", field="jobId")
        candidate = (
            None
            if candidate_id is None
            else decode_id(candidate_id, expect="Candidate", field="candidateId")
        )
        for named in (job, candidate):
            if named is not None:
                selected &= {named.account}
        return Watched(object_type, frozenset(selected), job, candidate)

    async def follow(
        self, context: RequestContext, watched: Watched, after: str | None
    ) -> AsyncIterator[Change]:
        """The subscriber's changes, from now or after `after`; holds the Talynce poller on
        every watched account, for the watched object type, while it runs."""
        stream = await self.bus.subscribe(after=after, accepts=watched.shows)
        async with AsyncExitStack() as stack:
            for account in sorted(watched.accounts):
                await stack.enter_async_context(self.poller.watch(account, watched.object_type))
            self.following += 1
            stack.callback(self._left)
            if (counted := on_following.get()) is not None:
                counted()
            async for item in stream:
                if isinstance(item, Refetch):
                    yield Change(None, None)
                    continue
                event = item.event
                if not watched.shows(event):
                    continue
                if watched.candidate is not None and (
                    event.parent_remote_id != watched.candidate.remote_id
                ):
                    continue
                fetched = self.objects.of(item)
                if not await _matches(fetched, watched):
                    continue
                # Each event is read like a request of its own: its deadline, and loaders
                # shared with every subscriber reading the same event.
                set_deadline(self.timeout)
                context.loaders = fetched.loaders
                yield Change(item.id, event, fetched.current)

    def _left(self) -> None:
        self.following -= 1


async def _matches(fetched: _Fetched, watched: Watched) -> bool:
    if watched.job is None:
        return True
    try:
        found = await asyncio.shield(fetched.current)
    except Exception:  # shown where the object is; a filter cannot rule the event out
        return True
    if found is None:
        return True
    if isinstance(found, FoundApplication):
        job = found.record.job
        return job is not None and job.remote_id == watched.job.remote_id
    if isinstance(found, FoundCandidate):
        try:
            applications = await fetched.loaders.applications_of(found.account.id, found.record)
        except Exception:
            return True
        return any(
            a.job is not None and a.job.remote_id == watched.job.remote_id for a in applications
        )
    return True
