"""`python -m bench.write_soak`: retried creates against upstreams that lose write answers.

One process: Talynce, Merge and Greenhouse Harvest emulators and the gateway, each under uvicorn
in a thread, and between the gateway and each emulator a TCP gate that, in some rounds, stops
listening (the gateway's connections are refused). The emulators store a share of writes and
then lose the answer (a 500/502/503, a cut 201, an HTML 200, a dropped connection). A client
with one idempotency key per candidate retries, round after round, every create that came back
`UPSTREAM_UNAVAILABLE` (or any code but success and `UPSTREAM_OUTCOME_UNKNOWN`), as a careful
client would; then it repeats every settled key `--repeats` times. The emulators' own request
logs and stores then say how many writes reached them per key.

It asserts: exactly one upstream write and one record per key that got a success or
`UPSTREAM_OUTCOME_UNKNOWN`, at most one for every key, and replays that answer as the first
time. Exits 1 if not.

    python -m bench.write_soak [--keys 90] [--rounds 25] [--fault-rate 0.4] [--down-rate 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from emulators.faults import FaultProfile
from emulators.greenhouse import GreenhouseEmulator, GreenhouseOrg
from emulators.merge.app import PREFIX, LinkedAccount, MergeEmulator
from emulators.talynce.app import TalynceEmulator, TalynceOrg
from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig

__all__ = ["main", "soak"]

PROVIDERS = ("talynce", "merge", "harvest")
STORED_FAULTS = ("stored_error", "stored_truncated", "stored_html", "stored_reset")
SETTLED = "UPSTREAM_OUTCOME_UNKNOWN"
CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) { created candidate { id } userErrors { code } }
}
"""


@contextmanager
def serving(app: ASGIApp, *, lifespan: str = "off") -> Iterator[int]:
    """Serves `app` on a free loopback port in a thread of its own; yields the port."""
    server = uvicorn.Server(
        # "critical": a dropped-connection fault is uvicorn's error, and expected here.
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan=lifespan)
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        raise RuntimeError("a server did not start")
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Gate:
    """A TCP forwarder to `target` that can stop listening: connecting is then refused."""

    def __init__(self, target: int) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._forward, "127.0.0.1", self.port, reuse_address=True
            )

    async def down(self) -> None:
        """Stops listening and closes every connection (between rounds, so all are idle)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        pair = {writer, up_writer}
        self._open |= pair
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._open -= pair

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.close()


@dataclass
class Upstreams:
    talynce: TalynceEmulator
    talynce_org: TalynceOrg
    merge: MergeEmulator
    linked: LinkedAccount
    greenhouse: GreenhouseEmulator
    gh_org: GreenhouseOrg

    def set_faults(self, rate: float, seed: int) -> None:
        owners = (self.talynce_org, self.linked, self.gh_org)
        for n, owner in enumerate(owners):
            owner.faults = FaultProfile(
                rates={fault: rate / len(STORED_FAULTS) for fault in STORED_FAULTS},
                error_statuses=(500, 502, 503),
                seed=seed + n,
            )

    def writes(self, provider: str, email: str) -> int:
        log: list[Any] = {
            "talynce": self.talynce.requests,
            "merge": self.merge.requests,
            "harvest": self.greenhouse.calls("harvest"),
        }[provider]
        return sum(1 for r in log if r.method == "POST" and email in json.dumps(r.body))

    def records(self, provider: str, email: str) -> int:
        if provider == "talynce":
            return sum(1 for c in self.talynce_org.candidates.values() if c.email == email)
        holders = self.linked.candidates if provider == "merge" else self.gh_org.candidates
        return sum(
            1 for c in holders.values() if any(e.get("value") == email for e in c.email_addresses)
        )


def upstreams() -> Upstreams:
    talynce_org = TalynceOrg.seeded("soak-talynce", "ws-talynce-key", candidates=10, seed=1)
    linked = LinkedAccount.seeded("SoakMerge", "ws-merge-token", seed=2, candidates=10)
    gh_org = GreenhouseOrg.seeded(
        "SoakHarvest", partner_api_key="ws-pk", client_id="ws-client", client_secret="ws-secret"
    )
    return Upstreams(
        TalynceEmulator([talynce_org]),
        talynce_org,
        MergeEmulator("ws-merge-key", [linked]),
        linked,
        GreenhouseEmulator([gh_org]),
        gh_org,
    )


def accounts(ups: Upstreams, gates: dict[str, Gate]) -> tuple[AccountConfig, ...]:
    def url(provider: str) -> str:
        return f"http://127.0.0.1:{gates[provider].port}"

    # Retries on: Upstream may retry reads, never a write. A short breaker cooldown lets an
    # account whose gate was down come back within the soak.
    common: dict[str, Any] = {"retries": 3, "breaker_cooldown": 0.2}
    return (
        AccountConfig(
            id="talynce",
            name="Talynce",
            provider="talynce",
            base_url=url("talynce") + "/api/v1",
            credentials={"api_key": ups.talynce_org.api_key},
            **common,
        ),
        AccountConfig(
            id="merge",
            name="Merge",
            provider="merge",
            base_url=url("merge") + PREFIX,
            credentials={"api_key": "ws-merge-key", "account_token": "ws-merge-token"},
            options={"remote_user_id": ups.linked.remote_users[0]},
            **common,
        ),
        AccountConfig(
            id="harvest",
            name="Harvest",
            provider="greenhouse",
            base_url=url("harvest") + "/v3",
            credentials={"client_id": "ws-client", "client_secret": "ws-secret"},
            options={"api": "harvest", "user_id": ups.gh_org.users[0].id, "token_url": "/token"},
            **common,
        ),
    )


@dataclass
class Key:
    name: str
    provider: str
    email: str
    first: str | None = None  # "created:<id>", "matched:<id>" or an error code, once settled
    attempts: Counter[str] = field(default_factory=Counter)
    replays_differ: int = 0


def _answer(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    if errors:
        return str((errors[0].get("extensions") or {}).get("code", "NO_CODE"))
    payload = (body.get("data") or {}).get("createCandidate") or {}
    if payload.get("candidate"):
        kind = "created" if payload.get("created") else "matched"
        return f"{kind}:{payload['candidate']['id']}"
    return "userErrors:" + ",".join(str(e.get("code")) for e in payload.get("userErrors") or [])


async def _send(client: httpx.AsyncClient, key: Key) -> str:
    variables = {
        "input": {
            "account": key.provider,
            "firstName": "Soak",
            "lastName": key.name,
            "emails": [{"value": key.email, "type": "PERSONAL"}],
            "idempotencyKey": key.name,
        }
    }
    response = await client.post("/graphql", json={"query": CREATE, "variables": variables})
    return _answer(response.json())


def _settles(answer: str) -> bool:
    return answer == SETTLED or answer.startswith(("created:", "matched:", "userErrors:"))


async def drive(url: str, keys: list[Key], gates: dict[str, Gate], args: Any) -> int:
    """Rounds of creates until every key settles (or rounds run out); returns rounds used."""
    rng = random.Random(args.seed)
    limit = asyncio.Semaphore(args.concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def attempt(key: Key) -> None:
            async with limit:
                answer = await _send(client, key)
            key.attempts[answer.split(":")[0]] += 1
            if _settles(answer):
                key.first = answer

        rounds = 0
        for rounds in range(1, args.rounds + 1):
            pending = [k for k in keys if k.first is None]
            if not pending:
                break
            last = rounds == args.rounds
            for gate in gates.values():
                await (gate.down() if not last and rng.random() < args.down_rate else gate.up())
            await asyncio.sleep(0.05)  # the gateway sees the closed connections before sending
            await asyncio.gather(*(attempt(k) for k in pending))
        for gate in gates.values():
            await gate.up()
        await asyncio.sleep(0.05)

        async def replay(key: Key) -> None:
            async with limit:
                if await _send(client, key) != key.first:
                    key.replays_differ += 1

        settled = [k for k in keys if k.first is not None]
        for _ in range(args.repeats):
            await asyncio.gather(*(replay(k) for k in settled))
    for gate in gates.values():
        await gate.down()
    await asyncio.sleep(0.05)  # the forwarders see their connections close and end
    return rounds


def soak(args: Any) -> bool:
    ups = upstreams()
    ups.set_faults(args.fault_rate, args.seed)
    keys = [
        Key(f"ws-{args.seed}-{n}", PROVIDERS[n % len(PROVIDERS)], f"ws-{args.seed}-{n}@example.com")
        for n in range(args.keys)
    ]
    began = time.monotonic()
    with ExitStack() as stack:
        ports = {
            "talynce": stack.enter_context(serving(ups.talynce.app)),
            "merge": stack.enter_context(serving(ups.merge.app)),
            "harvest": stack.enter_context(serving(ups.greenhouse.app)),
        }
        gates = {provider: Gate(port) for provider, port in ports.items()}
        settings = Settings(accounts(ups, gates), cursor_secret=b"write-soak-cursor-secret")
        port = stack.enter_context(serving(create_app(settings), lifespan="on"))
        rounds = asyncio.run(drive(f"http://127.0.0.1:{port}", keys, gates, args))
    return report(ups, keys, rounds, time.monotonic() - began)


def report(ups: Upstreams, keys: list[Key], rounds: int, seconds: float) -> bool:
    writes = {k.name: ups.writes(k.provider, k.email) for k in keys}
    records = {k.name: ups.records(k.provider, k.email) for k in keys}
    firsts = Counter((k.first or "unsettled").split(":")[0] for k in keys)
    attempts: Counter[str] = Counter()
    for k in keys:
        attempts.update(k.attempts)
    settled = [k for k in keys if k.first == SETTLED or (k.first or "").startswith("created")]
    exact = all(writes[k.name] == 1 and records[k.name] == 1 for k in settled)
    at_most_one = all(writes[k.name] <= 1 and records[k.name] <= 1 for k in keys)
    same = sum(k.replays_differ for k in keys) == 0
    print(
        f"write soak: {len(keys)} keys over {', '.join(PROVIDERS)} · {rounds} rounds · "
        f"{seconds:.1f} s"
    )
    print(f"first settled answer per key: {dict(sorted(firsts.items()))}")
    print(f"answers to all attempts:      {dict(sorted(attempts.items()))}")
    print(f"upstream writes per key:      {dict(sorted(Counter(writes.values()).items()))}")
    print(f"upstream records per key:     {dict(sorted(Counter(records.values()).items()))}")
    for provider in PROVIDERS:
        mine = [k for k in keys if k.provider == provider]
        print(
            f"  {provider:<8} {len(mine)} keys · {sum(writes[k.name] for k in mine)} writes · "
            f"{sum(records[k.name] for k in mine)} records"
        )
    print(
        f"{'PASS' if exact else 'FAIL'}: exactly one upstream write and record for each of "
        f"the {len(settled)} keys answered with a success or {SETTLED}"
    )
    print(f"{'PASS' if at_most_one else 'FAIL'}: at most one for every key")
    print(f"{'PASS' if same else 'FAIL'}: every replay returned the key's first answer")
    return exact and at_most_one and same


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.write_soak", description=__doc__)
    parser.add_argument("--keys", type=int, default=90, help="idempotency keys (one each)")
    parser.add_argument("--rounds", type=int, default=25, help="most retry rounds")
    parser.add_argument("--repeats", type=int, default=2, help="replays of each settled key")
    parser.add_argument("--fault-rate", type=float, default=0.4, help="writes stored, then lost")
    parser.add_argument("--down-rate", type=float, default=0.3, help="rounds a gate refuses")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if not 0 < args.keys <= 100_000 or not 0 < args.rounds <= 1000:
        parser.error("--keys must be 1..100000 and --rounds 1..1000")
    sys.exit(0 if soak(args) else 1)


if __name__ == "__main__":
    main()
