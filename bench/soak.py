"""`python -m bench.soak`: the bounded soak of issue 5, mixed traffic while upstreams misbehave.

Same process layout as bench.run (emulator, gateway under uvicorn, Python load generator, each
in its own process). Every tenant gets a different fault personality through the emulator's
admin route, so each error code can be traced to its cause. The figures that say whether the
gateway holds up: requests served, errors by `extensions.code`, latency against the deadline,
RSS at start and end, upstream POSTs against idempotency keys, and upstream connections still
open once the load has stopped.

    python -m bench.soak [--duration 60] [--clients 50] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procfs, topology
from bench.load import GENERATOR, LoadSpec
from bench.measure import lookup_ids
from bench.processes import children, raise_on_stop_signals
from bench.report import write_json
from bench.run import RESULTS
from bench.stack import Stack, start_stack

__all__ = ["FAULTS", "main", "soak"]

FAULTS: tuple[dict[str, Any], ...] = (
    {"rates": {"error": 0.10}, "error_statuses": [503]},
    {"rates": {"rate_limit": 0.01}, "retry_after": "1"},
    {"rates": {"hang": 0.02}, "hang_seconds": 2.0},
    {"rates": {"malformed": 0.02, "truncated": 0.02, "html": 0.01, "reset": 0.02}},
)
"""Per tenant, in order: 503s; 429 with Retry-After; hangs (well inside the deadline);
malformed, truncated and HTML bodies and dropped connections."""

_POLL = 5.0
_RATE_BOUND = 2000
"""Requests per second per client the generator may not exceed: bounds the loop by count."""


@dataclass(frozen=True)
class Options:
    duration: float
    clients: int
    latency_ms: float
    deadline: float
    max_concurrency: int
    json_path: Path
    faults: bool


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 50)")
    parser.add_argument("--quick", action="store_true", help="5 s, 4 clients (smoke)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="base upstream latency")
    parser.add_argument("--deadline", type=float, default=10.0, help="gateway request deadline")
    parser.add_argument("--max-concurrency", type=int, default=8, help="gateway per-account cap")
    parser.add_argument("--json", type=Path, default=RESULTS / "soak-latest.json")
    parser.add_argument(
        "--no-faults", action="store_true", help="the same traffic on healthy upstreams (control)"
    )
    args = parser.parse_args(argv)
    return Options(
        duration=args.duration if args.duration is not None else (5.0 if args.quick else 60.0),
        clients=args.clients if args.clients is not None else (4 if args.quick else 50),
        latency_ms=args.latency_ms,
        deadline=args.deadline,
        max_concurrency=args.max_concurrency,
        json_path=args.json,
        faults=not args.no_faults,
    )


def _describe(profile: dict[str, Any]) -> str:
    parts = []
    for fault, rate in profile["rates"].items():
        detail = {
            "error": f"HTTP {'/'.join(map(str, profile.get('error_statuses', [])))}",
            "rate_limit": f"429 Retry-After {profile.get('retry_after')}",
            "hang": f"hang {profile.get('hang_seconds')} s",
        }.get(fault, fault)
        parts.append(f"{detail} {rate:.0%}")
    return ", ".join(parts)


def _accumulate(total: dict[str, Any], window: dict[str, Any]) -> None:
    total["calls"] += window["calls"]
    for key in ("by_kind", "by_status"):
        total[key].update(window[key])
    total["writes"].update(window["writes"])
    for kind, counts in window["by_kind_status"].items():
        total["by_kind_status"].setdefault(kind, Counter()).update(counts)


def _drive(stack: Stack, spec: LoadSpec, workdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs the generator while draining the emulator's log, so it stays small over a long run."""
    upstream: dict[str, Any] = {
        "calls": 0,
        "by_kind": Counter(),
        "by_status": Counter(),
        "by_kind_status": {},
        "writes": Counter(),
    }
    rss_mb: list[float] = []
    spec_path, out_path = workdir / "soak.spec.json", workdir / "soak.result.json"
    spec_path.write_text(spec.to_json())
    process = stack.children.command(
        "soak-load", [sys.executable, "-m", "bench.load", str(spec_path), str(out_path)]
    )
    limit = time.monotonic() + spec.duration + spec.timeout + 60
    while process.poll() is None and time.monotonic() < limit:
        try:
            process.wait(timeout=_POLL)
        except subprocess.TimeoutExpired:
            _accumulate(upstream, stack.upstream(reset=True))
            rss_mb.append(stack.sample().rss_kib / 1024)
    if process.poll() is None:
        raise RuntimeError("the soak's load generator outlived its time bound")
    if process.returncode != 0 or not out_path.exists():
        log = (workdir / "soak-load.log").read_text(errors="replace")
        raise RuntimeError(f"load generator failed ({process.returncode}):\n{log[-3000:]}")
    result: dict[str, Any] = json.loads(out_path.read_text())
    stack.set_faults({})  # hangs and retries still pending end normally; no new faults
    stack.settle()
    _accumulate(upstream, stack.upstream(reset=True))
    upstream["rss_mb_every_5s"] = rss_mb
    return result, upstream


def soak(options: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, children(Path(tmp)) as group:
        workdir = Path(tmp)
        stack = start_stack(
            group,
            workdir,
            max_concurrency=options.max_concurrency,
            request_timeout=options.deadline,
        )
        try:
            stack.set_faults({"latency": options.latency_ms / 1000})
            ids = lookup_ids(stack, 100)
            served_before = stack.served()
            start = stack.sample()
            faults = FAULTS if options.faults else ()
            for index, profile in enumerate(faults):
                stack.set_faults(
                    {"latency": options.latency_ms / 1000, "seed": index, **profile}, index
                )
            spec = LoadSpec(
                url=f"{stack.gateway.url}/graphql",
                mode="soak",
                headers={"content-type": "application/json"},
                concurrency=options.clients,
                duration=options.duration,
                max_requests=int(options.duration * options.clients * _RATE_BOUND),
                timeout=options.deadline * 3,
                accounts=topology.account_ids(),
                options={"ids": ids, "tag": uuid.uuid4().hex[:8]},
            )
            client, upstream = _drive(stack, spec, workdir)
            end = stack.sample()
            served = stack.served() - served_before
            open_connections = procfs.established_to(stack.gateway.pid, stack.emulator.port)
            gateway = stack.gateway_impl
        finally:
            stack.close()
    return {
        "meta": {
            "duration_s": options.duration,
            "clients": options.clients,
            "latency_ms": options.latency_ms,
            "deadline_s": options.deadline,
            "generator": GENERATOR,
            "gateway": gateway,
            "faults": {topology.org_name(i): p for i, p in enumerate(faults)},
            "accounts": topology.ORGS,
            "max_concurrency": options.max_concurrency,
        },
        "client": client,
        "served": served,
        "upstream": {
            "calls": upstream["calls"],
            "by_kind": dict(upstream["by_kind"]),
            "by_status": dict(upstream["by_status"]),
            "by_kind_status": {k: dict(v) for k, v in upstream["by_kind_status"].items()},
            "writes": dict(upstream["writes"]),
        },
        "rss_start_mb": start.rss_kib / 1024,
        "rss_end_mb": end.rss_kib / 1024,
        "rss_peak_mb": end.hwm_kib / 1024,
        "rss_mb_during": upstream.pop("rss_mb_every_5s"),
        "open_upstream_connections": open_connections,
        "connection_bound": topology.ORGS * options.max_concurrency,
    }


def render(result: dict[str, Any]) -> str:
    meta, client, up = result["meta"], result["client"], result["upstream"]
    extra, codes = client["extra"], client["codes"]
    deadline_ms = meta["deadline_s"] * 1000
    posts = up["by_kind"].get("create", 0)
    created, matched = up["writes"].get("created", 0), up["writes"].get("matched", 0)
    keys = extra.get("create_keys", 0)
    bound = result["connection_bound"]
    faults = " · ".join(f"{org} {_describe(p)}" for org, p in meta["faults"].items()) or "none"
    lines = [
        f"soak {meta['duration_s']:g} s · {meta['clients']} clients ({meta['generator']}) · "
        f"gateway {meta['gateway']} · deadline {meta['deadline_s']:g} s · upstream latency "
        f"{meta['latency_ms']:g} ms",
        f"faults: {faults}",
        "",
        f"requests served       {client['requests']} ({client['rps']:.1f}/s; the gateway counted "
        f"{result['served']})",
        f"  complete            {extra.get('complete', 0)}",
        f"  partial             {extra.get('partial', 0)}  (data, plus errors from some accounts)",
        f"  failed              {extra.get('failed_hard', 0)}  (data null, HTTP or socket error)",
        "  by kind             complete / partial / failed",
        *(
            f"    {kind:<17} {extra.get(kind, 0):>6}: {extra.get(f'complete:{kind}', 0)} / "
            f"{extra.get(f'partial:{kind}', 0)} / {extra.get(f'failed_hard:{kind}', 0)}"
            for kind in ("list", "lookup", "create", "replay")
        ),
        f"latency ms            p50 {client['p50_ms']:.1f} · p95 {client['p95_ms']:.1f} · "
        f"p99 {client['p99_ms']:.1f} · max {client['max_ms']:.1f} (deadline {deadline_ms:g})",
        "errors by extensions.code:",
        *(f"  {code:<32} {n}" for code, n in sorted(codes.items(), key=lambda kv: -kv[1])),
        *([] if codes else ["  (none)"]),
        "errors by code and path (* = any index):",
        *(
            f"  {n:>6}  {key[3:]}"
            for key, n in sorted(extra.items(), key=lambda kv: -kv[1])
            if key.startswith("at:")
        ),
        f"upstream calls        {up['calls']} · "
        + " · ".join(f"{k} {v}" for k, v in sorted(up["by_kind"].items()))
        + " · HTTP "
        + ", ".join(f"{k}: {v}" for k, v in sorted(up["by_status"].items())),
        f"creates               {keys} idempotency keys · {posts} POSTs upstream: "
        f"{created} created (201), {matched} matched an earlier one by email (200), "
        f"{posts - created - matched} refused or faulted (nothing written)",
        f"  {'PASS' if created <= keys and matched == 0 else 'FAIL'}: no key wrote twice "
        f"(created <= keys, no POST repeated after a success) · replays returning the first "
        f"candidate {extra.get('replay_same', 0)}, a different one "
        f"{extra.get('replay_differs', 0)}",
        f"gateway RSS           start {result['rss_start_mb']:.1f} MB · end "
        f"{result['rss_end_mb']:.1f} MB · peak {result['rss_peak_mb']:.1f} MB · every "
        f"{_POLL:g} s: {' '.join(f'{v:.0f}' for v in result['rss_mb_during']) or '-'}",
        f"open upstream connections at end: {result['open_upstream_connections']} ESTABLISHED "
        f"(pool bound {meta['accounts']} accounts x {meta['max_concurrency']} = {bound})",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    raise_on_stop_signals()
    options = parse_args(argv)
    try:
        result = soak(options)
    except KeyboardInterrupt:
        print("interrupted; every child process was stopped", file=sys.stderr)
        return 130
    print(render(result))
    write_json(options.json_path, result)
    print(f"\nwrote {options.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
