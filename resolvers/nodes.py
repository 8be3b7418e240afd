"""`node(id)` and `nodes(ids)`: any object by global ID, batched per account.

Each id goes through the request's loaders, so the ids of one `nodes` call (and of any other
field of the request) that belong to one account are fetched in one batch per kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

from resolvers.candidates import (
    FoundApplication,
    FoundCandidate,
    find_candidate,
    get_application,
)
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.ids import GlobalId, decode_id
from resolvers.jobs import FoundJob, find_job

__all__ = ["MAX_NODES", "Found", "get_node", "get_nodes"]

MAX_NODES = 100

Found = FoundCandidate | FoundApplication | FoundJob


async def _find(context: RequestContext, gid: GlobalId) -> Found | None:
    if gid.kind == "Candidate":
        return await find_candidate(context, gid)
    if gid.kind == "Application":
        return await get_application(context, gid)
    if gid.kind == "Job":
        return await find_job(context, gid)
    return None


async def get_node(context: RequestContext, id: str) -> Found | None:
    return await _find(context, decode_id(id))


def get_nodes(context: RequestContext, ids: Sequence[str]) -> list[Awaitable[Found | None]]:
    """One awaitable per id, in order; every id is checked before any is fetched. Awaited
    together they batch per account, and one that fails fails only its own entry."""
    if len(ids) > MAX_NODES:
        raise BadUserInput(f"ids holds more than {MAX_NODES} IDs", field=("ids",))
    gids = [decode_id(value, field=f"ids[{n}]") for n, value in enumerate(ids)]
    return [_find(context, gid) for gid in gids]
