"""The Greenhouse emulator for `bench.subscribers`, in its own process: one organisation per
gateway account, each with candidates the webhooks name, so every event's object fetch (Harvest
v3) finds its candidate.

    python -m bench.subscribers_emulator --orgs 1 --candidates 50

prints one JSON line once it listens on a free loopback port: the port, and per organisation its
Harvest credentials (bench-only values), the user the token acts as and its candidate ids.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from bench.processes import announce, exit_with_parent, listening_socket
from emulators.greenhouse.app import GreenhouseEmulator
from emulators.greenhouse.store import GreenhouseOrg

__all__ = ["build", "main"]


def build(orgs: int, candidates: int) -> GreenhouseEmulator:
    """Deterministic organisations, distinct per index; no rate limit a bench run could meet."""
    built = []
    for index in range(orgs):
        org = GreenhouseOrg.seeded(
            f"Bench Org {index}",
            partner_api_key=f"bench-subs-partner-{index}",
            client_id=f"bench-subs-client-{index}",
            client_secret=f"bench-subs-secret-{index}",
            candidates=candidates,
            seed=100 + index,
        )
        org.rate_limit = (1_000_000, 1.0)
        built.append(org)
    return GreenhouseEmulator(built)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=1)
    parser.add_argument("--candidates", type=int, default=50)
    args = parser.parse_args(argv)
    emulator = build(args.orgs, args.candidates)
    sock = listening_socket()
    config = uvicorn.Config(emulator.app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    exit_with_parent(server)
    orgs = [
        {
            "client_id": org.client_id,
            "client_secret": org.client_secret,
            "user_id": org.users[0].id,
            "candidates": sorted(org.candidates),
        }
        for org in emulator.orgs
    ]
    announce({"port": sock.getsockname()[1], "orgs": orgs})
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
