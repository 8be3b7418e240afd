"""The compiled execution path answers exactly as graphql-core does: same data, same errors.

Three sources of operations: hypothesis-built selections over a schema made to break things
(wrong types, NaN, None in non-null fields, failing properties and resolvers, objects of the
wrong type, async fields), hypothesis-graphql queries over the gateway's own schema against the
emulator, and every query and mutation the rest of this test session sent to a gateway
(replayed last, mutations on fresh emulator state; see `conftest.OperationLog`).
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import strawberry
from graphql import OperationType, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema
from strawberry.extensions import ParserCache
from strawberry.schema.config import StrawberryConfig

from emulators.talynce import TalynceEmulator
from emulators.talynce import app as talynce
from gateway.app import build_accounts, create_app
from gateway.compiled import CompiledExecutor
from gateway.scalars import SCALARS, DateTime
from gateway.schema import build_schema
from gateway.settings import ConfigError, parse_settings
from resolvers.context import RequestContext
from resolvers.pagination import CursorCodec
from store.idempotency import MemoryIdempotencyStore
from tests.conftest import OperationLog, Stack, gateway_settings, make_orgs, whole_suite
from tests.servers import serve_in_thread

# --- a schema made to break things -------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


ColorType = strawberry.enum(Color, name="Color")


@strawberry.interface
class Thing:
    name: str | None


@strawberry.type
class Leaf(Thing):
    name: str | None
    count: int
    ratio: float | None
    flag: bool
    code: strawberry.ID | None
    color: ColorType  # type: ignore[valid-type]
    maybe_color: ColorType | None  # type: ignore[valid-type]
    tags: list[str]
    maybe_tags: list[str | None] | None
    colors: list[ColorType]  # type: ignore[valid-type]
    at: DateTime | None
    when: DateTime


class BrokenLeaf(Leaf):
    """A leaf whose `count` raises when read, as a faulty property would."""

    @property  # type: ignore[override]
    def count(self) -> int:
        raise ValueError("count is broken")


@strawberry.type
class Box:
    label: str
    leaf: Leaf
    maybe_leaf: Leaf | None
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    boxes: list[Box]

    @strawberry.field
    def shout(self) -> str:
        if self.label == "boom":
            raise RuntimeError("shout failed")
        return str(self.label).upper()

    @strawberry.field
    async def later(self) -> Leaf | None:
        await asyncio.sleep(0)
        return self.maybe_leaf

    @strawberry.field
    def picked(self) -> list[Leaf]:
        return self.leaves

    @strawberry.field
    async def picked_later(self) -> list[Leaf | None] | None:
        await asyncio.sleep(0)
        return self.maybe_leaves

    @strawberry.field
    def lazy_leaves(self) -> list[Leaf | None]:
        """Items that are awaitables, as a resolver may hand back."""
        if not isinstance(self.maybe_leaves, list | tuple):
            return self.maybe_leaves

        async def later(leaf: Any) -> Any:
            await asyncio.sleep(0)
            return leaf

        return [later(leaf) for leaf in self.maybe_leaves]  # type: ignore[misc]

    @strawberry.field
    def sub_boxes(self) -> list[Box]:
        return self.boxes


@strawberry.type
class HostileQuery:
    boxes: list[Box | None]
    box: Box


def make_leaf(values: dict[str, Any], broken: bool) -> Leaf:
    if broken:
        leaf = BrokenLeaf.__new__(BrokenLeaf)
        leaf.__dict__.update({k: v for k, v in values.items() if k != "count"})
        return leaf
    return Leaf(**values)


TEXT = st.sampled_from(["a", "", "Zoë", 5, 2.5, True, float("nan"), None, object()])
INT = st.sampled_from([1, -5, 0, 2**31, -(2**31), True, 2.0, 2.5, "7", None, float("inf")])
FLOAT = st.sampled_from([1.5, 3, 0.0, float("nan"), float("inf"), "2.5", None, True])
BOOL = st.sampled_from([True, False, 0, 1, None, "x"])
ID_ = st.sampled_from(["x", 5, 5.5, None, True])
COLOR = st.sampled_from([Color.RED, Color.BLUE, "red", "RED", None, 3])
INSTANT = st.sampled_from(
    [
        datetime(2026, 11, 24, 9, tzinfo=UTC),
        datetime(2026, 11, 24, 9, 30),
        "2026-11-24T14:30:00+05:30",
        "2026-11-24T09:00:00",
        "not a time",
        5,
        None,
    ]
)
SEQUENCE = st.sampled_from([list, tuple])


def lists_of(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.tuples(SEQUENCE, st.lists(items, max_size=3)).map(lambda t: t[0](t[1])),
        st.sampled_from([None, "abc", {"a"}, 7]),
    )


LEAVES = st.builds(
    make_leaf,
    st.fixed_dictionaries(
        {
            "name": TEXT,
            "count": INT,
            "ratio": FLOAT,
            "flag": BOOL,
            "code": ID_,
            "color": COLOR,
            "maybe_color": COLOR,
            "tags": lists_of(TEXT),
            "maybe_tags": lists_of(TEXT),
            "colors": lists_of(COLOR),
            "at": INSTANT,
            "when": INSTANT,
        }
    ),
    st.sampled_from([False, False, False, True]),
)
NOT_A_LEAF = st.sampled_from([None, {"name": "dict"}, "leaf", 3])
ANY_LEAF = st.one_of(LEAVES, LEAVES, NOT_A_LEAF)


def _boxes(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        Box,
        label=st.sampled_from(["a", "boom", None, 4]),
        leaf=ANY_LEAF,
        maybe_leaf=ANY_LEAF,
        leaves=lists_of(ANY_LEAF),
        maybe_leaves=lists_of(ANY_LEAF),
        boxes=st.one_of(st.lists(children, max_size=2), st.sampled_from([None, [None]])),
    )


BOXES = st.recursive(st.just(None), _boxes, max_leaves=4).filter(lambda b: b is not None)

LEAF_FIELDS = [
    "name",
    "count",
    "ratio",
    "flag",
    "code",
    "color",
    "maybeColor",
    "tags",
    "maybeTags",
    "colors",
    "at",
    "when",
    "__typename",
]


@st.composite
def leaf_selection(draw: st.DrawFn) -> str:
    fields = draw(st.lists(st.sampled_from(LEAF_FIELDS), min_size=1, max_size=5))
    parts = [draw(st.sampled_from(["", f"{field}_a: "])) + field for field in fields]
    if draw(st.booleans()):
        parts.append("... on Thing { name }")
    if draw(st.booleans()):
        parts.append("...LeafBits")
    return "{ " + " ".join(parts) + " }"


@st.composite
def box_selection(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(
            st.sampled_from(
                [
                    "label",
                    "shout",
                    "__typename",
                    "leaf",
                    "maybeLeaf",
                    "leaves",
                    "maybeLeaves",
                    "later",
                    "picked",
                    "pickedLater",
                    "lazyLeaves",
                    "boxes",
                    "subBoxes",
                ]
            )
        )
        if choice in ("label", "shout", "__typename"):
            parts.append(choice)
        elif choice in ("boxes", "subBoxes"):
            if depth < 2:
                parts.append(f"{choice} " + draw(box_selection(depth + 1)))
        else:
            alias = draw(st.sampled_from(["", f"{choice}_a: "]))
            parts.append(f"{alias}{choice} " + draw(leaf_selection()))
    return "{ " + " ".join(parts) + " }"


FRAGMENT = "fragment LeafBits on Leaf { count tags color }"
TEST_SCHEMAS = {
    compiled: strawberry.Schema(
        query=HostileQuery,
        types=[Leaf],
        execution_context_class=CompiledExecutor if compiled else None,
        config=StrawberryConfig(scalar_map=SCALARS),
        # As in the gateway: the same text parses to the same document, which plans key on.
        extensions=[lambda: ParserCache(maxsize=4096)],
    )
    for compiled in (False, True)
}


def outcome(result: Any) -> tuple[Any, list[tuple[str, str, str]]]:
    """Data, and errors in a stable order: sibling async fields may fail in either order."""
    errors = sorted(
        (
            json.dumps(e.path),
            e.message,
            json.dumps([(at.line, at.column) for at in e.locations or []]),
        )
        for e in result.errors or []
    )
    return result.data, errors


def same(a: Any, b: Any) -> bool:
    """Equality that counts NaN equal to itself (a float field can legitimately hold one)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


# graphql-core leaves the awaitable items of a list whose completion failed unawaited (and so
# does the compiled path, which hands such lists to it); Python warns about each one.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    boxes=st.lists(st.one_of(BOXES, st.none()), max_size=3),
    box=BOXES,
    selection=box_selection(),
    top=st.sampled_from(["boxes", "box"]),
)
def test_compiled_matches_graphql_core_on_hostile_data(
    boxes: list[Any], box: Any, selection: str, top: str
) -> None:
    query = f"{{ {top} {selection} }}"
    if "...LeafBits" in query:
        query += "\n" + FRAGMENT
    root = HostileQuery(boxes=boxes, box=box)
    expected = outcome(asyncio.run(TEST_SCHEMAS[False].execute(query, root_value=root)))
    # The first run of a document is graphql-core's; the second runs the compiled plans.
    for _ in range(2):
        got = outcome(asyncio.run(TEST_SCHEMAS[True].execute(query, root_value=root)))
        assert same(got[0], expected[0]), query
        assert got[1] == expected[1], query


def test_a_document_is_compiled_on_its_second_use() -> None:
    """A one-off document never pays for compiling; one used again runs compiled (and the
    differential test above would pass vacuously if nothing were ever compiled)."""
    box = Box(label="a", leaf=None, maybe_leaf=None, leaves=[], maybe_leaves=None, boxes=[])  # type: ignore[arg-type]
    root = HostileQuery(boxes=[], box=box)
    query = "{ box { label shout } boxes { label } }"
    plans = [len(CompiledExecutor.plans)]
    for _ in range(3):
        result = TEST_SCHEMAS[True].execute_sync(query, root_value=root)
        assert result.data == {"box": {"label": "a", "shout": "A"}, "boxes": []}
        plans.append(len(CompiledExecutor.plans))
    assert plans[1] == plans[0] and plans[2] > plans[1] and plans[3] == plans[2]


# --- the gateway's own schema, against the emulator --------------------------------------------


class Engines:
    """The gateway's schema twice, compiled and not, over one set of accounts."""

    def __init__(self, stack: Stack) -> None:
        settings = gateway_settings(stack.upstream, stack.orgs)
        self.accounts = build_accounts(settings)
        self.cursors = CursorCodec(settings.cursor_secret)
        self.schemas = {compiled: build_schema(compiled=compiled) for compiled in (False, True)}

    async def run(
        self, compiled: bool, query: str, variables: dict[str, Any] | None, operation: str | None
    ) -> tuple[Any, list[tuple[str, str, str]]]:
        context = RequestContext.create(
            self.accounts, self.cursors, MemoryIdempotencyStore(60), "differential"
        )
        result = await self.schemas[compiled].execute(
            query, variable_values=variables, context_value=context, operation_name=operation
        )
        data, errors = outcome(result)
        return _steady(data), errors

    async def agree(
        self, query: str, variables: dict[str, Any] | None = None, operation: str | None = None
    ) -> None:
        expected = await self.run(False, query, variables, operation)
        for _ in range(2):  # graphql-core's first run of the document, then the compiled one
            got = await self.run(True, query, variables, operation)
            assert same(got[0], expected[0]), query
            assert got[1] == expected[1], query


def _steady(value: Any) -> Any:
    """The answer without what depends on the clock (per-account latency)."""
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k != "latencyMs"}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


@pytest.fixture
async def engines(shared_stack: Stack) -> AsyncIterator[Engines]:
    pair = Engines(shared_stack)
    yield pair
    await pair.accounts.aclose()


GATEWAY_SDL = build_schema().as_str()


async def test_gateway_queries_match_graphql_core(engines: Engines) -> None:
    """Realistic selections, including fragments and aliases, on the live emulator data."""
    first = "query { candidates(first: 7) { edges { cursor node { id fullName } } pageInfo { endCursor } } }"
    await engines.agree(first)
    await engines.agree(
        """
        query Q($n: Int!) {
          candidates(first: $n, search: "a") {
            totalCount pageInfo { hasNextPage endCursor }
            sources { account { id name provider capabilities } status error { code message } }
            edges { cursor node { ...C applications { id status job { id name } candidate { id } } } }
          }
        }
        fragment C on Candidate {
          __typename id remoteId fullName firstName lastName emails { value type rawType }
          phones { value type } urls { value } addresses { value type } locations skills tags
          currentCompensation { amount currency period rawValue rawUnit }
          expectedCompensation { amount } experienceYears masked customFields remoteData
          account { id } ... on Node { id }
        }
        """,
        {"n": 25},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_generated_gateway_queries_match_graphql_core(
    engines: Engines, data: st.DataObject
) -> None:
    query = data.draw(from_schema(GATEWAY_SDL, fields=["candidates", "candidate", "accounts"]))
    await engines.agree(str(query))


# Distinct operations the whole suite sends, at the least (`conftest.OperationLog` gathers
# them from every xdist worker): full runs with `-n 2` replayed 281 queries and 42 mutations.
MIN_REPLAYED_QUERIES = 100
MIN_REPLAYED_MUTATIONS = 20
# Each replay is three runs on fresh tenants; the fuzzer alone sends ~120 mutations per mutation
# field. A fixed, spread-out selection keeps the replay's cost bounded as fields are added.
MAX_REPLAYED_MUTATIONS = 300


def _spread(
    operations: Iterator[tuple[str, dict[str, Any] | None, str | None]], most: int
) -> list[tuple[str, dict[str, Any] | None, str | None]]:
    """At most `most` operations, the same ones for the same session: those whose document and
    variables hash lowest, so every kind of mutation the session sent keeps its chance."""
    keyed = sorted(
        operations,
        key=lambda op: hashlib.sha256(
            json.dumps(op, sort_keys=True, default=str).encode()
        ).digest(),
    )
    return keyed[:most]


@pytest.mark.replay_last
async def test_every_query_of_the_session_matches_graphql_core(
    engines: Engines, request: pytest.FixtureRequest
) -> None:
    """Replays each distinct query operation the session's gateways received (mutations are
    replayed by the next test, on fresh state). Runs last; with a test selection it replays
    what that sent; under xdist, what every worker's tests had sent by then."""
    replayed = 0
    for query, variables, operation in _session_operations(OperationType.QUERY):
        await engines.agree(query, variables, operation)
        replayed += 1
    if OperationLog.bodies:
        assert replayed > 0
    if whole_suite(request.session):
        assert replayed >= MIN_REPLAYED_QUERIES, replayed


class FreshWorld:
    """The session's Talynce tenants as `make_orgs` seeds them, restored before every run, with
    the emulator's new ids and clock made deterministic: two runs of one mutation then write
    the same rows and can be compared. Each run also gets fresh accounts (no cached reads,
    breakers or budgets carried over)."""

    NOW = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)

    def __init__(self, emulator: TalynceEmulator, upstream: str) -> None:
        self.emulator, self.upstream = emulator, upstream
        self.ids = itertools.count()
        self.schemas = {compiled: build_schema(compiled=compiled) for compiled in (False, True)}

    def new_uuid(self) -> uuid.UUID:
        return uuid.UUID(int=next(self.ids))

    async def run(
        self, compiled: bool, query: str, variables: dict[str, Any] | None, operation: str | None
    ) -> tuple[Any, list[tuple[str, str, str]]]:
        orgs = make_orgs()
        self.emulator.orgs.clear()
        self.emulator.orgs.update({org.api_key: org for org in orgs.values()})
        self.ids = itertools.count()
        settings = gateway_settings(self.upstream, orgs)
        accounts = build_accounts(settings)
        try:
            context = RequestContext.create(
                accounts, CursorCodec(settings.cursor_secret), MemoryIdempotencyStore(60), "replay"
            )
            result = await self.schemas[compiled].execute(
                query, variable_values=variables, context_value=context, operation_name=operation
            )
        finally:
            await accounts.aclose()
        data, errors = outcome(result)
        return _steady(data), errors

    async def agree(
        self, query: str, variables: dict[str, Any] | None, operation: str | None
    ) -> None:
        expected = await self.run(False, query, variables, operation)
        for _ in range(2):  # graphql-core's first run of the document, then the compiled one
            got = await self.run(True, query, variables, operation)
            assert same(got[0], expected[0]), query
            assert got[1] == expected[1], query


@pytest.fixture
def fresh_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[FreshWorld]:
    emulator = TalynceEmulator(make_orgs().values())
    with serve_in_thread(emulator.app) as upstream:
        world = FreshWorld(emulator, upstream)
        monkeypatch.setattr(talynce, "uuid", SimpleNamespace(uuid4=world.new_uuid))
        monkeypatch.setattr(talynce, "_now", lambda: FreshWorld.NOW)
        yield world


async def test_a_replayed_mutation_writes_the_same_on_fresh_state(fresh_world: FreshWorld) -> None:
    """The replay below is only meaningful if two runs of one mutation give one answer."""
    create = """
    mutation($input: CreateCandidateInput!) {
      createCandidate(input: $input) {
        created
        candidate { id remoteId fullName emails { value } applications { id status job { id } } }
        warnings { field code message }
        userErrors { field code message }
      }
    }
    """
    variables = {
        "input": {
            "account": "acme",
            "fullName": "Ada Replay",
            "emails": [{"value": "ada@example.com"}],
        }
    }
    first = await fresh_world.run(False, create, variables, None)
    again = await fresh_world.run(True, create, variables, None)
    assert first == again and not first[1]
    assert first[0]["createCandidate"]["candidate"]["fullName"] == "Ada Replay"
    await fresh_world.agree(create, variables, None)


@pytest.mark.replay_last
async def test_every_mutation_of_the_session_matches_graphql_core(
    fresh_world: FreshWorld, request: pytest.FixtureRequest
) -> None:
    """Replays each distinct mutation the session's gateways received, each run against fresh
    tenants (see FreshWorld): same data, same errors from both paths."""
    replayed = 0
    for query, variables, operation in _spread(
        _session_operations(OperationType.MUTATION), MAX_REPLAYED_MUTATIONS
    ):
        await fresh_world.agree(query, variables, operation)
        replayed += 1
    if any(b"mutation" in body for body in OperationLog.bodies):
        assert replayed > 0
    if whole_suite(request.session):
        assert replayed >= MIN_REPLAYED_MUTATIONS, replayed


def _session_operations(
    kind: OperationType,
) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    for body in OperationLog.distinct():
        query, variables = body.get("query"), body.get("variables")
        operation = body.get("operationName")
        if not isinstance(query, str) or _kind(query, operation) != kind:
            continue
        if variables is not None and not isinstance(variables, dict):
            continue
        yield query, variables, operation if isinstance(operation, str) else None


def _kind(query: str, operation: Any) -> OperationType | None:
    try:
        document = parse(query)
    except Exception:
        return None
    for definition in document.definitions:
        if getattr(definition, "operation", None) is None:
            continue
        name = definition.name.value if definition.name else None  # type: ignore[attr-defined]
        if operation in (None, name):
            return definition.operation  # type: ignore[attr-defined,no-any-return]
    return None


async def test_compiled_execution_can_be_switched_off(shared_stack: Stack) -> None:
    """`[gateway] compiled_execution = false` is the escape hatch: graphql-core alone answers."""
    account = {
        "id": "acme",
        "name": "Acme",
        "provider": "talynce",
        "base_url": f"{shared_stack.upstream}/api/v1",
        "api_key_env": "ACME_KEY",
    }
    env = {"ACME_KEY": shared_stack.orgs["acme"].api_key}
    on = parse_settings({"accounts": [account]}, env)
    off = parse_settings({"gateway": {"compiled_execution": False}, "accounts": [account]}, env)
    assert on.compiled_execution and not off.compiled_execution
    with pytest.raises(ConfigError, match="compiled_execution"):
        parse_settings({"gateway": {"compiled_execution": "no"}, "accounts": [account]}, env)
    before = len(CompiledExecutor.plans)
    query = "{ candidates(first: 2) { edges { node { fullName emails { value } } } } }"
    for settings_ in (off, on):
        app = create_app(settings_)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
        ):
            for _ in range(2):
                answer = (await client.post("/graphql", json={"query": query})).json()
                assert len(answer["data"]["candidates"]["edges"]) == 2
        if settings_ is off:
            assert len(CompiledExecutor.plans) == before
    assert len(CompiledExecutor.plans) > before
