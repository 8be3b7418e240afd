"""Operations over a socket or an SSE stream, in the metrics and the request log.

An HTTP request is counted and logged once it is answered (`gateway.view`). An operation over
graphql-transport-ws (`gateway.sockets`) or GraphQL over SSE may run for hours, so it is counted
when it starts and again when it ends, with its operation type and transport; each error it
sends is counted by code; and its end writes one `gateway.requests` line with how long it ran
and how many results (subscription events) it delivered. The line carries the operation's name,
type, outcome and error codes: never its document, its variables or a key.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from graphql import GraphQLError, get_operation_ast, parse

from gateway.logs import request_logger
from gateway.metrics import Metrics

__all__ = ["LiveOperation", "operation_type"]

MAX_TOKENS = 10_000  # the type is read from the start of a sane document; the schema limits it


def operation_type(query: object, operation_name: object) -> str:
    """`query`, `mutation` or `subscription`, as the document says; `unknown` when it cannot
    be read (the operation then fails validation, and says why)."""
    if not isinstance(query, str):
        return "unknown"
    return _operation_type(query, operation_name if isinstance(operation_name, str) else None)


@lru_cache(maxsize=256)  # clients send the same few documents again and again
def _operation_type(query: str, name: str | None) -> str:
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except (GraphQLError, RecursionError):
        return "unknown"
    found = get_operation_ast(document, name)
    return found.operation.value if found is not None else "unknown"


@dataclass
class LiveOperation:
    """One socket or SSE operation, from its start to its end."""

    metrics: Metrics
    transport: str  # "ws" or "sse"
    request_id: str
    kind: str  # operation_type's answer
    began: float = field(default_factory=time.perf_counter)
    events: int = 0
    rejected: bool = False  # refused before it ran (its document, parsing, validation, limits)
    codes: Counter[str] = field(default_factory=Counter)
    ended: bool = False

    @classmethod
    def start(cls, metrics: Metrics, transport: str, request_id: str, kind: str) -> LiveOperation:
        metrics.live_started(kind, transport)
        return cls(metrics, transport, request_id, kind)

    def refused(self, code: str) -> None:
        """The operation never ran: its document was refused, or failed validation."""
        self.rejected = True
        self._count([code])

    def rejected_by(self, errors: Sequence[GraphQLError] | None) -> None:
        """Parsing, validation or a limit refused it (such errors without a code are bad input,
        as a POST says)."""
        self.rejected = True
        self._count(str((e.extensions or {}).get("code", "BAD_USER_INPUT")) for e in errors or ())

    def delivered(self, errors: Sequence[GraphQLError] | None) -> None:
        """One result sent, its errors already shaped (each has its code)."""
        self.events += 1
        self._count(str((error.extensions or {}).get("code", "INTERNAL")) for error in errors or ())

    def _count(self, codes: Iterable[str]) -> None:
        for code in codes:
            self.codes[code] += 1
            self.metrics.graphql_error(code, self.transport)

    @property
    def outcome(self) -> str:
        if self.rejected:
            return "rejected"
        return "error" if self.codes else "ok"

    def end(self, operation: str | None) -> None:
        """Counts and logs the end once, whoever ends it (the client, the server, an error)."""
        if self.ended:
            return
        self.ended = True
        seconds = time.perf_counter() - self.began
        outcome = self.outcome
        self.metrics.live_completed(self.kind, self.transport, outcome, seconds)
        request_logger.info(
            "%s %s ended",
            self.transport.upper(),
            self.kind,
            extra={
                "request_id": self.request_id,
                "operation": operation,
                "operation_type": self.kind,
                "transport": self.transport,
                "outcome": outcome,
                "duration_ms": round(seconds * 1000, 2),
                "events": self.events,
                "error_codes": sorted(self.codes),
            },
        )
