"""Prometheus metrics: requests, upstream calls, retries, breakers and rate-limit waits.

Labels carry names of operations, accounts, providers and endpoints only, never candidate data
or secrets. Operation names come from clients, so unusual or too many distinct ones are folded
into "other" to keep the series count bounded.
"""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

OPERATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")  # the gateway's codes (gateway.codes) look so
# A subscription may last from milliseconds to a working day.
LIVE_BUCKETS = (0.01, 0.1, 1.0, 10.0, 60.0, 600.0, 3600.0, 14400.0, 86400.0)
MAX_OPERATIONS = 200
BREAKER_VALUES = {"closed": 0.0, "half-open": 1.0, "open": 2.0}


class Metrics:
    """One gateway's metrics, in a registry of its own (tests run several gateways at once)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._operations: set[str] = set()
        self._calls: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        # labels() hashes and validates its arguments on every call: each request and upstream
        # call looks its series up here instead, bound once per label set.
        self._requests: dict[tuple[str | None, str], tuple[Any, Any]] = {}
        self.breakers: dict[str, str] = {}
        self.requests = Counter(
            "gateway_graphql_requests",
            "GraphQL requests by operation name and outcome",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_graphql_request_seconds",
            "GraphQL request latency",
            ["operation"],
            registry=self.registry,
        )
        self.upstream = Counter(
            "gateway_upstream_calls",
            "Upstream call attempts by account, provider, endpoint and outcome",
            ["account", "provider", "endpoint", "outcome"],
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "gateway_upstream_call_seconds",
            "Upstream call latency",
            ["account", "provider", "endpoint"],
            registry=self.registry,
        )
        self.retries = Counter(
            "gateway_upstream_retries",
            "Upstream retries",
            ["account", "provider"],
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "gateway_breaker_state",
            "Circuit breaker state (0 closed, 1 half-open, 2 open)",
            ["account", "provider"],
            registry=self.registry,
        )
        self.live_start = Counter(
            "gateway_graphql_operations_started",
            "GraphQL operations begun over a socket or SSE, by operation type and transport",
            ["type", "transport"],
            registry=self.registry,
        )
        self.live_end = Counter(
            "gateway_graphql_operations_completed",
            "GraphQL operations over a socket or SSE that ended, by type, transport and outcome",
            ["type", "transport", "outcome"],
            registry=self.registry,
        )
        self.live_seconds = Histogram(
            "gateway_graphql_operation_seconds",
            "How long operations over a socket or SSE ran (a subscription: until it ended)",
            ["type", "transport"],
            buckets=LIVE_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "gateway_graphql_errors",
            "GraphQL errors sent to clients over a socket or SSE, by code and transport",
            ["code", "transport"],
            registry=self.registry,
        )
        self.rate_waits = Counter(
            "gateway_rate_limit_wait_seconds",
            "Time spent queued for an account's request budget",
            ["account", "provider"],
            registry=self.registry,
        )

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not OPERATION.match(name):
            return "other"
        if name not in self._operations and len(self._operations) >= MAX_OPERATIONS:
            return "other"
        self._operations.add(name)
        return name

    def request(self, operation: str | None, outcome: str, seconds: float) -> None:
        key = (operation, outcome)
        series = self._requests.get(key)
        if series is None:
            label = self.operation_label(operation)
            series = (self.requests.labels(label, outcome), self.latency.labels(label))
            if label != "other":  # names folded into "other" are unbounded: not remembered
                self._requests[key] = series
        count, latency = series
        count.inc()
        latency.observe(seconds)

    def live_started(self, kind: str, transport: str) -> None:
        self.live_start.labels(kind, transport).inc()

    def live_completed(self, kind: str, transport: str, outcome: str, seconds: float) -> None:
        self.live_end.labels(kind, transport, outcome).inc()
        self.live_seconds.labels(kind, transport).observe(seconds)

    def graphql_error(self, code: str, transport: str) -> None:
        self.errors.labels(code if CODE.match(code) else "other", transport).inc()

    def upstream_call(
        self, account: str, provider: str, endpoint: str, outcome: str, seconds: float
    ) -> None:
        key = (account, provider, endpoint, outcome)
        series = self._calls.get(key)
        if series is None:  # few: accounts x endpoints x outcomes
            series = self._calls[key] = (
                self.upstream.labels(account, provider, endpoint, outcome),
                self.upstream_latency.labels(account, provider, endpoint),
            )
        count, latency = series
        count.inc()
        latency.observe(seconds)

    def retry(self, account: str, provider: str) -> None:
        self.retries.labels(account, provider).inc()

    def breaker(self, account: str, provider: str, state: str) -> None:
        self.breakers[account] = state
        self.breaker_state.labels(account, provider).set(BREAKER_VALUES.get(state, 0.0))

    def rate_wait(self, account: str, provider: str, seconds: float) -> None:
        self.rate_waits.labels(account, provider).inc(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
