"""The processes under test: the emulator and the gateway, each in its own process, plus the
load generator each phase starts; and the few admin calls the harness makes to them.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import procfs, topology, wrk
from bench.load import LoadSpec
from bench.processes import Child, Children

__all__ = ["GatewaySample", "Stack", "start_stack"]

_HEALTH_TIMEOUT = 30.0
_SETTLE_LIMIT = 10.0


@dataclass(frozen=True, slots=True)
class GatewaySample:
    """The gateway process's own accounting at one moment."""

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

    @property
    def gateway_impl(self) -> str:
        return f"uvicorn/{self.gateway.info['loop']}/{self.gateway.info['http']}"

    def close(self) -> None:
        self.admin.close()

    def sample(self) -> GatewaySample:
        pid = self.gateway.pid
        return GatewaySample(
            procfs.cpu_seconds(pid),
            procfs.memory_kib(pid, "VmRSS"),
            procfs.memory_kib(pid, "VmHWM"),
        )

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

    def served(self) -> int:
        """Answers the gateway has started since it began (see bench.gateway_server.Served)."""
        response = self.admin.get(f"{self.gateway.url}/_bench/served")
        response.raise_for_status()
        return int(response.json()["served"])

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
        """A phase under the Python generator, in its own process."""
        spec_path = self.workdir / f"{name}.spec.json"
        out_path = self.workdir / f"{name}.result.json"
        spec_path.write_text(spec.to_json())
        process = self.children.command(
            name, [sys.executable, "-m", "bench.load", str(spec_path), str(out_path)]
        )
        process.wait(timeout=spec.duration + spec.timeout + 60)
        if process.returncode != 0 or not out_path.exists():
            log = (self.workdir / f"{name}.log").read_text(errors="replace")
            raise RuntimeError(f"load generator failed ({process.returncode}):\n{log[-3000:]}")
        result: dict[str, Any] = json.loads(out_path.read_text())
        return result

    def wrk_load(
        self, spec: LoadSpec, name: str, fail_lua: str | None, require_lua: str | None
    ) -> dict[str, Any]:
        return wrk.run_wrk(self.children, self.workdir, spec, fail_lua, require_lua, name)


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


def start_stack(
    children: Children,
    workdir: Path,
    *,
    accounts: int = topology.ORGS,
    max_concurrency: int = 8,
    request_timeout: float = 10.0,
) -> Stack:
    """Starts the emulator, then the gateway pointed at it; both answer before this returns."""
    admin = httpx.Client(timeout=60.0)
    emulator = children.server("emulator", "bench.emulator_server", ["--orgs", str(accounts)])
    _wait_healthy(admin, f"{emulator.url}/_bench/health", emulator)
    gateway = children.server(
        "gateway",
        "bench.gateway_server",
        [
            "--emulator-url",
            emulator.url,
            "--accounts",
            str(accounts),
            "--max-concurrency",
            str(max_concurrency),
            "--request-timeout",
            str(request_timeout),
        ],
    )
    _wait_healthy(admin, f"{gateway.url}/healthz", gateway)
    return Stack(children, workdir, emulator, gateway, admin)
