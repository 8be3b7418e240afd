"""OpenTelemetry tracing, off unless configured: a span per GraphQL request and per upstream call.

OpenTelemetry is imported only when tracing is switched on, so a gateway without it installed
(the `tracing` extra) runs exactly as before. Upstream spans are children of the request's span
through the context OpenTelemetry keeps in context variables, which tasks inherit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Fanout", "Tracing", "tracing_from_setting"]


class Tracing:
    """Spans for one gateway; `tracer` is an OpenTelemetry tracer."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    @contextmanager
    def request(self, method: str, path: str) -> Iterator[Any]:
        with self.tracer.start_as_current_span(
            "graphql.request", attributes={"http.request.method": method, "url.path": path}
        ) as span:
            yield span

    def upstream_call(
        self, account: str, provider: str, endpoint: str, outcome: str, seconds: float
    ) -> None:
        end = time.time_ns()
        span = self.tracer.start_span(
            f"upstream {endpoint}",
            start_time=end - int(seconds * 1e9),
            attributes={
                "ats.account": account,
                "ats.provider": provider,
                "ats.endpoint": endpoint,
                "ats.outcome": outcome,
            },
        )
        span.end(end_time=end)

    def retry(self, account: str, provider: str) -> None:
        pass

    def breaker(self, account: str, provider: str, state: str) -> None:
        pass

    def rate_wait(self, account: str, provider: str, seconds: float) -> None:
        pass


class Fanout:
    """Tells several observers (metrics, tracing) about the same upstream events."""

    def __init__(self, *observers: Any) -> None:
        self.observers = observers

    def upstream_call(
        self, account: str, provider: str, endpoint: str, outcome: str, seconds: float
    ) -> None:
        for observer in self.observers:
            observer.upstream_call(account, provider, endpoint, outcome, seconds)

    def retry(self, account: str, provider: str) -> None:
        for observer in self.observers:
            observer.retry(account, provider)

    def breaker(self, account: str, provider: str, state: str) -> None:
        for observer in self.observers:
            observer.breaker(account, provider, state)

    def rate_wait(self, account: str, provider: str, seconds: float) -> None:
        for observer in self.observers:
            observer.rate_wait(account, provider, seconds)


def tracing_from_setting(setting: str) -> Tracing | None:
    """`off`, `console` (spans printed as JSON) or `otlp` (the standard OTEL_EXPORTER_* env)."""
    if setting == "off":
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": "ats-gateway"}))
    if setting == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    return Tracing(provider.get_tracer("ats-gateway"))
