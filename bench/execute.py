"""The gateway's own CPU per request with no upstream traffic: the whole ASGI app, in-process.

The emulator runs in a child process; the gateway is built in this one with its response cache
on, warmed once, so every timed request is answered from cached records: what is left is
request parsing, GraphQL execution, cursor signing, error shaping and JSON encoding. This
isolates the cost `bench.run` reports as "cpu ms/req" from the upstream calls it also counts,
and is the figure the issue's in-process measurements (Strawberry 8 ms, graphql-js 0.9 ms for
scenario A's selection) compare with.

    python -m bench.execute [--requests 300] [--scenarios A,E] [--graphql-js]

Each scenario runs twice: with `compiled_execution` off (graphql-core completes every field) and
on (gateway/compiled.py), so one run shows what the compiled path saves. Besides the whole
request, the CPU spent inside `Schema.execute` (parser and validation caches, resolvers reading
cached records, IDs and cursors, completion) is shown on its own: that is the part the issue's
graphql-js figure (0.9 ms for scenario A) stands for. Requests run one at a time and nothing
else runs in the process, so CPU time between the awaits inside it is this request's.

That 0.9 ms was measured on another machine. `--graphql-js` measures graphql-js here, in the
same run: bench/graphql_js_execute.cjs executes each scenario's query with graphql-js (the
version bench.peer installs with GraphQL Mesh; needs Node.js and npm) over the gateway's own
answer as plain objects, with the exported schema.graphql. Every field there is a property
read: no merging, record conversion or cursor signing, which the gateway's figure includes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from bench import scenarios, topology
from bench.gateway_server import settings_for
from bench.peer_mesh import install_mesh
from bench.processes import Children
from gateway.app import create_app
from gateway.view import GraphQLView

__all__ = ["ExecuteClock", "graphql_js_execute_ms", "main", "measure"]

SCHEMA_SDL = Path(__file__).resolve().parent.parent / "schema.graphql"
JS_EXECUTOR = Path(__file__).resolve().parent / "graphql_js_execute.cjs"


async def _call(app: ASGIApp, body: bytes) -> tuple[int, bytes]:
    """One POST /graphql through the app, as uvicorn would hand it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    chunks: list[bytes] = []
    status = 0
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


class ExecuteClock:
    """Sums the CPU time spent inside one schema's `execute`."""

    def __init__(self, schema: Any) -> None:
        self.seconds = 0.0
        inner = schema.execute

        async def execute(*args: Any, **kwargs: Any) -> Any:
            began = time.process_time()
            try:
                return await inner(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - began

        schema.execute = execute


def _schema_of(app: Starlette) -> Any:
    for route in app.routes:
        if isinstance(route, Route) and isinstance(route.endpoint, GraphQLView):
            return route.endpoint.schema
    raise LookupError("the app has no GraphQL route")


async def measure(app: ASGIApp, body: bytes, requests: int, clock: ExecuteClock) -> dict[str, Any]:
    status, answer = await _call(app, body)
    payload = json.loads(answer)
    if status != 200 or payload.get("errors"):
        raise SystemExit(f"warm-up failed: HTTP {status} {answer[:300]!r}")
    clock.seconds = 0.0
    began = time.process_time()
    for _ in range(requests):
        await _call(app, body)
    cpu = time.process_time() - began
    return {
        "cpu_ms": cpu / requests * 1000,
        "execute_ms": clock.seconds / requests * 1000,
        "bytes": len(answer),
        "data": payload["data"],
    }


def graphql_js_execute_ms(body: bytes, data: Any, requests: int, workdir: Path) -> float:
    """CPU ms per graphql-js execute of `body`'s query over `data` (graphql_js_execute.cjs)."""
    request = json.loads(body)
    case = workdir / "graphql-js-case.json"
    case.write_text(
        json.dumps(
            {
                "sdl": SCHEMA_SDL.read_text(),
                "query": request["query"],
                "variables": request.get("variables") or {},
                "root": data,
            }
        )
    )
    package = install_mesh() / "node_modules" / "graphql"
    done = subprocess.run(
        ["node", str(JS_EXECUTOR), str(case), str(requests), str(package)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"graphql-js failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if not figures["same_data"]:
        raise SystemExit("graphql-js answered other data than the gateway")
    return float(figures["execute_ms"])


def bodies() -> dict[str, bytes]:
    four = topology.account_ids()
    return {
        "A": scenarios.graphql_body(
            scenarios.list_query(first=20, applications=True), {"accounts": four}
        ).encode(),
        "E": scenarios.graphql_body(
            scenarios.list_query(first=100, applications=False), {"accounts": four[:2]}
        ).encode(),
    }


async def _run(
    emulator_url: str, keys: Sequence[str], requests: int, graphql_js: Path | None
) -> None:
    base = replace(settings_for(emulator_url, topology.ORGS, 8, 30.0), cache_ttl=3600.0)
    figures: dict[tuple[str, bool], dict[str, Any]] = {}
    table = bodies()
    for compiled in (False, True):
        app = create_app(replace(base, compiled_execution=compiled))
        clock = ExecuteClock(_schema_of(app))
        async with app.router.lifespan_context(app):
            for key in keys:
                figures[key, compiled] = await measure(app, table[key], requests, clock)
    peer = {
        key: graphql_js_execute_ms(table[key], figures[key, True]["data"], requests, graphql_js)
        for key in keys
        if graphql_js is not None
    }
    print("CPU ms per request (whole request / inside Schema.execute)")
    print(
        f"{'scn':<4} {'graphql-core':>12} {'compiled':>9} {'execute core':>13} "
        f"{'execute compiled':>17} {'answer bytes':>13}"
        + (f" {'graphql-js execute':>19}" if peer else "")
    )
    for key in keys:
        core, fast = figures[key, False], figures[key, True]
        print(
            f"{key:<4} {core['cpu_ms']:>12.2f} {fast['cpu_ms']:>9.2f} {core['execute_ms']:>13.2f} "
            f"{fast['execute_ms']:>17.2f} {fast['bytes']:>13}"
            + (f" {peer[key]:>19.2f}" if peer else "")
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.execute", description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--scenarios", default="A,E")
    parser.add_argument(
        "--graphql-js",
        action="store_true",
        help="also time graphql-js's execute of each query over the same answer (Node.js, npm)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, Children(Path(tmp)) as children:
        emulator = children.server("emulator", "bench.emulator_server", ["--orgs", "4"])
        keys = args.scenarios.split(",")
        asyncio.run(_run(emulator.url, keys, args.requests, Path(tmp) if args.graphql_js else None))


if __name__ == "__main__":
    main()
