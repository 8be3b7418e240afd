"""Per-account protection around upstream calls: deadline, backoff, breaker and rate budget.

Each piece is small and knows nothing of HTTP; `upstream.http.Upstream` composes them. Time is
`time.monotonic()` throughout, so wall-clock jumps cannot open a breaker or skip a wait.

The deadline is the one piece of per-request state here, in a context variable: it bounds every
call an adapter makes for a request without each `Provider` method taking a deadline argument.
It is set per GraphQL request (`set_deadline` in `gateway.view` and `gateway.sockets`, in the
request's own task; `resolvers.changes` for each event a subscriber reads) and around each
health probe (`gateway.ping`) and each step of a poll (`resolvers.polling`), by `deadline_scope`.
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
    """Opens after `threshold` consecutive failed calls; after `cooldown`, lets one probe through.

    A call that was never sent (refused by the rate budget, no free connection in time) says
    nothing of the provider's health: it neither counts here nor settles a probe, which
    `release` hands back for the next call to make.
    """

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

    def release(self) -> None:
        """The probe ended without a verdict: the next call probes instead."""
        self._probing = False


class Budget(Protocol):
    """An account's request budget: this process's own (`RateBudget`) or one shared by several.

    `acquire` refuses at once (returning the wait) when no slot comes within `max_wait`; it
    never waits while keeping other callers from their own answer.
    """

    async def acquire(self, max_wait: float | None) -> float | None: ...

    def block_for(self, seconds: float) -> None: ...

    def learn_limit(self, limit: int) -> None: ...


def _pass_turn(before: asyncio.Future[None] | None, mine: asyncio.Future[None]) -> None:
    """Ends a waiter's turn, but never ahead of the waiter queued before it: one that is
    refused or cancelled early still lets the next go only once the earlier one has gone."""
    if before is None or before.done():
        if not mine.done():
            mine.set_result(None)
    else:
        before.add_done_callback(lambda _: _pass_turn(None, mine))


class RateBudget:
    """At most `limit` calls in any `window` seconds, plus holds the provider asks for.

    Callers queue here instead of tripping the provider's 429s. Each caller reserves its slot
    time at once (first come, first served, as `RedisRateBudget` does across processes) and
    then sleeps until it: the reservation has no await in it, so no lock is needed and no caller
    ever waits behind another's sleep. Waiters still go in the order they came when their timers
    fire out of order, as one armed a few microseconds late after a pause does. One that cannot
    be served within its `max_wait` is refused at once and reserves nothing.
    """

    def __init__(self, limit: int | None = None, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._granted: deque[float] = deque()  # slot times, past and reserved, ascending
        self._blocked_until = 0.0
        self._last_turn: asyncio.Future[None] | None = None  # done once the last waiter has gone

    def wait_needed(self, now: float) -> float:
        """How long a call asking at `now` would wait; reserves nothing."""
        return self._earliest(now) - now

    def held(self, now: float) -> float:
        """How long the provider's last hold (Retry-After, X-RateLimit-Reset) still lasts."""
        return max(0.0, self._blocked_until - now)

    def _earliest(self, now: float) -> float:
        at = max(now, self._blocked_until)
        if self.limit is not None:
            while self._granted and self._granted[0] <= now - self.window:
                self._granted.popleft()
            if self._granted:
                at = max(at, self._granted[-1])  # after every earlier reservation
            if len(self._granted) >= self.limit:
                at = max(at, self._granted[-self.limit] + self.window)
        return at

    async def acquire(self, max_wait: float | None) -> float | None:
        """Waits for a slot; returns None when taken, or the wait that was too long to make."""
        now = time.monotonic()
        at = self._earliest(now)
        if max_wait is not None and at - now > max_wait:
            return at - now
        latest = None if max_wait is None else now + max_wait
        reserved = at
        if self.limit is not None:
            self._granted.append(reserved)
        if at <= now:  # a slot now and no hold: nothing to wait for, not even a loop turn
            return None
        loop = asyncio.get_running_loop()
        before, mine = self._last_turn, loop.create_future()
        if before is not None and before.get_loop() is not loop:
            before = None  # a waiter of a loop that has since stopped holds nobody up
        self._last_turn = mine
        try:
            while True:
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                if before is not None and not before.done():
                    await asyncio.wait((before,))  # a timer armed a hair late: keep the queue
                hold = self._blocked_until  # the provider may have asked for a pause meanwhile
                if hold <= time.monotonic():
                    return None
                if latest is not None and hold > latest:
                    self._forget(reserved)
                    return hold - time.monotonic()
                at = hold
        except asyncio.CancelledError:
            self._forget(reserved)
            raise
        finally:
            _pass_turn(before, mine)

    def _forget(self, at: float) -> None:
        """Gives back a reserved slot that will not be used."""
        if self.limit is not None and at in self._granted:
            self._granted.remove(at)

    def block_for(self, seconds: float) -> None:
        """The provider said its budget is spent (headers or Retry-After): hold calls that long."""
        self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)

    def learn_limit(self, limit: int) -> None:
        """The provider announced its limit (X-RateLimit-Limit): a lower one than configured
        is kept; a higher one is not, since the configured figure may be a share of it."""
        if self.limit is not None and 1 <= limit < self.limit:
            self.limit = limit
