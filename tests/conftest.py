"""Fixtures: Talynce emulators and the gateway, each a real server on loopback."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import zstandard
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulators.talynce.app import RecordedRequest, TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig
from tests.servers import serve_in_thread

ORGS = (("acme", 1, 100), ("globex", 2, 100), ("initech", 3, 37))


@dataclass
class Stack:
    """A gateway in front of Talynce emulator tenants, both served over HTTP."""

    url: str
    emulator: TalynceEmulator
    orgs: dict[str, TalynceOrg]
    upstream: str = ""

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


CURSOR_SECRET = b"test-cursor-secret"
SETTINGS_FIELDS = {f.name for f in dataclasses.fields(Settings)}


def gateway_settings(url: str, orgs: dict[str, TalynceOrg], **overrides: Any) -> Settings:
    """Settings for accounts on the emulator at `url`; overrides name Settings or account fields."""
    settings = {k: v for k, v in overrides.items() if k in SETTINGS_FIELDS}
    account = {k: v for k, v in overrides.items() if k not in SETTINGS_FIELDS}
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
        cursor_secret=CURSOR_SECRET,
        **settings,
    )


def decoded(body: bytes, coding: bytes | None) -> bytes:
    """A response body as its content coding says, so a compressed leak is still a leak."""
    if not body or coding is None:
        return body
    decoders = {
        b"gzip": gzip.decompress,
        b"br": brotli.decompress,
        b"zstd": zstandard.ZstdDecompressor().decompress,
    }
    return decoders[coding](body)


class SecretWatch:
    """ASGI wrapper that records any configured secret found in a response header or body
    (decompressed first: the gateway compresses answers). A compressed body sent in several
    messages (a large static file) is decoded once whole; others are read message by message,
    so an endless stream (SSE) is still read as it goes."""

    leaks: list[str] = []
    secrets: set[bytes] = set()

    def __init__(self, app: ASGIApp, secrets: set[str]) -> None:
        self.app = app
        SecretWatch.secrets |= {s.encode() for s in secrets}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        coding: bytes | None = None
        compressed: list[bytes] = []

        async def watch(message: Message) -> None:
            nonlocal coding
            headers = message.get("headers", [])
            coding = next((v for k, v in headers if k.lower() == b"content-encoding"), coding)
            body = message.get("body", b"")
            if coding is not None:
                compressed.append(body)
                whole = not message.get("more_body", False)
                body = decoded(b"".join(compressed), coding) if whole else b""
            blob = b"".join(k + b": " + v for k, v in headers) + body
            for secret in SecretWatch.secrets:
                if secret in blob:
                    SecretWatch.leaks.append(f"{scope.get('path')}: {_around(blob, secret)}")
            await send(message)

        await self.app(scope, receive, watch)


def _around(blob: bytes, secret: bytes) -> str:
    """Where `secret` sits in `blob`, the secret itself masked: enough to find the leak."""
    at = blob.index(secret)
    before, after = blob[max(0, at - 120) : at], blob[at + len(secret) : at + len(secret) + 120]
    return f"{before!r} <{secret[:4]!r}… {len(secret)} bytes> {after!r}"


class OperationLog:
    """ASGI wrapper that keeps every JSON body POSTed to /graphql, for the differential replay
    in test_compiled.py (which pytest_collection_modifyitems runs last).

    Under pytest-xdist each worker also appends what it logs to a file of its own in the run's
    shared temp folder (`share`), and `distinct` reads every worker's file: the replay tests are
    the last ones handed out, so by then the other workers have sent (nearly) all of theirs.
    Replaying in a test keeps the replay one that fails with its query; a step after the
    workers end would be outside any test."""

    bodies: list[bytes] = []
    folder: Path | None = None
    file = Path()
    lock = threading.Lock()

    @classmethod
    def share(cls, folder: Path, worker: str) -> None:
        folder.mkdir(exist_ok=True)
        cls.folder, cls.file = folder, folder / f"{worker}.log"

    @classmethod
    def keep(cls, body: bytes) -> None:
        cls.bodies.append(body)
        if cls.folder is not None:
            with cls.lock, cls.file.open("ab") as out:
                out.write(base64.b64encode(body) + b"\n")

    @classmethod
    def every_workers(cls) -> list[bytes]:
        if cls.folder is None:
            return cls.bodies
        bodies = list(cls.bodies)
        for path in sorted(cls.folder.glob("*.log")):
            if path != cls.file:
                lines = path.read_bytes().split(b"\n")[:-1]  # the last may be half written
                bodies += [base64.b64decode(line) for line in lines]
        return bodies

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    OperationLog.keep(b"".join(chunks))
            return message

        await self.app(scope, reading, send)

    @classmethod
    def distinct(cls) -> Iterator[dict[str, Any]]:
        seen: set[bytes] = set()
        for body in cls.every_workers():
            if body in seen:
                continue
            seen.add(body)
            try:
                parsed = json.loads(body)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                yield parsed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `replay_last` run after all others (they replay what the others sent); under
    xdist's `load` distribution they are also the last handed out."""
    items.sort(key=lambda item: item.get_closest_marker("replay_last") is not None)


WHOLE_SUITE_FILES = 30


def whole_suite(session: pytest.Session) -> bool:
    """Whether the session collected (about) the whole suite rather than a selection: then the
    replays must find a worker's share of operations, not just some."""
    return len({item.path for item in session.items}) >= WHOLE_SUITE_FILES


@contextmanager
def running_stack(orgs: dict[str, TalynceOrg], **overrides: Any) -> Iterator[Stack]:
    emulator = TalynceEmulator(orgs.values())
    with serve_in_thread(emulator.app) as upstream:
        settings = gateway_settings(upstream, orgs, **overrides)
        app = SecretWatch(OperationLog(create_app(settings)), settings.secrets())
        with serve_in_thread(app, lifespan="on") as url:
            yield Stack(url, emulator, orgs, upstream)


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def operation_logs_shared_across_workers(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Under xdist, workers' temp folders sit in one folder of the run: the logs go there."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is not None:
        OperationLog.share(tmp_path_factory.getbasetemp().parent / "operation-logs", worker)


@pytest.fixture(scope="session", autouse=True)
def no_secret_leaves_the_gateway() -> Iterator[None]:
    """Fails the run if a configured secret reached a response or any log record."""
    capture = LogCapture()
    logging.getLogger().addHandler(capture)
    logging.getLogger().setLevel(logging.DEBUG)
    yield
    logging.getLogger().removeHandler(capture)
    assert SecretWatch.leaks == [], SecretWatch.leaks
    text = "\n".join(capture.lines)
    leaked = [s for s in SecretWatch.secrets if s.decode() in text]
    assert leaked == [], "secrets in log records"
    if SecretWatch.secrets:  # a gateway ran, so its request lines must have been seen
        assert capture.lines, "the log capture saw nothing: it is not wired"


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
