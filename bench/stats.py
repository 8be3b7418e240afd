"""Latency and outcome tallies shared by both load generators and the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tally", "percentile"]


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


@dataclass
class Tally:
    """What one load phase saw, from the client's side (latencies in ms)."""

    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    failed: int = 0
    items: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    """GraphQL `extensions.code` of every error seen, or the transport failure's name."""
    extra: Counter[str] = field(default_factory=Counter)

    def record(self, latency_ms: float, ok: bool, items: int = 0) -> None:
        self.latencies.append(latency_ms)
        if ok:
            self.ok += 1
            self.items += items
        else:
            self.failed += 1

    def result(self, elapsed: float, generator: str) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        requests = self.ok + self.failed
        return {
            "generator": generator,
            "requests": requests,
            "ok": self.ok,
            "failed": self.failed,
            "elapsed_s": elapsed,
            "rps": requests / elapsed if elapsed > 0 else 0.0,
            "p50_ms": percentile(ordered, 50),
            "p95_ms": percentile(ordered, 95),
            "p99_ms": percentile(ordered, 99),
            "max_ms": ordered[-1] if ordered else None,
            "mean_ms": sum(ordered) / len(ordered) if ordered else None,
            "items": self.items,
            "statuses": dict(self.statuses),
            "codes": dict(self.codes),
            "extra": dict(self.extra),
        }
