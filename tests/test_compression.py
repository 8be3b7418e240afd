"""Compressed answers over HTTP: Accept-Encoding negotiation, the threshold, Vary, settings."""

from __future__ import annotations

import gzip
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from emulators.talynce.app import TalynceOrg
from gateway.compression import Compression, choose_coding
from gateway.settings import ConfigError, parse_settings
from tests.conftest import Stack, running_stack

BIG = {"query": "{ candidates(first: 100) { edges { node { id fullName emails { value } } } } }"}
SMALL = {"query": "{ accounts { id } }"}
ACCOUNT = {"id": "a", "provider": "talynce", "api_key_env": "K"}
ENV = {"K": "key"}
DECODE = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": zstandard.ZstdDecompressor().decompress,
}


def raw_post(
    stack: Stack, body: dict[str, Any], accept_encoding: str
) -> tuple[httpx.Response, bytes]:
    """POST /graphql; the response and its body as sent on the wire (httpx would decode it)."""
    headers = {"accept-encoding": accept_encoding}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{stack.url}/graphql", json=body, headers=headers) as response,
    ):
        return response, b"".join(response.iter_raw())


def wire(stack: Stack, accept_encoding: str, body: dict[str, Any] = BIG) -> tuple[str, bytes]:
    response, raw = raw_post(stack, body, accept_encoding)
    assert response.status_code == 200
    assert "accept-encoding" in response.headers["vary"].lower()
    assert int(response.headers["content-length"]) == len(raw)
    return response.headers.get("content-encoding", "identity"), raw


def plain(stack: Stack, body: dict[str, Any] = BIG) -> bytes:
    return wire(stack, "identity", body)[1]


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_each_offered_coding_is_answered_in_kind(shared_stack: Stack, coding: str) -> None:
    got, raw = wire(shared_stack, coding)
    assert got == coding
    uncompressed = plain(shared_stack)
    assert DECODE[coding](raw) == uncompressed
    assert len(raw) * 3 < len(uncompressed)


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip, deflate, br, zstd", "zstd"),  # a browser's: equal weights, our order
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("br;q=0.9, gzip;q=0.8, zstd;q=0", "br"),  # q=0 refuses zstd
        ("*", "zstd"),
        ("*;q=0.5, gzip", "gzip"),
        ("*, zstd;q=0, br;q=0", "gzip"),
        ("identity", "identity"),
        ("identity;q=1, gzip;q=0.5", "identity"),
        ("gzip;q=0, br;q=0, zstd;q=0", "identity"),
        ("*;q=0", "identity"),  # nothing we offer is acceptable: uncompressed, not a 406
        ("deflate", "identity"),
        ("GZIP", "gzip"),
        ("gzip;q=nope", "identity"),
        (", ".join(f"x-{i};q=0.9" for i in range(40)) + ", br;q=0.5, gzip;q=0.4", "br"),  # long
    ],
)
def test_accept_encoding_weights_are_honoured(
    shared_stack: Stack, accept_encoding: str, expected: str
) -> None:
    assert wire(shared_stack, accept_encoding)[0] == expected


def test_an_empty_header_means_uncompressed(shared_stack: Stack) -> None:
    assert wire(shared_stack, "")[0] == "identity"
    assert choose_coding(None) is None


def test_small_answers_are_not_compressed_but_still_vary(shared_stack: Stack) -> None:
    coding, raw = wire(shared_stack, "gzip, br, zstd", SMALL)
    assert coding == "identity"
    assert len(raw) < 1024 and b'"accounts"' in raw


def test_refusals_vary_too(shared_stack: Stack) -> None:
    response = httpx.put(f"{shared_stack.url}/graphql", headers={"accept-encoding": "gzip"})
    assert response.status_code == 405
    assert "accept-encoding" in response.headers["vary"].lower()


def test_the_threshold_is_a_setting() -> None:
    with running_stack(_orgs(), compression=Compression(min_bytes=10)) as stack:
        assert wire(stack, "gzip", SMALL)[0] == "gzip"


def test_compression_can_be_switched_off() -> None:
    with running_stack(_orgs(), compression=Compression(enabled=False)) as stack:
        response, _ = raw_post(stack, BIG, "gzip, br, zstd")
        assert "content-encoding" not in response.headers
        assert "accept-encoding" not in response.headers.get("vary", "").lower()


@pytest.mark.parametrize(
    ("gateway", "message"),
    [
        ({"compression": "yes"}, "gateway.compression: expected true or false"),
        ({"compression_min_bytes": -1}, "gateway.compression_min_bytes: expected an integer ≥ 0"),
        ({"compression_min_bytes": 1.5}, "gateway.compression_min_bytes: expected an integer"),
    ],
)
def test_compression_settings_are_checked(gateway: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings({"accounts": [ACCOUNT], "gateway": gateway}, ENV)


def test_compression_settings_are_read() -> None:
    gateway = {"compression": False, "compression_min_bytes": 4096}
    settings = parse_settings({"accounts": [ACCOUNT], "gateway": gateway}, ENV)
    assert settings.compression == Compression(enabled=False, min_bytes=4096)


def _orgs() -> dict[str, TalynceOrg]:
    return {"acme": TalynceOrg.seeded("acme", "key-acme-secret", candidates=120, seed=1)}
