"""`python -m bench.readahead`: what paging a listing to its end costs as accounts grow.

For each account count, a fresh emulator (every tenant `--rows` candidates, `--latency-ms` on
every call) and gateway; one client pages `candidates(first: 20)` from the first page to the
last, one request at a time, and after each page reads what reached the emulator. Printed per
account count and mode (`on`: read-ahead, the default; `off`: `[gateway] read_ahead = false`, one
row per account per turn), the curve:

- calls over the run against the minimum: each account's rows in pages of Talynce's maximum;
- the gateway's CPU ms per request (its process, from /proc);
- p50 of all pages, p50 of the pages that reached upstream, and the slowest account's own
  p50 per call on those pages: a page waits for its slowest account, so the ratio of the two
  is the gateway's overhead on top of it.

    python -m bench.readahead [--accounts 1,4,16,64] [--rows 400] [--first 20]
                              [--latency-ms 50] [--modes on,off] [--store memory|redis]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import Children, raise_on_stop_signals
from bench.report import Column, format_table
from bench.stack import STORES, Stack, start_stack
from providers.talynce.adapter import MAX_PAGE

__all__ = ["Options", "main", "run"]

LIST = """
query($first: Int!, $after: String) {
  candidates(first: $first, after: $after) {
    edges { node { id firstName lastName emails { value } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
COLUMNS = (
    Column("accounts", "accounts", 0),
    Column("mode", "mode", left=True),
    Column("requests", "requests", 0),
    Column("calls", "calls", 0),
    Column("minimum", "minimum", 0),
    Column("calls/min", "calls_ratio", 2),
    Column("cpu ms/req", "cpu_ms", 2),
    Column("p50 ms", "p50_ms", 1),
    Column("p50 upstream pages", "p50_upstream_ms", 1),
    Column("slowest account p50", "slowest_ms", 1),
    Column("ratio", "latency_ratio", 2),
)


@dataclass(frozen=True)
class Options:
    accounts: tuple[int, ...]
    rows: int
    first: int
    latency_ms: float
    modes: tuple[str, ...]
    store: str


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.readahead", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--accounts", default="1,4,16,64", help="account counts, comma-separated")
    parser.add_argument("--rows", type=int, default=400, help="candidates per account")
    parser.add_argument("--first", type=int, default=20, help="page size the client asks")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="per upstream call")
    parser.add_argument("--modes", default="on", help="on, off or on,off (off is slow)")
    parser.add_argument("--store", choices=STORES, default="memory")
    args = parser.parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or set(modes) - {"on", "off"}:
        parser.error("--modes takes on, off or both")
    accounts = tuple(int(v) for v in args.accounts.split(",") if v.strip())
    if not accounts or min(accounts) < 1 or args.rows < 1 or not 1 <= args.first <= 100:
        parser.error("accounts and rows must be positive, first from 1 to 100")
    return Options(accounts, args.rows, args.first, args.latency_ms, modes, args.store)


def page_through(stack: Stack, first: int) -> dict[str, Any]:
    """Pages to the end; per page, its latency and what reached the emulator meanwhile."""
    stack.upstream(reset=True)
    latencies: list[float] = []
    upstream_pages: list[tuple[float, float]] = []  # (page latency, slowest account's p50)
    calls = rows = 0
    before = stack.sample().cpu_s
    after: str | None = None
    while True:
        began = time.perf_counter()
        body = stack.graphql(LIST, {"first": first, "after": after})
        latencies.append((time.perf_counter() - began) * 1000)
        if "errors" in body:
            raise RuntimeError(f"the gateway answered errors: {body['errors']}")
        listing = body["data"]["candidates"]
        rows += len(listing["edges"])
        seen = stack.upstream(reset=True)
        calls += int(seen["calls"])
        if seen["calls"]:
            slowest = max(org["p50_ms"] for org in seen["per_org"].values())
            upstream_pages.append((latencies[-1], slowest))
        if not listing["pageInfo"]["hasNextPage"]:
            break
        after = listing["pageInfo"]["endCursor"]
    cpu_s = stack.sample().cpu_s - before
    ratios = [page / slowest for page, slowest in upstream_pages if slowest > 0]
    return {
        "requests": len(latencies),
        "rows": rows,
        "calls": calls,
        "cpu_ms": cpu_s * 1000 / len(latencies),
        "p50_ms": statistics.median(latencies),
        "p50_upstream_ms": statistics.median(p for p, _ in upstream_pages) if ratios else None,
        "slowest_ms": statistics.median(s for _, s in upstream_pages) if ratios else None,
        "latency_ratio": statistics.median(ratios) if ratios else None,
    }


def run(options: Options, workdir: Path) -> list[dict[str, Any]]:
    results = []
    for accounts in options.accounts:
        for mode in options.modes:
            print(f"  {accounts} accounts, read-ahead {mode} ...", file=sys.stderr, flush=True)
            with Children(workdir) as group:
                stack = start_stack(
                    group,
                    workdir,
                    accounts=accounts,
                    candidates=options.rows,
                    read_ahead=mode == "on",
                    store=options.store,
                )
                try:
                    for org in range(accounts):
                        stack.set_faults({"latency": options.latency_ms / 1000}, org)
                    figures = page_through(stack, options.first)
                finally:
                    stack.close()
            minimum = accounts * math.ceil(options.rows / MAX_PAGE)
            if figures["rows"] != accounts * options.rows:
                raise RuntimeError(f"paged {figures['rows']} rows of {accounts * options.rows}")
            results.append(
                {
                    "accounts": accounts,
                    "mode": mode,
                    "minimum": minimum,
                    "calls_ratio": figures["calls"] / minimum,
                    **figures,
                }
            )
    return results


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_args(argv)
    raise_on_stop_signals()
    with tempfile.TemporaryDirectory(prefix="bench-readahead-") as folder:
        results = run(options, Path(folder))
    command = "python -m bench.readahead " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"$ {command.strip()}")
    print(
        f"{options.rows} candidates per account, first: {options.first}, "
        f"{options.latency_ms:g} ms per upstream call, store {options.store}"
    )
    print(format_table(results, COLUMNS))


if __name__ == "__main__":
    main()
