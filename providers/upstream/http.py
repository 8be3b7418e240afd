"""The one way adapters reach their provider: a pooled client per account, made resilient.

Every call goes through `Upstream.send`, which applies, in order: the account's circuit breaker,
the request's deadline, the account's rate budget and concurrency cap; then retries idempotent
calls on connect errors, 429 and 502/503/504 with backoff and full jitter (honouring
`Retry-After`, never past the deadline), and maps every failure that means the same for all
providers (401, 429, a redirect or a status that means nothing, 5xx, transport errors) to a
`ProviderError`. Writes (POST, and PATCH too: an adapter's PATCH may add to lists) are sent once,
never retried; once sent, a 5xx, a redirect or a dropped connection makes their outcome unknown,
and `providers.upstream.writes` hears whether each may have taken effect. Messages name the
account, never a URL, header or body.

A call the budget cannot serve before the deadline is refused at once as rate limited, with the
wait as `retry_after`; it and anything else never sent (no free connection in time, a credential
no header can carry) neither counts against the breaker nor settles its probe. The breaker
counts logical calls, not attempts, and a half-open probe is one attempt.
"""

from __future__ import annotations

import asyncio
import email.utils
import json as jsonlib
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from providers.base import AccountConfig
from providers.errors import (
    Origin,
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadResponse,
    UpstreamOutcomeUnknown,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from providers.upstream.observe import current_watch, observer
from providers.upstream.resilience import Breaker, Budget, RateBudget, RetryPolicy, remaining
from providers.upstream.sharing import Sharing
from providers.upstream.transport import ConnectionPool, LeanClient, Reply, ResponseTooLarge, Sender
from providers.upstream.writes import current_writes

__all__ = ["Upstream", "build_client", "header_safe", "path", "retry_after_seconds"]

QueryParams = Mapping[str, str | int | float | None]
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Refused by the client before a byte left (a line break in a header, a scheme it cannot speak):
# trying again would fail the same way, and a write refused so did not happen.
UNSENDABLE = (httpx.LocalProtocolError, httpx.UnsupportedProtocol)
VERSION_PREFIX = re.compile(r"api|v\d+|partner")
EPOCH_FLOOR = 1e9  # X-RateLimit-Reset above this is a Unix time, below it seconds from now
# The longest Retry-After believed: one past it (years, as a hostile or broken upstream may send)
# would hold the account, here and in every replica sharing its budget, far past any real pause.
MAX_RETRY_AFTER = 3600.0
MAX_LIMIT_DIGITS = 18  # an X-RateLimit-Limit longer than this is no limit anyone keeps to


def path(*segments: str) -> str:
    """A relative URL path whose every segment is encoded, so an ID can never change the route."""
    encoded = []
    for segment in segments:
        text = quote(segment, safe="")
        encoded.append(text.replace(".", "%2E") if set(segment) <= {"."} else text)
    return "/".join(encoded)


def _endpoint(url: str) -> str:
    """A low-cardinality name for a URL: its first path segment past any version prefix."""
    relative = url.split("://", 1)[1].partition("/")[2] if "://" in url else url
    segments = [s for s in relative.split("?", 1)[0].split("/") if s]
    while len(segments) > 1 and VERSION_PREFIX.fullmatch(segments[0]):
        segments.pop(0)
    return segments[0] if segments else "/"


def retry_after_seconds(value: str | None) -> float | None:
    """Parses `Retry-After` given as seconds or as an HTTP date, at most `MAX_RETRY_AFTER`;
    a value that is no number of seconds (`inf`, `nan`) is no Retry-After at all."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def header_safe(value: str) -> bool:
    """Whether a value can go into an HTTP header as is: printable ASCII (httpx's rule, less
    the control characters that would break the request apart)."""
    return value.isascii() and value.isprintable()


def build_client(account: AccountConfig) -> LeanClient:
    """The account's pooled client: as many connections as calls it may have in flight."""
    pool = ConnectionPool(
        max_connections=account.max_concurrency,
        timeout=account.timeout,
        max_response_bytes=account.max_response_bytes,
    )
    return LeanClient(account.base_url, pool)


class _Attempt(Exception):
    """One try that failed; `retryable` says whether another try is safe and useful."""

    def __init__(self, error: ProviderError, *, retryable: bool, unhealthy: bool = True) -> None:
        self.error = error
        self.retryable = retryable
        self.unhealthy = unhealthy


class _Call:
    """One logical call's progress: whether any attempt has handed bytes to the client."""

    sent = False


class Upstream:
    """`budget` defaults to the one `sharing` offers for the account, if any, else this
    process's own (see `upstream.sharing`). An account without a rate limit keeps
    its budget in-process: sharing one would cost store round trips on every call to enforce
    nothing but Retry-After holds, which each process learns from the provider anyway."""

    def __init__(
        self,
        account: AccountConfig,
        client: Sender,
        budget: Budget | None = None,
        *,
        sharing: Sharing | None = None,
    ) -> None:
        self.account = account
        self.client = client
        self.sharing = sharing
        self.policy = RetryPolicy(retries=account.retries)
        self.breaker = Breaker(account.breaker_threshold, account.breaker_cooldown)
        limit, window = account.rate_limit or (None, 60.0)
        shared = (
            sharing.budget(account)
            if sharing is not None and account.rate_limit is not None
            else None
        )
        self.budget: Budget = budget or shared or RateBudget(limit, window)
        self._slots = asyncio.Semaphore(account.max_concurrency)
        self.calls = 0

    def _context(self) -> Origin:
        return {"account": self.account.id, "provider": self.account.provider}

    def _name(self) -> str:
        return f"account {self.account.id!r}"

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Reply:
        """Sends one logical call; returns any 2xx or 4xx response other than 401 and 429."""
        safe = method.upper() in IDEMPOTENT if idempotent is None else idempotent
        endpoint = f"{method.upper()} {_endpoint(url)}"
        wait = self.breaker.admit()
        if wait is not None:
            raise UpstreamUnavailable(
                f"{self._name()} is failing; calls are paused", retry_after=wait, **self._context()
            )
        # A probe asks whether the provider answers again: one attempt, not a burst of retries.
        probe = self.breaker.state == "half-open"
        attempts = 1 if probe else self.policy.retries + 1
        call = _Call()
        settled = False
        try:
            for attempt in range(attempts):
                if attempt:
                    observer().retry(self.account.id, self.account.provider)
                began = time.perf_counter()
                try:
                    response = await self._attempt(
                        method, url, params, json, data, headers, safe, call
                    )
                except _Attempt as failed:
                    last = failed
                    self._observe(endpoint, failed.error.code, began)
                else:
                    self._observe(endpoint, str(response.status_code), began)
                    self._breaker_changed(self.breaker.succeeded)
                    settled = True
                    return response
                if not (safe and last.retryable) or attempt == attempts - 1:
                    break
                # A Retry-After was already handed to the rate budget, which holds the next try.
                told = last.error.retry_after
                delay = self.policy.delay(attempt) if told is None else 0.0
                # Without a request deadline, the account's timeout bounds what is worth waiting.
                left = remaining()
                if max(delay, told or 0.0) >= (self.account.timeout if left is None else left):
                    break
                await asyncio.sleep(delay)
            if last.unhealthy:
                self._breaker_changed(self.breaker.failed)
            elif probe:  # refused before sending, or answered 401/429: no verdict on health
                self.breaker.release()
            settled = True
            raise last.error
        finally:
            if not settled and probe:  # cancelled: a probe that was sent is a failed one
                self._breaker_changed(self.breaker.failed if call.sent else self.breaker.release)

    def _breaker_changed(self, change: Callable[[], None]) -> None:
        before = self.breaker.state
        change()
        if self.breaker.state != before:
            observer().breaker(self.account.id, self.account.provider, self.breaker.state)

    def _observe(self, endpoint: str, outcome: str, began: float) -> None:
        observer().upstream_call(
            self.account.id, self.account.provider, endpoint, outcome, time.perf_counter() - began
        )

    async def _attempt(
        self,
        method: str,
        url: str,
        params: QueryParams | None,
        json: Any,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        safe: bool,
        call: _Call,
    ) -> Reply:
        if headers and not all(value.isascii() for value in headers.values()):
            # httpx, like HTTP itself, sends header values as ASCII: a credential that is not
            # can never be sent, which is the operator's to fix, not the provider's failure.
            raise _Attempt(
                UpstreamAuthFailed(
                    f"the credentials of {self._name()} cannot be sent: a credential is not ASCII",
                    **self._context(),
                ),
                retryable=False,
                unhealthy=False,
            )
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        writes = None if safe else current_writes()
        # The budget is reserved first and waited out holding nothing, so a call it cannot serve
        # in time is refused at once and a call it holds back keeps no connection from others.
        await self._take_budget()
        await self._take_slot()
        try:
            left = remaining()
            if left is not None and left <= 0:
                raise self._out_of_time()
            call.sent = True
            self.calls += 1
            if (watch := current_watch()) is not None:
                watch.calls += 1
            if writes is not None:
                writes.sending()
            response = await self._request(method, url, clean or None, json, data, headers, left)
        except NOT_SENT:
            if writes is not None:
                writes.had_no_effect()
            raise _Attempt(
                UpstreamUnavailable(f"{self._name()} could not be reached", **self._context()),
                retryable=True,
            ) from None
        except (*UNSENDABLE, UnicodeError):
            if writes is not None:
                writes.had_no_effect()
            raise _Attempt(
                UpstreamUnavailable(
                    f"a request to {self._name()} could not be sent", **self._context()
                ),
                retryable=False,
                unhealthy=False,
            ) from None
        except (TimeoutError, httpx.TimeoutException):
            if not safe:
                raise self._unknown() from None
            raise _Attempt(
                UpstreamTimeout(f"{self._name()} did not answer in time", **self._context()),
                retryable=False,
            ) from None
        except httpx.DecodingError as error:  # answered, but too large or undecodable
            if not safe:
                raise self._unknown() from None
            what = (
                "more than its max_response_bytes allows"
                if isinstance(error, ResponseTooLarge)
                else "a body that could not be decoded"
            )
            raise _Attempt(self.bad_response(what), retryable=False, unhealthy=False) from None
        except httpx.TransportError:
            if not safe:
                raise self._unknown() from None
            raise _Attempt(
                UpstreamUnavailable(f"{self._name()} dropped the connection", **self._context()),
                retryable=True,
            ) from None
        finally:
            self._slots.release()
        if writes is not None and 400 <= response.status_code < 500:
            writes.had_no_effect()  # a 4xx says the provider did not act on it
        self._observe_budget(response)
        return self._check(response, safe)

    async def _request(
        self,
        method: str,
        url: str,
        params: QueryParams | None,
        json: Any,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        left: float | None,
    ) -> Reply:
        """The exchange, ended by a TimeoutError once `left` seconds are spent. `LeanClient`
        keeps the deadline on the timer it already runs for each answer; any other client gets
        an `asyncio.timeout`, a timer of its own on every call."""
        if isinstance(self.client, LeanClient):
            return await self.client.request(
                method, url, params=params, json=json, data=data, headers=headers, deadline=left
            )
        async with asyncio.timeout(left):
            return await self.client.request(
                method, url, params=params, json=json, data=data, headers=headers
            )

    def _out_of_time(self) -> _Attempt:
        return _Attempt(
            UpstreamTimeout(f"{self._name()} ran out of time", **self._context()),
            retryable=False,
            unhealthy=False,
        )

    async def _take_slot(self) -> None:
        """A connection slot, waited for no longer than the deadline; a call that gets none
        was never sent, so it says nothing about the provider's health."""
        left = remaining()
        if left is not None and left <= 0:
            raise self._out_of_time()
        if not self._slots.locked():  # a slot is free: taking it cannot wait, so needs no timer
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(left):
                await self._slots.acquire()
        except TimeoutError:
            raise _Attempt(
                UpstreamTimeout(
                    f"{self._name()} had no free connection in time", **self._context()
                ),
                retryable=False,
                unhealthy=False,
            ) from None

    async def _take_budget(self) -> None:
        left = remaining()
        if left is not None and left <= 0:
            raise self._out_of_time()
        queued = time.perf_counter()
        refused = await self.budget.acquire(left)
        waited = time.perf_counter() - queued
        if waited > 0.001:
            observer().rate_wait(self.account.id, self.account.provider, waited)
        if refused is not None:
            raise _Attempt(
                UpstreamRateLimited(
                    f"{self._name()} is over its request budget",
                    retry_after=math.ceil(refused * 1000) / 1000,
                    **self._context(),
                ),
                retryable=False,
                unhealthy=False,
            )

    def _unknown(self, what: str = "no answer came back") -> _Attempt:
        error = UpstreamOutcomeUnknown(
            f"the write to {self._name()} was sent but {what}; "
            "check whether it happened before trying again",
            **self._context(),
        )
        return _Attempt(error, retryable=False)

    def _observe_budget(self, response: Reply) -> None:
        """Learns from the provider's X-RateLimit-* headers, where it sends them.

        `Limit` tightens the budget's figure for its window (see `RateBudget.learn_limit`);
        `Remaining: 0` holds calls until `Reset`, which Greenhouse sends as epoch seconds and
        others as seconds from now (a value past 10^9 can only be an epoch). A hold from these
        headers is capped at a minute: a wrong header must not silence an account for long.
        """
        headers = response.headers
        limit = headers.get("x-ratelimit-limit", "").strip()
        # ASCII digits, and few: int() refuses other Unicode digits ("²") and past 4300 digits.
        if limit.isascii() and limit.isdigit() and len(limit) <= MAX_LIMIT_DIGITS:
            self.budget.learn_limit(int(limit))
        if headers.get("x-ratelimit-remaining", "").strip() != "0":
            return
        try:
            reset = float(headers.get("x-ratelimit-reset", ""))
        except ValueError:
            return
        if not math.isfinite(reset):
            return
        wait = reset - time.time() if reset > EPOCH_FLOOR else reset
        self.budget.block_for(min(max(0.0, wait), 60.0))

    def _check(self, response: Reply, safe: bool) -> Reply:
        status = response.status_code
        if status == 401:
            raise _Attempt(
                UpstreamAuthFailed(
                    f"the provider rejected the credentials of {self._name()}", **self._context()
                ),
                retryable=False,
                unhealthy=False,
            )
        if status == 429:
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            if retry_after is not None:
                self.budget.block_for(retry_after)
            raise _Attempt(
                UpstreamRateLimited(
                    f"{self._name()} is rate limited by its provider",
                    retry_after=retry_after,
                    **self._context(),
                ),
                retryable=True,
                unhealthy=False,
            )
        if status < 200 or 300 <= status < 400:
            # A redirect is never followed (a write would go twice, a credential to wherever it
            # points) and a status HTTP gives no meaning is no answer either: neither body is
            # read as one, since neither answers the call made.
            what = "a redirect" if 300 <= status < 400 else "a status that means nothing"
            if not safe:
                raise self._unknown(f"its provider answered with {what} (HTTP {status})")
            raise _Attempt(
                self.bad_response(f"{what} (HTTP {status})"), retryable=False, unhealthy=False
            )
        if status >= 500:
            if not safe:
                raise self._unknown(f"its provider answered HTTP {status}")
            # 503 with Retry-After: the provider names its pause; the budget holds calls for it.
            told = retry_after_seconds(response.headers.get("retry-after"))
            if told is not None and status == 503:
                self.budget.block_for(told)
            raise _Attempt(
                UpstreamUnavailable(
                    f"the provider of {self._name()} failed (HTTP {status})",
                    retry_after=told if status == 503 else None,
                    **self._context(),
                ),
                retryable=status in RETRY_STATUSES,
            )
        return response

    def json(self, response: Reply) -> Any:
        """orjson reads UTF-8 JSON about three times as fast; what it refuses (other encodings,
        NaN, integers past 64 bits) still gets Python's parser, as before."""
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass
        try:
            return jsonlib.loads(response.content)
        except (ValueError, RecursionError):  # nesting past orjson's depth limit recurses here
            raise self.bad_response("a body that is not JSON") from None

    def bad_response(self, what: str) -> UpstreamBadResponse:
        return UpstreamBadResponse(f"{self._name()} answered with {what}", **self._context())

    async def aclose(self) -> None:
        await self.client.aclose()
