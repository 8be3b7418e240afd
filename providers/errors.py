"""Errors an adapter raises; the gateway formats them in one place.

Each carries a stable `code` from DESIGN.md's list and, where one was involved, the account and
provider. Messages are written for clients: no credential, URL or upstream body goes into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

__all__ = [
    "FieldProblem",
    "NotFound",
    "Origin",
    "ProviderError",
    "Rejected",
    "UnsupportedByProvider",
    "UpstreamAuthFailed",
    "UpstreamBadResponse",
    "UpstreamOutcomeUnknown",
    "UpstreamRateLimited",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class Origin(TypedDict):
    """Which account, at which provider, an error came from."""

    account: str
    provider: str


class ProviderError(Exception):
    code = "UPSTREAM_UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        account: str | None = None,
        provider: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.account = account
        self.provider = provider
        self.retry_after = retry_after


class UpstreamUnavailable(ProviderError):
    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(ProviderError):
    code = "UPSTREAM_TIMEOUT"


class UpstreamRateLimited(ProviderError):
    code = "UPSTREAM_RATE_LIMITED"


class UpstreamOutcomeUnknown(ProviderError):
    """A write was sent and the connection dropped before the answer: it may or may not exist."""

    code = "UPSTREAM_OUTCOME_UNKNOWN"


class UpstreamAuthFailed(ProviderError):
    code = "UPSTREAM_AUTH_FAILED"


class UpstreamBadResponse(ProviderError):
    code = "UPSTREAM_BAD_RESPONSE"


class UnsupportedByProvider(ProviderError):
    code = "UNSUPPORTED_BY_PROVIDER"


class NotFound(ProviderError):
    code = "NOT_FOUND"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One reason a write was refused, with the path of the input field it concerns."""

    code: str
    message: str
    field: tuple[str, ...] | None = None


class Rejected(ProviderError):
    """The provider (or the adapter, before sending) refused a write for the client's input.

    Mutations turn these into `userErrors`; nothing was changed upstream.
    """

    code = "BAD_USER_INPUT"

    def __init__(
        self,
        problems: list[FieldProblem],
        *,
        account: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__("; ".join(p.message for p in problems), account=account, provider=provider)
        self.problems = problems
