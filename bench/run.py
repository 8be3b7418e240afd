"""`python -m bench.run`: the gateway's own cost, fan-out and upstream efficiency, in one run.

Three processes per upstream latency level: the Talynce emulator (4 seeded tenants, 100
candidates each, a fixed injected latency), the gateway under uvicorn (one worker, or
`--workers N` processes behind one port), and a load generator (wrk when installed, else
bench.load); with `--store redis`, also a redis-server of the run's own on a loopback port.
Each scenario runs twice: a short probe at concurrency 1, whose p50 is latency without queueing
(used for overhead and fan-out), then the load phase at `--concurrency`, whose figures are
throughput, percentiles and CPU per request.

    python -m bench.run [--quick] [--duration S] [--concurrency C] [--latency-ms 0,50]
                        [--loadgen auto|wrk|python] [--install] [--json out.json]
                        [--workers N] [--store memory|redis] [--scenarios A,B,C,E]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import topology, wrk
from bench.load import GENERATOR as PYTHON_GENERATOR
from bench.measure import lookup_ids, measure
from bench.processes import children, raise_on_stop_signals
from bench.report import checks, render_run, write_json
from bench.scenarios import build_scenarios
from bench.stack import STORES, redis_server, start_stack

__all__ = ["Options", "main", "run"]

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Options:
    duration: float
    probe: float
    concurrency: int
    latencies: tuple[float, ...]
    loadgen: str
    install: bool
    json_path: Path
    max_concurrency: int
    scenarios: tuple[str, ...]
    quick: bool
    workers: int = 1
    store: str = "memory"


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="1 s phases, 2 clients (smoke)")
    parser.add_argument("--duration", type=float, help="seconds per load phase (default 10)")
    parser.add_argument("--probe", type=float, help="seconds per concurrency-1 probe")
    parser.add_argument("--concurrency", type=int, help="clients in the load phase (default 8)")
    parser.add_argument("--latency-ms", default="0,50", help="upstream latencies, comma-separated")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--install", action="store_true", help="apt-get install wrk (root only)")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--max-concurrency", type=int, default=8, help="gateway per-account cap")
    parser.add_argument("--scenarios", default="D,A,A1,B,E,C", help="which, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="gateway processes on one port")
    parser.add_argument(
        "--store", choices=STORES, default="memory", help="[gateway] store (redis: its own server)"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.store == "redis" and redis_server() is None:
        parser.error(
            "--store redis needs redis-server, which is not installed (no /usr/bin/redis-server, "
            "none on PATH): apt-get install redis-server, or use --store memory"
        )
    duration = args.duration if args.duration is not None else (1.0 if args.quick else 10.0)
    probe = args.probe if args.probe is not None else (1.0 if args.quick else min(3.0, duration))
    concurrency = args.concurrency if args.concurrency is not None else (2 if args.quick else 8)
    return Options(
        duration=duration,
        probe=probe,
        concurrency=concurrency,
        latencies=tuple(float(v) for v in args.latency_ms.split(",") if v.strip()),
        loadgen=args.loadgen,
        install=args.install,
        json_path=args.json,
        max_concurrency=args.max_concurrency,
        scenarios=tuple(s.strip() for s in args.scenarios.split(",") if s.strip()),
        quick=args.quick,
        workers=args.workers,
        store=args.store,
    )


def choose_generator(options: Options) -> str:
    """wrk when present (or installable with --install as root), else the Python generator."""
    if options.loadgen == "python":
        return PYTHON_GENERATOR
    path = wrk.ensure_installed() if options.install else wrk.available()
    if path is not None:
        return wrk.GENERATOR
    if options.loadgen == "wrk":
        raise SystemExit("wrk is not installed (run as root with --install, or --loadgen python)")
    return PYTHON_GENERATOR


def run_level(
    options: Options, latency: float, generator: str, workdir: Path, meta: dict[str, Any]
) -> list[dict[str, Any]]:
    """A fresh emulator and gateway per latency, so creates and peak RSS do not carry over."""
    rows: list[dict[str, Any]] = []
    with children(workdir) as group:
        stack = start_stack(
            group,
            workdir,
            max_concurrency=options.max_concurrency,
            workers=options.workers,
            store=options.store,
        )
        try:
            meta["gateway"] = stack.gateway_impl
            if stack.redis is not None:
                meta["redis_version"] = stack.redis.info["version"]
            stack.set_faults({"latency": latency / 1000})
            ids = lookup_ids(stack)
            run_tag = uuid.uuid4().hex[:8]
            for scenario in build_scenarios(ids, run_tag):
                if scenario.key not in options.scenarios:
                    continue
                print(f"  {scenario.key:<3} @ {latency:g} ms ...", file=sys.stderr, flush=True)
                rows.append(
                    measure(
                        stack,
                        scenario,
                        generator,
                        latency,
                        probe=options.probe,
                        duration=options.duration,
                        concurrency=options.concurrency,
                    )
                )
        finally:
            stack.close()
    return rows


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def run(options: Options) -> dict[str, Any]:
    generator = choose_generator(options)
    meta: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "generator": generator,
        "wrk_available": wrk.available() is not None,
        "duration_s": options.duration,
        "probe_s": options.probe,
        "concurrency": options.concurrency,
        "gateway_max_concurrency": options.max_concurrency,
        "workers": options.workers,
        "store": options.store,
        "latencies_ms": list(options.latencies),
        "orgs": topology.ORGS,
        "candidates_per_org": topology.CANDIDATES_PER_ORG,
    }
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for latency in options.latencies:
            workdir = Path(tmp) / f"latency-{latency:g}"
            workdir.mkdir()
            rows.extend(run_level(options, latency, generator, workdir, meta))
    meta["wall_s"] = time.monotonic() - started
    found = checks(rows)
    return {
        "meta": meta,
        "rows": rows,
        "checks": [{"name": c.name, "verdict": c.verdict, "figure": c.figure} for c in found],
    }


def main(argv: Sequence[str] | None = None) -> int:
    raise_on_stop_signals()
    options = parse_args(argv)
    try:
        result = run(options)
    except KeyboardInterrupt:
        print("interrupted; every child process was stopped", file=sys.stderr)
        return 130
    print(render_run(result))
    write_json(options.json_path, result)
    print(f"\nwrote {options.json_path}")
    return 1 if any("error" in r for r in result["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
