"""The soak's traffic: a client that mixes list pages, lookups and idempotent creates.

Runs inside the Python load generator (mode "soak"). Every answer is read the way a client
would: `errors[].extensions.code` is tallied, data with errors counts as partial, and a create
repeated with the same idempotency key must return the candidate the first one did.
"""

from __future__ import annotations

import json
import random
from typing import Any

import httpx

from bench.load import LoadSpec, Op, timed
from bench.scenarios import create_body, graphql_body, list_query, lookup_query
from bench.stats import Tally

__all__ = ["soak_op"]

LIST_SHARE = 0.5
LOOKUP_SHARE = 0.3
"""The rest are creates."""
FOLLOW_SHARE = 0.5
"""How often a list continues from the previous page rather than starting over."""
REPLAY_SHARE = 0.2
"""How often a create repeats the previous one, same key and input."""
LOOKUPS = 5
MAX_PAGES = 20


def soak_op(spec: LoadSpec, tally: Tally, worker: int) -> Op:
    rng = random.Random(worker)
    ids: list[str] = spec.options["ids"]
    tag: str = spec.options["tag"]
    list_doc = list_query(first=20, applications=True)
    state: dict[str, Any] = {"after": None, "pages": 0, "creates": 0}
    last_create: dict[str, Any] = {}
    first_results: dict[str, str | None] = {}

    def next_request() -> tuple[str, str]:
        roll = rng.random()
        if roll < LIST_SHARE:
            follow = state["after"] is not None and rng.random() < FOLLOW_SHARE
            after = state["after"] if follow else None
            return "list", graphql_body(list_doc, {"after": after})
        if roll < LIST_SHARE + LOOKUP_SHARE:
            return "lookup", graphql_body(lookup_query(rng.sample(ids, min(LOOKUPS, len(ids)))))
        if last_create and rng.random() < REPLAY_SHARE:
            return "replay", last_create["body"]
        n = state["creates"]
        state["creates"] += 1
        key = f"soak-{tag}-{worker}-{n}"
        accounts = spec.accounts
        body = create_body(
            account=accounts[n % len(accounts)],
            email_local=f"soak-{tag}-{worker}-{n}",
            idempotency_key=key,
        )
        last_create.update(key=key, body=body)
        tally.extra["create_keys"] += 1
        return "create", body

    def after_list(data: dict[str, Any] | None) -> None:
        listing = (data or {}).get("candidates") or {}
        info = listing.get("pageInfo") or {}
        state["pages"] += 1
        if info.get("hasNextPage") and state["pages"] < MAX_PAGES:
            state["after"] = info.get("endCursor")
        else:
            state.update(after=None, pages=0)

    def after_create(kind: str, data: dict[str, Any] | None) -> None:
        payload = (data or {}).get("createCandidate") or {}
        for problem in payload.get("userErrors") or ():
            tally.codes[f"userErrors:{problem.get('code')}"] += 1
        candidate = (payload.get("candidate") or {}).get("id")
        key = last_create["key"]
        if kind == "create":
            first_results[key] = candidate
        elif candidate is not None and first_results.get(key) is not None:
            same = candidate == first_results[key]
            tally.extra["replay_same" if same else "replay_differs"] += 1

    async def op(client: httpx.AsyncClient) -> None:
        kind, body = next_request()
        tally.extra[kind] += 1
        took, response = await timed(client, spec, tally, body)
        if response is None:
            tally.extra["failed_hard"] += 1
            tally.extra[f"failed_hard:{kind}"] += 1
            state.update(after=None, pages=0)
            return
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = {}
        errors = payload.get("errors") or []
        data = payload.get("data")
        for error in errors:
            code = (error.get("extensions") or {}).get("code", "NO_CODE")
            tally.codes[str(code)] += 1
            path = ".".join("*" if isinstance(p, int) else str(p) for p in error.get("path") or ())
            tally.extra[f"at:{code} at {path or '-'}{'' if data else ' (data: null)'}"] += 1
        usable = response.status_code == 200 and isinstance(data, dict) and any(data.values())
        outcome = "failed_hard" if not usable else "partial" if errors else "complete"
        tally.extra[outcome] += 1
        tally.extra[f"{outcome}:{kind}"] += 1
        tally.record(took, ok=usable and not errors)
        if kind == "list":
            after_list(data if usable else None)
        elif kind in ("create", "replay"):
            after_create(kind, data if isinstance(data, dict) else None)

    return op
