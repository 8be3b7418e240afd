"""What one GraphQL request carries: accounts, loaders, and the errors of partial results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from providers.errors import ProviderError, UnsupportedByProvider, UpstreamBadResponse
from resolvers.accounts import Accounts
from resolvers.loaders import Loaders
from resolvers.pagination import CursorCodec, Lane, MergedPage
from store.idempotency import IdempotencyStore

if TYPE_CHECKING:
    from resolvers.changes import ChangeFeed

__all__ = ["PartialError", "RequestContext"]


@dataclass(frozen=True, slots=True)
class PartialError:
    """An account's failure inside an answer that still carries the other accounts' data."""

    path: tuple[str | int, ...]
    error: ProviderError


def _unreadable(lane: Lane[Any], skipped: int) -> UpstreamBadResponse:
    rows = "1 record" if skipped == 1 else f"{skipped} records"
    were = "was" if skipped == 1 else "were"
    return UpstreamBadResponse(
        f"{rows} from this account could not be read and {were} left out",
        account=lane.account.id,
        provider=lane.account.provider_name,
    )


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
    changes: ChangeFeed | None = None  # what subscriptions follow; None where none are served

    def note_failures(self, page: MergedPage[Any], path: Sequence[str | int]) -> None:
        """Each failed account of a listing, as an error at the listing's `path` (its alias,
        if any), beside the other accounts' rows. An account that cannot apply a filter is no
        failure: `sources` reports it UNSUPPORTED, as it does one skipped for a capability.
        Rows an account sent that could not be read are one error beside its other rows."""
        for lane in page.lanes:
            if lane.error is not None and not isinstance(lane.error, UnsupportedByProvider):
                self.partial_errors.append(PartialError(tuple(path), lane.error))
            skipped = page.unreadable(lane)
            if skipped:
                self.partial_errors.append(PartialError(tuple(path), _unreadable(lane, skipped)))

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
        changes: ChangeFeed | None = None,
    ) -> RequestContext:
        return cls(
            accounts,
            cursors,
            idempotency,
            Loaders(accounts, request_id),
            request_id,
            can_write,
            client=client,
            changes=changes,
        )
