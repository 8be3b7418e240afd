"""Smoke runs of the bench harness with tiny numbers, so it cannot rot unnoticed.

These check the harness, not the gateway's speed: every scenario produced a row of sane figures,
fault-free runs had no failed request, and the JSON was written. The real runs are by hand
(`python -m bench.run`, `python -m bench.soak`); these use 1 s phases, 2 clients and loopback
only, and use wrk only if it is already installed (the Python generator otherwise).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import procfs
from bench.report import Column, checks, format_table
from bench.scenarios import Marker

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {"A", "A1", "B", "C", "D", "E"}
LATENCY_MS = 20


def _run(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def bench_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "result.json"
    done = _run(
        "bench.run",
        "--quick",
        "--latency-ms",
        str(LATENCY_MS),
        "--probe",
        "0.5",
        "--json",
        str(out),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(out.read_text())


def test_every_scenario_has_a_row_of_sane_figures(bench_result: tuple[str, dict[str, Any]]) -> None:
    _, result = bench_result
    rows = {row["scenario"]: row for row in result["rows"]}
    assert set(rows) == SCENARIOS
    for key, row in rows.items():
        assert "error" not in row, (key, row.get("error"))
        assert row["requests"] > 0 and row["served"] > 0, key
        assert row["failed"] == 0 and row["probe_failed"] == 0, (key, row["codes"])
        assert row["rps"] > 0, key
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"], key
        assert row["p50_c1_ms"] > 0, key
        assert row["upstream_calls_per_req"] >= 1, key
        assert row["peak_rss_mb"] > 10, key
        if key != "D":
            assert row["cpu_ms_per_req"] > 0, key
    # The injected latency reached the emulator, and the floor scenario measured it.
    assert rows["D"]["upstream_p50_ms"] >= LATENCY_MS
    assert rows["D"]["p50_ms"] >= LATENCY_MS
    assert rows["A"]["list_calls_per_req"] > 0 and rows["A"]["get_calls_per_req"] > 0
    assert rows["E"]["rows_per_item"] > 0 and rows["E"]["items_per_request"] > 0
    assert rows["C"]["upstream"]["by_kind"]["create"] > 0


def test_table_checks_and_json_are_written(bench_result: tuple[str, dict[str, Any]]) -> None:
    stdout, result = bench_result
    assert "scn" in stdout and "p50@c1" in stdout
    assert result["meta"]["generator"] in ("wrk", "python-httpx")
    assert result["meta"]["gateway"].startswith("uvicorn/")
    assert result["checks"], "the issue's target checks were not computed"
    assert {c["verdict"] for c in result["checks"]} <= {"PASS", "FAIL", "N/A"}
    for check in result["checks"]:
        assert check["verdict"] in stdout.split(check["name"])[0].rsplit("\n", 1)[-1]


def test_soak_reports_codes_rss_and_connections(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    done = _run("bench.soak", "--quick", "--duration", "3", "--clients", "3", "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["client"]["requests"] > 0
    assert result["served"] >= result["client"]["requests"]
    assert result["rss_start_mb"] > 10 and result["rss_end_mb"] > 10
    assert 0 <= result["open_upstream_connections"] <= result["connection_bound"]
    # Every key has its own email, so even a repeated POST cannot create a second candidate.
    created = result["upstream"]["writes"].get("created", 0)
    assert created <= result["client"]["extra"].get("create_keys", 0)
    for line in ("errors by extensions.code", "gateway RSS", "open upstream connections"):
        assert line in done.stdout


def test_procfs_reads_this_process() -> None:
    pid = os.getpid()
    assert procfs.cpu_seconds(pid) > 0
    assert procfs.memory_kib(pid, "VmHWM") >= procfs.memory_kib(pid, "VmRSS") > 0
    assert procfs.established_to(pid, 1) == 0


def test_report_aligns_columns_and_judges_targets() -> None:
    rows = [
        {"scenario": "A", "latency_ms": 0.0, "p50_ms": 12.25, "cpu_ms_per_req": 7.0},
        {"scenario": "A1", "latency_ms": 0.0, "p50_ms": None, "cpu_ms_per_req": 0.5},
    ]
    table = format_table(rows, [Column("scn", "scenario", left=True), Column("p50", "p50_ms")])
    assert table.splitlines() == ["scn   p50", "---  ----", "A    12.2", "A1      -"]
    verdicts = {c.name: c.verdict for c in checks(rows) if "CPU" in c.name}
    assert sorted(verdicts.values()) == ["FAIL", "FAIL"]


def test_markers_match_both_json_spacings() -> None:
    import re

    marker = Marker("errors", r"\[", "%[")
    assert re.search(marker.regex(), '{"errors": [{"message": "x"}]}')
    assert re.search(marker.regex(), '{"errors":[]}')
    assert not re.search(marker.regex(), '{"userErrors": []}')
    assert marker.lua() == '"errors"%s*:%s*%['


def test_execute_bench_prints_cpu_per_request_for_each_scenario() -> None:
    done = _run("bench.execute", "--requests", "3", "--scenarios", "A,E", timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.strip()}
    assert set(rows) >= {"A", "E"}
    for key in ("A", "E"):
        core, compiled, execute_core, execute_compiled = map(float, rows[key][1:5])
        assert 0 < execute_core <= core and 0 < execute_compiled <= compiled
        assert int(rows[key][5]) > 1000  # a page of candidates, not an error


def test_compression_bench_prints_every_level_for_both_answers() -> None:
    done = _run("bench.compression", "--repeat", "1", timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("$ python -m bench.compression --repeat 1")
    rows = [
        line.split() for line in done.stdout.splitlines() if line[:4] in ("gzip", "br  ", "zstd")
    ]
    assert len(rows) == 2 * 20  # every level of every coding, for each answer
    sizes = [int(n) for n in re.findall(r"(\d+) bytes uncompressed", done.stdout)]
    assert len(sizes) == 2 and all(size > 50_000 for size in sizes)
    for coding, _level, cpu_ms, size, *_ in rows:
        assert float(cpu_ms) >= 0 and 0 < int(size) < min(sizes), coding
    assert sum(line.endswith("<- default") for line in done.stdout.splitlines()) == 2 * 3


def test_peer_bench_loads_the_gateway_and_both_floors_in_every_shape(tmp_path: Path) -> None:
    """bench.peer without Mesh (so no npm): the gateway under `serve --workers 2`, the floor
    (the same upstream calls with no GraphQL) and stock Strawberry over the replayed Talynce
    upstream, each shape a few requests."""
    out = tmp_path / "peer.json"
    servers = ("gateway", "floor", "strawberry")
    args = ["--servers", ",".join(servers), "--requests", "6", "--concurrency", "2"]
    args += ["--runs", "1"]
    args += ["--shapes", "F,L,A"]
    done = _run("bench.peer", *args, "--warmup", "2", "--workers", "2", "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    rows = {(row["server"], row["shape"]): row for row in result["rows"]}
    assert set(rows) == {(server, shape) for server in servers for shape in "FLA"}
    for (server, shape), row in rows.items():
        assert (row["run"], row["requests"], row["failed"]) == (1, 6, 0), (server, shape)
        assert row["processes"] >= 3, shape  # the supervisor and both workers are counted
        assert row["rps"] > 0, shape
        if server == "gateway" and shape != "F":
            # /proc counts CPU in 10 ms ticks: a few empty or floor requests can fit in one.
            assert row["cpu_split"] and row["cpu_ms_per_req"] > 0, shape
        assert row["bytes"] > (0 if shape == "F" else 1000), shape
        assert 0 < row["p50_ms"] <= row["p99_ms"], shape
        # What each shape costs upstream: the list, and for A one get-by-id per candidate.
        calls = {"F": {}, "L": {"list": 6}, "A": {"list": 6, "get": 120}}[shape]
        assert row["upstream_calls"] == calls, (server, shape)
    answers = {(a["server"], a["shape"]): a for a in result["meta"]["answers"]}
    for server in servers:
        assert answers[server, "F"]["candidates"] == 0
        assert answers[server, "L"]["candidates"] == answers[server, "A"]["candidates"] == 20
        assert answers[server, "L"]["applications"] == 0 < answers[server, "A"]["applications"]
    assert "cpu ms/req" in done.stdout and "x mesh" in done.stdout


def test_process_tree_counts_a_child_and_its_cpu() -> None:
    waiting = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    child = subprocess.Popen(waiting, stdin=subprocess.PIPE)
    try:
        assert {os.getpid(), child.pid} <= set(procfs.process_tree(os.getpid()))
        assert procfs.process_tree(child.pid) == [child.pid]
        assert set(procfs.tree_cpu_seconds(os.getpid())) >= {os.getpid(), child.pid}
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


def test_peer_report_divides_by_mesh_in_the_same_run_and_shape() -> None:
    from bench.peer_report import with_ratios

    rows = [
        {"run": 1, "shape": "A", "server": "mesh", "cpu_ms_per_req": 4.0, "rps": 100.0},
        {"run": 1, "shape": "A", "server": "gateway", "cpu_ms_per_req": 2.0, "rps": 150.0},
        {"run": 2, "shape": "A", "server": "gateway", "cpu_ms_per_req": 3.0, "rps": 90.0},
    ]
    ratios = [(r["cpu_ratio"], r["rps_ratio"]) for r in with_ratios(rows)]
    assert ratios == [(1.0, 1.0), (0.5, 1.5), (None, None)]


def test_readahead_bench_prints_the_curve_with_calls_at_the_minimum() -> None:
    done = _run(
        "bench.readahead", "--accounts", "1,3", "--rows", "130", "--latency-ms", "5", timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout.splitlines()
    assert table[0] == "$ python -m bench.readahead --accounts 1,3 --rows 130 --latency-ms 5"
    rows = [line.split() for line in table if re.match(r"\s+\d+\s+on\s", line)]
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("1", "7", "2", "2"),  # 130 rows in pages of 20; two calls of 100
        ("3", "20", "6", "6"),
    ]


def test_subscriber_counting_finds_loss_duplicates_foreign_events_and_latency() -> None:
    """`bench.subscribers` judges every subscriber against the accepted events: the figures it
    prints (and its exit code) rest on this, so it is checked in-process (a real run starts
    Redis, an emulator, two gateways and two client processes: well over 20 s)."""
    from array import array

    from bench.subscribers_client import read_delivery
    from bench.subscribers_stats import SubscriberLog, event_time, judge, merge, warm_time

    def message(occurred: str, candidate: str = '{"id": "x"}') -> str:
        change = f'"occurredAt":"{occurred}","candidate":{candidate}'
        return '{"id":"1","type":"next","payload":{"data":{"candidateChanged":{' + change + "}}}}"

    # Events 0..5 in 2 accounts (even seq: account 0); event 4 was not accepted by the gateway.
    sent_at: list[float | None] = [10.0, 10.01, 10.02, 10.03, None, 10.05]
    clean, sloppy = SubscriberLog(account=0), SubscriberLog(account=0)
    read_delivery(message(warm_time(3)), clean, 9.0)
    for seq, at in ((0, 10.030), (2, 10.045)):
        read_delivery(message(event_time(seq)), clean, at)
    for seq, at in ((0, 10.5), (0, 10.6), (1, 10.7)):  # twice, a foreign one, and 2 lost
        read_delivery(message(event_time(seq)), sloppy, at)
    read_delivery(message(event_time(5), "null"), sloppy, 10.8)  # account 1's, object null
    assert clean.warm and not sloppy.warm

    latencies: array[float] = array("d")
    outcomes = [judge(log, sent_at, 2, latencies) for log in (clean, sloppy)]
    assert outcomes[0].lost == outcomes[0].duplicated == outcomes[0].foreign == 0
    assert (outcomes[1].lost, outcomes[1].duplicated, outcomes[1].foreign) == (1, 1, 2)
    summary = merge(outcomes, expected=4, latencies=latencies)
    assert (summary.received, summary.min_count, summary.max_count) == (6, 2, 4)
    assert (summary.lost, summary.duplicated, summary.empty) == (1, 1, 1)
    assert not summary.clean
    assert sorted(round(v) for v in latencies) == [25, 30, 500]
    assert summary.p50_ms is not None and round(summary.p50_ms) == 30
