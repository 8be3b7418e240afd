"""The Python load generator: closed-loop async clients in their own process.

Used when wrk is absent, and always for the paging run (E) and the soak, whose next request
depends on the last answer. Each of `concurrency` clients sends, waits for the answer, records
it and sends again, until the phase's time or request budget is spent: both bound every loop.

    python -m bench.load SPEC.json RESULT.json
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.stats import Tally

__all__ = ["GENERATOR", "LoadSpec", "Op", "main", "run"]

GENERATOR = "python-httpx"
Op = Callable[[httpx.AsyncClient], Awaitable[None]]
OpFactory = Callable[["LoadSpec", Tally, int], Op]
_MAX_PAGES = 1000
"""A paging run stops here even if the gateway keeps answering hasNextPage."""


@dataclass
class LoadSpec:
    """One load phase, as plain JSON so it crosses into the generator's process unchanged."""

    url: str
    mode: str = "fixed"
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    concurrency: int = 1
    duration: float = 1.0
    max_requests: int = 100_000
    timeout: float = 30.0
    accounts: list[str] = field(default_factory=list)
    fail_regex: str | None = None
    require_regex: str | None = None
    items_per_ok: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        return cls(**json.loads(text))


def _judge(spec: LoadSpec) -> Callable[[int, str], bool]:
    fail = re.compile(spec.fail_regex) if spec.fail_regex else None
    require = re.compile(spec.require_regex) if spec.require_regex else None

    def ok(status: int, text: str) -> bool:
        if status != 200 or (fail is not None and fail.search(text)):
            return False
        return require is None or require.search(text) is not None

    return ok


async def timed(
    client: httpx.AsyncClient, spec: LoadSpec, tally: Tally, body: str | None
) -> tuple[float, httpx.Response | None]:
    """Sends one request; a transport failure is tallied under its exception's name."""
    started = time.perf_counter()
    try:
        response = await client.request(spec.method, spec.url, content=body, headers=spec.headers)
    except httpx.HTTPError as error:
        took = (time.perf_counter() - started) * 1000
        tally.codes[f"transport:{type(error).__name__}"] += 1
        tally.record(took, ok=False)
        return took, None
    took = (time.perf_counter() - started) * 1000
    tally.statuses[str(response.status_code)] += 1
    return took, response


def fixed_op(spec: LoadSpec, tally: Tally, worker: int) -> Op:
    """The same request every time (or, in `create` mode, with a fresh `__SEQ__`/`__ACCT__`)."""
    ok = _judge(spec)
    sequence = itertools.count()
    template = spec.body

    def body() -> str | None:
        if spec.mode != "create" or template is None:
            return template
        n = next(sequence)
        account = spec.accounts[n % len(spec.accounts)] if spec.accounts else ""
        return template.replace("__SEQ__", f"{worker}-{n}").replace("__ACCT__", account)

    async def op(client: httpx.AsyncClient) -> None:
        took, response = await timed(client, spec, tally, body())
        if response is not None:
            tally.record(took, ok(response.status_code, response.text), spec.items_per_ok)

    return op


def paging_op(spec: LoadSpec, tally: Tally, worker: int) -> Op:
    """Follows `endCursor` page by page to the end, then starts the listing over."""
    assert spec.body is not None
    template = json.loads(spec.body)
    state: dict[str, Any] = {"after": None, "pages": 0}

    async def op(client: httpx.AsyncClient) -> None:
        request = {**template, "variables": {**template["variables"], "after": state["after"]}}
        took, response = await timed(client, spec, tally, json.dumps(request))
        if response is None:
            state.update(after=None, pages=0)
            return
        try:
            payload = response.json()
            listing = payload["data"]["candidates"]
            edges = len(listing["edges"])
            info = listing["pageInfo"]
        except (ValueError, KeyError, TypeError):
            tally.record(took, ok=False)
            state.update(after=None, pages=0)
            return
        good = response.status_code == 200 and not payload.get("errors")
        tally.record(took, good, edges)
        state["pages"] += 1
        if info["hasNextPage"] and state["pages"] < _MAX_PAGES:
            state["after"] = info["endCursor"]
        else:
            tally.extra["runs"] += 1
            state.update(after=None, pages=0)

    return op


def _factory(mode: str) -> OpFactory:
    if mode in ("fixed", "create"):
        return fixed_op
    if mode == "paging":
        return paging_op
    if mode == "soak":
        from bench.soak_mix import soak_op

        return soak_op
    raise ValueError(f"unknown load mode {mode!r}")


async def run(spec: LoadSpec) -> dict[str, Any]:
    """Runs one phase and returns its tally, as `Tally.result` shapes it."""
    tally = Tally()
    make = _factory(spec.mode)
    budget = itertools.count()
    limits = httpx.Limits(
        max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
    )
    async with httpx.AsyncClient(timeout=spec.timeout, limits=limits) as client:
        started = time.monotonic()
        deadline = started + spec.duration

        async def client_loop(worker: int) -> None:
            op = make(spec, tally, worker)
            while time.monotonic() < deadline and next(budget) < spec.max_requests:
                await op(client)

        loops = [client_loop(n) for n in range(spec.concurrency)]
        # A request in flight at the deadline may finish; nothing waits past its timeout.
        await asyncio.wait_for(asyncio.gather(*loops), spec.duration + spec.timeout + 5)
        elapsed = time.monotonic() - started
    return tally.result(elapsed, GENERATOR)


def main(argv: list[str] | None = None) -> None:
    spec_path, out_path = (argv if argv is not None else sys.argv[1:])[:2]
    spec = LoadSpec.from_json(Path(spec_path).read_text())
    result = asyncio.run(run(spec))
    Path(out_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
