"""`python -m bench.peer`: the gateway beside GraphQL Mesh, over the same upstream, same shapes.

One Talynce-shaped upstream (bench.peer_upstream: the emulator's answers, replayed from memory)
under both servers. GraphQL Mesh is installed from npm into bench/.cache/mesh (versions pinned in
bench/mesh/package.json), built over an OpenAPI description of that upstream and served by
`mesh start` (production); the gateway runs as the README documents for production,
`python -m gateway serve --config FILE --workers N`, one Talynce account on the same upstream.
Both get N server processes (default 2). Each shape is loaded on each server, in turn, `--runs`
times:

- L: 20 candidates with about twenty scalar and list fields (one upstream list call);
- A: L plus each candidate's applications (the list and one get-by-id per candidate);
- F, only when asked for (`--shapes F,L,A`): `{ __typename }`, no upstream call: what any
  request costs each server before it does any work, the floor under L and A.

A third server, `floor` (bench.peer_floor), makes the same upstream calls with no GraphQL in
between, on uvicorn and Starlette: the least any gateway on this stack spends per request. A
fourth, `strawberry`, makes them from the one resolver of a one-field schema under Strawberry's
stock view: what Strawberry and graphql-core add to that before any row is mapped or completed.

Printed per run, shape and server: CPU ms per request summed over the server's whole process
tree (/proc/<pid>/stat of every descendant, before and after), req/s, p50, p99, response bytes
on the wire, upstream calls per request, and the ratios to Mesh in the same run and shape.

    python -m bench.peer [--requests 2000] [--concurrency 8] [--runs 2] [--workers 2]
                         [--warmup 300] [--latency-ms 0] [--shapes L,A] [--json PATH]
                         [--servers mesh,gateway,floor,strawberry]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import procfs, topology
from bench.load import LoadSpec
from bench.peer_floor import STRAWBERRY_QUERIES
from bench.peer_mesh import MESH_QUERIES, build_mesh, install_mesh, start_mesh
from bench.peer_report import render, shape_check
from bench.processes import Child, Children, children, raise_on_stop_signals
from bench.report import write_json
from bench.run import RESULTS
from bench.scenarios import FAILED, Marker, graphql_body, list_query
from bench.stack import free_port, python_load

__all__ = ["ALL_SHAPES", "SERVERS", "SHAPES", "Server", "main", "run"]

SHAPES = ("L", "A")
ALL_SHAPES = ("F", *SHAPES)
FLOOR = "{ __typename }"
"""Shape F in both servers' schemas: the request with no work in it."""
FLOOR_MARKER = Marker("__typename", '"', '"')
SERVERS = ("mesh", "gateway", "floor", "strawberry")
_READY_TIMEOUT = 90.0
_PHASE_LIMIT_S = 600.0
"""No phase runs longer, whatever its request count."""
_KEY_ENV = "BENCH_TALYNCE_API_KEY"
_JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Server:
    """A server under test: its root process and the request body of each shape."""

    name: str
    child: Child
    bodies: dict[str, str]
    require: dict[str, Marker]
    started_line: str
    """A regex each serving process's log line matches once it serves (all must, before the
    warm-up)."""
    processes: int

    @property
    def url(self) -> str:
        return f"{self.child.url}/graphql"


def gateway_config(upstream_url: str) -> str:
    """One Talynce account on the upstream; the key comes by environment, as in production."""
    return f"""[gateway]
request_timeout = 30
read_ahead = false  # every request reads its page upstream, as Mesh's does: the same work

[[accounts]]
id = "{topology.account_id(0)}"
name = "Bench Talynce"
provider = "talynce"
base_url = "{upstream_url}/api/v1"
api_key_env = "{_KEY_ENV}"
"""


_UVICORN_STARTED = "Application startup complete"


def _bodies(queries: dict[str, str]) -> dict[str, str]:
    """Each shape's request body from its query in a server's own schema, and F's."""
    return {shape: graphql_body(queries[shape]) for shape in SHAPES} | {"F": graphql_body(FLOOR)}


def _gateway_bodies() -> dict[str, str]:
    """Shapes L and A in the gateway's schema (one account named), and F."""
    accounts = {"accounts": [topology.account_id(0)]}
    bodies = {
        shape: graphql_body(list_query(first=20, applications=shape == "A"), accounts)
        for shape in SHAPES
    }
    return bodies | {"F": graphql_body(FLOOR)}


def _require(names: str) -> dict[str, Marker]:
    """What an answer of each shape must hold: the typename, names under `names`, applications."""
    return {
        "F": FLOOR_MARKER,
        "L": Marker(names, '"', '"'),
        "A": Marker("applications", r"\[", "%["),
    }


def start_gateway(group: Children, workdir: Path, upstream: Child, workers: int) -> Server:
    config = workdir / "gateway.toml"
    config.write_text(gateway_config(upstream.url))
    port = free_port()
    argv = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    env = {**os.environ, _KEY_ENV: str(upstream.info["api_key"])}
    child = group.program("gateway", argv, {"port": port}, stop_with_parent=True, env=env)
    return Server(
        "gateway", child, _gateway_bodies(), _require("fullName"), _UVICORN_STARTED, workers
    )


def start_mesh_server(group: Children, upstream: Child, workers: int) -> Server:
    cache = install_mesh()
    port = free_port()
    work = build_mesh(cache, f"{upstream.url}/api/v1", str(upstream.info["api_key"]), port, workers)
    child = start_mesh(group, work, port)
    # With forks, the primary says it serves too; each fork's line names the fork.
    started = r"worker=\d.*Serving GraphQL Mesh" if workers > 1 else "Serving GraphQL Mesh"
    return Server("mesh", child, _bodies(MESH_QUERIES), _require("full_name"), started, workers)


def start_floor(group: Children, upstream: Child, workers: int, *, stock: bool) -> Server:
    """bench.peer_floor: the upstream calls alone on uvicorn and Starlette, or (`stock`) under
    Strawberry's own view with a one-field schema."""
    name = "strawberry" if stock else "floor"
    port = free_port()
    argv = [sys.executable, "-m", "bench.peer_floor", "--port", str(port)]
    argv += ["--workers", str(workers), "--upstream", upstream.url]
    argv += ["--strawberry"] if stock else []
    env = {**os.environ, _KEY_ENV: str(upstream.info["api_key"])}
    child = group.program(name, argv, {"port": port}, stop_with_parent=True, env=env)
    bodies = _bodies(STRAWBERRY_QUERIES) if stock else _gateway_bodies()
    return Server(name, child, bodies, _require("full_name"), _UVICORN_STARTED, workers)


def wait_ready(client: httpx.Client, server: Server) -> None:
    """Until every serving process has said so in the log (Mesh's forks start one by one,
    seconds apart) and the server answers shape L without errors."""
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline and server.child.process.poll() is None:
        log = server.child.log.read_text("utf-8", "replace")
        started = len(re.findall(server.started_line, log))
        try:
            response = client.post(server.url, content=server.bodies["L"], headers=_JSON)
            if (
                started >= server.processes
                and response.status_code == 200
                and "errors" not in response.json()
            ):
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start serving:\n{server.child.log_tail()}")


def upstream_traffic(client: httpx.Client, upstream: Child) -> dict[str, Any]:
    """The upstream's calls by kind and connections opened since the last reading (reset)."""
    response = client.get(f"{upstream.url}/_bench/requests?reset=1")
    response.raise_for_status()
    traffic: dict[str, Any] = response.json()
    return traffic


@dataclass(frozen=True)
class Phase:
    group: Children
    workdir: Path
    upstream: Child
    client: httpx.Client
    concurrency: int


def measure(phase: Phase, server: Server, shape: str, requests: int, name: str) -> dict[str, Any]:
    """`requests` answers of one shape from one server, and what they cost its process tree."""
    spec = LoadSpec(
        url=server.url,
        headers=dict(_JSON),
        body=server.bodies[shape],
        concurrency=phase.concurrency,
        duration=_PHASE_LIMIT_S,
        max_requests=requests,
        fail_regex=FAILED.regex(),
        require_regex=server.require[shape].regex(),
    )
    upstream_traffic(phase.client, phase.upstream)
    before = procfs.tree_cpu_seconds(server.child.pid)
    result = python_load(phase.group, phase.workdir, spec, name)
    after = procfs.tree_cpu_seconds(server.child.pid)
    traffic = upstream_traffic(phase.client, phase.upstream)
    spent = {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}
    cpu = sum(spent.values())
    shares = [round(100 * spent[pid] / cpu) for pid in sorted(spent)] if cpu > 0 else []
    answered = max(1, result["requests"])
    return {
        "server": server.name,
        "shape": shape,
        "requests": result["requests"],
        "failed": result["failed"],
        "codes": result["codes"],
        "processes": len(after),
        "cpu_split": "/".join(str(share) for share in shares if share >= 1),
        "cpu_ms_per_req": cpu * 1000 / answered,
        "rps": result["rps"],
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "upstream_calls_per_req": sum(traffic["calls"].values()) / answered,
        "upstream_calls": traffic["calls"],
        "upstream_connections": traffic["connections"],
    }


@dataclass(frozen=True)
class Options:
    requests: int
    concurrency: int
    runs: int
    workers: int
    warmup: int
    latency_ms: float
    servers: tuple[str, ...]
    json_path: Path
    shapes: tuple[str, ...] = SHAPES


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peer", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--requests", type=int, default=2000, help="per run, shape and server")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2, help="runs of each shape")
    parser.add_argument("--workers", type=int, default=2, help="server processes of each")
    parser.add_argument("--warmup", type=int, default=300, help="requests per shape, not counted")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="upstream latency per call")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"of {','.join(SERVERS)}")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="of F,L,A (F: the floor)")
    parser.add_argument("--json", type=Path, default=RESULTS / "peer-latest.json")
    args = parser.parse_args(argv)
    servers = tuple(s.strip() for s in args.servers.split(",") if s.strip())
    if not servers or not set(servers) <= set(SERVERS):
        parser.error(f"--servers takes {', '.join(SERVERS)}")
    shapes = tuple(s.strip().upper() for s in args.shapes.split(",") if s.strip())
    if not shapes or not set(shapes) <= set(ALL_SHAPES):
        parser.error(f"--shapes takes {', '.join(ALL_SHAPES)}")
    if min(args.requests, args.concurrency, args.runs, args.workers) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency, --runs and --workers must be at least 1")
    return Options(
        args.requests,
        args.concurrency,
        args.runs,
        args.workers,
        args.warmup,
        args.latency_ms,
        servers,
        args.json,
        shapes,
    )


def run(options: Options) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        **{k: v for k, v in vars(options).items() if k != "json_path"},
        "servers": list(options.servers),
    }
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="peer-") as tmp,
        children(Path(tmp)) as group,
        httpx.Client(timeout=60.0) as client,
    ):
        workdir = Path(tmp)
        upstream_args = ["--latency-ms", str(options.latency_ms)]
        upstream = group.server("upstream", "bench.peer_upstream", upstream_args)
        servers = []
        if "mesh" in options.servers:
            servers.append(start_mesh_server(group, upstream, options.workers))
        if "gateway" in options.servers:
            servers.append(start_gateway(group, workdir, upstream, options.workers))
        for name in ("floor", "strawberry"):
            if name in options.servers:
                stock = name == "strawberry"
                servers.append(start_floor(group, upstream, options.workers, stock=stock))
        for server in servers:
            wait_ready(client, server)
        phase = Phase(group, workdir, upstream, client, options.concurrency)
        shapes = options.shapes
        meta["answers"] = [shape_check(client, s, shape) for s in servers for shape in shapes]
        sizes = {(a["server"], a["shape"]): a["bytes"] for a in meta["answers"]}
        for server in servers:
            for shape in shapes:
                if options.warmup:
                    measure(phase, server, shape, options.warmup, f"warmup-{server.name}-{shape}")
        for number in range(1, options.runs + 1):
            for shape in shapes:
                for server in servers:
                    print(f"  run {number} {shape} {server.name} ...", file=sys.stderr, flush=True)
                    name = f"run{number}-{shape}-{server.name}"
                    row = measure(phase, server, shape, options.requests, name)
                    rows.append({"run": number, **row, "bytes": sizes[server.name, shape]})
    return {"meta": meta, "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    raise_on_stop_signals()
    options = parse_args(argv)
    try:
        result = run(options)
    except KeyboardInterrupt:
        print("interrupted; every child process was stopped", file=sys.stderr)
        return 130
    print(render(result))
    write_json(options.json_path, result)
    print(f"\nwrote {options.json_path}")
    return 1 if any(row["failed"] for row in result["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
