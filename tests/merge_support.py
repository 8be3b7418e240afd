"""A Merge emulator on loopback and adapters pointed at it, for Merge's contract and e2e tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from emulators.merge.app import PREFIX, LinkedAccount, MergeEmulator, RecordedRequest
from providers.base import AccountConfig
from providers.merge.adapter import MergeAdapter
from providers.upstream.http import build_client
from tests.servers import serve_in_thread

__all__ = ["API_KEY", "MergeServer", "linked_accounts", "running_merge"]

API_KEY = "merge-key-do-not-leak"


def linked_accounts() -> dict[str, LinkedAccount]:
    """Initech accepts everything; Hooli requires an email and ignores tags, like a stricter ATS."""
    return {
        "initech": LinkedAccount.seeded(
            "Initech", "tok-initech-do-not-leak", seed=21, candidates=45
        ),
        "hooli": LinkedAccount.seeded(
            "Hooli",
            "tok-hooli-do-not-leak",
            seed=22,
            candidates=12,
            required_fields=("first_name", "last_name", "email_addresses"),
            unrecognized_fields=frozenset({"tags"}),
            integration="Lever",
        ),
    }


@dataclass
class MergeServer:
    base_url: str
    emulator: MergeEmulator
    accounts: dict[str, LinkedAccount]

    def config(self, name: str, **options: Any) -> AccountConfig:
        """An account for linked account `name`; it writes as its first RemoteUser by default."""
        linked = self.accounts[name]
        settings: dict[str, Any] = {"remote_user_id": linked.remote_users[0], **options}
        return AccountConfig(
            id=f"merge-{name}",
            name=linked.name,
            provider="merge",
            base_url=self.base_url,
            credentials={"api_key": API_KEY, "account_token": linked.account_token},
            options={k: v for k, v in settings.items() if v is not None},
        )

    def adapter(self, name: str, **options: Any) -> MergeAdapter:
        config = self.config(name, **options)
        return MergeAdapter(config, build_client(config))

    def calls(self, name: str | None = None, route: str | None = None) -> list[RecordedRequest]:
        wanted = self.accounts[name].name if name else None
        return [
            r
            for r in self.emulator.requests
            if (wanted is None or r.account == wanted) and (route is None or r.route == route)
        ]


@contextmanager
def running_merge(accounts: dict[str, LinkedAccount] | None = None) -> Iterator[MergeServer]:
    accounts = accounts if accounts is not None else linked_accounts()
    emulator = MergeEmulator(API_KEY, accounts.values())
    with serve_in_thread(emulator.app) as url:
        yield MergeServer(url + PREFIX, emulator, accounts)
