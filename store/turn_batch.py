"""Keys asked for in one turn of the event loop, fetched from Redis with one call.

A page over 64 accounts asks the store something for each of them at the same moment: their
generations, then the read-ahead page each kept. One round trip per account was a third of the
gateway's CPU at 64 accounts and held back the upstream calls that waited behind them. A
`TurnBatch` collects what the turn asks for and sends it as one MGET when the turn ends, then
hands each caller its own values. Each value is read after it was asked for, so a write that
finished before the call is always seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["TurnBatch"]

V = TypeVar("V")


class TurnBatch(Generic[V]):
    """`fetch(keys)` answers one value per key, in order; whatever it raises, every caller of
    that turn raises."""

    def __init__(self, fetch: Callable[[list[str]], Awaitable[Sequence[V]]]) -> None:
        self._fetch = fetch
        self._asked: list[tuple[list[str], asyncio.Future[list[V]]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def get(self, keys: Sequence[str]) -> list[V]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a batch left by a loop that stopped is not ours
            self._asked, self._loop = [], loop
        if not self._asked:
            loop.call_soon(self._send)
        asked: asyncio.Future[list[V]] = loop.create_future()
        self._asked.append((list(keys), asked))
        return await asyncio.shield(asked)

    def _send(self) -> None:
        asked, self._asked = self._asked, []
        task = asyncio.get_running_loop().create_task(self._answer(asked))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _answer(self, asked: list[tuple[list[str], asyncio.Future[list[V]]]]) -> None:
        try:
            values = await self._fetch([key for keys, _ in asked for key in keys])
        except Exception as error:
            for _, future in asked:
                if not future.done():
                    future.set_exception(error)
            return
        at = 0
        for keys, future in asked:
            if not future.done():
                future.set_result(list(values[at : at + len(keys)]))
            at += len(keys)
