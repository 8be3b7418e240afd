"""The one way adapters reach their provider: a pooled client per account, errors mapped to codes.

Every transport failure and every status that means the same thing for all providers (401, 429,
5xx) is turned into a `ProviderError` here, so adapters only interpret their own error bodies.
Messages name the account, never a URL, header or body.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from providers.base import AccountConfig
from providers.errors import (
    Origin,
    UpstreamAuthFailed,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

__all__ = ["Upstream", "build_client", "path", "retry_after_seconds"]

QueryParams = Mapping[str, str | int | float | None]


def path(*segments: str) -> str:
    """A relative URL path whose every segment is encoded, so an ID can never change the route."""
    encoded = []
    for segment in segments:
        text = quote(segment, safe="")
        encoded.append(text.replace(".", "%2E") if set(segment) <= {"."} else text)
    return "/".join(encoded)


def retry_after_seconds(value: str | None) -> float | None:
    """Parses `Retry-After` given as seconds or as an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def build_client(account: AccountConfig) -> httpx.AsyncClient:
    base = account.base_url if account.base_url.endswith("/") else account.base_url + "/"
    return httpx.AsyncClient(
        base_url=base,
        timeout=httpx.Timeout(account.timeout),
        limits=httpx.Limits(
            max_connections=account.max_concurrency,
            max_keepalive_connections=account.max_concurrency,
        ),
        follow_redirects=False,
    )


class Upstream:
    """Sends an account's requests under its concurrency cap and maps shared failures."""

    def __init__(self, account: AccountConfig, client: httpx.AsyncClient) -> None:
        self.account = account
        self.client = client
        self._slots = asyncio.Semaphore(account.max_concurrency)

    def _context(self) -> Origin:
        return {"account": self.account.id, "provider": self.account.provider}

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        async with self._slots:
            try:
                response = await self.client.request(
                    method, url, params=clean or None, json=json, headers=headers
                )
            except httpx.TimeoutException:
                raise UpstreamTimeout(
                    f"account {self.account.id!r} did not answer in time", **self._context()
                ) from None
            except httpx.TransportError:
                raise UpstreamUnavailable(
                    f"account {self.account.id!r} could not be reached", **self._context()
                ) from None
        status = response.status_code
        if status == 401:
            raise UpstreamAuthFailed(
                f"the provider rejected the credentials of account {self.account.id!r}",
                **self._context(),
            )
        if status == 429:
            raise UpstreamRateLimited(
                f"account {self.account.id!r} is rate limited by its provider",
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
                **self._context(),
            )
        if status >= 500:
            raise UpstreamUnavailable(
                f"the provider of account {self.account.id!r} failed (HTTP {status})",
                **self._context(),
            )
        return response

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise UpstreamBadResponse(
                f"account {self.account.id!r} answered with a body that is not JSON",
                **self._context(),
            ) from None

    def bad_response(self, what: str) -> UpstreamBadResponse:
        return UpstreamBadResponse(
            f"account {self.account.id!r} answered with {what}", **self._context()
        )

    async def aclose(self) -> None:
        await self.client.aclose()
