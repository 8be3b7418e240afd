"""The processes `bench.subscribers` measures, started as production would run them: a
redis-server, the Greenhouse emulator (`bench.subscribers_emulator`), and replicas of
`python -m gateway serve --config FILE`, each a process of its own on the same Redis store,
with a webhook secret per account and one client key per account (scoped to it).
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import procfs
from bench.processes import Child, Children
from bench.stack import free_port, start_redis
from gateway.security import hash_key, new_key

__all__ = ["Account", "Replicas", "start_replicas"]

_HEALTH_TIMEOUT = 60.0
_PREFIX = "SUBS_BENCH"


@dataclass(frozen=True, slots=True)
class Account:
    """One gateway account: its Greenhouse organisation, webhook secret and tenant client key."""

    id: str
    hook_secret: str = field(repr=False)
    client_key: str = field(repr=False)
    candidates: tuple[int, ...]


@dataclass
class Replicas:
    redis: Child
    emulator: Child
    gateways: list[Child]
    accounts: list[Account]

    @property
    def urls(self) -> list[str]:
        return [gateway.url for gateway in self.gateways]

    def gateway_cpu(self) -> float:
        """CPU seconds so far of every gateway process (each replica's whole process tree)."""
        return sum(sum(procfs.tree_cpu_seconds(g.pid).values()) for g in self.gateways)

    def cpu_of(self, child: Child) -> float:
        return procfs.cpu_seconds(child.pid)


def _config(emulator_url: str, accounts: int, env: dict[str, str]) -> str:
    lines = [
        "[gateway]",
        f'store_url_env = "{_PREFIX}_REDIS_URL"',
        'store_prefix = "bench-subscribers"',
        f'cursor_secret_env = "{_PREFIX}_CURSOR"',
        "max_connections = 10000",
        "introspection = false",
        "",
    ]
    for index in range(accounts):
        name = f"{_PREFIX}_{index}"
        lines += [
            "[[accounts]]",
            f'id = "gh-{index}"',
            'provider = "greenhouse"',
            f'base_url = "{emulator_url}/v3"',
            f'client_id_env = "{name}_ID"',
            f'client_secret_env = "{name}_SECRET"',
            f'webhook_secret_env = "{name}_HOOK"',
            # Harvest's documented 50 calls per 10 s would hold fetches to 5 a second: the
            # emulator allows any rate, and so does this budget.
            "rate_limit = [1000000, 10]",
            f'options = {{ api = "harvest", user_id = "{env[name + "_USER"]}", '
            'token_url = "/token" }',
            "",
        ]
    for index in range(accounts):
        lines += [
            "[[clients]]",
            f'name = "tenant-{index}"',
            f'key_sha256 = "{env[f"{_PREFIX}_{index}_KEY_SHA"]}"',
            f'accounts = ["gh-{index}"]',
            "",
        ]
    return "\n".join(lines)


def _wait_healthy(url: str, child: Child) -> None:
    deadline = time.monotonic() + _HEALTH_TIMEOUT
    with httpx.Client(timeout=5) as http:
        while time.monotonic() < deadline and child.process.poll() is None:
            try:
                if http.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} is not healthy at {url}:\n{child.log_tail()}")


def start_replicas(
    children: Children,
    workdir: Path,
    *,
    replicas: int,
    accounts: int,
    candidates: int,
    profile: Path | None = None,
) -> Replicas:
    """Redis, the emulator, then `replicas` gateways; every one answers before this returns.
    With `profile`, the first replica runs under cProfile and writes its stats there on exit."""
    redis, redis_client = start_redis(children, workdir)
    redis_client.close()
    emulator = children.server(
        "emulator",
        "bench.subscribers_emulator",
        ["--orgs", str(accounts), "--candidates", str(candidates)],
    )
    env = {
        **os.environ,
        f"{_PREFIX}_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
        f"{_PREFIX}_CURSOR": secrets.token_hex(32),
    }
    found = []
    for index, org in enumerate(emulator.info["orgs"]):
        name = f"{_PREFIX}_{index}"
        hook, key = secrets.token_urlsafe(24), new_key()
        env |= {
            f"{name}_ID": org["client_id"],
            f"{name}_SECRET": org["client_secret"],
            f"{name}_USER": str(org["user_id"]),
            f"{name}_HOOK": hook,
            f"{name}_KEY_SHA": hash_key(key),
        }
        found.append(Account(f"gh-{index}", hook, key, tuple(org["candidates"])))
    config = workdir / "gateway.toml"
    config.write_text(_config(emulator.url, accounts, env))
    gateways = []
    for index in range(replicas):
        port = free_port()
        argv = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
        if profile is not None and index == 0:
            argv[1:1] = ["-m", "cProfile", "-o", str(profile)]
        child = children.program(
            f"gateway-{index}",
            [*argv, "--port", str(port)],
            {"port": port},
            stop_with_parent=True,
            env=env,
        )
        gateways.append(child)
    for child in gateways:
        _wait_healthy(child.url, child)
    return Replicas(redis, emulator, gateways, found)
