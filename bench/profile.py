"""`python -m bench.profile`: where the gateway's CPU goes under one scenario's load, by py-spy.

py-spy samples the gateway process from outside (no code change, no import in the gateway),
while the same load generator as bench.run drives the scenario. Printed: the functions with the
most samples on-CPU (self and inclusive) and the same split by package. The collapsed stacks are
kept (bench/results/profile-<scenario>.txt) for a flame graph (e.g. inferno, speedscope).

py-spy is not a project dependency; install it anywhere (a throwaway venv will do) and pass
`--py-spy PATH` if it is not on PATH:

    python -m bench.profile [--scenario A] [--duration 15] [--latency-ms 0] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import wrk
from bench.load import GENERATOR as PYTHON_GENERATOR
from bench.measure import load_phase, lookup_ids, preflight
from bench.processes import children, raise_on_stop_signals
from bench.run import RESULTS
from bench.scenarios import build_scenarios
from bench.stack import start_stack

__all__ = ["Profile", "main", "package_of", "parse_collapsed"]

PACKAGES = (
    ("graphql/", "graphql-core"),
    ("strawberry/", "strawberry"),
    ("httpx/", "httpx"),
    ("httpcore/", "httpcore"),
    ("h11/", "h11"),
    ("anyio/", "anyio"),
    ("starlette/", "starlette"),
    ("uvicorn/", "uvicorn"),
    ("aiodataloader", "aiodataloader"),
    ("gateway/", "gateway (project)"),
    ("resolvers/", "resolvers (project)"),
    ("providers/", "providers (project)"),
    ("json/", "json (stdlib)"),
    ("asyncio/", "asyncio (stdlib)"),
    ("selectors.py", "asyncio (stdlib)"),
)


def package_of(frame: str) -> str:
    """The package a py-spy frame (`name (path:line)`) belongs to."""
    where = frame.rsplit("(", 1)[-1]
    for marker, name in PACKAGES:
        if marker in where:
            return name
    return "other stdlib / C"


@dataclass
class Profile:
    samples: int
    self_counts: Counter[str]
    total_counts: Counter[str]
    package_counts: Counter[str]


def parse_collapsed(text: str) -> Profile:
    """Reads py-spy's raw (collapsed) output: `frame;frame;...;leaf count` per line."""
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        self_counts[frames[-1]] += count
        packages[package_of(frames[-1])] += count
        for frame in set(frames):
            total_counts[frame] += count
    return Profile(samples, self_counts, total_counts, packages)


def render(profile: Profile, top: int) -> str:
    def pct(n: int) -> str:
        return f"{100 * n / profile.samples:5.1f}%"

    lines = [f"{profile.samples} on-CPU samples", "", "self (where the CPU was):"]
    lines += [f"  {pct(n)}  {frame}" for frame, n in profile.self_counts.most_common(top)]
    lines += ["", "inclusive (the frame or anything it called), outer frames of the loop omitted:"]
    shown = [
        (frame, n)
        for frame, n in profile.total_counts.most_common()
        if n < profile.samples * 0.995  # drop the event loop's own frames, at ~100% each
    ][:top]
    lines += [f"  {pct(n)}  {frame}" for frame, n in shown]
    lines += ["", "self by package:"]
    lines += [f"  {pct(n)}  {name}" for name, n in profile.package_counts.most_common()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    raise_on_stop_signals()
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scenario", default="A")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"))
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--loadgen", choices=("auto", "python"), default="auto")
    args = parser.parse_args(argv)
    if not args.py_spy:
        raise SystemExit("py-spy not found: install it (any venv) and pass --py-spy PATH")
    generator = wrk.GENERATOR if args.loadgen == "auto" and wrk.available() else PYTHON_GENERATOR
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-{args.scenario}.txt"
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp, children(Path(tmp)) as group:
        workdir = Path(tmp)
        stack = start_stack(group, workdir)
        try:
            stack.set_faults({"latency": args.latency_ms / 1000})
            scenario = next(
                s for s in build_scenarios(lookup_ids(stack), "prof") if s.key == args.scenario
            )
            items = preflight(stack, scenario)
            for _ in range(20):  # warm caches before sampling
                preflight(stack, scenario)
            spy = group.command(
                "py-spy",
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(stack.gateway.pid),
                    "--duration",
                    str(round(args.duration) + 1),
                    "--rate",
                    str(args.rate),
                    "--function",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                ],
            )
            time.sleep(0.5)  # py-spy attaches before the load starts
            phase = load_phase(
                stack,
                scenario,
                generator,
                name="profile",
                concurrency=args.concurrency,
                duration=args.duration,
                items_per_ok=items,
            )
            spy.wait(timeout=args.duration + 30)
            spy_log = (workdir / "py-spy.log").read_text(errors="replace")
        finally:
            stack.close()
    if spy.returncode != 0 or not out.exists():
        print(spy_log, file=sys.stderr)
        return 1
    cpu_ms = phase.gateway_cpu_s * 1000 / max(1, phase.served)
    print(
        f"scenario {scenario.key} ({scenario.title}) · {args.latency_ms:g} ms upstream · "
        f"{generator} at concurrency {args.concurrency} · {phase.served} requests · "
        f"{cpu_ms:.1f} ms gateway CPU per request (py-spy attached: sampling adds some)"
    )
    print(render(parse_collapsed(out.read_text()), args.top))
    print(f"\ncollapsed stacks: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
