"""A hook for watching upstream traffic, so the gateway can count it without providers knowing how.

`upstream.http.Upstream` reports every attempt, retry, breaker change and rate-limit wait to
the observer bound to the current request (a context variable, so two gateways in one process
never mix their figures), and counts the request's upstream calls. The observer is bound in
one place, `gateway.view` (`watch_request`, once per GraphQL request); outside it `observer()`
is a no-op one, which is what adapters used on their own (tests, bench) get.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Observer", "Watch", "current_watch", "watch_request"]


class Observer(Protocol):
    def upstream_call(
        self, account: str, provider: str, endpoint: str, outcome: str, seconds: float
    ) -> None: ...

    def retry(self, account: str, provider: str) -> None: ...

    def breaker(self, account: str, provider: str, state: str) -> None: ...

    def rate_wait(self, account: str, provider: str, seconds: float) -> None: ...


class Silent:
    def upstream_call(
        self, account: str, provider: str, endpoint: str, outcome: str, seconds: float
    ) -> None:
        pass

    def retry(self, account: str, provider: str) -> None:
        pass

    def breaker(self, account: str, provider: str, state: str) -> None:
        pass

    def rate_wait(self, account: str, provider: str, seconds: float) -> None:
        pass


@dataclass
class Watch:
    """Who hears about this request's upstream traffic, and how many calls it made."""

    observer: Observer = field(default_factory=Silent)
    calls: int = 0


_watch: contextvars.ContextVar[Watch | None] = contextvars.ContextVar("watch", default=None)
_SILENT = Silent()


def watch_request(observer: Observer) -> Watch:
    """Binds `observer` for the rest of the current task (a request's own task)."""
    watch = Watch(observer)
    _watch.set(watch)
    return watch


def current_watch() -> Watch | None:
    return _watch.get()


def observer() -> Observer:
    watch = _watch.get()
    return watch.observer if watch is not None else _SILENT
