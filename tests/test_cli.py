"""The command line and the README's first command, run as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from emulators.registry import DEMOS
from gateway.__main__ import main
from gateway.schema import schema
from gateway.security import hash_key
from tests.conftest import Stack

ROOT = Path(__file__).resolve().parent.parent


def test_schema_file_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == schema.as_str() + "\n", "run: python -m gateway export-schema"


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    target = tmp_path / "out.graphql"
    assert main(["export-schema", "--output", str(target)]) == 0
    text = target.read_text()
    for name in (
        "type Candidate implements Node",
        "candidates(",
        "createCandidate(",
        "enum Provider",
    ):
        assert name in text


def test_check_config_reports_errors_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "g.toml"
    path.write_text(
        '[[accounts]]\nid = "a"\nprovider = "talynce"\nbase_url = "http://x"\napi_key_env = "NOPE_KEY_X"\n'
    )
    assert main(["check-config", str(path)]) == 2
    assert "NOPE_KEY_X is not set" in capsys.readouterr().err


def test_demo_refuses_a_non_loopback_bind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--demo", "--host", "0.0.0.0"]) == 2
    assert "loopback" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_demo_answers_graphql_on_loopback() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--demo", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(
                    f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"}
                )
                break
            except httpx.TransportError:
                assert process.poll() is None, (
                    process.stdout.read().decode() if process.stdout else ""
                )
                assert time.monotonic() < deadline, "demo did not start"
                time.sleep(0.2)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        body = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={
                "query": "{ accounts { id } candidates(first: 4) { totalCount "
                "sources { totalCount } edges { node { fullName } } } }"
            },
        ).json()
        expected = [account.id for make in DEMOS.values() for account in make().accounts]
        assert [a["id"] for a in body["data"]["accounts"]] == expected
        listing = body["data"]["candidates"]
        # Demo Merge and Harvest accounts report no total: none is exact, each is in sources.
        assert listing["totalCount"] is None
        assert sum(s["totalCount"] or 0 for s in listing["sources"]) >= 2 * 50
        assert len(body["data"]["candidates"]["edges"]) == 4
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_config_without_client_keys_refuses_a_public_bind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOME_TALYNCE_KEY", "k")
    path = tmp_path / "g.toml"
    path.write_text(
        '[[accounts]]\nid = "a"\nprovider = "talynce"\napi_key_env = "SOME_TALYNCE_KEY"\n'
    )
    assert main(["serve", "--config", str(path), "--host", "0.0.0.0"]) == 2
    assert "loopback only" in capsys.readouterr().err


def test_new_key_prints_a_key_and_its_digest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-key"]) == 0
    lines = capsys.readouterr().out.splitlines()
    key = lines[0].split()[-1]
    assert lines[1].split()[-1] == hash_key(key)


def test_serve_with_workers_shares_cursors_across_processes(
    shared_stack: Stack, tmp_path: Path
) -> None:
    config = tmp_path / "g.toml"
    config.write_text(
        f'[[accounts]]\nid = "acme"\nprovider = "talynce"\nbase_url = "{shared_stack.upstream}/api/v1"\napi_key_env = "W_ACME_KEY"\n'
    )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--config",
            str(config),
            "--workers",
            "2",
            "--port",
            str(port),
            "--log-format",
            "json",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "W_ACME_KEY": shared_stack.orgs["acme"].api_key},
    )
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        seen: list[str] = []
        after = None
        for _ in range(10):  # fresh connections, so both workers get a share
            body = httpx.post(
                url,
                json={
                    "query": "query($a: String) { candidates(first: 10, after: $a) { pageInfo { endCursor } edges { node { remoteId } } } }",
                    "variables": {"a": after},
                },
            ).json()
            assert "errors" not in body, body
            seen += [e["node"]["remoteId"] for e in body["data"]["candidates"]["edges"]]
            after = body["data"]["candidates"]["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)) == 100
    finally:
        process.terminate()
        process.wait(timeout=15)
