"""Every error a client sees is shaped here: a stable `extensions.code`, and nothing secret.

Known errors (the gateway's and the providers') keep their message and gain `code`, `account`,
`provider` and `retryAfter`; partial failures collected during the request are appended; anything
unexpected becomes INTERNAL with the request id, its details only in the server log.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from providers.errors import ProviderError
from resolvers.context import RequestContext
from resolvers.errors import ClientError

__all__ = ["extensions_for", "is_expected", "shape_errors"]

logger = logging.getLogger("gateway")

KnownError = ClientError | ProviderError
# What Strawberry raises before running anything when a request names no operation it may run
# (no query, an unknown operation name, a mutation over GET): the client's mistake, not a bug.
NOTHING_TO_RUN = MissingQueryError | CannotGetOperationTypeError | InvalidOperationTypeError


def extensions_for(error: KnownError) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": error.code}
    if error.account is not None:
        extensions["account"] = error.account
    if error.provider is not None:
        extensions["provider"] = error.provider
    if error.retry_after is not None:
        extensions["retryAfter"] = error.retry_after
    request_id = getattr(error, "request_id", None)
    if request_id is not None:
        extensions["requestId"] = request_id
    field = getattr(error, "field", None)
    if field:
        extensions["field"] = list(field)
    return extensions


def is_expected(error: GraphQLError) -> bool:
    """True for errors that are part of the API rather than bugs: nothing to log at ERROR."""
    original = error.original_error
    return original is None or isinstance(
        original, ClientError | ProviderError | GraphQLError | NOTHING_TO_RUN
    )


def _shape(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, ClientError | ProviderError):
        message, extensions = original.message, extensions_for(original)
    elif original is None or isinstance(original, GraphQLError | NOTHING_TO_RUN):  # e.g. coercion
        code = (error.extensions or {}).get("code", "BAD_USER_INPUT")
        message, extensions = error.message, {"code": code}
    else:
        message = f"Internal error; quote request id {request_id} to the operator"
        extensions = {"code": "INTERNAL", "requestId": request_id}
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def shape_errors(result: Any, context: RequestContext | None) -> None:
    """Rewrites `result.errors` in place: known codes kept, partials added, the rest masked.

    Runs on the finished result (not inside execution), so parse and validation failures,
    which Strawberry reports after its extensions have finished, are shaped too.
    """
    request_id = context.request_id if context is not None else "-"
    errors = [_shape(error, request_id) for error in result.errors or ()]
    if context is not None:
        errors += [
            GraphQLError(p.error.message, path=list(p.path), extensions=extensions_for(p.error))
            for p in context.partial_errors
        ]
    result.errors = errors or None
