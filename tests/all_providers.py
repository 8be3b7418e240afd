"""Every provider behind one gateway, all real servers on loopback: Talynce (acme), Greenhouse
Partner and two Harvest accounts, and a Merge linked account. Shared by the end-to-end files
that need them all at once (jobs, the hiring pipeline); each builds its own, so one file's
writes never show in another's listings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg
from emulators.merge.app import LinkedAccount
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.security import Client
from gateway.settings import Settings
from tests.conftest import OperationLog, SecretWatch
from tests.merge_support import MergeServer, running_merge
from tests.servers import serve_in_thread
from tests.test_greenhouse_e2e import (
    DURMSTRANG_CLIENT,
    DURMSTRANG_SECRET,
    HOGWARTS_CLIENT,
    HOGWARTS_KEY,
    HOGWARTS_SECRET,
    TALYNCE_KEY,
)
from tests.test_greenhouse_e2e import accounts as greenhouse_accounts

__all__ = ["Stack", "running_stack"]


@dataclass
class Stack:
    url: str
    talynce: TalynceEmulator
    acme: TalynceOrg
    greenhouse: GreenhouseEmulator
    harvest: dict[str, GreenhouseOrg]  # by account id
    merge: MergeServer
    key: str | None = None  # the client key requests carry unless told otherwise

    def post(self, query: str, *, as_key: str | None = None, **variables: Any) -> dict[str, Any]:
        key = as_key or self.key
        headers = {} if key is None else {"authorization": f"Bearer {key}"}
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(self, query: str, *, as_key: str | None = None, **variables: Any) -> dict[str, Any]:
        body = self.post(query, as_key=as_key, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def upstream_calls(self) -> Counter[str]:
        """Every upstream call so far, by provider and path (ids left in)."""
        counts: Counter[str] = Counter()
        counts.update(f"talynce {r.method} {r.path}" for r in self.talynce.requests)
        counts.update(f"{r.api} {r.method} {r.path}" for r in self.greenhouse.requests)
        counts.update(f"merge {r.method} {r.route}" for r in self.merge.emulator.requests)
        return counts

    def job_truth(self, account: str) -> dict[str, tuple[str, str | None, datetime]]:
        """remote id → (name, raw status, last change) of every job the emulator holds."""
        if account == "acme":
            return {j.id: (j.title, j.status, j.updated_at or j.created_at) for j in self.acme.jobs}
        if account in self.harvest:
            jobs = self.harvest[account].jobs
            return {str(i): (j.name, j.status, j.last_update) for i, j in jobs.items()}
        linked = self.merge.accounts["initech"]
        return {
            j.id: (j.name, j.status, j.changed_at)
            for j in linked.jobs.values()
            if not j.remote_was_deleted
        }

    def candidate_changes(self, account: str) -> dict[str, datetime]:
        """remote id → the instant the provider's own updated-since filter reads."""
        if account == "acme":
            return {c.id: c.updated_at for c in self.acme.candidates.values()}
        if account in self.harvest:
            return {str(i): c.updated_at for i, c in self.harvest[account].candidates.items()}
        linked = self.merge.accounts["initech"]
        return {c.id: c.modified_at for c in linked.candidates.values()}


@contextmanager
def running_stack(clients: tuple[Client, ...] = (), key: str | None = None) -> Iterator[Stack]:
    """The gateway in front of every emulator; `clients` empty is open mode (one anonymous
    client that may do anything)."""
    hogwarts = GreenhouseOrg.seeded(
        "Hogwarts",
        partner_api_key=HOGWARTS_KEY,
        client_id=HOGWARTS_CLIENT,
        client_secret=HOGWARTS_SECRET,
        candidates=25,
        jobs=11,
        seed=31,
    )
    durmstrang = GreenhouseOrg.seeded(
        "Durmstrang",
        partner_api_key="unused-key",
        client_id=DURMSTRANG_CLIENT,
        client_secret=DURMSTRANG_SECRET,
        candidates=12,
        jobs=6,
        seed=32,
    )
    acme = TalynceOrg.seeded("acme", TALYNCE_KEY, candidates=20, jobs=13, seed=33)
    greenhouse = GreenhouseEmulator([hogwarts, durmstrang])
    talynce = TalynceEmulator([acme])
    linked = {"initech": LinkedAccount.seeded("Initech", "tok-jobs-initech", seed=34, jobs=9)}
    with (
        serve_in_thread(greenhouse.app) as gh_url,
        serve_in_thread(talynce.app) as talynce_url,
        running_merge(linked) as merge,
    ):
        configs = (
            *greenhouse_accounts(gh_url, hogwarts, durmstrang, talynce_url),
            merge.config("initech"),
        )
        settings = Settings(configs, cursor_secret=b"jobs-e2e-cursor-secret", clients=clients)
        # OperationLog: test_compiled replays these queries through both execution paths.
        app = SecretWatch(OperationLog(create_app(settings)), settings.secrets())
        with serve_in_thread(app, lifespan="on") as url:
            yield Stack(
                url,
                talynce,
                acme,
                greenhouse,
                {"gh-harvest": hogwarts, "gh-durmstrang": durmstrang},
                merge,
                key,
            )
