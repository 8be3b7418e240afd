"""One scenario measured: a preflight request, a probe at concurrency 1, then the load phase,
each seen from the client, the gateway process and the emulator, reduced to one row of figures.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

import httpx

from bench import topology, wrk
from bench.load import LoadSpec
from bench.scenarios import Scenario, list_query
from bench.stack import Stack

__all__ = ["Phase", "ScenarioBroken", "load_phase", "lookup_ids", "measure", "preflight"]

_MAX_RATE = 5000
"""Requests per second no phase can exceed; with the duration it bounds each request loop."""
_MAX_PAGES = 100


class ScenarioBroken(Exception):
    """The scenario's own request fails before any load: there is nothing to measure."""


def _send(stack: Stack, scenario: Scenario, body: str | None) -> dict[str, Any]:
    base = stack.gateway.url if scenario.target == "gateway" else stack.emulator.url
    response = stack.admin.request(
        scenario.method, base + scenario.path, headers=scenario.headers, content=body
    )
    if response.status_code != 200:
        raise ScenarioBroken(f"HTTP {response.status_code}: {response.text[:500]}")
    payload: dict[str, Any] = response.json()
    if payload.get("errors"):
        raise ScenarioBroken(json.dumps(payload["errors"])[:800])
    return payload


def _items(payload: dict[str, Any]) -> int:
    """Items one answer returned: rows, edges, created candidates or found lookups."""
    data = payload.get("data")
    if isinstance(data, list):
        return len(data)
    if not isinstance(data, dict):
        return 0
    if "candidates" in data:
        return len(data["candidates"]["edges"])
    if "createCandidate" in data:
        created = data["createCandidate"]
        if not created.get("created") or created.get("userErrors"):
            raise ScenarioBroken(f"create did not create: {json.dumps(created)[:500]}")
        return 1
    return sum(1 for value in data.values() if value is not None)


def preflight(stack: Stack, scenario: Scenario) -> int:
    """Sends the scenario's request once (a full run for paging); returns items per request."""
    if scenario.mode == "create":
        assert scenario.body is not None
        body = scenario.body.replace("__SEQ__", "preflight").replace(
            "__ACCT__", scenario.accounts[0]
        )
        return _items(_send(stack, scenario, body))
    if scenario.mode != "paging":
        return _items(_send(stack, scenario, scenario.body))
    assert scenario.body is not None
    request = json.loads(scenario.body)
    total = 0
    for _ in range(_MAX_PAGES):
        payload = _send(stack, scenario, json.dumps(request))
        listing = payload["data"]["candidates"]
        total += len(listing["edges"])
        if not listing["pageInfo"]["hasNextPage"]:
            return total
        request["variables"]["after"] = listing["pageInfo"]["endCursor"]
    raise ScenarioBroken(f"paging did not end within {_MAX_PAGES} pages")


@dataclass(frozen=True)
class Phase:
    """One phase seen from the client, the gateway process and the emulator."""

    client: dict[str, Any]
    upstream: dict[str, Any]
    served: int
    """Requests the target answered, counted server-side (includes any the client abandoned)."""
    gateway_cpu_s: float
    emulator_cpu_s: float
    redis_commands: int | None = None
    """Commands the bench's redis-server ran during the phase (None with the memory store)."""
    by_worker: tuple[int, ...] = ()
    """`served` by gateway worker, in pid order (one entry with one worker)."""


def load_phase(
    stack: Stack,
    scenario: Scenario,
    generator: str,
    *,
    name: str,
    concurrency: int,
    duration: float,
    items_per_ok: int,
) -> Phase:
    base = stack.gateway.url if scenario.target == "gateway" else stack.emulator.url
    body = scenario.body
    if body is not None and scenario.mode == "create":
        body = body.replace("__SEQ__", f"{name}-__SEQ__")  # unique emails across phases
    spec = LoadSpec(
        url=base + scenario.path,
        mode=scenario.mode,
        method=scenario.method,
        headers=dict(scenario.headers),
        body=body,
        concurrency=concurrency,
        duration=duration,
        max_requests=max(100, int(duration * _MAX_RATE)),
        accounts=list(scenario.accounts),
        fail_regex=scenario.fail.regex() if scenario.fail else None,
        require_regex=scenario.require.regex() if scenario.require else None,
        items_per_ok=items_per_ok,
    )
    stack.upstream(reset=True)
    tallies_before = stack.tallies()
    served_before = sum(tallies_before.values())
    redis_before = stack.redis_commands()
    gateway_before, emulator_before = stack.sample().cpu_s, stack.emulator_cpu()
    if generator == wrk.GENERATOR and scenario.mode != "paging":
        result = stack.wrk_load(
            spec,
            name,
            scenario.fail.lua() if scenario.fail else None,
            scenario.require.lua() if scenario.require else None,
        )
    else:
        result = stack.python_load(spec, name)
    stack.settle()
    gateway_cpu = stack.sample().cpu_s - gateway_before
    emulator_cpu = stack.emulator_cpu() - emulator_before
    upstream = stack.upstream(reset=True)
    tallies = stack.tallies()
    by_worker = tuple(tallies[pid] - tallies_before.get(pid, 0) for pid in sorted(tallies))
    served = sum(tallies.values()) - served_before
    if scenario.target != "gateway":
        served, by_worker = upstream["calls"], ()
    redis_after = stack.redis_commands()
    redis_commands = (
        None
        if redis_before is None or redis_after is None
        else max(0, redis_after - redis_before - 1)  # less the INFO that read it
    )
    return Phase(result, upstream, served, gateway_cpu, emulator_cpu, redis_commands, by_worker)


def _per(value: float | None, count: float) -> float | None:
    return None if value is None or count <= 0 else value / count


def measure(
    stack: Stack,
    scenario: Scenario,
    generator: str,
    latency: float,
    *,
    probe: float,
    duration: float,
    concurrency: int,
) -> dict[str, Any]:
    """The probe and the load phase of one scenario, reduced to one row of figures."""
    row: dict[str, Any] = {
        "scenario": scenario.key,
        "title": scenario.title,
        "latency_ms": latency,
        "accounts": scenario.gateway_accounts,
    }
    try:
        items_per_ok = preflight(stack, scenario)
    except (ScenarioBroken, httpx.HTTPError, KeyError, TypeError, ValueError) as error:
        row["error"] = f"{type(error).__name__}: {error}"
        return row
    tag = f"{scenario.key}-{latency:g}"
    try:
        timing = (probe, duration, concurrency)
        return _measure_phases(stack, scenario, generator, row, items_per_ok, tag, timing)
    except (RuntimeError, httpx.HTTPError, subprocess.TimeoutExpired) as error:
        row["error"] = f"{type(error).__name__}: {error}"
        return row


def _measure_phases(
    stack: Stack,
    scenario: Scenario,
    generator: str,
    row: dict[str, Any],
    items_per_ok: int,
    tag: str,
    timing: tuple[float, float, int],
) -> dict[str, Any]:
    probe_s, duration, concurrency = timing
    probe = load_phase(
        stack,
        scenario,
        generator,
        name=f"probe-{tag}",
        concurrency=1,
        duration=probe_s,
        items_per_ok=items_per_ok,
    )
    load = load_phase(
        stack,
        scenario,
        generator,
        name=f"load-{tag}",
        concurrency=concurrency,
        duration=duration,
        items_per_ok=items_per_ok,
    )
    client, up, served = load.client, load.upstream, load.served
    org_p50s = [org["p50_ms"] for org in probe.upstream["per_org"].values()]
    slowest = max(org_p50s) if org_p50s else None
    p50_c1 = probe.client["p50_ms"]
    kinds, rows = up["by_kind"], up["rows"]
    # Paging counts the edges it got; other modes return a fixed number per answer.
    items = client["items"] if scenario.mode == "paging" else served * items_per_ok
    row.update(
        {
            "generator": client["generator"],
            "concurrency": concurrency,
            "requests": client["requests"],
            "failed": client["failed"],
            "served": served,
            "served_by_worker": list(load.by_worker),
            "split": "/".join(str(n) for n in load.by_worker) if len(load.by_worker) > 1 else None,
            "probe_requests": probe.client["requests"],
            "probe_failed": probe.client["failed"],
            "rps": client["rps"],
            "p50_ms": client["p50_ms"],
            "p95_ms": client["p95_ms"],
            "p99_ms": client["p99_ms"],
            "max_ms": client["max_ms"],
            "p50_c1_ms": p50_c1,
            "upstream_p50_ms": slowest,
            "overhead_ms": p50_c1 - slowest if p50_c1 is not None and slowest is not None else None,
            "cpu_ms_per_req": (
                _per(load.gateway_cpu_s * 1000, served) if scenario.target == "gateway" else None
            ),
            "emulator_cpu_ms_per_req": _per(load.emulator_cpu_s * 1000, served),
            "upstream_calls_per_req": _per(up["calls"], served),
            "redis_cmds_per_req": (
                None if load.redis_commands is None else _per(load.redis_commands, served)
            ),
            "list_calls_per_req": _per(kinds.get("list", 0), served),
            "get_calls_per_req": _per(kinds.get("get", 0), served),
            "rows_per_item": _per(rows.get("list", 0) + rows.get("get", 0), items),
            "items_per_request": items_per_ok or _per(client["items"], client["ok"]),
            "peak_rss_mb": stack.sample().hwm_kib / 1024,
            "upstream": up,
            "codes": client["codes"],
        }
    )
    return row


def lookup_ids(stack: Stack, count: int = 20) -> list[str]:
    """Global IDs spread over every account, for the aliased lookups (B)."""
    query = list_query(first=count, applications=False)
    payload = stack.graphql(query, {"accounts": topology.account_ids()})
    if payload.get("errors"):
        raise ScenarioBroken(json.dumps(payload["errors"])[:800])
    return [edge["node"]["id"] for edge in payload["data"]["candidates"]["edges"]]
