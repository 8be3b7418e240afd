"""Tracing: off by default; when on, a span per GraphQL request with upstream calls inside it."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from emulators.talynce.app import TalynceEmulator
from gateway.app import create_app
from gateway.settings import parse_settings
from gateway.tracing import Tracing
from tests.conftest import gateway_settings, make_orgs
from tests.servers import serve_in_thread


def test_each_request_is_a_span_with_its_upstream_calls_as_children() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    orgs = make_orgs()
    with serve_in_thread(TalynceEmulator(orgs.values()).app) as upstream:
        app = create_app(
            gateway_settings(upstream, orgs), tracing=Tracing(provider.get_tracer("t"))
        )
        with serve_in_thread(app, lifespan="on") as url:
            httpx.post(
                f"{url}/graphql",
                json={"query": "query Three { candidates(first: 3) { totalCount } }"},
            )
    spans = exporter.get_finished_spans()
    [request] = [s for s in spans if s.name == "graphql.request"]
    assert request.attributes["graphql.operation.name"] == "Three"
    assert request.attributes["ats.outcome"] == "ok"
    upstream_spans = [s for s in spans if s.name == "upstream GET candidates"]
    assert sorted(s.attributes["ats.account"] for s in upstream_spans) == [
        "acme",
        "globex",
        "initech",
    ]
    assert all(
        s.parent is not None and s.parent.span_id == request.context.span_id for s in upstream_spans
    )
    assert all(
        s.start_time >= request.start_time and s.end_time <= request.end_time
        for s in upstream_spans
    )


def test_tracing_is_off_unless_configured() -> None:
    account = {"id": "a", "provider": "talynce", "base_url": "http://x", "api_key_env": "K"}
    assert parse_settings({"accounts": [account]}, {"K": "k"}).tracing == "off"
    assert (
        parse_settings(
            {"accounts": [account], "gateway": {"tracing": "console"}}, {"K": "k"}
        ).tracing
        == "console"
    )
