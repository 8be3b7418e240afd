"""Per-request DataLoaders: every lookup of one GraphQL request, batched per account.

Built inside the request's context (aiodataloader binds the running loop at creation), never at
module level. A failing account fails only the keys that belong to it, and a failed batch that may
be one record's fault is asked again id by id, so one bad record fails only its own key.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from providers.base import Capability
from providers.errors import (
    ProviderError,
    UnsupportedByProvider,
    UpstreamAuthFailed,
    UpstreamOutcomeUnknown,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from providers.model import ApplicationRecord, CandidateRecord, JobRecord
from resolvers.accounts import Accounts, ServedAccount
from resolvers.errors import contain

__all__ = ["AccountKey", "Loaders"]

AccountKey = tuple[str, str]  # (account id, remote id)
V = TypeVar("V")


# Failures that say the account cannot be asked now, whatever the ids: asking again id by id would
# only add calls (an open breaker or a rate budget says so with `retry_after`).
ACCOUNT_WIDE = (
    UnsupportedByProvider,
    UpstreamAuthFailed,
    UpstreamOutcomeUnknown,
    UpstreamRateLimited,
    UpstreamTimeout,
)


def _account_wide(error: Exception) -> bool:
    return isinstance(error, ACCOUNT_WIDE) or (
        isinstance(error, ProviderError) and error.retry_after is not None
    )


async def _isolated(
    fetch: Callable[[ServedAccount, list[str]], Awaitable[dict[str, V]]],
    account: ServedAccount,
    ids: list[str],
) -> dict[str, V | Exception]:
    """One batch for the ids; if it fails for a reason that may be one record's (one bad
    answer, a bug on one record), each id is asked once more alone, so the failure stays with
    the ids it belongs to. At most one extra call per id, and only after a failed batch."""
    try:
        return dict(await fetch(account, ids))
    except Exception as error:  # cancellation is not a failure and passes
        if len(ids) == 1 or _account_wide(error):
            return dict.fromkeys(ids, error)
    singles = await asyncio.gather(*(_isolated(fetch, account, [i]) for i in ids))
    return {key: value for single in singles for key, value in single.items()}


async def _per_account(
    accounts: Accounts,
    keys: Sequence[AccountKey],
    fetch: Callable[[ServedAccount, list[str]], Awaitable[dict[str, V]]],
    missing: Callable[[], V],
    request_id: str,
) -> list[V | BaseException]:
    """Groups keys by account, fetches each group concurrently and answers in key order.

    Any exception becomes a ProviderError of its account (an unexpected one INTERNAL, logged
    once per account and batch), raised only where its own keys are read."""
    groups: dict[str, list[str]] = defaultdict(list)
    for account_id, remote_id in keys:
        if remote_id not in groups[account_id]:
            groups[account_id].append(remote_id)
    names = list(groups)

    async def load(account_id: str) -> dict[str, V | Exception]:
        account = accounts.get(account_id)
        if account is None:
            return {}
        found = await _isolated(fetch, account, groups[account_id])
        contained: dict[int, ProviderError] = {}
        for remote_id, value in found.items():
            if isinstance(value, Exception):
                if id(value) not in contained:
                    contained[id(value)] = contain(
                        value,
                        account=account.id,
                        provider=account.provider_name,
                        request_id=request_id,
                        log=not contained,
                    )
                found[remote_id] = contained[id(value)]
        return found

    results = dict(zip(names, await asyncio.gather(*(load(n) for n in names)), strict=True))
    answers: list[V | BaseException] = []
    for account_id, remote_id in keys:
        answers.append(results[account_id].get(remote_id, missing()))
    return answers


class Loaders:
    """One request's loaders. Each is made when first used: a request builds a `Loaders`
    whatever it asks, and most ask for one or none of them."""

    def __init__(self, accounts: Accounts, request_id: str = "-") -> None:
        self._accounts = accounts
        self._request_id = request_id
        self._applications_ready: dict[AccountKey, list[ApplicationRecord] | BaseException] = {}

    @functools.cached_property
    def candidates(self) -> DataLoader[AccountKey, CandidateRecord | None]:
        return DataLoader(self._load_candidates)

    @functools.cached_property
    def applications(self) -> DataLoader[AccountKey, list[ApplicationRecord]]:
        return DataLoader(self._load_applications)

    @functools.cached_property
    def jobs(self) -> DataLoader[AccountKey, JobRecord | None]:
        return DataLoader(self._load_jobs)

    async def _load_candidates(self, keys: list[AccountKey]) -> list[Any]:
        async def fetch(
            account: ServedAccount, ids: list[str]
        ) -> dict[str, CandidateRecord | None]:
            records = await account.provider.get_candidates(ids)
            for record in records:
                if record.applications is not None:
                    self.applications.prime(
                        (account.id, record.remote_id), list(record.applications)
                    )
            return {record.remote_id: record for record in records}

        return await _per_account(self._accounts, keys, fetch, lambda: None, self._request_id)

    async def _load_applications(self, keys: list[AccountKey]) -> list[Any]:
        async def fetch(
            account: ServedAccount, ids: list[str]
        ) -> dict[str, list[ApplicationRecord]]:
            return await account.provider.applications_for(ids)

        return await _per_account(self._accounts, keys, fetch, list, self._request_id)

    async def _load_jobs(self, keys: list[AccountKey]) -> list[Any]:
        """One `get_jobs` per account per batch; an account that cannot fetch jobs is not
        asked, and its keys read None."""

        async def fetch(account: ServedAccount, ids: list[str]) -> dict[str, JobRecord | None]:
            if not account.can(Capability.JOBS):
                return {}
            return {record.remote_id: record for record in await account.provider.get_jobs(ids)}

        return await _per_account(self._accounts, keys, fetch, lambda: None, self._request_id)

    async def job(self, account_id: str, remote_id: str) -> JobRecord | None:
        return await self.jobs.load((account_id, remote_id))

    async def prefetch_jobs(
        self, found: Sequence[tuple[ServedAccount, CandidateRecord]], *, named_too: bool
    ) -> None:
        """Loads, in one batch per account, the jobs the prefetched applications of `found`
        name by id only (with `named_too`, every job they name by id). Loads issued field by
        field start over several event-loop turns, so the loader would split them into
        batches; these are issued at once. A failure stays with its keys, raised where each
        is read."""
        keys: dict[AccountKey, None] = {}
        for account, record in found:
            if not account.can(Capability.JOBS):
                continue
            try:
                applications = self.applications_ready(account.id, record) or ()
            except Exception:  # kept for the candidate's own field to raise
                continue
            for application in applications:
                job = application.job
                if job is not None and job.remote_id is not None and (named_too or not job.name):
                    keys[(account.id, job.remote_id)] = None
        await asyncio.gather(*(self.jobs.load(key) for key in keys), return_exceptions=True)

    def prime_job(self, account_id: str, record: JobRecord) -> None:
        """Remembers a job a listing returned, so naming it again costs no call."""
        self.jobs.prime((account_id, record.remote_id), record)

    async def candidate(self, account_id: str, remote_id: str) -> CandidateRecord | None:
        return await self.candidates.load((account_id, remote_id))

    async def applications_of(
        self, account_id: str, record: CandidateRecord
    ) -> list[ApplicationRecord]:
        if record.applications is not None:
            return list(record.applications)
        found: list[ApplicationRecord] = await self.applications.load(
            (account_id, record.remote_id)
        )
        return found

    async def prefetch_applications(self, found: Sequence[tuple[str, CandidateRecord]]) -> None:
        """Loads the applications of every (account id, record) that lacks them, in the batches
        the loader makes anyway, so `applications_ready` can answer each without awaiting. An
        account's failure is kept for its keys, to be raised where each is asked for."""
        keys = [(account_id, r.remote_id) for account_id, r in found if r.applications is None]
        results = await asyncio.gather(
            *(self.applications.load(key) for key in keys), return_exceptions=True
        )
        self._applications_ready.update(zip(keys, results, strict=True))

    def applications_ready(
        self, account_id: str, record: CandidateRecord
    ) -> list[ApplicationRecord] | None:
        """The record's applications if held or prefetched (raising what their fetch raised),
        else None: then `applications_of` must load them."""
        if record.applications is not None:
            return list(record.applications)
        found = self._applications_ready.get((account_id, record.remote_id))
        if isinstance(found, BaseException):
            raise found
        return None if found is None else list(found)

    def prime(self, account_id: str, record: CandidateRecord, *, fresh: bool = False) -> None:
        """Remembers a record this request already holds; `fresh` replaces what was there."""
        key = (account_id, record.remote_id)
        if fresh:
            self.candidates.clear(key)
            self.applications.clear(key)
            self._applications_ready.pop(key, None)
        self.candidates.prime(key, record)
