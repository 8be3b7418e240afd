"""Query limits: counted as if fragments were expanded, in time linear in the document.

A document whose fragments spread the next one twice describes 2^levels fields in a few hundred
bytes; the limits must refuse it without ever walking that expansion, and nothing else in the
gateway may walk it either (a request that costs seconds of CPU stalls every other request
on the same event loop).
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_introspection_query,
    parse,
)

from gateway.limits import INTROSPECTION_FANNED, QueryLimits, Summary, summarize
from gateway.schema import build_schema
from gateway.settings import parse_settings
from tests.conftest import Stack

DEFAULTS = QueryLimits()
Shape = Callable[[int], str]


def doubling(levels: int) -> str:
    """The finding's document: each fragment spreads the next one twice."""
    parts = ["query{...F0}"]
    parts += [f"fragment F{i} on Query{{...F{i + 1} ...F{i + 1}}}" for i in range(levels)]
    return " ".join([*parts, f"fragment F{levels} on Query{{__typename}}"])


def fourfold(levels: int) -> str:
    parts = ["query{...F0}"]
    parts += [f"fragment F{i} on Query{{" + f"...F{i + 1} " * 4 + "}" for i in range(levels)]
    return " ".join([*parts, f"fragment F{levels} on Query{{__typename}}"])


def aliased(levels: int) -> str:
    """Every level adds an alias and doubles what is under it: aliases explode with fields."""
    parts = ["query{...F0}"]
    parts += [
        f"fragment F{i} on Query{{a{i}: accounts{{id}} ...F{i + 1} ...F{i + 1}}}"
        for i in range(levels)
    ]
    return " ".join([*parts, f"fragment F{levels} on Query{{__typename}}"])


def nested(levels: int) -> str:
    """Two fragments per level, each spreading both of the next level inside a field."""
    parts = ["query{accounts{...A0 ...B0}}"]
    for i in range(levels):
        parts += [f"fragment {x}{i} on Account{{id name ...A{i + 1} ...B{i + 1}}}" for x in "AB"]
    return " ".join(
        [*parts, f"fragment A{levels} on Account{{id}}", f"fragment B{levels} on Account{{id}}"]
    )


def deep(levels: int) -> str:
    """A fragment bomb under a list field, inside the depth limit."""
    parts = ["query{candidates(first: 100){edges{node{...F0}}}}"]
    parts += [
        f"fragment F{i} on Candidate{{...F{i + 1} ...F{i + 1} applications{{id}}}}"
        for i in range(levels)
    ]
    return " ".join([*parts, f"fragment F{levels} on Candidate{{id}}"])


def largest(shape: Shape, max_tokens: int = DEFAULTS.max_tokens) -> str:
    """`shape` with as many levels as the token limit lets through."""
    low, high = 1, 2
    while fits(shape(high), max_tokens):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(shape(middle), max_tokens) else (low, middle)
    return shape(low)


def fits(document: str, max_tokens: int) -> bool:
    try:
        parse(document, max_tokens=max_tokens)
    except GraphQLSyntaxError:
        return False
    return True


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    """Fails a test that would otherwise run for hours (the exponential walk) instead of
    hanging the suite."""

    def expired(*_: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


SHAPES = [doubling, fourfold, aliased, nested, deep]
BOMBS = {"finding": doubling(20)} | {shape.__name__: largest(shape) for shape in SHAPES}


@pytest.mark.parametrize("document", BOMBS.values(), ids=BOMBS.keys())
async def test_fragment_bombs_up_to_the_token_limit_are_refused_at_once(document: str) -> None:
    schema = build_schema()
    await schema.execute("{ __typename }")  # the first execution of a schema warms caches up
    # A full collection of the test session's heap can land inside the measured call and cost
    # more than the analysis itself; what is measured here is the gateway's own work.
    gc.collect()
    gc.disable()
    try:
        with at_most(10):
            started = time.process_time()
            result = await schema.execute(document)
            spent = time.process_time() - started
    finally:
        gc.enable()
    assert result.data is None
    assert result.errors and {e.extensions["code"] for e in result.errors if e.extensions} == {
        "QUERY_TOO_COMPLEX"
    }, result.errors
    # 30-40 ms on a quiet machine for 3000 tokens, most of it graphql-core parsing them; the
    # old walk needed 1-2 s for the finding's 21 levels and doubled with each one. Under a
    # tracer (`make test` measures coverage) every Python line costs about three times more.
    bound = 0.05 * (4 if sys.gettrace() is not None else 1)
    assert spent < bound, f"{spent * 1000:.1f} ms of CPU"


def test_the_finding_s_document_is_refused_with_counts_that_stay_small() -> None:
    [summary] = summarize(parse(doubling(300))).values()
    assert summary.fields == summary.cost and summary.fields >= DEFAULTS.max_fields
    assert summary.fields < 10**16  # saturated, not 2^300
    [small] = summarize(parse(doubling(10))).values()
    assert small == Summary(depth=1, aliases=0, fields=1024, cost=1024)


def expanded(document: str) -> Summary:
    """The reference: walk the expansion itself (only for small documents)."""
    tree = parse(document)
    fragments = {d.name.value: d for d in tree.definitions if isinstance(d, FragmentDefinitionNode)}
    [operation] = [d for d in tree.definitions if isinstance(d, OperationDefinitionNode)]
    tally = {"depth": 0, "aliases": 0, "fields": 0, "cost": 0, "introspection": 0}

    def walk(
        selections: SelectionSetNode | None, depth: int, weight: int, inside: bool, seen: int = 0
    ) -> None:
        """`seen`: inside introspection, the fan-out its lists above have multiplied."""
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                name = selection.name.value
                tally["aliases"] += selection.alias is not None
                tally["fields"] += 1
                if name.startswith("__") or inside:
                    tally["cost"] += 0 if inside else weight
                    tally["depth"] = max(tally["depth"], depth + (0 if inside else 1))
                    here = 0
                    if inside:
                        here = seen * INTROSPECTION_FANNED.get(name, 1)
                    elif name in ("__schema", "__type"):
                        here = weight
                    tally["introspection"] += here
                    walk(selection.selection_set, depth, weight, True, here)
                    continue
                inner = weight * {"applications": 10, "stages": 10}.get(name, 1)
                if name in ("candidates", "jobs") or (
                    name == "applications" and selection.arguments
                ):
                    firsts = [a for a in selection.arguments if a.name.value == "first"]
                    inner = weight * (int(getattr(firsts[0].value, "value", 100)) if firsts else 20)
                if name == "nodes":
                    [ids] = [a for a in selection.arguments if a.name.value == "ids"]
                    inner = weight * len(getattr(ids.value, "values", [None] * 100))
                tally["cost"] += inner
                tally["depth"] = max(tally["depth"], depth + 1)
                walk(selection.selection_set, depth + 1, inner, False)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, depth, weight, inside, seen)
            elif isinstance(selection, FragmentSpreadNode):
                walk(fragments[selection.name.value].selection_set, depth, weight, inside, seen)

    walk(operation.selection_set, 0, 1, False)
    return Summary(**tally)


@pytest.mark.parametrize(
    "document",
    [
        "{ accounts { id name } }",
        "{ a: accounts { id } b: accounts { x: id } }",
        "{ candidates(first: 7) { totalCount edges { node { id applications { id job { id } } } } } }",
        "query($n: Int) { candidates(first: $n) { edges { node { id } } } }",
        "fragment F on Query { a: accounts { id } } fragment G on Query { ...F ...F b: accounts { id } } { ...G ...G ...F }",
        "fragment C on Candidate { id applications { id candidate { ...D } } } fragment D on Candidate { fullName } "
        "{ candidates(first: 3) { edges { node { ...C ... on Candidate { ...D applications { id } } } } } }",
        "{ __typename accounts { __typename id } }",
        "{ jobs(first: 9) { edges { node { id stages { id name } candidates(first: 4) "
        "{ edges { node { id applications { job { name } } } } } } } } }",
        "query($n: Int) { jobs(first: $n) { totalCount edges { node { name } } } }",
        '{ nodes(ids: ["a", "b", "c"]) { id ... on Job { stages { id } } } }',
        '{ applications(first: 6, jobId: "j") { edges { node { id candidate { applications '
        "{ id } } } } } }",
        "query($n: Int) { applications(first: $n) { edges { node { stage { id name } } } } }",
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        doubling(6),
        aliased(5),
        nested(4),
        deep(3),
        get_introspection_query(),
        '{ __type(name: "Job") { fields { type { fields { name } } } } a: __schema { types { name } } }',
    ],
)
def test_the_summary_equals_a_walk_of_the_expansion(document: str) -> None:
    [summary] = summarize(parse(document)).values()
    assert summary == expanded(document)


async def test_leaf_fields_count_in_the_cost() -> None:
    """100 candidates of 200 values each are 20 000 values to fetch and send, not 300 objects."""
    leaves = " ".join(["id"] * 200)
    document = f"{{ candidates(first: 100) {{ edges {{ node {{ {leaves} }} }} }} }}"
    result = await build_schema().execute(document)
    assert result.errors and [e.message for e in result.errors] == [
        "query cost 20300 is over the limit of 20000"
    ]


@pytest.mark.parametrize(
    "document",
    [
        "{ jobs(first: 100) { edges { node { candidates(first: 100) { edges { node { id } } } } } } }",
        "{ jobs(first: 100) { edges { node { " + " ".join(["id"] * 200) + " } } } }",
        "{ applications(first: 100) { edges { node { " + " ".join(["id"] * 200) + " } } } }",
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Job { stages { "
        + " ".join(["id"] * 20)
        + " } } } }",
    ],
)
async def test_jobs_nodes_stages_and_job_candidates_are_costed_like_candidates(
    document: str,
) -> None:
    """Each asks the gateway for far more than 20 000 values, and is refused before a call."""
    result = await build_schema().execute(document)
    assert result.errors and result.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX"}
    assert "cost" in result.errors[0].message


async def test_fields_after_expansion_have_their_own_limit() -> None:
    document = "fragment F on Query { " + "accounts { id } " * 10 + "} { " + "...F " * 30 + "}"
    [summary] = summarize(parse(document)).values()
    assert summary.fields == 600 and summary.depth == 2 and summary.aliases == 0
    strict = build_schema(QueryLimits(max_fields=599, max_cost=10**6))
    refused = await strict.execute(document)
    assert refused.errors and refused.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX"}
    assert refused.errors[0].message == "query fields 600 is over the limit of 599"
    allowed = await build_schema(QueryLimits(max_fields=600, max_cost=10**6)).execute(document)
    assert not allowed.errors or all(
        e.extensions is None or e.extensions.get("code") != "QUERY_TOO_COMPLEX"
        for e in allowed.errors
    )


def test_fragment_cycles_end_and_are_left_to_validation() -> None:
    document = "fragment A on Query { accounts { id } ...B } fragment B on Query { ...A } { ...A }"
    [summary] = summarize(parse(document)).values()
    assert summary.fields == 2
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(5000))
    [long] = summarize(
        parse(f"{{ ...F0 }} {chain} fragment F5000 on Query {{ id: __typename }}")
    ).values()
    assert long == Summary(depth=1, aliases=1, fields=1, cost=1)  # no RecursionError either


async def test_limit_errors_come_alone_and_before_other_validation() -> None:
    """Over a limit, nothing else looks at the document (graphql-core's rules are linear but
    slow: tens of milliseconds for 3000 tokens)."""
    document = "{ " + " ".join(f"a{i}: nope {{ id }}" for i in range(31)) + " }"
    result = await build_schema().execute(document)
    assert [e.message for e in result.errors or ()] == ["query aliases 31 is over the limit of 30"]


def test_max_fields_is_a_gateway_setting() -> None:
    data = tomllib.loads(
        """
        [gateway]
        max_fields = 750
        [[accounts]]
        id = "acme"
        name = "Acme"
        provider = "talynce"
        base_url = "https://talynce.example/api/v1"
        api_key_env = "ACME_KEY"
        """
    )
    settings = parse_settings(data, {"ACME_KEY": "k"})
    assert settings.limits.max_fields == 750
    assert DEFAULTS.max_fields == 2000


def test_healthz_answers_while_a_fragment_bomb_is_refused(shared_stack: Stack) -> None:
    """The bomb used to hold the gateway's event loop for as long as its walk took."""
    bomb = doubling(24)  # 2^24 fields: the old walk held the loop for about 30 s

    async def race() -> tuple[httpx.Response, list[float]]:
        async with httpx.AsyncClient(base_url=shared_stack.url, timeout=5) as client:
            sent = asyncio.ensure_future(client.post("/graphql", json={"query": bomb}))
            waits = []
            for _ in range(5):
                started = time.perf_counter()
                health = await client.get("/healthz")
                waits.append(time.perf_counter() - started)
                assert health.json() == {"status": "ok"}
            return await sent, waits

    answer, waits = asyncio.run(race())
    assert answer.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert max(waits) < 1.0, waits
