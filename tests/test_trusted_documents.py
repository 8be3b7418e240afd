"""Trusted-documents mode over HTTP, sockets and SSE: only the manifest's documents run, and
it is reread."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings import ConfigError, load_settings
from tests.conftest import Stack, make_orgs, running_stack
from tests.ws_support import Closed, graphql_socket, ws_url

NAMES = "query Names { candidates(first: 2) { edges { node { id fullName } } } }"
ACCOUNTS = "query Accounts { accounts { id } }"


def sha1(text: str) -> str:
    """The client preset's default hash (its manifest keys are whatever it was set to)."""
    return hashlib.sha1(text.encode()).hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_manifest(path: Path, documents: dict[str, str]) -> None:
    """Written beside and renamed into place, as a deploy (or a ConfigMap update) does."""
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(documents))
    os.replace(staged, path)


def post(stack: Stack, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{stack.url}/graphql", json=body, timeout=30)


def code(response: httpx.Response) -> str:
    body = response.json()
    assert "data" not in body, body
    value: str = body["errors"][0]["extensions"]["code"]
    return value


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "persisted-documents.json"
    write_manifest(path, {sha1(NAMES): NAMES, sha256(ACCOUNTS): ACCOUNTS})
    return path


@pytest.fixture
def trusted(manifest: Path) -> Iterator[Stack]:
    with running_stack(make_orgs(), trusted_documents=manifest) as stack:
        yield stack


def test_manifest_documents_run_by_document_id_or_persisted_query(trusted: Stack) -> None:
    by_id = post(trusted, {"documentId": sha1(NAMES)})
    assert by_id.status_code == 200 and by_id.json()["data"]["candidates"]["edges"]
    prefixed = post(trusted, {"documentId": f"sha256:{sha256(ACCOUNTS)}"})
    assert prefixed.json()["data"]["accounts"]
    apollo = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(ACCOUNTS)}}}
    assert post(trusted, apollo).json()["data"]["accounts"]
    with_its_text = post(trusted, {"documentId": sha1(NAMES), "query": NAMES})
    assert with_its_text.json()["data"]
    over_get = httpx.get(f"{trusted.url}/graphql", params={"documentId": sha1(NAMES)})
    assert over_get.json()["data"]


@pytest.mark.parametrize(
    "body",
    [
        {"query": NAMES},  # the very text of a trusted document, but not named by its id
        {"query": "{ accounts { id } }"},
        {"documentId": sha1("{ accounts { id name } }")},
        {"documentId": sha1(NAMES), "query": "{ accounts { id name } }"},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(NAMES)}}},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(NAMES)}}}
        | {"query": NAMES},  # APQ registration is no way in
        {"query": "{ candidates(first: 2) { "},  # refused before parsing: not a parse error
    ],
    ids=["text", "other-text", "unknown-id", "id-other-text", "unknown-hash", "apq", "garbage"],
)
def test_everything_else_is_refused_before_it_runs(trusted: Stack, body: dict[str, Any]) -> None:
    before = len(trusted.emulator.requests)
    response = post(trusted, body)
    assert response.status_code == 403
    assert code(response) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert len(trusted.emulator.requests) == before


def test_a_changed_manifest_is_reread_and_a_broken_one_keeps_the_last(
    trusted: Stack, manifest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert post(trusted, {"documentId": sha1(NAMES)}).json()["data"]
    write_manifest(manifest, {sha256(ACCOUNTS): ACCOUNTS})
    assert code(post(trusted, {"documentId": sha1(NAMES)})) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert post(trusted, {"documentId": sha256(ACCOUNTS)}).json()["data"]
    with caplog.at_level(logging.ERROR, "gateway.persisted"):
        write_manifest(manifest, {"broken": 1})  # type: ignore[dict-item]
        assert post(trusted, {"documentId": sha256(ACCOUNTS)}).json()["data"]
    assert "not reloaded" in caplog.text
    write_manifest(manifest, {sha1(NAMES): NAMES})
    assert post(trusted, {"documentId": sha1(NAMES)}).json()["data"]


def _config(tmp_path: Path, manifest: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\ntrusted_documents = "' + manifest + '"\n\n'
        '[[accounts]]\nid = "a"\nprovider = "talynce"\napi_key_env = "K"\n'
    )
    return path


def test_the_manifest_path_is_relative_to_the_config_file(tmp_path: Path, manifest: Path) -> None:
    settings = load_settings(_config(tmp_path, manifest.name), {"K": "key"})
    assert settings.trusted_documents == manifest


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{", "not valid JSON"),
        ('["query { a }"]', "expected a JSON object of hash"),
        ('{"abc": 1}', "expected a JSON object of hash"),
    ],
)
def test_an_unusable_manifest_is_a_config_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "docs.json").write_text(content)
    with pytest.raises(ConfigError, match=f"gateway.trusted_documents: .*{message}"):
        load_settings(_config(tmp_path, "docs.json"), {"K": "key"})


async def test_sockets_and_sse_run_only_trusted_documents(trusted: Stack) -> None:
    """A socket or an SSE stream is held to the manifest as a POST is: a text, a hash outside
    the manifest, or a payload no check could read never runs."""
    subscription = "subscription { candidateChanged { kind } }"
    before = len(trusted.emulator.requests)
    async with graphql_socket(ws_url(trusted.url)) as sock:
        untrusted = {"version": 1, "sha256Hash": sha256(subscription)}
        for id, payload in (
            ("text", {"query": NAMES}),
            ("hash", {"query": subscription, "extensions": {"persistedQuery": untrusted}}),
            ("id", {"documentId": sha256(subscription)}),
        ):
            await sock.send({"id": id, "type": "subscribe", "payload": payload})
            message = await sock.receive()
            assert message["type"] == "error" and message["id"] == id, message
            assert message["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        await sock.send(
            {"id": "ok", "type": "subscribe", "payload": {"documentId": sha256(ACCOUNTS)}}
        )
        assert (await sock.receive())["payload"]["data"]["accounts"]
        assert (await sock.receive())["type"] == "complete"
        await sock.send({"id": "odd", "type": "subscribe", "payload": [subscription]})
        with pytest.raises(Closed) as closed:
            await sock.receive()
        assert closed.value.code == 4400
    async with httpx.AsyncClient(timeout=30) as http:
        refused = await http.post(
            f"{trusted.url}/graphql",
            json={"query": subscription},
            headers={"accept": "text/event-stream"},
        )
    assert refused.status_code == 403 and code(refused) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert len(trusted.emulator.requests) == before
