"""The compiled execution path is imported only when enabled, and trusted only once it answers
a known document as graphql-core does; otherwise graphql-core answers, after one warning."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import compiled_fence
from gateway.schema import build_schema

ROOT = Path(__file__).resolve().parent.parent

BUILD_APP = """
import json, logging, sys
{prelude}
from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig

records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger("gateway").addHandler(handler)
account = AccountConfig(id="acme", name="Acme", provider="talynce",
                        base_url="http://127.0.0.1:9/api/v1", credentials={{"api_key": "k"}})
app = create_app(Settings((account,), compiled_execution={compiled}))
from gateway.schema import build_schema
answer = build_schema(compiled={compiled}).execute_sync("{{ __typename }}")
print(json.dumps({{
    "loaded": "gateway.compiled" in sys.modules,
    "warnings": [r.getMessage() for r in records if r.levelno == logging.WARNING],
    "data": answer.data,
}}))
"""


def build_app_in_a_fresh_process(compiled: bool, prelude: str = "") -> dict[str, Any]:
    script = BUILD_APP.format(prelude=prelude, compiled=compiled)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_with_compiled_execution_off_the_compiler_is_never_imported() -> None:
    off = build_app_in_a_fresh_process(compiled=False)
    assert off == {"loaded": False, "warnings": [], "data": {"__typename": "Query"}}
    on = build_app_in_a_fresh_process(compiled=True)
    assert on == {"loaded": True, "warnings": [], "data": {"__typename": "Query"}}


def test_a_compiler_that_fails_to_import_falls_back_to_graphql_core_with_one_warning() -> None:
    broken = build_app_in_a_fresh_process(
        compiled=True, prelude="sys.modules['gateway.compiled'] = None"
    )
    assert broken["data"] == {"__typename": "Query"}
    assert len(broken["warnings"]) == 1
    assert "compiled execution is off" in broken["warnings"][0]
    assert "failed to import" in broken["warnings"][0]


@pytest.fixture
def fresh_check() -> Iterator[None]:
    compiled_fence.compiled_executor.cache_clear()
    yield
    compiled_fence.compiled_executor.cache_clear()


def test_a_compiler_that_disagrees_falls_back_with_one_warning(
    fresh_check: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    honest = compiled_fence.answer

    def lying(executor: Any) -> Any:
        answers = honest(executor)
        if executor is not None:
            answers[-1][0]["items"][0]["name"] = "not what graphql-core says"
        return answers

    monkeypatch.setattr(compiled_fence, "answer", lying)
    with caplog.at_level(logging.WARNING, logger="gateway"):
        schemas = [build_schema(compiled=True) for _ in range(2)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "disagrees with graphql-core" in warnings[0]
    for schema in schemas:
        assert "Compiled" not in schema.execution_context_class.__name__
        assert schema.execute_sync("{ __typename }").data == {"__typename": "Query"}


def test_a_compiler_that_raises_on_the_check_falls_back_with_one_warning(
    fresh_check: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    honest = compiled_fence.answer

    def failing(executor: Any) -> Any:
        if executor is not None:
            raise AttributeError("an internal it reads is gone")
        return honest(executor)

    monkeypatch.setattr(compiled_fence, "answer", failing)
    with caplog.at_level(logging.WARNING, logger="gateway"):
        schema = build_schema(compiled=True)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "AttributeError" in warnings[0]
    assert "internal it reads" not in warnings[0]
    assert "Compiled" not in schema.execution_context_class.__name__


def test_the_compiler_passes_its_self_check_here(fresh_check: None) -> None:
    """On the pinned graphql-core and Strawberry the compiled path is what runs."""
    assert compiled_fence.compiled_executor() is not None
    assert build_schema(compiled=True).execution_context_class.__name__ == "CompiledExecutor"
