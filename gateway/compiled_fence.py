"""The fence around the compiled execution path: import it only when enabled, trust it only
once it answers a known document exactly as graphql-core does.

gateway.compiled reads graphql-core executor internals and Strawberry internals that change
between minor releases. pyproject.toml pins both to the ranges its differential tests pass on,
but an install can still end up outside them (a forced upgrade, a vendored copy). Rather than
answer wrongly, the gateway then runs on graphql-core alone, which is only slower, and says so
once in the log.
"""

from __future__ import annotations

import enum
import functools
import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["CHECK_DOCUMENT", "answer", "compiled_executor"]

logger = logging.getLogger("gateway")


class _Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


FenceLevel = strawberry.enum(_Level, name="FenceLevel")


@strawberry.type(name="FenceItem")
class _Item:
    name: str
    rank: int
    score: float | None
    level: FenceLevel  # type: ignore[valid-type]
    tags: list[str]

    @strawberry.field
    def label(self) -> str:
        return f"{self.name}#{self.rank}"

    @strawberry.field
    def broken(self) -> str | None:
        if self.rank == 2:
            raise ValueError("broken on purpose")
        return self.name


def _items() -> list[_Item]:
    return [
        _Item(
            name=f"n{rank}",
            rank=rank,
            score=rank / 4 if rank % 2 else None,
            level=_Level.HIGH if rank > 1 else _Level.LOW,
            tags=["t"] * rank,
        )
        for rank in range(4)
    ]


@strawberry.type(name="FenceQuery")
class _Query:
    @strawberry.field
    def items(self) -> list[_Item]:
        return _items()

    @strawberry.field
    def strict(self) -> list[_Item] | None:
        """A None in a non-null field: the error nulls the whole list, as graphql-core does."""
        items = _items()
        items[1].name = None  # type: ignore[assignment]
        return items


class _QuietSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """The check's errors are on purpose: not logged."""


CHECK_DOCUMENT = """
query Check {
  items { ...Item label broken }
  first: items { name ... on FenceItem { rank level } }
  strict { name rank }
}
fragment Item on FenceItem { __typename name rank score level tags }
"""
"""Lists of objects, resolvers, a named and an inline fragment, an alias, an enum, a resolver
error and null propagation: what the compiled path generates code for."""


def answer(executor: type[StrawberryGraphQLCoreExecutionContext] | None) -> Any:
    """CHECK_DOCUMENT's data and errors (message, path, locations) through `executor`, run three
    times so a compiling executor answers at least once from its generated code."""
    schema = _QuietSchema(query=_Query, execution_context_class=executor)
    answers = []
    for _ in range(3):
        result = schema.execute_sync(CHECK_DOCUMENT)
        errors = [
            (e.message, e.path, [(at.line, at.column) for at in e.locations or ()])
            for e in result.errors or ()
        ]
        answers.append((result.data, errors))
    return answers


@functools.cache
def compiled_executor() -> type[StrawberryGraphQLCoreExecutionContext] | None:
    """The compiled executor, or None (graphql-core) with one warning when it fails to import,
    fails on the check document or answers it differently from graphql-core."""
    try:
        from gateway.compiled import CompiledExecutor

        if answer(CompiledExecutor) != answer(None):
            reason = "it disagrees with graphql-core on the self-check document"
        else:
            return CompiledExecutor
    except ImportError as error:
        reason = f"it failed to import ({type(error).__name__})"
    except Exception as error:  # an ImportError, or the internals it reads having changed
        reason = f"its self-check failed ({type(error).__name__})"
    logger.warning(
        "compiled execution is off: %s; graphql-core executes every request "
        "(see README: Benchmarks, GraphQL execution)",
        reason,
    )
    return None
