"""`python -m bench.subscribers`: live updates fanned out to many subscribers on two replicas.

A redis-server, the Greenhouse emulator, `--replicas` gateway processes on one Redis store
(`bench.subscribers_stack`), `--clients` subscriber processes holding `--subscribers`
subscriptions between them (half on each replica; graphql-transport-ws or SSE), and this
process sending signed Greenhouse webhooks (`update_candidate`) at a steady `--rate` for
`--duration` seconds, each to the next replica in turn. Events go round `--accounts` accounts;
subscriber `i` holds its account's tenant key and watches account `i % accounts`, so each event
is due to `subscribers / accounts` subscribers (`--accounts 1`: every subscriber gets every
event). Every event carries its object, fetched by each replica from the emulator.

Printed: deliveries expected and received, per-subscriber min/max, lost, duplicated, foreign
(another tenant's event), latency from the time the webhook was due to leave the sender to the
subscriber reading it (p50/p99/max), the gateways' CPU per event and per delivery (/proc), and
the command. Exits 1 on any loss, duplicate, foreign delivery or error.

    python -m bench.subscribers [--subscribers 1000] [--rate 100] [--duration 20]
                                [--transport ws|sse] [--accounts 1] [--replicas 2] [--clients 2]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.processes import Children, arm_parent_death_signal, raise_on_stop_signals
from bench.subscribers_stack import Account, Replicas, start_replicas
from bench.subscribers_stats import Outcome, Summary, account_of, event_time, merge, warm_time

__all__ = ["Options", "main", "run"]

QUERY = (
    "subscription { candidateChanged { kind id eventId occurredAt "
    "candidate { id firstName lastName } } }"
)
_READY_TIMEOUT = 120.0
_WARM_EVERY = 0.5
SENDERS = 64
_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Options:
    subscribers: int
    rate: float
    duration: float
    transport: str
    accounts: int
    replicas: int
    clients: int
    candidates: int
    drain: float
    keep: Path | None = None
    profile: Path | None = None

    @property
    def events(self) -> int:
        return int(self.rate * self.duration)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.subscribers", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of sending")
    parser.add_argument("--transport", choices=("ws", "sse"), default="ws")
    parser.add_argument("--accounts", type=int, default=1, help="tenants the events go round")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="subscriber processes")
    parser.add_argument("--candidates", type=int, default=50, help="per account")
    parser.add_argument("--drain", type=float, default=10.0, help="max seconds to await stragglers")
    parser.add_argument("--profile", type=Path, help="cProfile replica 0 into this file")
    parser.add_argument("--keep", type=Path, help="write logs and files here, and keep them")
    args = parser.parse_args(argv)
    if min(args.subscribers, args.accounts, args.replicas, args.clients, args.candidates) < 1:
        parser.error("counts must be positive")
    if args.rate <= 0 or args.duration <= 0:
        parser.error("--rate and --duration must be positive")
    return Options(
        args.subscribers,
        args.rate,
        args.duration,
        args.transport,
        args.accounts,
        args.replicas,
        args.clients,
        args.candidates,
        args.drain,
        args.keep,
        args.profile,
    )


class Webhooks:
    """Signed Greenhouse `update_candidate` deliveries, one per event, each dated distinctly, so
    each body differs (the gateway dedupes by a digest of the body) and subscribers know which
    event they got."""

    def __init__(self, http: httpx.AsyncClient, replicas: Replicas) -> None:
        self.http = http
        self.replicas = replicas
        self.run_id = secrets.token_hex(4)

    async def post(self, label: str, when: str, account: Account, candidate: int, url: str) -> bool:
        body = json.dumps(
            {
                "action": "update_candidate",
                "payload": {"candidate": {"id": candidate, "updated_at": when}},
            }
        ).encode()
        digest = hmac.new(account.hook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "content-type": "application/json",
            "Signature": f"sha256 {digest}",
            "Greenhouse-Event-ID": f"{self.run_id}-{label}",
        }
        try:
            answer = await self.http.post(
                f"{url}/webhooks/{account.id}", content=body, headers=headers
            )
        except httpx.HTTPError:
            return False
        return answer.status_code == 202 and answer.json().get("published") == 1

    def target(self, seq: int) -> tuple[Account, int, str]:
        """Event `seq`'s account, candidate and replica: accounts in turn, and each account's
        events to the replicas in turn."""
        accounts = self.replicas.accounts
        account = accounts[account_of(seq, len(accounts))]
        turn = seq // len(accounts)
        candidate = account.candidates[turn % len(account.candidates)]
        urls = self.replicas.urls
        return account, candidate, urls[turn % len(urls)]


class ClientProcess:
    """A `bench.subscribers_client` process and its latest status line."""

    def __init__(self, process: asyncio.subprocess.Process, count: int) -> None:
        self.process = process
        self.count = count
        self.status: dict[str, int] = {"connected": 0, "warm": 0, "received": 0, "closed": 0}
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            if line.startswith(b"{"):
                self.status = json.loads(line)

    async def stop(self, sends: Path, out: Path) -> tuple[list[Outcome], array[float]]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"stop {sends} {out}\n".encode())
        await self.process.stdin.drain()
        code = await asyncio.wait_for(self.process.wait(), 120)
        if code != 0:
            raise RuntimeError(f"subscriber client exited {code}")
        outcomes = [Outcome(**o) for o in json.loads(out.with_suffix(".json").read_text())]
        latencies: array[float] = array("d")
        latencies.frombytes(out.with_suffix(".lat").read_bytes())
        return outcomes, latencies


async def start_clients(options: Options, replicas: Replicas, workdir: Path) -> list[ClientProcess]:
    subscribers = [
        {
            "url": replicas.urls[i % options.replicas],
            "key": replicas.accounts[i % options.accounts].client_key,
            "account": i % options.accounts,
        }
        for i in range(options.subscribers)
    ]
    clients = []
    for c in range(options.clients):
        first, end = (n * len(subscribers) // options.clients for n in (c, c + 1))
        mine = subscribers[first:end]
        spec = workdir / f"client-{c}.spec.json"
        spec.write_text(
            json.dumps(
                {
                    "transport": options.transport,
                    "query": QUERY,
                    "accounts": options.accounts,
                    "subscribers": mine,
                }
            )
        )
        with (workdir / f"client-{c}.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.subscribers_client",
                str(spec),
                cwd=_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                preexec_fn=arm_parent_death_signal,
            )
        clients.append(ClientProcess(process, len(mine)))
    return clients


async def _until(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def warm_up(hooks: Webhooks, clients: list[ClientProcess]) -> int:
    """Sends warm-up events to every account until every subscriber has received one: then
    every subscription is reading the bus. Returns how many were sent."""
    sent = 0
    deadline = time.monotonic() + _READY_TIMEOUT
    while not all(c.status["warm"] >= c.count for c in clients):
        if time.monotonic() > deadline:
            raise RuntimeError(f"subscribers not all live: {[c.status for c in clients]}")
        for account in hooks.replicas.accounts:
            url = hooks.replicas.urls[sent % len(hooks.replicas.urls)]
            await hooks.post(f"warm-{sent}", warm_time(sent), account, account.candidates[0], url)
            sent += 1
        await asyncio.sleep(_WARM_EVERY)
    return sent


async def send_events(hooks: Webhooks, options: Options) -> tuple[list[float | None], float]:
    """Event `seq` is due at `start + seq / rate`, and that time is its send time (kept when
    the gateway accepts it): a gateway slow to take webhooks shows in the latency, not in a
    sender that quietly falls behind. At most `SENDERS` posts are in flight (httpcore's pool
    slows to a crawl with thousands queued); also returned, the latest a post left after its
    due time, in seconds."""
    sent_at: list[float | None] = [None] * options.events
    start = time.monotonic() + 0.1
    in_flight = asyncio.Semaphore(SENDERS)
    lag = 0.0

    async def one(seq: int) -> None:
        nonlocal lag
        account, candidate, url = hooks.target(seq)
        due = start + seq / options.rate
        async with in_flight:
            lag = max(lag, time.monotonic() - due)
            if await hooks.post(str(seq), event_time(seq), account, candidate, url):
                sent_at[seq] = due

    async with asyncio.TaskGroup() as group:
        for seq in range(options.events):
            delay = start + seq / options.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            group.create_task(one(seq))
    return sent_at, lag


@dataclass(frozen=True)
class Result:
    summary: Summary
    events: int
    accepted: int
    send_seconds: float
    send_lag_s: float
    gateway_cpu_s: float
    redis_cpu_s: float
    emulator_cpu_s: float

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self.summary), **{k: v for k, v in asdict(self).items() if k != "summary"}}


async def run(options: Options, workdir: Path) -> Result:
    with Children(workdir) as group:
        replicas = await asyncio.to_thread(
            start_replicas,
            group,
            workdir,
            replicas=options.replicas,
            accounts=options.accounts,
            candidates=options.candidates,
            profile=options.profile,
        )
        clients = await start_clients(options, replicas, workdir)
        try:
            await _until(
                lambda: all(c.status["connected"] >= c.count for c in clients),
                _READY_TIMEOUT,
                "subscribers to connect",
            )
            limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)
            async with httpx.AsyncClient(timeout=30, limits=limits) as http:
                hooks = Webhooks(http, replicas)
                await warm_up(hooks, clients)
                await asyncio.sleep(1.0)  # warm-up stragglers land before the count starts
                base = sum(c.status["received"] for c in clients)
                cpu = replicas.gateway_cpu()
                others = replicas.cpu_of(replicas.redis), replicas.cpu_of(replicas.emulator)
                began = time.monotonic()
                sent_at, lag = await send_events(hooks, options)
                send_seconds = time.monotonic() - began
            accepted = [seq for seq, when in enumerate(sent_at) if when is not None]
            per_account = [0] * options.accounts
            for i in range(options.subscribers):
                per_account[i % options.accounts] += 1
            expected = sum(per_account[account_of(seq, options.accounts)] for seq in accepted)
            last, still = -1, time.monotonic()
            while True:
                received = sum(c.status["received"] for c in clients) - base
                if received >= expected or time.monotonic() - still > options.drain:
                    break
                if received != last:
                    last, still = received, time.monotonic()
                await asyncio.sleep(0.25)
            gateway_cpu = replicas.gateway_cpu() - cpu
            redis_cpu = replicas.cpu_of(replicas.redis) - others[0]
            emulator_cpu = replicas.cpu_of(replicas.emulator) - others[1]
            sends = workdir / "sends.json"
            sends.write_text(json.dumps(sent_at))
            outcomes: list[Outcome] = []
            latencies: array[float] = array("d")
            for index, client in enumerate(clients):
                found, times = await client.stop(sends, workdir / f"client-{index}.out")
                outcomes += found
                latencies.extend(times)
            if options.profile is not None:  # cProfile writes its file as the process ends
                profiled = replicas.gateways[0].process
                profiled.send_signal(signal.SIGINT)
                await asyncio.to_thread(profiled.wait, 120)
        finally:
            for client in clients:
                if client.process.returncode is None:
                    client.process.kill()
                    await client.process.wait()
                client.reader.cancel()
    return Result(
        merge(outcomes, expected, latencies),
        options.events,
        len(accepted),
        send_seconds,
        lag,
        gateway_cpu,
        redis_cpu,
        emulator_cpu,
    )


def report(options: Options, result: Result, command: str) -> str:
    s = result.summary
    fan_out = options.subscribers / options.accounts
    per_event = result.gateway_cpu_s * 1000 / max(result.accepted, 1)
    per_delivery = result.gateway_cpu_s * 1000 / max(s.received, 1)

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    lines = [
        f"$ {command}",
        f"subscribers {s.subscribers} ({options.transport}, {options.clients} client processes) "
        f"on {options.replicas} replicas; {options.accounts} account(s), "
        f"{fan_out:g} subscribers per event",
        f"events sent {result.events} at {options.rate:g}/s over {result.send_seconds:.1f} s, "
        f"accepted {result.accepted} (a post left at most {result.send_lag_s * 1000:.0f} ms "
        "after its due time)",
        f"deliveries expected {s.expected}, received {s.received} "
        f"({s.received / max(result.send_seconds, 1e-9):.0f}/s)",
        f"per subscriber min {s.min_count} max {s.max_count}",
        f"lost {s.lost}  duplicated {s.duplicated}  foreign {s.foreign}  "
        f"errors {s.errors}  null objects {s.empty}",
        f"latency ms p50 {ms(s.p50_ms)}  p99 {ms(s.p99_ms)}  max {ms(s.max_ms)}",
        f"gateway CPU {result.gateway_cpu_s:.2f} s: {per_event:.2f} ms per event, "
        f"{per_delivery * 1000:.1f} us per delivery; redis {result.redis_cpu_s:.2f} s, "
        f"emulator {result.emulator_cpu_s:.2f} s",
    ]
    verdict = "OK" if s.clean and result.accepted == result.events else "FAILED"
    lines.append(f"result {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    raise_on_stop_signals()
    if options.keep is not None:
        options.keep.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(run(options, options.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="bench-subscribers-") as folder:
            result = asyncio.run(run(options, Path(folder)))
    command = "python -m bench.subscribers " + " ".join(sys.argv[1:] if argv is None else argv)
    print(report(options, result, command.strip()))
    clean = result.summary.clean and result.accepted == result.events
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
