"""`check-config`: credentials that could never be sent, and with `--ping` one cheap call per
account, concurrently, to prove credentials work."""

from __future__ import annotations

import asyncio
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.app import build_accounts
from gateway.settings import Settings
from providers.base import CandidateQuery, Capability, Position
from providers.errors import ProviderError
from providers.upstream.http import header_safe
from providers.upstream.resilience import deadline_scope
from resolvers.accounts import ServedAccount

__all__ = ["PingResult", "ping_accounts", "render_table", "unsendable_credentials"]


@dataclass(frozen=True, slots=True)
class PingResult:
    account: str
    provider: str
    status: str
    latency_ms: float


def unsendable_credentials(path: Path, settings: Settings) -> list[str]:
    """Credentials no HTTP header can carry (not printable ASCII): every call of their account
    would fail. Each is named by account and environment variable, never by its value."""
    with path.open("rb") as file:
        tables = tomllib.load(file).get("accounts", [])
    by_id = {table.get("id"): table for table in tables if isinstance(table, dict)}
    problems = []
    for account in settings.accounts:
        for name, value in account.credentials.items():
            if not header_safe(value):
                variable = by_id.get(account.id, {}).get(f"{name}_env", f"{name}_env")
                problems.append(
                    f"account {account.id!r}: the value of {variable} ({name}) is not printable "
                    "ASCII, so it cannot be sent in an HTTP header"
                )
    return problems


async def _ping(account: ServedAccount, seconds: float) -> PingResult:
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
