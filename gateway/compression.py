"""Compressed answers: which content coding a client gets, and the one place that applies it.

`Accept-Encoding` is read as RFC 9110 §12.5.3 says: each coding takes its own `q` (or that of
`*` when it is not named), q=0 refuses it, and the highest weight wins; on a tie our order
(zstd, br, gzip: smallest and cheapest first, see bench/README.md) decides. `identity` is chosen
only when the client names it with a weight above every coding it accepts; when nothing the
client accepts is on offer, the answer goes uncompressed (the RFC's advice, and what every
client can read). No header, or an empty one, means uncompressed.

`compress_response` is called by the GraphQL view on every response it is about to send, the
Strawberry path and every refusal alike, so there is one place to change. Bodies under the
threshold stay as they are (a few hundred bytes gain nothing), streamed responses are never
touched (they have no body to compress here), and every answer that could have been
compressed says `Vary: Accept-Encoding`, so a cache never hands gzip to a client that did not
ask for it.

The levels come from `python -m bench.compression` on a 100-row `candidates` answer: each is
the level past which more CPU buys little size (figures in bench/README.md).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass

import brotli
import zstandard
from starlette.responses import Response

from gateway.negotiation import per_header, weighted

__all__ = [
    "CODERS",
    "DEFAULT_MIN_BYTES",
    "LEVELS",
    "Compression",
    "choose_coding",
    "compress_response",
]

LEVELS = {"zstd": 3, "br": 3, "gzip": 5}
"""Default level per coding, picked from bench.compression's figures (bench/README.md)."""
DEFAULT_MIN_BYTES = 1024

_zstd = zstandard.ZstdCompressor(level=LEVELS["zstd"])

CODERS: dict[str, Callable[[bytes], bytes]] = {
    "zstd": _zstd.compress,
    "br": lambda body: bytes(brotli.compress(body, quality=LEVELS["br"])),
    "gzip": lambda body: gzip.compress(body, compresslevel=LEVELS["gzip"], mtime=0),
}
"""Ours, in order of preference on equal weights."""


@dataclass(frozen=True, slots=True)
class Compression:
    enabled: bool = True
    min_bytes: int = DEFAULT_MIN_BYTES  # bodies shorter than this are sent as they are


def _weights(accept_encoding: str) -> dict[str, float]:
    """Each coding's q; a coding named twice weighs its larger q."""
    weights: dict[str, float] = {}
    for coding, weight in weighted(accept_encoding):
        weights[coding] = max(weight, weights.get(coding, 0.0))
    return weights


def choose_coding(accept_encoding: str | None) -> str | None:
    """The coding to answer with, or None for an uncompressed answer."""
    return _chosen(accept_encoding) if accept_encoding else None


@per_header
def _chosen(accept_encoding: str) -> str | None:
    weights = _weights(accept_encoding)
    wildcard = weights.get("*", 0.0)
    best, best_weight = None, 0.0
    for coding in CODERS:
        weight = weights.get(coding, wildcard)
        if coding == "gzip" and "gzip" not in weights:
            weight = weights.get("x-gzip", weight)
        if weight > best_weight:
            best, best_weight = coding, weight
    if best is not None and weights.get("identity", 0.0) > best_weight:
        return None
    return best


def _add_vary(response: Response, header: str) -> None:
    vary = response.headers.get("vary")
    if vary is None:
        response.headers["vary"] = header
    elif header.lower() not in (v.strip().lower() for v in vary.split(",")):
        response.headers["vary"] = f"{vary}, {header}"


def compress_response(
    response: Response, accept_encoding: str | None, compression: Compression
) -> None:
    """Compresses `response`'s body in place when the client accepts a coding we offer."""
    if not compression.enabled or "content-encoding" in response.headers:
        return
    body = getattr(response, "body", None)
    if not isinstance(body, bytes):
        return  # a stream: sent as it comes
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return
    _add_vary(response, "Accept-Encoding")
    if len(body) < compression.min_bytes:
        return
    coding = choose_coding(accept_encoding)
    if coding is None:
        return
    response.body = CODERS[coding](body)
    response.headers["content-encoding"] = coding
    response.headers["content-length"] = str(len(response.body))
