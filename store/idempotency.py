"""Idempotency keys for creates: a repeat returns the first outcome and never writes twice.

A key is scoped to its account and to the client that sent it (another client's key, even on
a shared account, behaves as unused), and bound to a fingerprint of the input; the same key with
other input is refused. Concurrent repeats wait for the first call instead of racing it. A failure
that provably sent nothing (the account was unreachable) frees the key for a retry; any other
outcome, including "sent but unknown", is what every repeat gets until the key expires.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Claim", "IdempotencyStore", "MemoryIdempotencyStore", "fingerprint_of"]


def fingerprint_of(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    """`owner` means: do the work, then `finish` or `release`. Otherwise `result` is the replay
    (or `conflict` says the key was used for other input)."""

    owner: bool
    result: object = None
    conflict: bool = False


class IdempotencyStore(Protocol):
    async def claim(self, key: str, fingerprint: str) -> Claim: ...

    async def finish(self, key: str, result: object) -> None: ...

    async def release(self, key: str) -> None: ...


@dataclass
class _Entry:
    fingerprint: str
    done: asyncio.Event
    result: object = None
    expires: float = float("inf")


class MemoryIdempotencyStore:
    """One process's keys; replicas share keys through a networked store instead.

    Finished keys expire in the order they finished, so expiry is a walk from the oldest end,
    and at most `max_entries` are remembered (the oldest go first): memory stays bounded under
    any load, at the price of forgetting the oldest keys early when that many are in use.
    """

    def __init__(self, ttl: float, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self._finished: deque[tuple[float, str]] = deque()

    def _sweep(self, now: float) -> None:
        while self._finished and (
            self._finished[0][0] <= now or len(self._finished) > self.max_entries
        ):
            expires, key = self._finished.popleft()
            entry = self._entries.get(key)
            if entry is not None and entry.expires == expires:
                del self._entries[key]

    def __contains__(self, key: object) -> bool:
        """Whether `key` is claimed or remembered here (a shared store's fallback asks)."""
        self._sweep(time.monotonic())
        return key in self._entries

    async def claim(self, key: str, fingerprint: str) -> Claim:
        self._sweep(time.monotonic())
        while (entry := self._entries.get(key)) is not None:
            if entry.fingerprint != fingerprint:
                return Claim(owner=False, conflict=True)
            if entry.done.is_set():
                return Claim(owner=False, result=entry.result)
            await entry.done.wait()
        self._entries[key] = _Entry(fingerprint, asyncio.Event())
        return Claim(owner=True)

    async def finish(self, key: str, result: object) -> None:
        entry = self._entries[key]
        entry.result = result
        entry.expires = time.monotonic() + self.ttl
        self._finished.append((entry.expires, key))
        entry.done.set()

    async def release(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            entry.done.set()
