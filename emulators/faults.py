"""Fault profiles for emulators: the ways real upstreams misbehave, on demand and repeatable.

A profile adds latency, answers a share of requests with a fault chosen by a seeded random
generator (so a test run is repeatable), or plays a script of faults for the next requests
("pass" in a script serves that request normally).

`huge_rows` and `endless_next` take the shape of the emulator's own pages, so `apply` hands them
back as a `Reshaped` marker for the emulator to build; one that does not answers 501. `idless`
names rows every list answer serves without their `id` (`without_ids`): an unreadable row at a
stable place, page after page.
"""

from __future__ import annotations

import asyncio
import functools
import math
import random
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

__all__ = [
    "FAULTS",
    "AfterServing",
    "DroppedConnection",
    "FaultProfile",
    "Faulty",
    "RateLimiter",
    "Reshaped",
    "SlidingWindow",
    "fault_admin_route",
    "repeat_first_row",
    "without_ids",
]

FAULTS = (
    "error",  # 500/502/503, from `error_statuses`
    "rate_limit",  # 429 with Retry-After
    "forbidden",  # 403: the credentials are good but may not do this
    "hang",  # no answer for `hang_seconds`
    "malformed",  # 200 with JSON of the wrong shape
    "truncated",  # 200 with JSON cut short
    "html",  # 200 with an HTML error page, as a misrouted proxy sends
    "reset",  # the connection drops mid-answer, after the request was taken
    "gzip_bomb",  # 200 with ~250 KiB of gzip that inflates to `bomb_bytes` (256 MiB) of JSON
    "deep_json",  # 200 with a JSON array nested `DEEP_JSON` levels deep
    "huge_rows",  # the normal answer with its first row repeated `huge_rows` times
    "endless_next",  # an empty page that links to a next page, forever
    # The request is served first (a write is stored), then its answer is lost:
    "stored_error",  # 500/502/503, from `error_statuses`
    "stored_truncated",  # 201 with JSON cut short
    "stored_html",  # 200 with an HTML error page
    "stored_reset",  # the connection drops mid-answer
)
RESHAPED = ("huge_rows", "endless_next")
DEEP_JSON = 100_000


@dataclass
class SlidingWindow:
    """An emulator's documented rate limit: at most `limit` requests in any `seconds`."""

    limit: int
    seconds: float
    _hits: deque[float] = field(default_factory=deque, repr=False)

    def admit(self, now: float) -> int | None:
        """Counts a request; returns the Retry-After seconds instead when it is over the limit."""
        while self._hits and self._hits[0] <= now - self.seconds:
            self._hits.popleft()
        if len(self._hits) >= self.limit:
            oldest = self._hits[0] if self._hits else now  # a limit of 0 refuses everything
            return max(1, math.ceil(oldest + self.seconds - now))
        self._hits.append(now)
        return None


@dataclass
class RateLimiter:
    """Applies an emulator's current `rate_limit` setting, which tests may change at any time."""

    window: SlidingWindow | None = None

    def admit(self, rate_limit: tuple[int, float] | None, now: float) -> int | None:
        if rate_limit is None:
            return None
        if self.window is None or (self.window.limit, self.window.seconds) != rate_limit:
            self.window = SlidingWindow(*rate_limit)
        return self.window.admit(now)


class DroppedConnection(Response):
    """Announces a body, sends part of it and stops: the client sees the connection drop."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"data": [', "more_body": True})


class Reshaped(Response):
    """A fault only the emulator can build, in the shape of its own pages (`kind`)."""

    def __init__(self, kind: str, rows: int) -> None:
        super().__init__("this fault is not emulated for this API", status_code=501)
        self.kind = kind
        self.rows = rows


def repeat_first_row(rows: object, count: int) -> object:
    """A page's rows as `huge_rows` makes them: its first row `count` times."""
    return rows[:1] * count if isinstance(rows, list) and rows else rows


def without_ids(rows: object, ids: frozenset[str]) -> object:
    """A list answer's rows with the `id` of those named in `ids` taken out."""
    if not ids or not isinstance(rows, list):
        return rows
    return [
        {k: v for k, v in row.items() if k != "id"}
        if isinstance(row, dict) and str(row.get("id")) in ids
        else row
        for row in rows
    ]


@functools.cache
def _bomb(size: int) -> bytes:
    """A JSON empty array padded with `size` spaces, gzipped: about 1/1000 of the size."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = b" " * min(size, 1 << 20)
    parts = [squeeze.compress(b"[")]
    parts += [squeeze.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join([*parts, squeeze.compress(b"]"), squeeze.flush()])


class AfterServing(Response):
    """A fault that strikes after the request was served: the emulator runs its handler (a write
    is stored), then sends this in place of the handler's answer, unless the handler refused."""

    def __init__(self, failure: Response) -> None:
        super().__init__(status_code=failure.status_code)
        self.failure = failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.failure(scope, receive, send)


@dataclass
class FaultProfile:
    latency: float = 0.0
    rates: dict[str, float] = field(default_factory=dict)
    script: deque[str] = field(default_factory=deque)
    error_statuses: tuple[int, ...] = (500, 502, 503)
    retry_after: str = "1"
    hang_seconds: float = 30.0
    bomb_bytes: int = 256 * 1024 * 1024
    huge_rows: int = 60_000
    idless: frozenset[str] = frozenset()
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = (set(self.rates) | set(self.script)) - {*FAULTS, "pass"}
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self._rng = random.Random(self.seed)
        self.script = deque(self.script)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultProfile:
        """For the emulators' admin endpoint: the same fields, as JSON."""
        allowed = {"latency", "rates", "script", "error_statuses", "retry_after", "hang_seconds"}
        allowed |= {"bomb_bytes", "huge_rows", "idless"}
        unknown = set(data) - allowed - {"seed"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        return cls(
            latency=float(data.get("latency", 0.0)),
            rates={str(k): float(v) for k, v in dict(data.get("rates", {})).items()},
            script=deque(str(f) for f in data.get("script", [])),
            error_statuses=tuple(int(s) for s in data.get("error_statuses", (500, 502, 503))),
            retry_after=str(data.get("retry_after", "1")),
            hang_seconds=float(data.get("hang_seconds", 30.0)),
            bomb_bytes=int(data.get("bomb_bytes", 256 * 1024 * 1024)),
            huge_rows=int(data.get("huge_rows", 60_000)),
            idless=frozenset(str(i) for i in data.get("idless", ())),
            seed=int(data.get("seed", 0)),
        )

    def _pick(self) -> str | None:
        if self.script:
            fault = self.script.popleft()
            return None if fault == "pass" else fault
        roll = self._rng.random()
        for fault in FAULTS:
            roll -= self.rates.get(fault, 0.0)
            if roll < 0:
                return fault
        return None

    async def apply(self) -> Response | None:
        """The response a fault calls for, or None to let the request be served normally."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        fault = self._pick()
        if fault is None:
            return None
        if fault.startswith("stored_"):
            return AfterServing(self._after_storing(fault))
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
            return Response("gave up", status_code=504)
        if fault == "error":
            status = self._rng.choice(self.error_statuses)
            return Response("upstream failure", status_code=status)
        if fault == "rate_limit":
            return Response("slow down", status_code=429, headers={"Retry-After": self.retry_after})
        if fault == "forbidden":
            return JSONResponse({"error": "forbidden"}, status_code=403)
        if fault == "malformed":
            return Response(b'{"data": "oops", "meta": 7}', media_type="application/json")
        if fault == "truncated":
            return Response(b'{"data": [{"id": "a", "full_na', media_type="application/json")
        if fault == "html":
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>")
        if fault == "gzip_bomb":
            bomb = _bomb(self.bomb_bytes)
            return Response(
                bomb, media_type="application/json", headers={"content-encoding": "gzip"}
            )
        if fault == "deep_json":
            return Response(b"[" * DEEP_JSON + b"]" * DEEP_JSON, media_type="application/json")
        if fault in RESHAPED:
            return Reshaped(fault, self.huge_rows)
        return DroppedConnection()

    def _after_storing(self, fault: str) -> Response:
        """How a write's answer is lost after the write was stored."""
        if fault == "stored_error":
            return Response("upstream failure", status_code=self._rng.choice(self.error_statuses))
        if fault == "stored_truncated":
            return Response(b'{"data": {"id": "', status_code=201, media_type="application/json")
        if fault == "stored_html":
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>")
        return DroppedConnection()


class Faulty(Protocol):
    """A tenant of an emulator: a name and the fault profile its requests go through."""

    name: str
    faults: FaultProfile


def fault_admin_route(tenants: Callable[[], Iterable[Faulty]]) -> Route:
    """`PUT /_admin/faults/{name}` with a profile as JSON: emulator-only, for benchmarks that run
    an emulator in another process and cannot set `tenant.faults` directly."""

    async def set_faults(request: Request) -> Response:
        name = request.path_params["name"]
        tenant = next((t for t in tenants() if t.name == name), None)
        if tenant is None:
            return JSONResponse({"error": f"no tenant {name!r}"}, status_code=404)
        try:
            tenant.faults = FaultProfile.from_json(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"tenant": tenant.name})

    return Route("/_admin/faults/{name}", set_faults, methods=["PUT"])
