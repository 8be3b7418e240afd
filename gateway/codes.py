"""The error codes clients read: `ErrorCode` (a GraphQL enum) and the open lists of write codes.

`ErrorCode` is the closed set an error's `extensions.code` and `GatewayError.code` take; each
value's wire string is the code itself, so the enum changes a field's type, never a value.
`tests/test_schema_docs.py` checks that every error class's code is one of them. The codes of
`userErrors` and `warnings` are an open set (a provider's own documented problem types pass
through), so those fields stay strings and their descriptions list the codes known today.
"""

from __future__ import annotations

import enum

import strawberry

__all__ = ["USER_ERROR_CODES", "WARNING_CODES", "ErrorCode"]


@strawberry.enum(
    name="ErrorCode",
    description=(
        "Why a request or one account's part of it failed: `extensions.code` of every error, "
        "and `SourceStatus.error.code`."
    ),
)
class ErrorCode(enum.Enum):
    UNAUTHENTICATED = strawberry.enum_value(
        "UNAUTHENTICATED",
        description="No valid client key was sent (`Authorization: Bearer <key>`); HTTP 401.",
    )
    FORBIDDEN = strawberry.enum_value(
        "FORBIDDEN",
        description="The client key is valid but may not do this (e.g. a read-only key writing).",
    )
    BAD_USER_INPUT = strawberry.enum_value(
        "BAD_USER_INPUT",
        description=(
            "The request itself is wrong: an argument out of range, a malformed id or body, "
            "an unknown field; `extensions.field` names the argument where there is one."
        ),
    )
    BAD_CURSOR = strawberry.enum_value(
        "BAD_CURSOR",
        description=(
            "`after` is not a cursor this gateway issued for the same filters; start again "
            "without it."
        ),
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND",
        description="No such account, candidate or job, or none the client may see.",
    )
    UNSUPPORTED_BY_PROVIDER = strawberry.enum_value(
        "UNSUPPORTED_BY_PROVIDER",
        description=(
            "The account's provider cannot do this (see `Account.capabilities`); other "
            "accounts still answer."
        ),
    )
    UPSTREAM_TIMEOUT = strawberry.enum_value(
        "UPSTREAM_TIMEOUT",
        description="The provider did not answer within the account's timeout or the deadline.",
    )
    UPSTREAM_UNAVAILABLE = strawberry.enum_value(
        "UPSTREAM_UNAVAILABLE",
        description=(
            "The provider could not be reached or answered with a server error after retries, "
            "or its circuit breaker is open."
        ),
    )
    UPSTREAM_RATE_LIMITED = strawberry.enum_value(
        "UPSTREAM_RATE_LIMITED",
        description=(
            "The provider (or the account's own rate budget) refused more calls for now; "
            "`retryAfter` says how many seconds to wait when it is known."
        ),
    )
    UPSTREAM_AUTH_FAILED = strawberry.enum_value(
        "UPSTREAM_AUTH_FAILED",
        description=(
            "The provider refused the account's credentials; an operator must fix the "
            "account's configuration."
        ),
    )
    UPSTREAM_BAD_RESPONSE = strawberry.enum_value(
        "UPSTREAM_BAD_RESPONSE",
        description=(
            "The provider answered with something the gateway cannot use (malformed, too "
            "large, or paging that does not end)."
        ),
    )
    UPSTREAM_OUTCOME_UNKNOWN = strawberry.enum_value(
        "UPSTREAM_OUTCOME_UNKNOWN",
        description=(
            "A write was sent and no answer came back: it may or may not have happened. It is "
            "never retried; check the provider before writing again (an idempotency key "
            "stays claimed)."
        ),
    )
    QUERY_TOO_COMPLEX = strawberry.enum_value(
        "QUERY_TOO_COMPLEX",
        description=(
            "The query is over a limit (depth, aliases, fields, tokens or cost) and was not run."
        ),
    )
    PERSISTED_QUERY_NOT_FOUND = strawberry.enum_value(
        "PERSISTED_QUERY_NOT_FOUND",
        description=(
            "The persisted query's hash is not registered (or no longer is): send the request "
            "again with `query` as well; Apollo's persisted-query link does. HTTP 200."
        ),
    )
    PERSISTED_QUERY_NOT_SUPPORTED = strawberry.enum_value(
        "PERSISTED_QUERY_NOT_SUPPORTED",
        description=(
            "Automatic persisted queries are off on this gateway: send `query` instead of a "
            "hash; Apollo's link stops sending hashes. HTTP 200."
        ),
    )
    PERSISTED_QUERY_NOT_ALLOWED = strawberry.enum_value(
        "PERSISTED_QUERY_NOT_ALLOWED",
        description=(
            "Only trusted documents run on this gateway and the request named none of them "
            "(or sent a text of its own); nothing was parsed. HTTP 403."
        ),
    )
    TOO_MANY_OPERATIONS = strawberry.enum_value(
        "TOO_MANY_OPERATIONS",
        description=(
            "A socket already runs as many operations at once as one socket may (100, "
            "subscriptions included); the new one was not run. Complete one first, or open "
            "another socket."
        ),
    )
    REQUEST_TIMEOUT = strawberry.enum_value(
        "REQUEST_TIMEOUT",
        description="The request body did not arrive in time; HTTP 408.",
    )
    INTERNAL = strawberry.enum_value(
        "INTERNAL",
        description=(
            "A bug or an answer nothing foresaw; quote `extensions.requestId` to the operator "
            "(details are only in the server log)."
        ),
    )


USER_ERROR_CODES = (
    # the gateway's, whatever the provider
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "UNSUPPORTED_BY_PROVIDER",
    "REQUIRED",
    "UNSUPPORTED_VALUE",
    # Talynce
    "INVALID_PIPELINE_STATUS",
    "TALENT_POOL_REVEAL_REQUIRED",
    "CANDIDATE_LIMIT_REACHED",
    # Merge's documented problem types (an undocumented one reads ERROR)
    "CORRUPTED_FILE",
    "CREDENTIAL_REFRESH_FAILED",
    "DISABLED_MODEL_WRITE",
    "DUPLICATE_MODEL_EXISTS",
    "ERROR",
    "INCORRECT_FIELD_TYPE",
    "INVALID_FIELD_CHOICE",
    "MISSING_REQUIRED_FIELD",
    "UNRECOGNIZED_FIELD",
)
"""Codes a `UserError` carries today; the set is open (providers add their documented ones)."""

WARNING_CODES = ("IGNORED_FIELD", "IGNORED_VALUES", "MERGE_DEBUG_LOG")
"""Codes a `Warning` carries besides Merge's problem types (which warnings share)."""
