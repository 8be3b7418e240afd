"""Turning measured rows into what a person reads (an aligned table, target checks) and JSON.

The checks are figures with a verdict, never assertions: a bench run reports, it does not fail.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["COLUMNS", "Check", "Column", "checks", "format_table", "render_run", "write_json"]

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    key: str
    digits: int = 1
    left: bool = False

    def cell(self, row: Row) -> str:
        value = row.get(self.key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if isinstance(value, float):
            return f"{value:.{self.digits}f}"
        return str(value)


def format_table(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    cells = [[c.title for c in columns], *([c.cell(r) for c in columns] for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        parts = [
            v.ljust(w) if c.left else v.rjust(w)
            for v, w, c in zip(values, widths, columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: str  # PASS, FAIL or N/A
    figure: str

    def line(self) -> str:
        return f"{self.verdict:<4}  {self.name}: {self.figure}"


def _find(rows: Sequence[Row], key: str, latency: float) -> Row | None:
    matching = [
        r for r in rows if r["scenario"] == key and r["latency_ms"] == latency and "error" not in r
    ]
    return matching[-1] if matching else None


def _verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "N/A"
    return "PASS" if value <= limit else "FAIL"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def checks(rows: Sequence[Row]) -> list[Check]:
    """The issue's targets, each computed from this run's rows (missing figures read n/a)."""
    latencies = sorted({r["latency_ms"] for r in rows})
    if not latencies:
        return []
    slow, fast = latencies[-1], latencies[0]
    found: list[Check] = []

    a, a1 = _find(rows, "A", slow), _find(rows, "A1", slow)
    if a and a1:
        c1, c1_single = a.get("p50_c1_ms"), a1.get("p50_c1_ms")
        ratio = _ratio(c1, c1_single)
        loaded = _ratio(a.get("p50_ms"), a1.get("p50_ms"))
        found.append(
            Check(
                f"fan-out p50(A, 4 accounts, {slow:g} ms) <= 1.1 x p50(A1, 1 account)",
                _verdict(ratio, 1.1),
                f"{_fmt(ratio)} at concurrency 1 ({_fmt(c1, ' ms', 1)} / "
                f"{_fmt(c1_single, ' ms', 1)}); {_fmt(loaded)} under load",
            )
        )
    for key in ("A", "E"):
        row = _find(rows, key, slow)
        if row:
            lists, accounts = row.get("list_calls_per_req"), row.get("accounts")
            found.append(
                Check(
                    f"one list call per account per page ({key})",
                    _verdict(_ratio(lists, accounts), 1.0),
                    f"{_fmt(lists)} list calls per page over {accounts} accounts",
                )
            )
    if a:
        gets = a.get("get_calls_per_req")
        verdict = _verdict(_ratio(gets, a.get("accounts")), 1.0)
        found.append(
            Check(
                "applications in <= 1 batched call per account per page (A)",
                "N/A" if verdict == "FAIL" else verdict,
                f"{_fmt(gets)} GETs per page; Talynce has no batch endpoint, so one GET per "
                "candidate (concurrent under the account's cap) is the floor",
            )
        )
    e = _find(rows, "E", slow)
    if e:
        fetched = e.get("rows_per_item")
        found.append(
            Check(
                "items fetched / items returned <= 1.5 over a full paging run (E)",
                _verdict(fetched, 1.5),
                _fmt(fetched),
            )
        )
    cpu_row = _find(rows, "A", fast)
    if cpu_row:
        cpu = cpu_row.get("cpu_ms_per_req")
        for limit in (6.0, 1.0):
            found.append(
                Check(
                    f"gateway CPU per A request <= {limit:g} ms ({fast:g} ms upstream latency)",
                    _verdict(cpu, limit),
                    _fmt(cpu, " ms"),
                )
            )
    return found


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")


COLUMNS = (
    Column("scn", "scenario", left=True),
    Column("lat ms", "latency_ms", 0),
    Column("gen", "generator", left=True),
    Column("conc", "concurrency"),
    Column("reqs", "requests"),
    Column("fail", "failed"),
    Column("req/s", "rps"),
    Column("p50", "p50_ms"),
    Column("p95", "p95_ms"),
    Column("p99", "p99_ms"),
    Column("p50@c1", "p50_c1_ms"),
    Column("up p50", "upstream_p50_ms"),
    Column("ovh", "overhead_ms"),
    Column("cpu ms/req", "cpu_ms_per_req", 2),
    Column("up/req", "upstream_calls_per_req"),
    Column("list/req", "list_calls_per_req"),
    Column("get/req", "get_calls_per_req"),
    Column("rows/item", "rows_per_item", 2),
    Column("peak RSS MB", "peak_rss_mb"),
)
REDIS_COLUMN = Column("redis/req", "redis_cmds_per_req")
"""Shown with `--store redis`: commands the bench's redis-server ran per gateway answer."""
SPLIT_COLUMN = Column("served by worker", "split", left=True)
"""Shown with `--workers` > 1: the load phase's answers each worker gave, in pid order."""


def render_run(result: dict[str, Any]) -> str:
    """bench.run's printout: what ran, the table, broken scenarios, the target checks."""
    meta = result["meta"]
    good = [r for r in result["rows"] if "error" not in r]
    broken = [r for r in result["rows"] if "error" in r]
    workers, store = meta.get("workers", 1), meta.get("store", "memory")
    if store == "redis":
        store += f" (redis-server {meta.get('redis_version', '?')}, its own, on loopback)"
    columns = (
        *COLUMNS,
        *((REDIS_COLUMN,) if meta.get("store") == "redis" else ()),
        *((SPLIT_COLUMN,) if workers > 1 else ()),
    )
    lines = [
        f"gateway {meta.get('gateway', '?')} · workers {workers} · store {store}",
        f"load generator {meta['generator']} (E always python-httpx) · {meta['cores']} cores · "
        f"python {meta['python']} · {meta['commit']}",
        f"load {meta['duration_s']:g} s at concurrency {meta['concurrency']}, probe "
        f"{meta['probe_s']:g} s at concurrency 1 · per-account cap "
        f"{meta['gateway_max_concurrency']} · {meta['orgs']} tenants x "
        f"{meta['candidates_per_org']} candidates",
        "",
        format_table(good, columns),
    ]
    lines += [f"BROKEN {r['scenario']} @ {r['latency_ms']:g} ms: {r['error']}" for r in broken]
    lines += [
        "",
        "p50/p95/p99 ms under load; p50@c1 at concurrency 1; up p50 = slowest tenant's p50 in "
        "the probe; ovh = p50@c1 - up p50; rows/item = candidate rows upstream returned per item "
        "the client got",
        *(
            [
                f"cpu ms/req: user+system CPU summed over the {workers} worker processes per "
                "answer (each worker counts its own answers); peak RSS MB: the sum of each "
                "worker's VmHWM; the uvicorn supervisor is in neither. served by worker: the "
                "load phase's answers from each worker (they share one listening socket, and "
                "the first to wake accepts every connection waiting, so a few keep-alive "
                "connections opened at once can all land on one worker)"
            ]
            if workers > 1
            else []
        ),
        *(
            ["redis/req: commands the bench's redis-server ran per gateway answer (INFO stats)"]
            if meta.get("store") == "redis"
            else []
        ),
        "",
        *(Check(c["name"], c["verdict"], c["figure"]).line() for c in result["checks"]),
    ]
    return "\n".join(lines)
