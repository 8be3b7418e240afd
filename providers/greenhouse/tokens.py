"""Harvest v3 access tokens: minted with an account's client credentials, kept until shortly
before they expire, and shared with other gateway processes through `providers.upstream.sharing`."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from providers.base import AccountConfig
from providers.errors import UpstreamAuthFailed
from providers.greenhouse.mapping import NAME
from providers.upstream.http import Upstream

__all__ = ["DEFAULT_TOKEN_URL", "TOKEN_EARLY", "TOKEN_LIFETIME"]

DEFAULT_TOKEN_URL = "https://auth.greenhouse.io/token"
TOKEN_EARLY = 60.0  # seconds before expiry to mint the next token
TOKEN_LIFETIME = 3600.0  # the documented lifetime, for a token answer that states none


@dataclass(slots=True)
class _Token:
    value: str = field(repr=False)
    refresh_at: float  # time.monotonic() after which the next token is minted


def token_endpoint(account: AccountConfig) -> str:
    url = str(account.options.get("token_url") or DEFAULT_TOKEN_URL)
    if url.startswith("/"):
        base = urlsplit(account.base_url)
        return f"{base.scheme}://{base.netloc}{url}"
    return url


def _lifetime(body: Mapping[str, Any]) -> float:
    """Seconds a token lives: `expires_in`, or `expires_at` (RFC 3339), or the documented hour."""
    seconds = body.get("expires_in")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return float(seconds)
    try:
        moment = datetime.fromisoformat(str(body["expires_at"]))
    except (KeyError, ValueError):
        return TOKEN_LIFETIME
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


class TokenSource:
    """Mints Harvest v3 access tokens (OAuth2 client credentials), caching one until shortly
    before it expires; concurrent callers share one mint, and a refused token is replaced once
    and never sent again (dropped here and, if it is still the one kept, from the shared store).

    Minting goes through the account's `Upstream` like every call, so the deadline, breaker,
    retries and error mapping apply to it too. When the gateway shares state between processes
    (`providers.upstream.sharing`), a token minted by one process is reused by the others until its
    refresh time, so N processes mint once, not N times.
    """

    def __init__(self, upstream: Upstream, url: str) -> None:
        self._upstream = upstream
        self._url = url
        credentials, options = upstream.account.credentials, upstream.account.options
        pair = f"{credentials.get('client_id', '')}:{credentials.get('client_secret', '')}"
        self._basic = "Basic " + base64.b64encode(pair.encode()).decode()
        self._form = {"grant_type": "client_credentials", "sub": str(options.get("user_id", ""))}
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        sharing = upstream.sharing
        self._shared = None if sharing is None else sharing.tokens(upstream.account)

    def __repr__(self) -> str:
        return f"<TokenSource account={self._upstream.account.id!r}>"

    async def get(self) -> str:
        token = self._token
        if token is not None and time.monotonic() < token.refresh_at:
            return token.value
        async with self._lock:
            token = self._token
            if token is None or time.monotonic() >= token.refresh_at:
                token = self._token = await self._shared_token() or await self._mint_shared()
            return token.value

    async def refresh(self, refused: str) -> str:
        """A new token, unless another caller (here or in another process) already replaced
        the `refused` one, which is forgotten everywhere first."""
        async with self._lock:
            await self._forget(refused)
            token = self._token
            if token is None:
                token = await self._shared_token()
                if token is None or token.value == refused:
                    token = await self._mint_shared()
                self._token = token
            return token.value

    async def refused(self, value: str) -> None:
        """Forgets a token the provider refused, so that it is never sent again: the next call
        mints (or finds another process's newer token) instead."""
        async with self._lock:
            await self._forget(value)

    async def _forget(self, value: str) -> None:
        if self._token is not None and self._token.value == value:
            self._token = None
        if self._shared is not None:
            await self._shared.drop(value)

    async def _shared_token(self) -> _Token | None:
        found = None if self._shared is None else await self._shared.load()
        return None if found is None else _Token(found[0], time.monotonic() + found[1])

    async def _mint_shared(self) -> _Token:
        token = await self._mint()
        if self._shared is not None:
            await self._shared.save(token.value, token.refresh_at - time.monotonic())
        return token

    async def _mint(self) -> _Token:
        account = self._upstream.account.id
        response = await self._upstream.send(
            "POST",
            self._url,
            data=self._form,
            headers={"Authorization": self._basic},
            idempotent=True,  # minting a token changes nothing upstream
        )
        if response.status_code in (400, 403):
            raise UpstreamAuthFailed(
                f"Greenhouse refused the client credentials of account {account!r}",
                account=account,
                provider=NAME,
            )
        status = response.status_code
        body = self._upstream.json(response)
        value = body.get("access_token") if isinstance(body, Mapping) else None
        if status >= 300 or not isinstance(value, str) or not value:
            raise self._upstream.bad_response("a token answer without an access token")
        lifetime = _lifetime(body)
        return _Token(value, time.monotonic() + lifetime - min(TOKEN_EARLY, max(0.0, lifetime) / 2))
