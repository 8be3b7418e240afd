"""One execution per event for every socket subscription of the same document, variables and key.

A thousand dashboards of one tenant subscribe with the same document: each would have the
event's selection executed and encoded for it alone, which measured ~0.5 ms of CPU per
delivery (`python -m bench.subscribers`). Subscriptions whose (client key, document, operation
name, variables) are equal form a group in this process: the group runs the subscription once,
with one context, and each result is encoded once and sent to every member under its own
operation id. The key holds the client (so its exact account scope) and every argument the
document passes (so every filter), so a member receives exactly what it would alone.

Not grouped: a subscription that resumes (`after`: its own replay), and anything that is not
a subscription. A member that joins a running group gets the group's events from then on, as
a new subscription gets events "from now". `ChangeFeed.following` counts members, each once the
group reads the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    ValueNode,
    VariableNode,
    parse,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from gateway.live_operations import MAX_TOKENS
from gateway.security import Client
from resolvers.changes import ChangeFeed, on_following

__all__ = ["GroupKey", "Groups", "Member", "group_key", "groups_of"]

log = logging.getLogger("gateway.fanout")
Send = Callable[[bytes, ExecutionResult], Awaitable[None]]
Stream = Callable[[], Awaitable[AsyncIterator[Any]]]


@dataclass(frozen=True, slots=True)
class GroupKey:
    client: Client
    query: str
    operation_name: str | None
    variables: str


def _subscription(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if name is None or (o.name and o.name.value == name)]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.SUBSCRIPTION:
        return None
    return chosen[0]


def group_key(
    client: Client, query: str, variables: dict[str, Any] | None, operation_name: str | None
) -> GroupKey | None:
    """The group a socket operation may share, None when it runs alone (not a subscription,
    a document that does not parse within `MAX_TOKENS` (the schema's limits refuse it), a
    resume with `after`)."""
    try:
        operation = _subscription(
            parse(query, no_location=True, max_tokens=MAX_TOKENS), operation_name
        )
        encoded = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (GraphQLError, TypeError, ValueError):
        return None
    if operation is None:
        return None
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return None  # fragments at the root: no sharing rather than a subtle reading
        for argument in selection.arguments or ():
            if argument.name.value == "after" and _given(argument.value, variables):
                return None
    return GroupKey(client, query, operation_name, encoded)


def _given(value: ValueNode, variables: dict[str, Any] | None) -> bool:
    if isinstance(value, NullValueNode):
        return False
    if isinstance(value, VariableNode):
        return (variables or {}).get(value.name.value) is not None
    return True


@dataclass(eq=False)
class Member:
    """One socket operation in a group: `send` delivers an encoded `payload` under its id."""

    send: Send
    first: asyncio.Future[ExecutionResult | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    """Resolves with a pre-execution error result the member must answer alone, or None once
    the group has streamed its first result (or ended)."""
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class Group:
    """One subscription's execution, its results sent to every member in turn (a member whose
    socket is slow to take a message holds the others for that long, as the one process's
    event loop would anyway)."""

    def __init__(self, feed: ChangeFeed, stream: Stream, encode: Callable[[Any], bytes]) -> None:
        self.feed = feed
        self.members: list[Member] = []
        self.live = False
        self.finished = False  # its stream ended: a new member starts a new group
        self.extra = 0
        self._encode = encode
        self._task = asyncio.create_task(self._run(stream))

    def join(self, member: Member) -> None:
        self.members.append(member)
        if self.live:
            self._count(1)

    def leave(self, member: Member) -> bool:
        """Removes `member`; True when the group is now empty (and stopped)."""
        if member in self.members:
            self.members.remove(member)
            if self.extra:
                self._count(-1)
        if not self.members:
            self._task.cancel()
            return True
        return False

    def _count(self, members: int) -> None:
        """The feed counts the group's one bus reader; the group counts its other members."""
        self.extra += members
        self.feed.following += members

    def _now_live(self) -> None:
        self.live = True
        self._count(len(self.members) - 1)

    async def _run(self, stream: Stream) -> None:
        on_following.set(self._now_live)
        try:
            source = await stream()
            first = True
            async with contextlib.aclosing(source):  # type: ignore[type-var]
                async for result in source:
                    pre = isinstance(result, PreExecutionError)
                    if first and (pre or not isinstance(result, ExecutionResult)):
                        for member in self.members:
                            if not member.first.done():
                                member.first.set_result(result)
                        return
                    first = False
                    payload = self._encode(result)
                    for member in list(self.members):
                        if not member.first.done():
                            member.first.set_result(None)
                        await member.send(payload, result)
        except Exception:  # as a lone subscription's would: logged, then each member completes
            log.exception("a shared subscription failed")
        finally:
            self.live, self.finished = False, True
            self._count(-self.extra)
            for member in self.members:
                if not member.first.done():
                    member.first.set_result(None)
                member.ended.set()


class Groups:
    """The groups of one process's subscriptions (one registry per `ChangeFeed`)."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed
        self._groups: dict[GroupKey, Group] = {}

    def join(
        self, key: GroupKey, member: Member, stream: Stream, encode: Callable[[Any], bytes]
    ) -> Group:
        group = self._groups.get(key)
        if group is None or not group.members or group.finished:
            group = self._groups[key] = Group(self.feed, stream, encode)
        group.join(member)
        return group

    def leave(self, key: GroupKey, group: Group, member: Member) -> None:
        if group.leave(member) and self._groups.get(key) is group:
            del self._groups[key]

    def __len__(self) -> int:
        return len(self._groups)


_registries: WeakKeyDictionary[ChangeFeed, Groups] = WeakKeyDictionary()


def groups_of(feed: ChangeFeed) -> Groups:
    found = _registries.get(feed)
    if found is None:
        found = _registries[feed] = Groups(feed)
    return found
