"""Every error a client sees is shaped here: a stable `extensions.code`, and nothing secret.

Known errors (the gateway's and the providers') keep their message and gain `code`, `account`,
`provider` and `retryAfter`; partial failures collected during the request are appended; anything
unexpected becomes INTERNAL with the request id, its details only in the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from providers.errors import ProviderError
from resolvers.context import RequestContext
from resolvers.errors import GatewayError

__all__ = ["ErrorShaping", "extensions_for", "is_expected"]

logger = logging.getLogger("gateway")

KnownError = GatewayError | ProviderError


def extensions_for(error: KnownError) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": error.code}
    if error.account is not None:
        extensions["account"] = error.account
    if error.provider is not None:
        extensions["provider"] = error.provider
    if error.retry_after is not None:
        extensions["retryAfter"] = error.retry_after
    field = getattr(error, "field", None)
    if field:
        extensions["field"] = list(field)
    return extensions


def is_expected(error: GraphQLError) -> bool:
    """True for errors that are part of the API rather than bugs: nothing to log at ERROR."""
    original = error.original_error
    return original is None or isinstance(original, GatewayError | ProviderError)


def _shape(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GatewayError | ProviderError):
        message, extensions = original.message, extensions_for(original)
    elif original is None:
        message, extensions = error.message, {"code": "BAD_USER_INPUT"}
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


class ErrorShaping(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        context = self.execution_context.context
        if result is None or not isinstance(context, RequestContext):
            return
        errors = [_shape(error, context.request_id) for error in result.errors or ()]
        errors += [
            GraphQLError(
                partial.error.message,
                path=list(partial.path),
                extensions=extensions_for(partial.error),
            )
            for partial in context.partial_errors
        ]
        result.errors = errors or None
