"""`check-config --ping`: one cheap call per account, concurrently, to prove credentials work."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from gateway.app import build_accounts
from gateway.settings import Settings
from providers.base import CandidateQuery, Capability, Position
from providers.errors import ProviderError
from providers.resilience import deadline_scope
from resolvers.accounts import Account

__all__ = ["PingResult", "ping_accounts", "render_table"]


@dataclass(frozen=True, slots=True)
class PingResult:
    account: str
    provider: str
    status: str
    latency_ms: float


async def _ping(account: Account, seconds: float) -> PingResult:
    began = time.perf_counter()
    try:
        with deadline_scope(seconds):
            if account.can(Capability.LIST):
                await account.provider.list_candidates(CandidateQuery(), Position(), 1)
            else:
                await account.provider.get_candidates(["0"])
        status = "OK"
    except ProviderError as error:
        status = error.code
    latency = (time.perf_counter() - began) * 1000
    return PingResult(account.id, account.provider_name, status, round(latency, 1))


async def ping_accounts(settings: Settings, seconds: float = 10.0) -> list[PingResult]:
    accounts = build_accounts(settings)
    try:
        return list(await asyncio.gather(*(_ping(account, seconds) for account in accounts)))
    finally:
        await accounts.aclose()


def render_table(results: list[PingResult]) -> str:
    rows = [("account", "provider", "status", "latency ms")]
    rows += [(r.account, r.provider, r.status, f"{r.latency_ms:.1f}") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )
