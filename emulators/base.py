"""What every provider emulator does alike: keep a log of the requests it served, and read bodies.

Only what is truly the same lives here. Routing tables, credentials, error bodies and rate
limits are each provider's own documented behaviour, so they stay in its package; the fault
hooks all emulators share are in `emulators.faults`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final, Generic, TypeVar

__all__ = ["ALL_METHODS", "RequestLog", "parse_json"]

R = TypeVar("R")

ALL_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""Every route takes every method, so an unexpected one gets the provider's own 404/405 answer."""


class RequestLog(Generic[R]):
    """The requests an emulator served, in order, for tests that assert on traffic and timing."""

    def __init__(self) -> None:
        self.requests: list[R] = []

    def reset_log(self) -> None:
        self.requests.clear()


def parse_json(
    raw: bytes, parse_constant: Callable[[str], object] | None = None
) -> tuple[object | None, bool]:
    """The body's JSON and whether there was any: (None, False) for an empty or unreadable body."""
    if not raw:
        return None, False
    try:
        return json.loads(raw, parse_constant=parse_constant), True
    except (ValueError, RecursionError):
        return None, False
