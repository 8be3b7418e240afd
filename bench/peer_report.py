"""bench.peer's answers checked and its rows printed, with each figure's ratio to Mesh's.

Before any load, one answer of each shape from each server is read whole: its size on the wire
(as the load generator receives it: httpx offers gzip, so a compressing server sends less), the
candidates it holds and their applications, so a table is never read as a like-for-like
comparison when the two answered different things.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from bench.report import Column, format_table

if TYPE_CHECKING:
    from bench.peer import Server

__all__ = ["COLUMNS", "render", "shape_check", "with_ratios"]

Row = dict[str, Any]

COLUMNS = (
    Column("run", "run", left=True),
    Column("shape", "shape", left=True),
    Column("server", "server", left=True),
    Column("reqs", "requests"),
    Column("fail", "failed"),
    Column("procs", "processes"),
    Column("cpu % by proc", "cpu_split"),
    Column("cpu ms/req", "cpu_ms_per_req", 2),
    Column("x mesh", "cpu_ratio", 2),
    Column("req/s", "rps", 0),
    Column("x mesh", "rps_ratio", 2),
    Column("p50 ms", "p50_ms", 1),
    Column("x mesh", "p50_ratio", 2),
    Column("p99 ms", "p99_ms", 1),
    Column("x mesh", "p99_ratio", 2),
    Column("bytes", "bytes"),
    Column("x mesh", "bytes_ratio", 2),
    Column("up/req", "upstream_calls_per_req", 1),
    Column("up conns", "upstream_connections"),
)
_RATIOS = {
    "cpu_ratio": "cpu_ms_per_req",
    "rps_ratio": "rps",
    "p50_ratio": "p50_ms",
    "p99_ratio": "p99_ms",
    "bytes_ratio": "bytes",
}


def _nodes(server: str, data: Any) -> list[dict[str, Any]]:
    if "__typename" in data:  # shape F lists nothing
        return []
    if server == "gateway":
        return [edge["node"] for edge in data["candidates"]["edges"]]
    if server in ("floor", "strawberry"):
        floor: list[dict[str, Any]] = data["candidates"]
        return floor
    rows: list[dict[str, Any]] = data["listCandidates"]["data"]
    return rows


def shape_check(client: httpx.Client, server: Server, shape: str) -> Row:
    """One answer of `shape`: wire bytes, encoding, candidates and applications it carried."""
    response = client.post(
        server.url, content=server.bodies[shape], headers={"content-type": "application/json"}
    )
    response.raise_for_status()
    payload = response.json()
    if payload.get("errors"):
        raise RuntimeError(f"{server.name} answered shape {shape} with errors: {payload['errors']}")
    nodes = _nodes(server.name, payload["data"])
    return {
        "server": server.name,
        "shape": shape,
        "bytes": response.num_bytes_downloaded,
        "decoded_bytes": len(response.content),
        "encoding": response.headers.get("content-encoding", "identity"),
        "candidates": len(nodes),
        "applications": sum(len(node.get("applications") or ()) for node in nodes),
    }


def with_ratios(rows: Sequence[Row]) -> list[Row]:
    """Each row with its figures divided by Mesh's in the same run and shape (None without)."""
    mesh = {(r["run"], r["shape"]): r for r in rows if r["server"] == "mesh"}
    out = []
    for row in rows:
        peer = mesh.get((row["run"], row["shape"]))
        ratios = {}
        for key, figure in _RATIOS.items():
            mine, theirs = row.get(figure), None if peer is None else peer.get(figure)
            ratios[key] = mine / theirs if mine is not None and theirs else None
        out.append({**row, **ratios})
    return out


def render(result: dict[str, Any]) -> str:
    meta = result["meta"]
    lines = [
        f"bench.peer · {meta['requests']} requests per row at concurrency {meta['concurrency']} · "
        f"{meta['workers']} processes per server · upstream latency {meta['latency_ms']:g} ms · "
        f"{meta['cores']} cores · load generator: python-httpx (its CPU is not counted)",
        "",
        "answers (one of each, before the load):",
    ]
    for answer in meta["answers"]:
        lines.append(
            f"  {answer['server']:<8} {answer['shape']}  {answer['candidates']} candidates, "
            f"{answer['applications']} applications, {answer['bytes']} bytes on the wire "
            f"({answer['encoding']}; {answer['decoded_bytes']} decoded)"
        )
    lines += ["", format_table(with_ratios(result["rows"]), COLUMNS)]
    lines += [
        "",
        "cpu ms/req: user+system CPU of the server's whole process tree over the row, per answer;"
        " cpu % by proc: each process's share of it (pid order, 1% and more), which shows whether"
        " both workers served; x mesh: the figure divided by Mesh's in the same run and shape.",
    ]
    return "\n".join(lines)
