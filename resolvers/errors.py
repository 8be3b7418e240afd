"""Errors the gateway itself raises (bad input, cursors, unknown ids), beside the providers' own.

Like `providers.errors.ProviderError` they carry a stable `code`; the GraphQL layer formats both.
"""

from __future__ import annotations

__all__ = ["BadCursor", "BadUserInput", "Forbidden", "GatewayError", "NotFound"]


class GatewayError(Exception):
    code = "INTERNAL"
    account: str | None = None
    provider: str | None = None
    retry_after: float | None = None

    def __init__(self, message: str, *, field: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class BadCursor(GatewayError):
    code = "BAD_CURSOR"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class Forbidden(GatewayError):
    code = "FORBIDDEN"
