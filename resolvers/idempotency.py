"""Idempotency keys for creates: a repeat returns the first outcome and never writes twice.

A key is scoped to its account and bound to a fingerprint of the input; the same key with other
input is refused. Concurrent repeats wait for the first call instead of racing it. A failure
that provably sent nothing (the account was unreachable) frees the key for a retry; any other
outcome, including "sent but unknown", is what every repeat gets until the key expires.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
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
    """One process's keys; replicas share keys through a networked store instead."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, _Entry] = {}

    def _sweep(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
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
        entry.done.set()

    async def release(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            entry.done.set()
