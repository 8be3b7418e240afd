"""A compiled execution path: per document, generated Python that builds the response from records.

graphql-core completes every field through the same generic calls (build the resolve info, call
the resolver, inspect the return type, serialize), about 5 µs a field; scenario A's answer has
about a thousand. Most of those fields are plain attributes of a record. For each selection set
of an object type, once per document (on its second use), this module generates a function
that reads those attributes directly and writes the response dict, with the serialization of
the built-in scalars inlined where it is the identity.

The generated code only ever takes a shortcut where the shortcut's result is the one graphql-core
would produce; anything else goes to graphql-core's own methods on the same executor:
- fields with resolvers (root fields, `applications`, `cursor`, introspection) run through
  `Executor.execute_field`, and their values come back here once completed;
- a value the inlined checks do not cover (None for a non-null field, a float that is not finite,
  an unexpected class, abstract types, nested lists) is completed by `Executor.complete_value`;
- every error goes through `Executor.handle_field_error` with the path graphql-core would give,
  so messages, locations, paths and null propagation are graphql-core's.
Selections with directives (@skip, @include) and executors with middleware are not compiled.
`tests/test_compiled.py` holds the differential tests that keep this true. The internals this
reads are why pyproject.toml pins graphql-core and Strawberry to the tested minor ranges, and why
only `gateway.compiled_fence` imports this module: when enabled, and after a self-check.
"""

from __future__ import annotations

import keyword
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_subfields
from graphql.execution.executor import collect_iterator_awaitables
from graphql.pyutils import Path, gather_with_cancel
from graphql.type.scalars import (
    serialize_boolean,
    serialize_float,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter

from gateway.scalars import rfc3339

__all__ = ["CompiledExecutor"]

Completer = Callable[[Any, Any, Path, Any], Any]
"""(executor, source object, its path, position context) → response dict, or an awaitable."""

MAX_PLANS = 4096
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
STRAWBERRY_IS_TYPE_OF = "_get_is_type_of.<locals>.is_type_of"
TOTAL_SERIALIZERS: frozenset[Callable[[Any], Any]] = frozenset({rfc3339})
"""Custom scalars' serializers that are pure functions of the value, called inline."""


def _has_directives(
    selection_set: SelectionSetNode | None, fragments: dict[str, Any], seen: set[str]
) -> bool:
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if selection.directives:
            return True
        if isinstance(selection, FieldNode | InlineFragmentNode):
            if _has_directives(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            seen.add(name)
            if _has_directives(fragments[name].selection_set, fragments, seen):
                return True
    return False


def _leaf_check(named: Any, var: str) -> str | None:
    """A condition under which `coerce_output_value(var)` is `var` itself, or None."""
    coerce = getattr(named, "coerce_output_value", None)
    if coerce is serialize_string or coerce is serialize_id:
        return f"{var}.__class__ is str"
    if coerce is serialize_boolean:
        return f"{var}.__class__ is bool"
    if coerce is serialize_int:
        return f"({var}.__class__ is int and {INT_MIN} <= {var} <= {INT_MAX})"
    if coerce is serialize_float:
        return f"({var}.__class__ is float and _isfinite({var}))"
    return None


class _Source:
    """The text of one generated module and the constants its code refers to by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {
            "_Path": Path,
            "_Undefined": Undefined,
            "_isfinite": math.isfinite,
        }
        self._counter = 0

    def name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def constant(self, prefix: str, value: Any) -> str:
        name = self.name(prefix)
        self.constants[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


class _Compiler:
    """Generates the completer of one object type's selection, and of the plain-attribute objects
    nested under it; fields with resolvers are left to the executor, which comes back to a plan
    for whatever object they return."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.schema = executor.schema
        self.source = _Source()

    def compile(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> Completer:
        entry = self.object_function(object_type, details)
        namespace = dict(self.source.constants)
        code = "\n".join(self.source.lines)
        exec(compile(code, f"<compiled {object_type.name}>", "exec"), namespace)
        completer: Completer = namespace[entry]
        return completer

    def object_function(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> str:
        """Emits the function completing `object_type` for this selection; returns its name."""
        ex = self.executor
        grouped, _defer_usages, _forbidden = collect_subfields(
            self.schema,
            ex.fragments,
            ex.variable_values,
            ex.operation,
            object_type,
            details,
            ex.hide_suggestions,
        )
        parent = self.source.constant("T", object_type)
        typename = repr(object_type.name)
        lines: list[str] = []
        for key, field_details in grouped.items():
            field_name = field_details[0].node.name.value
            if field_name == "__typename":
                lines.append(f"d[{key!r}] = {typename}")
                continue
            field_def = self.schema.get_field(object_type, field_name)
            if field_def is not None:
                lines.extend(self.field_lines(parent, typename, key, field_def, field_details))
        name = self.source.name(f"complete_{object_type.name}_")
        emit = self.source.emit
        emit(0, f"def {name}(ex, src, path, pc):")
        emit(1, "is_awaitable = ex.is_awaitable")
        emit(1, "d = {}")
        emit(1, "pending = []")
        emit(1, "try:")
        for line in lines or ["pass"]:
            emit(2, line)
        emit(1, "except Exception:")
        emit(2, "if pending:")
        emit(3, "ex.settle_in_background([d[key] for key in pending])")
        emit(2, "raise")
        emit(1, "if not pending:")
        emit(2, "return d")
        emit(1, "return ex.gather_fields(d, pending)")
        emit(0, "")
        return name

    def field_lines(
        self,
        parent: str,
        typename: str,
        key: str,
        field_def: GraphQLField,
        details: FieldDetailsList,
    ) -> list[str]:
        k = repr(key)
        fdl = self.source.constant("D", details)
        path = f"_Path(path, {k}, {typename})"
        python_name = _plain_attribute(field_def)
        if python_name is None:
            return [
                f"r = ex.execute_field({parent}, src, {fdl}, {path}, pc)",
                "if r is not _Undefined:",
                f"    d[{k}] = r",
                "    if is_awaitable(r):",
                f"        pending.append({k})",
            ]
        field = self.source.constant("F", field_def)
        read = (
            f"src.{python_name}"
            if python_name.isidentifier() and not keyword.iskeyword(python_name)
            else f"getattr(src, {python_name!r})"
        )
        lines = [
            "try:",
            f"    v = {read}",
            "except Exception as error:",
            f"    ex.handle_field_error(error, {field}.type, {fdl}, {path})",
            "    c = None",
            "else:",
        ]
        slow = [
            f"c = ex.complete_resolved({parent}, {field}, {fdl}, {path}, v, pc)",
            "if is_awaitable(c):",
            f"    pending.append({k})",
        ]
        return_type = field_def.type
        non_null = isinstance(return_type, GraphQLNonNull)
        fast = self.fast_value(_nullable(return_type))
        pure = None if fast is not None else self.pure_leaf(_nullable(return_type))
        call = (
            None
            if fast is not None or pure is not None
            else self.fast_call(_nullable(return_type), parent, field, fdl, path, details)
        )
        if pure is not None:
            inner = [
                "try:",
                f"    s = {pure}(v)",
                "except Exception:",
                "    s = None",
                "if s is not None and s is not _Undefined:",
                "    c = s",
                "else:",
            ]
            inner += ["    " + line for line in slow]
            if not non_null:
                lines += ["    if v is None:", "        c = None", "    else:"]
                inner = ["    " + line for line in inner]
            lines += ["    " + line for line in inner]
        elif fast is not None:
            condition, produce = fast
            if not non_null:
                condition = f"v is None or {condition}"
                if produce != "v":
                    produce = f"None if v is None else {produce}"
            lines += [f"    if {condition}:", f"        c = {produce}", "    else:"]
            lines += ["        " + line for line in slow]
        elif call is not None:
            condition, produce = call
            branch = "if"
            if not non_null:
                lines += ["    if v is None:", "        c = None"]
                branch = "elif"
            lines += [
                f"    {branch} {condition}:",
                "        try:",
                f"            c = {produce}",
                "        except Exception as error:",
                f"            ex.handle_field_error(error, {field}.type, {fdl}, {path})",
                "            c = None",
                "        else:",
                "            if is_awaitable(c):",
                f"                c = ex.await_field(c, {field}.type, {fdl}, {path})",
                f"                pending.append({k})",
                "    else:",
            ]
            lines += ["        " + line for line in slow]
        else:
            lines += ["    " + line for line in slow]
        lines.append(f"d[{k}] = c")
        return lines

    def fast_value(self, named: GraphQLOutputType) -> tuple[str, str] | None:
        """(condition on `v`, expression) where completing `v` cannot fail or await."""
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            leaf = self.leaf(named, "v")
            return leaf
        if isinstance(named, GraphQLList):
            item_type = named.of_type
            item = _nullable(item_type)
            if not isinstance(item, GraphQLScalarType | GraphQLEnumType):
                return None
            leaf = self.leaf(item, "x")
            if leaf is None:
                return None
            check, produce = leaf
            if not isinstance(item_type, GraphQLNonNull):
                check = f"(x is None or {check})"
                produce = produce if produce == "x" else f"(None if x is None else {produce})"
            sequence = "(v.__class__ is list or v.__class__ is tuple)"
            return (
                f"{sequence} and all([{check} for x in v])",
                "list(v)" if produce == "x" else f"[{produce} for x in v]",
            )
        return None

    def pure_leaf(self, named: GraphQLOutputType) -> str | None:
        """The name of a custom scalar's serializer that may be called inline: a pure one, so
        when it fails or gives None (an error in graphql-core) graphql-core can call it again."""
        if not isinstance(named, GraphQLScalarType):
            return None
        coerce = named.coerce_output_value
        if coerce not in TOTAL_SERIALIZERS:
            return None
        return self.source.constant("S", coerce)

    def leaf(self, named: GraphQLOutputType, var: str) -> tuple[str, str] | None:
        if isinstance(named, CustomGraphQLEnumType):
            table = _enum_table(named)
            if table is None:
                return None
            cls = self.source.constant("W", named.wrapped_cls)
            names = self.source.constant("N", table)
            return f"{var}.__class__ is {cls}", f"{names}[{var}]"
        check = _leaf_check(named, var)
        return None if check is None else (check, var)

    def fast_call(
        self,
        named: GraphQLOutputType,
        parent: str,
        field: str,
        fdl: str,
        path: str,
        details: FieldDetailsList,
    ) -> tuple[str, str] | None:
        """(condition on non-null `v`, a call completing it that may raise or await)."""
        if isinstance(named, GraphQLObjectType):
            check = self.is_type_of(named, "v")
            if check is None:
                return None
            child = self.object_function(named, details)
            return check, f"{child}(ex, v, {path}, pc)"
        if isinstance(named, GraphQLList):
            item_type = named.of_type
            item = _nullable(item_type)
            if not isinstance(item, GraphQLObjectType):
                return None
            check = self.is_type_of(item, "x")
            if check is None:
                return None
            child = self.object_function(item, details)
            item_const = self.source.constant("I", item_type)
            is_type_of = self.source.constant("IT", item.is_type_of)
            sequence = "(v.__class__ is list or v.__class__ is tuple)"
            return (
                sequence,
                f"ex.complete_objects(v, {child}, {is_type_of}, {item_const}, {field}, "
                f"{fdl}, {path}, pc, {parent})",
            )
        return None

    def is_type_of(self, object_type: GraphQLObjectType, var: str) -> str | None:
        """A condition equal to graphql-core's `is_type_of` check for this type, or None."""
        is_type_of = object_type.is_type_of
        if is_type_of is None:
            return "True"
        if _is_strawberry_check(is_type_of):
            fn = self.source.constant("IT", is_type_of)
            return f"{fn}({var}, None) is True"
        return None


async def _fill_in(container: Any, pending: Sequence[Any]) -> Any:
    """Replaces the awaitables at `pending` keys of a response dict or list with their values,
    in place; a single one is awaited directly, without gather's tasks."""
    if len(pending) == 1:
        container[pending[0]] = await container[pending[0]]
    else:
        awaited = await gather_with_cancel(*(container[key] for key in pending))
        for key, value in zip(pending, awaited, strict=True):
            container[key] = value
    return container


def _is_strawberry_check(is_type_of: Callable[..., Any]) -> bool:
    """Strawberry's `is_type_of`, which reads only the object (so None may stand for info)."""
    return getattr(is_type_of, "__qualname__", "").endswith(STRAWBERRY_IS_TYPE_OF)


def _nullable(type_: GraphQLOutputType) -> GraphQLOutputType:
    inner: GraphQLOutputType = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return inner


def _plain_attribute(field_def: GraphQLField) -> str | None:
    """The attribute Strawberry's resolver reads for this field, when that is all it does."""
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False):
        return None
    definition = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or definition.default_resolver is not getattr:
        return None
    name = definition.python_name
    return name if isinstance(name, str) else None


def _enum_table(enum_type: CustomGraphQLEnumType) -> dict[Any, str] | None:
    """Member → name, as Strawberry's `coerce_output_value` finds it, for every member."""
    table: dict[Any, str] = {}
    members: list[Any] = list(enum_type.wrapped_cls)
    for member in members:
        for name, value in enum_type.values.items():
            if member.value == value.value:
                table[member] = name
                break
        else:
            return None
    return table


class _Plans:
    """Completers by (object type, the selection's field nodes), across requests. The nodes are
    those of the parser cache's document; holding them keeps their ids from being reused.

    A selection is compiled the second time it is seen, not the first: compiling scenario A's
    document takes about 5 ms, which a one-off document (a query with its values written
    inline, say) would pay on every request, so those stay with graphql-core.
    """

    def __init__(self, compile_after: int = 2) -> None:
        self.compile_after = compile_after
        self._plans: OrderedDict[tuple[int, str, tuple[int, ...]], tuple[object, Completer | None]]
        self._plans = OrderedDict()
        self._seen: OrderedDict[tuple[int, str, tuple[int, ...]], tuple[object, int]]
        self._seen = OrderedDict()

    def __len__(self) -> int:
        return len(self._plans)

    def get(
        self, executor: Any, object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> Completer | None:
        schema = executor.schema
        key = (id(schema), object_type.name, tuple(id(d.node) for d in details))
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found[1]
        refs = (schema, [d.node for d in details])
        uses = self._seen.pop(key, (refs, 0))[1] + 1
        if uses < self.compile_after:
            self._seen[key] = (refs, uses)
            if len(self._seen) > MAX_PLANS:
                self._seen.popitem(last=False)
            return None
        completer = self._build(executor, object_type, details)
        self._plans[key] = (refs, completer)
        if len(self._plans) > MAX_PLANS:
            self._plans.popitem(last=False)
        return completer

    @staticmethod
    def _build(
        executor: Any, object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> Completer | None:
        if any(d.fragment_variable_values is not None or d.defer_usage for d in details):
            return None
        fragments = {name: f for name, f in executor.fragment_definitions.items()}
        for detail in details:
            if _has_directives(detail.node.selection_set, fragments, set()):
                return None
        return _Compiler(executor).compile(object_type, details)


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, completing object values through compiled plans."""

    plans: _Plans = _Plans()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._compiled: dict[tuple[Any, int], tuple[FieldDetailsList, Completer | None]] = {}

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        completer = self.completer(return_type, field_details_list)
        if completer is None:
            return super().collect_and_execute_subfields(
                return_type, field_details_list, path, result, position_context
            )
        return completer(self, result, path, position_context)

    def completer(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Completer | None:
        """The plan for this selection of `object_type`, or None where graphql-core must run."""
        manager = self.middleware_manager
        if manager is not None and manager._middleware_resolvers:
            return None
        memo = (object_type, id(field_details_list))
        found = self._compiled.get(memo)
        if found is not None:
            return found[1]
        completer = self.plans.get(self, object_type, field_details_list)
        self._compiled[memo] = (field_details_list, completer)
        return completer

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A list of objects from a resolver (edges, applications) goes to the item type's plan
        item by item, as a list read from an attribute does; streamed fields, other iterables
        and lists of anything else go to graphql-core."""
        item_type = return_type.of_type
        item = _nullable(item_type)
        if (
            isinstance(item, GraphQLObjectType)
            and (result.__class__ is list or result.__class__ is tuple)
            and (item.is_type_of is None or _is_strawberry_check(item.is_type_of))
            and not any(d.node.directives for d in field_details_list)
        ):
            completer = self.completer(item, field_details_list)
            if completer is not None:
                return self.complete_objects(
                    result,
                    completer,
                    item.is_type_of,
                    item_type,
                    info.parent_type.fields[info.field_name],
                    field_details_list,
                    path,
                    position_context,
                    info.parent_type,
                    info,
                )
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_resolved(
        self,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """`execute_field` from the resolver's return value on, for a plain attribute's value."""
        return_type = field_def.type
        info = self.build_resolve_info(
            field_def, [d.node for d in field_details_list], parent_type, path
        )
        try:
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, position_context
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
            if self.is_awaitable(completed):
                return self.await_field(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def await_field(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def gather_fields(self, results: dict[str, Any], pending: list[str]) -> Awaitable[Any]:
        return _fill_in(results, pending)

    def complete_objects(
        self,
        items: Sequence[Any],
        completer: Completer,
        is_type_of: Callable[[Any, Any], Any] | None,
        item_type: GraphQLOutputType,
        field_def: GraphQLField,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
        parent_type: GraphQLObjectType,
        info: GraphQLResolveInfo[Any] | None = None,
    ) -> Any:
        """`complete_iterable_value` for a list of objects: each object that passes
        `is_type_of` goes to its completer, any other item to graphql-core."""
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        append = completed.append
        pending: list[int] = []
        iterator = iter(items)
        index = 0
        try:
            for item in iterator:
                item_path = path.add_key(index, None)
                if item is not None and (is_type_of is None or is_type_of(item, None) is True):
                    try:
                        value = completer(self, item, item_path, position_context)
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                        value = None
                    else:
                        if is_awaitable(value):
                            value = self.await_field(
                                value, item_type, field_details_list, item_path
                            )
                            pending.append(index)
                    append(value)
                else:
                    if info is None:
                        info = self.build_resolve_info(
                            field_def,
                            [d.node for d in field_details_list],
                            parent_type,
                            path,
                        )
                    if is_awaitable(item):
                        append(
                            self.complete_awaitable_list_item_value(
                                item,
                                item_type,
                                field_details_list,
                                info,
                                item_path,
                                position_context,
                            )
                        )
                        pending.append(index)
                    elif self.complete_list_item_value(
                        item,
                        completed,
                        item_type,
                        field_details_list,
                        info,
                        item_path,
                        position_context,
                    ):
                        pending.append(index)
                index += 1
        except Exception:
            waiting = [completed[i] for i in pending]
            waiting.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if waiting:
                self.settle_in_background(waiting)
            raise
        if not pending:
            return completed
        return _fill_in(completed, pending)
