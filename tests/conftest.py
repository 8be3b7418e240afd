"""Fixtures: Talynce emulators and the gateway, each a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig
from providers.emulators.talynce import RecordedRequest, TalynceEmulator, TalynceOrg
from tests.servers import serve_in_thread

ORGS = (("acme", 1, 100), ("globex", 2, 100), ("initech", 3, 37))


@dataclass
class Stack:
    """A gateway in front of Talynce emulator tenants, both served over HTTP."""

    url: str
    emulator: TalynceEmulator
    orgs: dict[str, TalynceOrg]

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def calls(self, org: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.emulator.requests if org is None or r.org == self.orgs[org].name]


def make_orgs() -> dict[str, TalynceOrg]:
    return {
        name: TalynceOrg.seeded(name, f"key-{name}-secret", candidates=count, seed=seed)
        for name, seed, count in ORGS
    }


def gateway_settings(
    url: str, orgs: dict[str, TalynceOrg], *, request_timeout: float = 10.0, **account: Any
) -> Settings:
    """Settings for accounts on the emulator at `url`; `account` overrides AccountConfig fields."""
    return Settings(
        tuple(
            AccountConfig(
                id=name,
                name=org.name.title(),
                provider="talynce",
                base_url=f"{url}/api/v1",
                credentials={"api_key": org.api_key},
                **account,
            )
            for name, org in orgs.items()
        ),
        cursor_secret=b"test-cursor-secret",
        request_timeout=request_timeout,
    )


@contextmanager
def running_stack(orgs: dict[str, TalynceOrg], **settings: Any) -> Iterator[Stack]:
    emulator = TalynceEmulator(orgs.values())
    with serve_in_thread(emulator.app) as upstream:
        app = create_app(gateway_settings(upstream, orgs, **settings))
        with serve_in_thread(app, lifespan="on") as url:
            yield Stack(url, emulator, orgs)


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A fresh stack per test: tests may write."""
    with running_stack(make_orgs()) as fresh:
        yield fresh


@pytest.fixture(scope="session")
def shared_stack() -> Iterator[Stack]:
    """One stack for read-only tests; they must not write or change emulator knobs."""
    with running_stack(make_orgs()) as shared:
        yield shared
