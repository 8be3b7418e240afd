"""Read-ahead in front of an account's adapter: listings read in whole provider pages, kept.

The merge (resolvers.pagination) asks each account for about its share of a page: with 64
accounts and `first: 20`, one row each. Asked for that, an adapter would fetch one row per call
and the next page would fetch again. `ReadAheadProvider` instead reads the upstream page at the
asked token in the provider's own page size (`read_ahead`, its maximum), keeps it in the store
and answers from it: the page a cursor `(token, skip)` points into is served from the kept rows
with no upstream call, for as long as they are kept. Each answer is the `limit` rows from `skip`
on, and says where the rest of the kept page begins (`Page.rest_at`), so the merge's cursors
point back into it: order and exactly-once are the merge's, unchanged.

Kept pages are keyed by account scope (account id and a digest of its upstream tenant), the
listing's query and the upstream page token, inside the scope's *generation* (store.cache): any
write through the gateway to the account starts a new one, so nothing read before a write is
served after it, in any process sharing the backend. With a shared (Redis) backend, `near` keeps
this process's decoded copies under the shared generation, so a kept page is decoded once per
process rather than on every page, and a write anywhere still makes them unreachable (a copy
may outlive the shared entry by up to one TTL). A page whose kept copy expired or was evicted
is simply read again at its token, and `skip` rows of it are passed over: correct, only
costlier.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from providers.base import (
    ApplicationPage,
    ApplicationQuery,
    CandidatePage,
    CandidateQuery,
    JobPage,
    JobQuery,
    Page,
    Position,
    Provider,
)
from resolvers.forwarding import RenewingWrapper
from store.cache import CacheBackend
from store.single_flight import SingleFlight

__all__ = ["ReadAheadProvider"]

P = TypeVar("P", CandidatePage, JobPage, ApplicationPage)
V = TypeVar("V")
MAX_HOPS = 8  # kept pages passed over when a skip lies past a page's end (rows vanished)


Query = CandidateQuery | JobQuery | ApplicationQuery


@functools.lru_cache(maxsize=4096)
def _name(listing: str, query: Query, token: str | None) -> str:
    """The entry of one upstream page of one listing's query; JSON first, so parts never run
    into each other. Remembered: every page asks it of every account in scope."""
    raw = json.dumps([listing, dataclasses.asdict(query), token], default=str, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _slice(page: P, skip: int, limit: int) -> P:
    """`limit` rows of the kept page from `skip` on (counted as its position counts), positioned
    so cursors point back into it. A slice carries the page's unreadable rows after its first
    record only: the cursor that starts it reported those before."""
    start, first = page.position, page.index_at(skip)
    if first == 0:
        at, gaps = start, page.gaps
    else:
        at = Position(start.token, start.skip + page.rows_before(first))
        gaps = tuple(gap - first for gap in page.gaps if gap > first)
    end = first + limit
    rest_at = None
    if end < len(page.records):
        rest_at = Position(start.token, start.skip + page.rows_before(end))
    return dataclasses.replace(
        page,
        records=page.records[first:end],
        position=at,
        rest_at=rest_at,
        gaps=tuple(gap for gap in gaps if gap <= limit),
    )


class ReadAheadProvider(RenewingWrapper):
    """`inner` behind read-ahead pages of `size` rows kept in `backend` under `scope`."""

    def __init__(
        self,
        inner: Provider,
        scope: str,
        backend: CacheBackend,
        size: int,
        near: CacheBackend | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("read-ahead size must be at least 1")
        super().__init__(inner, scope, backend)
        self._size = size
        self._near = near
        self._flights = SingleFlight()

    async def _page(
        self,
        listing: str,
        query: Query,
        position: Position,
        limit: int,
        read: Callable[[Position, int], Awaitable[P]],
    ) -> P:
        token, skip = position.token, position.skip
        generation = await self._backend.generation(self._scope)
        fresh = token is None and skip == 0  # a first page: what the provider holds now
        for _ in range(MAX_HOPS):
            page = await self._kept(
                listing, query, token, max(limit, self._size), read, generation, fresh
            )
            fresh = False
            if page.index_at(skip) < len(page.records) or page.next_token is None:
                return _slice(page, skip, max(1, limit))
            token, skip = page.next_token, 0  # as adapters do: a used-up page resumes at the next
        return await read(Position(token, skip), limit)

    async def _kept(
        self,
        listing: str,
        query: Query,
        token: str | None,
        size: int,
        read: Callable[[Position, int], Awaitable[P]],
        generation: str | None,
        fresh: bool,
    ) -> P:
        """The upstream page at `token`, from the store when it is kept there and not `fresh`
        (a first page is always read, then kept for the cursors it hands out)."""
        name = _name(listing, query, token)
        if generation is None:  # the store cannot be used now: read through
            return await self._flights.run((listing, name), lambda: read(Position(token), size))
        if fresh:
            return await self._store(listing, query, token, size, read, generation)
        if self._near is not None:  # decoded pages of the shared store, under its generation
            [found] = await self._near.read(self._scope, generation, "ahead", [name])
            if isinstance(found, Page):
                return found  # type: ignore[return-value]
        [found] = await self._backend.read(self._scope, generation, "ahead", [name])
        if isinstance(found, Page) and found.position.skip == 0:
            if self._near is not None:
                await self._near.write(self._scope, generation, "ahead", {name: found})
            return found  # type: ignore[return-value]

        return await self._flights.run(
            (generation, listing, name),
            lambda: self._store(listing, query, token, size, read, generation),
        )

    async def _store(
        self,
        listing: str,
        query: Query,
        token: str | None,
        size: int,
        read: Callable[[Position, int], Awaitable[P]],
        generation: str,
    ) -> P:
        """Reads the upstream page at `token` and keeps it for the cursors that point into it."""
        page = await read(Position(token), size)
        if page.position.skip == 0:  # it starts at a token: a later cursor can name it
            names = {_name(listing, query, token), _name(listing, query, page.position.token)}
            entries = dict.fromkeys(names, page)
            await self._backend.write(self._scope, generation, "ahead", entries)
            if self._near is not None:
                await self._near.write(self._scope, generation, "ahead", entries)
        return page

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        return await self._page(
            "candidates",
            query,
            position,
            limit,
            lambda p, n: self.inner.list_candidates(query, p, n),
        )

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage:
        return await self._page(
            "jobs", query, position, limit, lambda p, n: self.inner.list_jobs(query, p, n)
        )

    async def list_applications(
        self, query: ApplicationQuery, position: Position, limit: int
    ) -> ApplicationPage:
        return await self._page(
            "applications",
            query,
            position,
            limit,
            lambda p, n: self.inner.list_applications(query, p, n),
        )
