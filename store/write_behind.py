"""A cache backend whose writes happen after the caller has moved on: read-ahead's shared pages.

Read-ahead keeps every upstream page it reads; with Redis, encoding a 100-row page and sending
it costs milliseconds, and a page that waited on 64 accounts would pay that 64 times before
answering. `WriteBehind` answers `write` at once and leaves the entries to one background task
per process, which encodes and sends them one batch at a time, so the request that read the
pages is answered first. Losing such a write costs only a later upstream read (a cursor whose
page is not kept reads it again), so the queue is bounded: beyond `max_pending` batches a new
one is dropped and counted, and a failed write is counted and logged, never raised. Entries are
keyed by generation, so a write landing after a renewal is never read.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from store.cache import CacheBackend, Kind

__all__ = ["WriteBehind", "WriteBehindCounts"]

log = logging.getLogger("gateway.store")


@dataclass(slots=True)
class WriteBehindCounts:
    written: int = 0
    dropped: int = 0  # the queue was full
    failed: int = 0  # the backend raised


@dataclass(frozen=True, slots=True)
class _Batch:
    scope: str
    generation: str
    kind: Kind
    entries: Mapping[str, object]


class WriteBehind:
    """`inner` with writes queued (at most `max_pending` batches) and sent by a background task;
    reads, generations and renewals go straight through."""

    def __init__(self, inner: CacheBackend, max_pending: int = 256) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._inner = inner
        self._max_pending = max_pending
        self._queue: collections.deque[_Batch] = collections.deque()
        self._drainer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.counts = WriteBehindCounts()

    async def generation(self, scope: str) -> str | None:
        return await self._inner.generation(scope)

    async def renew(self, scope: str) -> None:
        await self._inner.renew(scope)

    async def read(
        self, scope: str, generation: str, kind: Kind, names: Sequence[str]
    ) -> list[object]:
        return await self._inner.read(scope, generation, kind, names)

    async def write(
        self, scope: str, generation: str, kind: Kind, entries: Mapping[str, object]
    ) -> None:
        if len(self._queue) >= self._max_pending:
            self.counts.dropped += 1
            return
        self._queue.append(_Batch(scope, generation, kind, dict(entries)))
        self._idle.clear()
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                await asyncio.sleep(0)  # what is ready (the answer being built) goes first
                batch = self._queue.popleft()
                try:
                    await self._inner.write(
                        batch.scope, batch.generation, batch.kind, batch.entries
                    )
                except Exception as error:  # a lost page costs a later read, never the request
                    self.counts.failed += 1
                    log.warning("a read-ahead page was not shared (%s)", type(error).__name__)
                else:
                    self.counts.written += 1
        finally:
            self._drainer = None
            self._idle.set()

    async def flushed(self) -> None:
        """Returns once every queued write has been sent (or has failed)."""
        await self._idle.wait()

    async def aclose(self) -> None:
        """Stops sending: writes still queued are dropped (the backend is about to close)."""
        self._queue.clear()
        drainer = self._drainer
        if drainer is not None:
            drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drainer
