"""The Talynce emulator in its own process, behind a /_bench admin API that counts its traffic.

The emulator itself is not changed: this wrapper passes every other path through to it and reads
its request log (`TalynceEmulator.requests`), adding only what the log lacks, the number of
candidate rows each answer carried, so a run can compute items fetched per item returned.

    python -m bench.emulator_server [--orgs 4] [--candidates 100]

prints one JSON line (`{"port": ...}`) once it listens on a free loopback port.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench import topology
from bench.processes import announce, exit_with_parent, listening_socket
from emulators.talynce.app import RecordedRequest, TalynceEmulator, TalynceOrg

__all__ = ["BenchEmulator", "kind_of", "main", "summarize"]

_LIST = "/api/v1/candidates"
_ONE = re.compile(r"^/api/v1/candidates/[^/]+$")


def kind_of(method: str, path: str) -> str:
    """What an upstream call was for, in the terms the bench reports."""
    if path == _LIST:
        return {"GET": "list", "POST": "create"}.get(method, "other")
    if _ONE.match(path):
        return {"GET": "get", "PATCH": "update", "PUT": "update"}.get(method, "other")
    return "other"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summarize(
    requests: Sequence[RecordedRequest], rows: Counter[str], writes: Counter[str]
) -> dict[str, Any]:
    """Counts and timings of a window of the emulator's log (durations in ms)."""
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    kind_statuses: dict[str, Counter[str]] = defaultdict(Counter)
    durations: list[float] = []
    per_org: dict[str, list[float]] = defaultdict(list)
    for record in requests:
        kind = kind_of(record.method, record.path)
        kinds[kind] += 1
        statuses[str(record.status)] += 1
        kind_statuses[kind][str(record.status)] += 1
        took = (record.finished - record.started) * 1000
        durations.append(took)
        per_org[record.org or "?"].append(took)
    return {
        "calls": len(requests),
        "by_kind": dict(kinds),
        "by_status": dict(statuses),
        "by_kind_status": {kind: dict(counts) for kind, counts in kind_statuses.items()},
        "rows": dict(rows),
        "writes": dict(writes),
        "p50_ms": _percentile(durations, 50),
        "p95_ms": _percentile(durations, 95),
        "per_org": {
            org: {"calls": len(values), "p50_ms": statistics.median(values)}
            for org, values in sorted(per_org.items())
        },
    }


def _reading(send: Send, done: Callable[[int, object], None]) -> Send:
    """Passes an answer through and hands its status and JSON `data` (None if unreadable) to
    `done`, as the gateway received them."""
    status = 0
    chunks: list[bytes] = []

    async def reading(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                try:
                    data = json.loads(b"".join(chunks)).get("data")
                except (ValueError, AttributeError):
                    data = None
                done(status, data)
        await send(message)

    return reading


class BenchEmulator:
    """ASGI app: /_bench/* for the harness, everything else to the emulator, rows counted."""

    def __init__(self, emulator: TalynceEmulator) -> None:
        self.emulator = emulator
        self.rows: Counter[str] = Counter()
        self.writes: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_bench/"):
            await self._admin(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.emulator.app(scope, receive, send)
            return
        kind = kind_of(scope["method"], scope["path"])
        if kind in ("list", "get", "create"):
            send = _reading(send, lambda status, data: self._count(kind, status, data))
        await self.emulator.app(scope, receive, send)

    def _count(self, kind: str, status: int, data: object) -> None:
        """Only well-formed answers count: a fault's 200 with a broken body fetched nothing."""
        if kind == "list" and status == 200 and isinstance(data, list):
            self.rows["list"] += len(data)
        elif kind == "get" and status == 200 and isinstance(data, dict):
            self.rows["get"] += 1
        elif kind == "create":
            # Talynce answers 201 for a new candidate and 200 when the email matched one.
            outcome = {201: "created", 200: "matched"}.get(status)
            self.writes[outcome if outcome and isinstance(data, dict) else "not_written"] += 1

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path = scope["path"]
        if path == "/_bench/health":
            response = JSONResponse({"status": "ok"})
        elif path == "/_bench/requests":
            # Holds summary and reset in one step, so no call falls between two windows.
            records = list(self.emulator.requests)
            summary = summarize(records, self.rows, self.writes)
            if request.query_params.get("reset") == "1":
                self.emulator.reset_log()
                self.rows.clear()
                self.writes.clear()
            response = JSONResponse(summary)
        else:
            response = JSONResponse({"error": "no such bench route"}, status_code=404)
        await response(scope, receive, send)


def build(orgs: int, candidates: int) -> BenchEmulator:
    """Deterministic tenants: the same data on every run, distinct per org."""
    return BenchEmulator(
        TalynceEmulator(
            TalynceOrg.seeded(
                topology.org_name(i), topology.api_key(i), candidates=candidates, seed=i + 1
            )
            for i in range(orgs)
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=topology.ORGS)
    parser.add_argument("--candidates", type=int, default=topology.CANDIDATES_PER_ORG)
    args = parser.parse_args(argv)
    app: ASGIApp = build(args.orgs, args.candidates)
    sock = listening_socket()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    exit_with_parent(server)
    announce({"port": sock.getsockname()[1]})
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
