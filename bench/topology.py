"""Names shared by the bench's processes: tenants, keys and accounts, derived from an index.

The emulator process, the gateway process and the load generator are started separately; they
agree on who is who only through these functions, so nothing secret or random crosses a pipe.
"""

from __future__ import annotations

from typing import Final

ORGS: Final = 4
CANDIDATES_PER_ORG: Final = 100
HOST: Final = "127.0.0.1"
"""Every socket the bench opens or targets is on loopback."""


def org_name(index: int) -> str:
    return f"org-{index}"


def api_key(index: int) -> str:
    return f"bench-key-{index}"


def account_id(index: int) -> str:
    return f"acct-{index}"


def account_ids(count: int = ORGS) -> list[str]:
    return [account_id(i) for i in range(count)]
