"""Driving Debian's wrk: render a Lua script from a scenario, run it, read its JSON line.

wrk costs far less CPU per request than any Python client, which matters on a two-core machine
where the generator shares cores with the gateway it measures. Its Lua `response` callback
judges every answer by the same markers as the Python generator, so a GraphQL error inside an
HTTP 200 counts as a failure with either tool.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.load import LoadSpec
from bench.processes import Children

__all__ = ["GENERATOR", "available", "ensure_installed", "lua_script", "run_wrk"]

GENERATOR = "wrk"
_MARK = "BENCH_JSON "
_REQUEST_FN = """
function request()
  counter = counter + 1
  local account = accounts[(counter % #accounts) + 1]
  local body = template:gsub("__SEQ__", tid .. "-" .. counter)
  body = body:gsub("__ACCT__", account)
  return wrk.format(nil, nil, nil, body)
end
"""


def available() -> str | None:
    return shutil.which("wrk")


def ensure_installed() -> str | None:
    """Installs Debian's wrk when running as root; returns its path, or None if that failed."""
    if available() or os.geteuid() != 0 or not shutil.which("apt-get"):
        return available()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, check=False, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False, capture_output=True)
        subprocess.run(install, env=env, check=False, capture_output=True)
    return available()


def _long_string(text: str) -> str:
    """`text` as a Lua long-bracket literal, at a level the text cannot close."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def _lua_marker(regex_marker: str | None) -> str:
    return "nil" if regex_marker is None else _long_string(regex_marker)


def lua_script(spec: LoadSpec, fail_lua: str | None, require_lua: str | None) -> str:
    """A wrk script: static request, or a fresh `__SEQ__`/`__ACCT__` per request for creates."""
    headers = "\n".join(
        f"wrk.headers[ {_long_string(k)} ] = {_long_string(v)}" for k, v in spec.headers.items()
    )
    body = "nil" if spec.body is None else _long_string(spec.body)
    accounts = ", ".join(_long_string(a) for a in spec.accounts) or _long_string("")
    dynamic = spec.mode == "create"
    return f"""
wrk.method = "{spec.method}"
{headers}
local template = {body}
local accounts = {{{accounts}}}
local fail_pattern = {_lua_marker(fail_lua)}
local require_pattern = {_lua_marker(require_lua)}
local threads = {{}}
local counter = 0
ok_count = 0
failed_count = 0
tid = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

if template ~= nil and not {str(dynamic).lower()} then
  wrk.body = template
end

{_REQUEST_FN if dynamic else ""}
function response(status, headers, body)
  local bad = status ~= 200
  if not bad and fail_pattern ~= nil and body:find(fail_pattern) then bad = true end
  if not bad and require_pattern ~= nil and not body:find(require_pattern) then bad = true end
  if bad then failed_count = failed_count + 1 else ok_count = ok_count + 1 end
end

function done(summary, latency, requests)
  local ok, failed = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("ok_count")
    failed = failed + thread:get("failed_count")
  end
  local e = summary.errors
  io.write(string.format(
    '{_MARK}{{"ok":%d,"failed":%d,"requests":%d,"duration_us":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%f,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\\n',
    ok, failed, summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def run_wrk(
    children: Children,
    workdir: Path,
    spec: LoadSpec,
    fail_lua: str | None,
    require_lua: str | None,
    name: str,
) -> dict[str, Any]:
    """One phase under wrk (one thread, `spec.concurrency` connections); whole seconds only."""
    wrk = available()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    script = workdir / f"{name}.lua"
    script.write_text(lua_script(spec, fail_lua, require_lua))
    seconds = max(1, round(spec.duration))
    process = children.command(
        name,
        [
            wrk,
            "-t1",
            f"-c{spec.concurrency}",
            f"-d{seconds}s",
            f"--timeout={max(1, round(spec.timeout))}s",
            "-s",
            str(script),
            spec.url,
        ],
    )
    process.wait(timeout=seconds + spec.timeout + 30)
    log = (workdir / f"{name}.log").read_text(errors="replace")
    line = next((ln for ln in log.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{log[-2000:]}")
    raw = json.loads(line[len(_MARK) :])
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    requests = raw["ok"] + raw["failed"] + raw["timeout"]
    elapsed = raw["duration_us"] / 1e6
    return {
        "generator": GENERATOR,
        "requests": requests,
        "ok": raw["ok"],
        "failed": raw["failed"] + socket_errors,
        "elapsed_s": elapsed,
        "rps": requests / elapsed if elapsed > 0 else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
        "items": raw["ok"] * spec.items_per_ok,
        "statuses": {},
        "codes": {k: raw[k] for k in ("connect", "read", "write", "timeout") if raw[k]},
        "extra": {"http_errors": raw["status"]},
    }
