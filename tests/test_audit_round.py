"""Holes an adversarial audit found at the HTTP edge, each with the request that showed it."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.conftest import Stack

SUBSCRIPTION = "subscription { jobChanged { refetch } }"


def no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text[-2000:]


def test_a_subscription_without_a_stream_is_bad_input_not_internal(
    shared_stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscription sent as a plain GET or JSON POST ran as a query: its field returned a
    stream where a value was due, and the client read INTERNAL while the log took a traceback."""
    url = f"{shared_stack.url}/graphql"
    with caplog.at_level(logging.INFO):
        answers = [
            httpx.post(url, json={"query": SUBSCRIPTION}),
            httpx.get(url, params={"query": SUBSCRIPTION}),
        ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "text/event-stream" in error["message"]
        assert "data" not in answer.json()
    no_error_logged(caplog)
