"""Each adapter against its emulator, as the contract suite drives it: one entry per provider.

A backend starts its emulator (`serve`), seeds a fresh tenant on it (`reset`), builds adapters
(`adapter`), and reads the emulator's own data for the suite's expectations. Adding a provider
to the suite is one class here and one line in `BACKENDS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import ClassVar

from emulators.faults import FaultProfile
from emulators.greenhouse import GhCandidate, GreenhouseEmulator, GreenhouseOrg
from emulators.merge.app import PREFIX, LinkedAccount, MergeEmulator
from emulators.merge.seed import Candidate as MergeCandidate
from emulators.seed import Candidate as TalynceCandidate
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from providers.base import AccountConfig, Provider
from providers.greenhouse import GreenhouseHarvestAdapter, GreenhousePartnerAdapter
from providers.merge.adapter import MergeAdapter
from providers.model import CandidateRecord, Email
from providers.talynce.adapter import TalynceAdapter
from providers.upstream.http import build_client
from tests.servers import serve_in_thread

__all__ = ["BACKENDS", "Backend"]


class Backend:
    """What the suite needs of one provider; subclasses fill it in for their emulator."""

    provider: ClassVar[str]
    unknown_ids: ClassVar[tuple[str, ...]]  # well-formed ids no record has
    secret: ClassVar[str]  # a credential that must never appear in an error

    def __init__(self, url: str) -> None:
        self.url = url
        self.built: list[Provider] = []

    def reset(self) -> None:
        """A freshly seeded tenant, no faults, an empty request log."""
        raise NotImplementedError

    def config(self, credentials_ok: bool) -> AccountConfig:
        raise NotImplementedError

    def build(self, config: AccountConfig) -> Provider:
        raise NotImplementedError

    def adapter(self, *, credentials_ok: bool = True) -> Provider:
        """A new adapter (closed after the test); never retrying, so a fault is seen once."""
        built = self.build(self.config(credentials_ok))
        self.built.append(built)
        return built

    def people(self) -> dict[str, CandidateRecord]:
        """Every listed candidate by id, with the names and addresses the provider shows."""
        raise NotImplementedError

    def updated(self) -> dict[str, datetime]:
        """Each candidate's last change, as the provider's `updated after` filter reads it."""
        raise NotImplementedError

    def jobs(self) -> list[str]:
        raise NotImplementedError

    def job_candidates(self, job_id: str) -> set[str]:
        raise NotImplementedError

    def add(self, first: str, last: str, email: str) -> str:
        """Seeds one candidate straight into the emulator; its remote id."""
        raise NotImplementedError

    def set_faults(self, faults: FaultProfile) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        for adapter in self.built:
            await adapter.aclose()
        self.built.clear()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class TalynceBackend(Backend):
    provider = "talynce"
    unknown_ids = ("00000000-0000-4000-8000-000000000000",)
    secret = "tly-contract-key-0123456789"

    def __init__(self, url: str, emulator: TalynceEmulator) -> None:
        super().__init__(url)
        self.emulator = emulator
        self.org = self._fresh()

    def _fresh(self) -> TalynceOrg:
        return TalynceOrg.seeded("acme", self.secret, candidates=40, jobs=9, masked=4, seed=11)

    @classmethod
    @contextmanager
    def serve(cls) -> Iterator[Backend]:
        emulator = TalynceEmulator([])
        with serve_in_thread(emulator.app) as url:
            yield cls(url, emulator)

    def reset(self) -> None:
        self.org = self._fresh()
        self.emulator.orgs.clear()
        self.emulator.orgs[self.secret] = self.org
        self.emulator.reset_log()

    def config(self, credentials_ok: bool) -> AccountConfig:
        return AccountConfig(
            id="contract-talynce",
            name="Acme",
            provider=self.provider,
            base_url=f"{self.url}/api/v1",
            credentials={"api_key": self.secret if credentials_ok else "tly-wrong-key"},
            retries=0,
        )

    def build(self, config: AccountConfig) -> Provider:
        return TalynceAdapter(config, build_client(config))

    def people(self) -> dict[str, CandidateRecord]:
        return {
            c.id: CandidateRecord(
                c.id,
                full_name=c.full_name,
                emails=() if c.talent_pool_status == "masked" else (Email(c.email),),
            )
            for c in self.org.candidates.values()
        }

    def updated(self) -> dict[str, datetime]:
        return {c.id: c.updated_at for c in self.org.candidates.values()}

    def jobs(self) -> list[str]:
        return [job.id for job in self.org.jobs]

    def job_candidates(self, job_id: str) -> set[str]:
        return {
            c.id
            for c in self.org.candidates.values()
            if any(a.job_id == job_id for a in c.applications)
        }

    def add(self, first: str, last: str, email: str) -> str:
        now = _now()
        candidate = TalynceCandidate(str(uuid.uuid4()), f"{first} {last}", email, now, now)
        self.org.candidates[candidate.id] = candidate
        return candidate.id

    def set_faults(self, faults: FaultProfile) -> None:
        self.org.faults = faults


class MergeBackend(Backend):
    provider = "merge"
    unknown_ids = ("00000000-0000-4000-8000-000000000000",)
    secret = "merge-contract-key-0123456789"
    token = "tok-contract-initech"

    def __init__(self, url: str, emulator: MergeEmulator) -> None:
        super().__init__(url)
        self.emulator = emulator
        self.account = self._fresh()

    def _fresh(self) -> LinkedAccount:
        return LinkedAccount.seeded("Initech", self.token, seed=21, candidates=45, jobs=9)

    @classmethod
    @contextmanager
    def serve(cls) -> Iterator[Backend]:
        emulator = MergeEmulator(cls.secret, [])
        with serve_in_thread(emulator.app) as url:
            yield cls(url + PREFIX, emulator)

    def reset(self) -> None:
        self.account = self._fresh()
        self.emulator.accounts.clear()
        self.emulator.accounts[self.token] = self.account
        self.emulator.reset_log()

    def config(self, credentials_ok: bool) -> AccountConfig:
        return AccountConfig(
            id="contract-merge",
            name="Initech",
            provider=self.provider,
            base_url=self.url,
            credentials={
                "api_key": self.secret if credentials_ok else "merge-wrong-key",
                "account_token": self.token,
            },
            options={"remote_user_id": self.account.remote_users[0]},
            retries=0,
        )

    def build(self, config: AccountConfig) -> Provider:
        return MergeAdapter(config, build_client(config))

    def people(self) -> dict[str, CandidateRecord]:
        return {
            c.id: CandidateRecord(
                c.id,
                first_name=c.first_name,
                last_name=c.last_name,
                emails=tuple(Email(str(e["value"])) for e in c.email_addresses),
            )
            for c in self.account.candidates.values()
            if not c.remote_was_deleted
        }

    def updated(self) -> dict[str, datetime]:
        return {c.id: c.modified_at for c in self.account.candidates.values()}

    def jobs(self) -> list[str]:
        return [job.id for job in self.account.jobs.values() if not job.remote_was_deleted]

    def job_candidates(self, job_id: str) -> set[str]:
        return {a.candidate_id for a in self.account.applications.values() if a.job_id == job_id}

    def add(self, first: str, last: str, email: str) -> str:
        now = _now()
        candidate = MergeCandidate(
            self.account.new_id(),
            f"contract-{first}",
            now,
            now,
            first_name=first,
            last_name=last,
            email_addresses=[{"value": email, "email_address_type": "PERSONAL"}],
        )
        self.account.candidates[candidate.id] = candidate
        return candidate.id

    def set_faults(self, faults: FaultProfile) -> None:
        self.account.faults = faults


class GreenhouseBackend(Backend):
    """One Greenhouse emulator serves both APIs; the subclasses pick the adapter."""

    provider = "greenhouse"
    unknown_ids = ("987654321",)
    secret = "gh-contract-secret-0123456789"
    client_id = "gh-contract-client"

    def __init__(self, url: str, emulator: GreenhouseEmulator) -> None:
        super().__init__(url)
        self.emulator = emulator
        self.org = self._fresh()

    def _fresh(self) -> GreenhouseOrg:
        return GreenhouseOrg.seeded(
            "Hogwarts",
            partner_api_key=self.secret,
            client_id=self.client_id,
            client_secret=self.secret,
            candidates=40,
            jobs=9,
            seed=5,
        )

    @classmethod
    @contextmanager
    def serve(cls) -> Iterator[Backend]:
        emulator = GreenhouseEmulator([])
        with serve_in_thread(emulator.app) as url:
            yield cls(url, emulator)

    def reset(self) -> None:
        self.org = self._fresh()
        self.emulator.orgs[:] = [self.org]
        self.emulator.tokens.clear()
        self.emulator.reset_log()

    def people(self) -> dict[str, CandidateRecord]:
        return {
            str(c.id): CandidateRecord(
                str(c.id),
                first_name=c.first_name,
                last_name=c.last_name,
                emails=tuple(Email(e["value"]) for e in c.email_addresses),
            )
            for c in self.org.candidates.values()
        }

    def updated(self) -> dict[str, datetime]:
        return {str(c.id): c.updated_at for c in self.org.candidates.values()}

    def jobs(self) -> list[str]:
        return [str(job) for job in self.org.jobs]

    def job_candidates(self, job_id: str) -> set[str]:
        return {
            str(a.candidate_id) for a in self.org.applications.values() if str(a.job_id) == job_id
        }

    def add(self, first: str, last: str, email: str) -> str:
        now = _now()
        candidate_id = self.org.next_id(self.org.candidates, 0)
        self.org.candidates[candidate_id] = GhCandidate(
            candidate_id,
            first,
            last,
            now,
            now,
            email_addresses=[{"value": email, "type": "personal"}],
        )
        return str(candidate_id)

    def set_faults(self, faults: FaultProfile) -> None:
        self.org.faults = faults


class HarvestBackend(GreenhouseBackend):
    def config(self, credentials_ok: bool) -> AccountConfig:
        return AccountConfig(
            id="contract-harvest",
            name="Hogwarts",
            provider=self.provider,
            base_url=f"{self.url}/v3",
            credentials={
                "client_id": self.client_id,
                "client_secret": self.secret if credentials_ok else "gh-wrong-secret",
            },
            # Small pages and scans, so a listing of 40 spans several of each.
            options={
                "api": "harvest",
                "user_id": str(self.org.users[0].id),
                "token_url": "/token",
                "page_size": 7,
                "scan_rows": 11,
            },
            retries=0,
        )

    def build(self, config: AccountConfig) -> Provider:
        return GreenhouseHarvestAdapter(config, build_client(config))


class PartnerBackend(GreenhouseBackend):
    def config(self, credentials_ok: bool) -> AccountConfig:
        return AccountConfig(
            id="contract-partner",
            name="Hogwarts",
            provider=self.provider,
            base_url=f"{self.url}/v1/partner",
            credentials={"api_key": self.secret if credentials_ok else "gh-wrong-key"},
            options={"api": "partner", "on_behalf_of": self.org.users[0].email},
            retries=0,
        )

    def build(self, config: AccountConfig) -> Provider:
        return GreenhousePartnerAdapter(config, build_client(config))


BACKENDS: dict[str, Callable[[], AbstractContextManager[Backend]]] = {
    "talynce": TalynceBackend.serve,
    "merge": MergeBackend.serve,
    "greenhouse-partner": PartnerBackend.serve,
    "greenhouse-harvest": HarvestBackend.serve,
}
