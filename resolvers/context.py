"""What one GraphQL request carries: accounts, loaders, and the errors of partial results."""

from __future__ import annotations

from dataclasses import dataclass, field

from providers.errors import ProviderError
from resolvers.accounts import Accounts
from resolvers.loaders import Loaders
from resolvers.pagination import CursorCodec
from store.idempotency import IdempotencyStore

__all__ = ["PartialError", "RequestContext"]


@dataclass(frozen=True, slots=True)
class PartialError:
    """An account's failure inside an answer that still carries the other accounts' data."""

    path: tuple[str | int, ...]
    error: ProviderError


@dataclass
class RequestContext:
    accounts: Accounts
    cursors: CursorCodec
    idempotency: IdempotencyStore
    loaders: Loaders
    request_id: str
    can_write: bool = True
    operation_name: str | None = None
    partial_errors: list[PartialError] = field(default_factory=list)
    client: str = ""  # the caller's name: idempotency keys are scoped by it

    @classmethod
    def create(
        cls,
        accounts: Accounts,
        cursors: CursorCodec,
        idempotency: IdempotencyStore,
        request_id: str,
        *,
        can_write: bool = True,
        client: str = "",
    ) -> RequestContext:
        return cls(
            accounts,
            cursors,
            idempotency,
            Loaders(accounts, request_id),
            request_id,
            can_write,
            client=client,
        )
