"""Pipeline reads that are not listings: the reasons an account offers for a rejection."""

from __future__ import annotations

from providers.base import Capability
from providers.errors import UnsupportedByProvider
from providers.model import RejectReason
from resolvers.accounts import ServedAccount
from resolvers.context import RequestContext

__all__ = ["reject_reasons"]


async def reject_reasons(
    context: RequestContext, account_id: str
) -> tuple[ServedAccount, list[RejectReason]]:
    """The account's reasons in the provider's order; UNSUPPORTED_BY_PROVIDER where it keeps
    none, rather than an empty list a frontend would read as "no reasons set up"."""
    account = context.accounts.require(account_id)
    if not account.can(Capability.REJECT_REASONS):
        raise UnsupportedByProvider(
            f"account {account.id!r} ({account.provider_name}) keeps no reject reasons",
            account=account.id,
            provider=account.provider_name,
        )
    return account, await account.provider.list_reject_reasons()
