"""Whether a write may have reached its provider: the fact an idempotency key's fate turns on.

A create or update runs inside `watch_writes()`. `Upstream` counts each non-idempotent call it
hands to the client as possibly done, and takes it back when the call provably had no effect:
it never left (no connection, refused by the client before a byte was written) or the provider
answered it with a 4xx, which in HTTP says the request was not acted on. Whatever else happens
to the write afterwards (a 5xx, a dropped connection, a body that cannot be read, an exception
in the adapter) leaves it counted, and the caller reports the outcome as unknown instead of
freeing the key for a retry that could write a second time.

The watch is opened in one place, `resolvers.mutations` (`with watch_writes()` around each
create or update), and read by `Upstream` through a context variable, so adapters in between
need no extra argument.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["WriteWatch", "current_writes", "watch_writes"]


@dataclass
class WriteWatch:
    """Write attempts of one mutation that may have taken effect upstream (`open`), and all
    it handed to the client (`attempted`), whatever became of them."""

    open: int = 0
    attempted: int = 0

    def sending(self) -> None:
        self.open += 1
        self.attempted += 1

    def had_no_effect(self) -> None:
        self.open = max(0, self.open - 1)

    @property
    def may_have_happened(self) -> bool:
        return self.open > 0


_current: contextvars.ContextVar[WriteWatch | None] = contextvars.ContextVar("writes", default=None)


@contextmanager
def watch_writes() -> Iterator[WriteWatch]:
    """Watches the writes sent from here on in this task (and tasks it starts)."""
    watch = WriteWatch()
    token = _current.set(watch)
    try:
        yield watch
    finally:
        _current.reset(token)


def current_writes() -> WriteWatch | None:
    return _current.get()
