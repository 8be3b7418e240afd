"""Which media type an answer takes, and the one shape every refused request gets.

`Accept` is read with its `q` values (RFC 9110 §12.5.1): each of our two JSON media types takes
the weight of the most specific range that names it, q=0 means "not acceptable", and the higher
weight wins. On a tie, application/graphql-response+json is preferred when the client named it
(the GraphQL-over-HTTP spec's preference); a bare wildcard keeps application/json, which is what
clients that send `*/*` (most HTTP libraries) have always had.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.responses import Response

__all__ = [
    "GRAPHQL_RESPONSE",
    "JSON",
    "Negotiated",
    "negotiate",
    "per_header",
    "refusal",
    "weighted",
]

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Negotiated:
    acceptable: bool  # at least one of our JSON media types has q > 0
    modern: bool  # answer as application/graphql-response+json
    html: bool  # text/html has q > 0 (a browser asking for a page)

    @property
    def media_type(self) -> str:
        return GRAPHQL_RESPONSE if self.modern else JSON


def weighted(header: str) -> list[tuple[str, float]]:
    """An `Accept` or `Accept-Encoding` value as (lower-cased item, q) pairs, in order; a q that
    does not read as a number weighs 0."""
    ranges = []
    for part in header.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        if not kind:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    weight = 0.0  # an unreadable weight is not consent
        ranges.append((kind.lower(), weight))
    return ranges


def _weight(ranges: list[tuple[str, float]], media_type: str) -> tuple[float, int]:
    """The q of the most specific range matching `media_type`, and that specificity (0-2)."""
    family = media_type.split("/", 1)[0] + "/*"
    best: tuple[float, int] = (0.0, -1)
    for kind, weight in ranges:
        specificity = {media_type: 2, family: 1, "*/*": 0}.get(kind, -1)
        if specificity > best[1]:
            best = (weight, specificity)
    return best


CACHED_HEADER_CHARS = 256
T = TypeVar("T")


def per_header(read: Callable[[str], T]) -> Callable[[str], T]:
    """`read` of a request header, remembered for headers up to CACHED_HEADER_CHARS long (a
    client sends the same one on every request; LRU of 256); longer ones are read each time,
    so no client can fill the cache with large ones."""
    remembered = functools.lru_cache(maxsize=256)(read)

    def cached(header: str) -> T:
        return remembered(header) if len(header) <= CACHED_HEADER_CHARS else read(header)

    return cached


def negotiate(accept: str | None) -> Negotiated:
    """No Accept header (or an empty one) means application/json, as the spec says."""
    return _negotiated(accept or "")


@per_header
def _negotiated(accept: str) -> Negotiated:
    ranges = weighted(accept)
    if not ranges:
        return Negotiated(acceptable=True, modern=False, html=False)
    modern, modern_specificity = _weight(ranges, GRAPHQL_RESPONSE)
    classic, _ = _weight(ranges, JSON)
    html, _ = _weight(ranges, "text/html")
    prefers_modern = modern > classic or (modern == classic and modern_specificity == 2)
    return Negotiated(
        acceptable=max(modern, classic) > 0,
        modern=modern > 0 and prefers_modern,
        html=html > 0 and any(kind == "text/html" for kind, _ in ranges),
    )


def refusal(
    status: int,
    code: str,
    message: str,
    accept: str | None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A request refused before any GraphQL ran: no `data` entry, the client's JSON media type."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    # ASCII JSON: a message may quote what the client sent (an unknown operation name), and a
    # lone surrogate in it made Starlette's UTF-8 JSONResponse fail with a 500.
    content = json.dumps(body, separators=(",", ":"))
    response = Response(content, status_code=status, headers=headers)
    response.headers["content-type"] = negotiate(accept).media_type
    return response
