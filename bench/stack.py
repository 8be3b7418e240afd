"""The processes under test: the emulator, the gateway (one process, or a uvicorn supervisor and
its workers) and, with `store="redis"`, a redis-server of its own, each in its own process, plus
the load generator each phase starts; and the few admin calls the harness makes to them.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from redis import Redis, RedisError

from bench import procfs, topology, wrk
from bench.gateway_server import read_tallies
from bench.load import LoadSpec
from bench.processes import Child, Children

__all__ = [
    "STORES",
    "GatewaySample",
    "Stack",
    "free_port",
    "python_load",
    "redis_server",
    "start_stack",
]

STORES = ("memory", "redis")
REDIS_SERVER = Path("/usr/bin/redis-server")
_HEALTH_TIMEOUT = 30.0
_SETTLE_LIMIT = 10.0
_REDIS_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class GatewaySample:
    """The gateway's own accounting at one moment, summed over its worker processes (peak RSS
    is the sum of each worker's VmHWM, an upper bound on the peak of their sum)."""

    cpu_s: float
    rss_kib: int
    hwm_kib: int


@dataclass
class Stack:
    children: Children
    workdir: Path
    emulator: Child
    gateway: Child
    admin: httpx.Client
    served_dir: Path
    workers: int = 1
    redis: Child | None = None
    redis_client: Redis | None = None

    @property
    def gateway_impl(self) -> str:
        return f"uvicorn/{self.gateway.info['loop']}/{self.gateway.info['http']}"

    def close(self) -> None:
        self.admin.close()
        if self.redis_client is not None:
            self.redis_client.close()

    def worker_pids(self) -> list[int]:
        """The processes that serve: the gateway itself with one worker, else the children of
        the uvicorn supervisor that keep an answer count (not multiprocessing's helpers)."""
        if self.workers == 1:
            return [self.gateway.pid]
        pids = [
            pid
            for pid in read_tallies(self.served_dir)
            if procfs.alive(pid) and procfs.parent_pid(pid) == self.gateway.pid
        ]
        if len(pids) != self.workers:
            raise RuntimeError(
                f"{len(pids)} of {self.workers} gateway workers are running "
                f"(a worker died or was replaced):\n{self.gateway.log_tail()}"
            )
        return sorted(pids)

    def sample(self) -> GatewaySample:
        pids = self.worker_pids()
        return GatewaySample(
            sum(procfs.cpu_seconds(pid) for pid in pids),
            sum(procfs.memory_kib(pid, "VmRSS") for pid in pids),
            sum(procfs.memory_kib(pid, "VmHWM") for pid in pids),
        )

    def redis_commands(self) -> int | None:
        """Commands the bench's redis-server has run (INFO stats), None without Redis. Each
        call counts itself, so a difference of two readings holds one extra command."""
        if self.redis_client is None:
            return None
        stats: dict[str, Any] = self.redis_client.info("stats")
        return int(stats["total_commands_processed"])

    def emulator_cpu(self) -> float:
        return procfs.cpu_seconds(self.emulator.pid)

    def set_faults(self, profile: dict[str, Any], org: int | None = None) -> None:
        """The emulator's own admin route (PUT /_admin/faults/{org}); all orgs by default."""
        for index in range(topology.ORGS) if org is None else (org,):
            response = self.admin.put(
                f"{self.emulator.url}/_admin/faults/{topology.org_name(index)}", json=profile
            )
            response.raise_for_status()

    def upstream(self, *, reset: bool) -> dict[str, Any]:
        """The emulator's traffic since the last reset, summarized by bench.emulator_server."""
        response = self.admin.get(
            f"{self.emulator.url}/_bench/requests", params={"reset": "1" if reset else "0"}
        )
        response.raise_for_status()
        summary: dict[str, Any] = response.json()
        return summary

    def tallies(self) -> dict[int, int]:
        """Answers each worker has started since it began, by pid; each counts into its own
        shared-memory file (see bench.gateway_server.Tally)."""
        return read_tallies(self.served_dir)

    def served(self) -> int:
        """Answers the gateway has started since it began, summed over its workers."""
        return sum(self.tallies().values())

    def settle(self, quiet: float = 0.3) -> None:
        """Waits until upstream traffic stops (requests a generator abandoned still finish)."""
        deadline = time.monotonic() + _SETTLE_LIMIT
        last = -1
        while time.monotonic() < deadline:
            calls = int(self.upstream(reset=False)["calls"])
            if calls == last:
                return
            last = calls
            time.sleep(quiet)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.admin.post(
            f"{self.gateway.url}/graphql", json={"query": query, "variables": variables or {}}
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def python_load(self, spec: LoadSpec, name: str) -> dict[str, Any]:
        return python_load(self.children, self.workdir, spec, name)

    def wrk_load(
        self, spec: LoadSpec, name: str, fail_lua: str | None, require_lua: str | None
    ) -> dict[str, Any]:
        return wrk.run_wrk(self.children, self.workdir, spec, fail_lua, require_lua, name)


def python_load(children: Children, workdir: Path, spec: LoadSpec, name: str) -> dict[str, Any]:
    """A phase under the Python generator, in its own process."""
    spec_path = workdir / f"{name}.spec.json"
    out_path = workdir / f"{name}.result.json"
    spec_path.write_text(spec.to_json())
    process = children.command(
        name, [sys.executable, "-m", "bench.load", str(spec_path), str(out_path)]
    )
    process.wait(timeout=spec.duration + spec.timeout + 60)
    if process.returncode != 0 or not out_path.exists():
        log = (workdir / f"{name}.log").read_text(errors="replace")
        raise RuntimeError(f"load generator failed ({process.returncode}):\n{log[-3000:]}")
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


def _wait_healthy(client: httpx.Client, url: str, child: Child) -> None:
    deadline = time.monotonic() + _HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            break
        try:
            if client.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{child.name} is not healthy at {url}:\n{child.log_tail()}")


def redis_server() -> str | None:
    """The redis-server program: /usr/bin's (Debian's package), else the first on PATH."""
    return str(REDIS_SERVER) if REDIS_SERVER.exists() else shutil.which("redis-server")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(children: Children, workdir: Path) -> tuple[Child, Redis]:
    """A redis-server of the run's own on a free loopback port, with no persistence.

    The port is found free, then handed over, so another process may take it in between; the
    server then fails to bind and exits, and the next attempt picks another port."""
    program = redis_server()
    if program is None:
        raise SystemExit(
            f"--store redis needs redis-server, which is not installed ({REDIS_SERVER} is "
            "missing and none is on PATH): apt-get install redis-server, or use --store memory"
        )
    for attempt in range(_REDIS_ATTEMPTS):
        port = free_port()
        argv = [program, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(workdir)]
        child = children.program(f"redis-{attempt}", argv, {"port": port}, stop_with_parent=True)
        client = Redis(host="127.0.0.1", port=port, socket_timeout=2.0, socket_connect_timeout=0.5)
        deadline = time.monotonic() + _HEALTH_TIMEOUT
        while time.monotonic() < deadline and child.process.poll() is None:
            try:
                client.ping()
            except RedisError:
                time.sleep(0.05)
                continue
            child.info["version"] = str(client.info("server")["redis_version"])
            return child, client
        client.close()
        child.stop()
    raise RuntimeError(f"redis-server did not start on a loopback port:\n{child.log_tail()}")


def _wait_workers(stack: Stack) -> None:
    """Each worker creates its answer count before it serves; all must be up before a probe."""
    deadline = time.monotonic() + _HEALTH_TIMEOUT
    while time.monotonic() < deadline and stack.gateway.process.poll() is None:
        if len(read_tallies(stack.served_dir)) >= stack.workers:
            stack.worker_pids()  # every one a live child of the supervisor
            return
        time.sleep(0.05)
    raise RuntimeError(f"gateway workers did not all start:\n{stack.gateway.log_tail()}")


def start_stack(
    children: Children,
    workdir: Path,
    *,
    accounts: int = topology.ORGS,
    max_concurrency: int = 8,
    request_timeout: float = 10.0,
    workers: int = 1,
    store: str = "memory",
    candidates: int = topology.CANDIDATES_PER_ORG,
    read_ahead: bool = False,
) -> Stack:
    """Starts Redis (for `store="redis"`), the emulator, then the gateway pointed at both; all
    answer before this returns. Redis starts first, so it is the last to stop."""
    if store not in STORES:
        raise ValueError(f"store must be one of {STORES}, not {store!r}")
    redis_child, redis_client = start_redis(children, workdir) if store == "redis" else (None, None)
    admin = httpx.Client(timeout=60.0)
    emulator = children.server(
        "emulator",
        "bench.emulator_server",
        ["--orgs", str(accounts), "--candidates", str(candidates)],
    )
    _wait_healthy(admin, f"{emulator.url}/_bench/health", emulator)
    served_dir = workdir / "served"
    served_dir.mkdir(exist_ok=True)
    args = [
        "--emulator-url",
        emulator.url,
        "--accounts",
        str(accounts),
        "--max-concurrency",
        str(max_concurrency),
        "--request-timeout",
        str(request_timeout),
        "--workers",
        str(workers),
        "--served-dir",
        str(served_dir),
    ]
    if read_ahead:
        args.append("--read-ahead")
    if redis_child is not None:
        args += ["--store-url", f"redis://127.0.0.1:{redis_child.port}/0"]
    gateway = children.server("gateway", "bench.gateway_server", args)
    _wait_healthy(admin, f"{gateway.url}/healthz", gateway)
    stack = Stack(
        children, workdir, emulator, gateway, admin, served_dir, workers, redis_child, redis_client
    )
    _wait_workers(stack)
    return stack
