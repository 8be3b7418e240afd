"""Errors the gateway itself raises (bad input, cursors, unknown ids), beside the providers' own.

Like `providers.errors.ProviderError` they carry a stable `code`; the GraphQL layer formats both.
"""

from __future__ import annotations

import logging

from providers.errors import ProviderError

__all__ = [
    "AccountFailed",
    "BadCursor",
    "BadUserInput",
    "ClientError",
    "Forbidden",
    "UnknownAccount",
    "contain",
]

logger = logging.getLogger("gateway")


class ClientError(Exception):
    """A request the gateway refuses itself (GraphQL type `GatewayError` is what clients read)."""

    code = "INTERNAL"
    account: str | None = None
    provider: str | None = None
    retry_after: float | None = None

    def __init__(self, message: str, *, field: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadUserInput(ClientError):
    code = "BAD_USER_INPUT"


class BadCursor(ClientError):
    code = "BAD_CURSOR"


class UnknownAccount(ClientError):
    """No account by that id, or none the caller may see (they read alike)."""

    code = "NOT_FOUND"


class Forbidden(ClientError):
    code = "FORBIDDEN"


class AccountFailed(ProviderError):
    """Whatever else one account's work raised: a bug, or an answer no adapter foresaw.

    It becomes that account's error like any provider failure, so the other accounts still
    answer; the client gets the request id to quote, the details stay in the server log.
    """

    code = "INTERNAL"

    def __init__(self, *, account: str, provider: str, request_id: str) -> None:
        super().__init__(
            f"account {account!r} ({provider}) failed unexpectedly; "
            f"quote request id {request_id} to the operator",
            account=account,
            provider=provider,
        )
        self.request_id = request_id


def contain(
    error: Exception, *, account: str, provider: str, request_id: str, log: bool = True
) -> ProviderError:
    """`error` as the account's ProviderError; an unexpected one is logged (with its traceback,
    unless `log` is False because the same failure was logged already) and becomes INTERNAL."""
    if isinstance(error, ProviderError):
        return error
    if log:
        logger.error(
            "request %s: account %s (%s) failed unexpectedly",
            request_id,
            account,
            provider,
            exc_info=error,
        )
    failed = AccountFailed(account=account, provider=provider, request_id=request_id)
    failed.__cause__ = error
    return failed
