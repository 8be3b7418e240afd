"""The least a Python gateway on this project's stack can spend on bench.peer's shapes.

`bench.peer --servers ...,floor` runs this beside Mesh and the gateway: uvicorn (the same
`loop` and `http` the gateway's `serve` picks) and one Starlette route, over the same upstream.
For each request it reads the body, makes the upstream calls the shape needs with the gateway's
own pooled client (`providers.upstream.transport.LeanClient`), decodes each answer with orjson
and sends back the rows it got, re-encoded. No GraphQL at all: no parsing, validation,
selection, record conversion, merging, cursors, error shaping, logging or limits. Whatever a
GraphQL gateway in Python on Starlette and uvicorn spends, it spends at least this; if this is
above a target, no change inside the gateway reaches it.

The shape is read from the query text the load sends (the gateway's own bodies): with
`candidates` it reads the list (shape L), and with `applications` each candidate's get-by-id
too, concurrently (shape A); otherwise it answers `{ __typename }` (shape F).

With `--strawberry` (bench.peer's `strawberry` server) the route is Strawberry's own ASGI view,
stock, over a one-field schema: `candidates(applications: Boolean!): JSON` makes the same calls
and returns the rows as one JSON value, so graphql-core completes one field and never walks the
rows. That is Strawberry's and graphql-core's cost per request on top of the floor: the least a
gateway built on them spends, before it maps a row or completes a field of one.

    python -m bench.peer_floor --port P --workers N --upstream URL [--strawberry]
    (the Talynce key in BENCH_TALYNCE_API_KEY)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import orjson
import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.scalars import JSON

from providers.upstream.transport import ConnectionPool, LeanClient

__all__ = ["app", "main", "strawberry_app"]

URL_ENV = "BENCH_FLOOR_UPSTREAM"
KEY_ENV = "BENCH_TALYNCE_API_KEY"
_TYPENAME = b'{"data":{"__typename":"Query"}}'
_LIST = {"search": None, "job_id": None, "limit": 20, "offset": 0}
"""The parameters the Talynce adapter sends for `candidates(first: 20)`."""


class Upstream:
    """One worker's client and the Talynce key header."""

    def __init__(self) -> None:
        pool = ConnectionPool(max_connections=10, timeout=30.0, max_response_bytes=10 << 20)
        self.client = LeanClient(os.environ[URL_ENV] + "/api/v1", pool)
        self.headers = {"Authorization": f"Bearer {os.environ[KEY_ENV]}"}

    async def data(self, url: str, params: dict[str, Any] | None = None) -> Any:
        reply = await self.client.request("GET", url, params=params, headers=self.headers)
        return orjson.loads(reply.content)["data"]


_upstream: list[Upstream] = []


async def candidates(applications: bool) -> list[Any]:
    """The list, and with `applications` each candidate's get-by-id, concurrently."""
    upstream = _upstream[0]
    rows: list[Any] = await upstream.data("candidates", _LIST)
    if applications:
        rows = await asyncio.gather(*(upstream.data(f"candidates/{row['id']}") for row in rows))
    return rows


async def graphql(request: Request) -> Response:
    query = orjson.loads(await request.body())["query"]
    if "candidates" not in query:
        return Response(_TYPENAME, media_type="application/json")
    rows = await candidates("applications" in query)
    body = orjson.dumps({"data": {"candidates": rows}})
    return Response(body, media_type="application/json")


@strawberry.type
class Query:
    @strawberry.field
    async def candidates(self, applications: bool) -> JSON:
        return cast("JSON", await candidates(applications))


STRAWBERRY_QUERIES = {
    "L": "{ candidates(applications: false) }",
    "A": "{ candidates(applications: true) }",
}
"""bench.peer's shapes in the one-field schema (F is `{ __typename }` in every schema)."""


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    _upstream.append(Upstream())
    try:
        yield
    finally:
        await _upstream.pop().client.aclose()


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)
strawberry_app = Starlette(
    routes=[Route("/graphql", GraphQL(strawberry.Schema(query=Query)), methods=["POST"])],
    lifespan=lifespan,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer_floor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--strawberry", action="store_true", help="Strawberry's stock view")
    args = parser.parse_args(argv)
    os.environ[URL_ENV] = args.upstream
    uvicorn.run(
        "bench.peer_floor:strawberry_app" if args.strawberry else "bench.peer_floor:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
