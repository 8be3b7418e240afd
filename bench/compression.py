"""CPU per compression level for a 100-row `candidates` answer, to pick gateway.compression's
defaults from figures rather than habit.

The emulator runs in a child process; the gateway is built in this one with compression off
and answers two 100-row pages once each: scenario E's (`candidates(first: 100)`, about twenty
fields, two accounts) and the same with each candidate's applications (the issue's ~182 KB
answer). Each body is then compressed `--repeat` times per coding and level, timing CPU
(`time.process_time`), and decompressed once to check it round-trips.

    python -m bench.compression [--repeat 50]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import brotli
import zstandard

from bench import scenarios, topology
from bench.execute import _call
from bench.gateway_server import settings_for
from bench.processes import Children
from gateway.app import create_app
from gateway.compression import LEVELS, Compression

__all__ = ["main", "measure_levels"]

Coder = Callable[[bytes], bytes]

CANDIDATE_LEVELS: dict[str, tuple[int, ...]] = {
    "gzip": (1, 3, 4, 5, 6, 9),
    "br": (0, 1, 3, 4, 5, 6, 9, 11),
    "zstd": (1, 3, 6, 9, 12, 19),
}


def coders(coding: str, level: int) -> tuple[Coder, Coder]:
    """(compress, decompress) for one coding at one level."""
    if coding == "gzip":
        return lambda b: gzip.compress(b, compresslevel=level, mtime=0), gzip.decompress
    if coding == "br":
        return lambda b: bytes(brotli.compress(b, quality=level)), brotli.decompress
    compressor = zstandard.ZstdCompressor(level=level)
    return compressor.compress, zstandard.ZstdDecompressor().decompress


def measure_levels(body: bytes, repeat: int) -> list[tuple[str, int, float, int]]:
    """(coding, level, CPU ms per compression, compressed bytes) for every candidate level."""
    rows = []
    for coding, levels in CANDIDATE_LEVELS.items():
        for level in levels:
            compress, decompress = coders(coding, level)
            packed = compress(body)
            if decompress(packed) != body:
                raise SystemExit(f"{coding} level {level} does not round-trip")
            began = time.process_time()
            for _ in range(repeat):
                compress(body)
            cpu_ms = (time.process_time() - began) / repeat * 1000
            rows.append((coding, level, cpu_ms, len(packed)))
    return rows


SHAPES = {"list": False, "with applications": True}


async def answers(emulator_url: str) -> dict[str, bytes]:
    """Each shape's first 100-row page, uncompressed, as the gateway answers it."""
    settings = settings_for(emulator_url, topology.ORGS, 8, 30.0)
    app = create_app(replace(settings, compression=Compression(enabled=False)))
    two = topology.account_ids()[:2]
    found = {}
    async with app.router.lifespan_context(app):
        for shape, applications in SHAPES.items():
            query = scenarios.list_query(first=100, applications=applications)
            status, body = await _call(
                app, scenarios.graphql_body(query, {"accounts": two}).encode()
            )
            if status != 200 or b'"errors"' in body:
                raise SystemExit(f"the answer failed: HTTP {status} {body[:300]!r}")
            found[shape] = body
    return found


def report(shape: str, body: bytes, rows: list[tuple[str, int, float, int]]) -> None:
    print(f"\n{shape}: {len(body)} bytes uncompressed (candidates(first: 100), 2 accounts)")
    print(f"{'coding':<6} {'level':>5} {'cpu ms':>8} {'bytes':>8} {'ratio':>6} {'MB/s':>7}")
    for coding, level, cpu_ms, size in rows:
        chosen = " <- default" if LEVELS.get(coding) == level else ""
        rate = len(body) / 1e6 / (cpu_ms / 1000) if cpu_ms > 0 else float("inf")
        print(
            f"{coding:<6} {level:>5} {cpu_ms:>8.2f} {size:>8} {len(body) / size:>6.1f} "
            f"{rate:>7.0f}{chosen}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compression", description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, Children(Path(tmp)) as children:
        emulator = children.server("emulator", "bench.emulator_server", ["--orgs", "4"])
        bodies = asyncio.run(answers(emulator.url))
    print(f"$ python -m bench.compression {' '.join(sys.argv[1:] if argv is None else argv)}")
    for shape, body in bodies.items():
        report(shape, body, measure_levels(body, max(1, args.repeat)))


if __name__ == "__main__":
    main()
