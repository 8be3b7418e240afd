"""Per-account protection around upstream calls: deadline, backoff, breaker and rate budget.

Each piece is small and knows nothing of HTTP; `providers.http.Upstream` composes them. Time is
`time.monotonic()` throughout, so wall-clock jumps cannot open a breaker or skip a wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "Breaker",
    "Budget",
    "RateBudget",
    "RetryPolicy",
    "deadline_scope",
    "remaining",
    "set_deadline",
]

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


@contextmanager
def deadline_scope(seconds: float) -> Iterator[None]:
    """Everything awaited inside, and every task started from it, must finish within `seconds`."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def set_deadline(seconds: float) -> None:
    """Sets the deadline for the rest of the current task (a request's own task)."""
    _deadline.set(time.monotonic() + seconds)


def remaining() -> float | None:
    """Seconds left before the current deadline, or None when there is none."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS architecture blog's variant)."""

    retries: int = 6
    base: float = 0.05
    cap: float = 2.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


class Breaker:
    """Opens after `threshold` consecutive failures; after `cooldown`, lets one probe through."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self._probing or time.monotonic() - self.opened_at >= self.cooldown:
            return "half-open"
        return "open"

    def admit(self) -> float | None:
        """None when a call may go out; otherwise seconds until the breaker lets one probe."""
        if self.opened_at is None:
            return None
        waited = time.monotonic() - self.opened_at
        if waited < self.cooldown:
            return self.cooldown - waited
        if self._probing:
            return self.cooldown
        self._probing = True
        return None

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._probing = False

    def failed(self) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.threshold:
            self.opened_at = time.monotonic()
        self._probing = False


class Budget(Protocol):
    """An account's request budget: this process's own (`RateBudget`) or one shared by several."""

    async def acquire(self, max_wait: float | None) -> float | None: ...

    def block_for(self, seconds: float) -> None: ...


class RateBudget:
    """At most `limit` calls in any `window` seconds, plus what the provider's headers say.

    Callers queue here instead of tripping the provider's 429s.
    """

    def __init__(self, limit: int | None = None, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    def wait_needed(self, now: float) -> float:
        wait = max(0.0, self._blocked_until - now)
        if self.limit is not None:
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            if len(self._sent) >= self.limit:
                wait = max(wait, self._sent[0] + self.window - now)
        return wait

    async def acquire(self, max_wait: float | None) -> float | None:
        """Waits for a slot; returns None when taken, or the wait that was too long to make."""
        async with self._lock:
            wait = self.wait_needed(time.monotonic())
            if wait > 0:
                if max_wait is not None and wait > max_wait:
                    return wait
                await asyncio.sleep(wait)
            if self.limit is not None:
                self._sent.append(time.monotonic())
            return None

    def block_for(self, seconds: float) -> None:
        """The provider said its budget is spent (headers or 429): hold calls back that long."""
        self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)
