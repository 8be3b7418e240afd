"""What every provider emulator does alike: keep a log of the requests it served, read bodies,
and run on its own (`python -m emulators.<provider>.app`).

Only what is truly the same lives here. Routing tables, credentials, error bodies and rate
limits are each provider's own documented behaviour, so they stay in its package; the fault
hooks all emulators share are in `emulators.faults`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Final, Generic, TypeVar

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ALL_METHODS", "RequestLog", "parse_json", "run_standalone"]

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


def run_standalone(
    argv: Sequence[str] | None,
    *,
    name: str,
    description: str | None,
    port: int,
    seeded: Callable[[], tuple[ASGIApp, list[str]]],
    path: str = "",
) -> None:
    """Serves an emulator on its own until interrupted: `--host` and `--port` from `argv`, then
    `seeded()` builds it (after the arguments are read) with the lines that say how to call it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    args = parser.parse_args(argv)
    app, lines = seeded()
    for line in lines:
        print(line)
    print(f"{name} emulator on http://{args.host}:{args.port}{path}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
