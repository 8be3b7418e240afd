"""graphql-transport-ws on /graphql: Strawberry's protocol handler, with the gateway's checks.

A socket runs nothing until it names a client key: in its upgrade request's Authorization
header (the guard checked it) or in `connection_init`'s payload as `{"Authorization": "Bearer
<key>"}`; a `connection_init` that names none closes the socket with 4403, as the protocol says,
and one that has not come within `header_timeout` closes it with 4408 (`GraphQLView`).
Every operation then gets what a POST gets: the client's accounts and write permission, the
query limits, the introspection setting (both in the schema), the persisted or trusted
document its payload names (`gateway.persisted`, refusals as an `error` message with the code a
POST gets), its own deadline, and errors shaped by `gateway.errors`. A document sent with its
hash is registered once its first result has passed parsing, validation and the limits (a
subscription's: at its first event). Each operation is counted and logged as it starts and ends
(`gateway.live_operations`). Subscriptions of one client key with the same
document and variables share one execution per event (`gateway.fanout`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from gateway.errors import shape_errors
from gateway.fanout import GroupKey, Member, group_key, groups_of
from gateway.live_operations import LiveOperation, operation_type
from gateway.persisted import DocumentRefused, Resolved, resolve
from gateway.security import Client
from providers.upstream.resilience import set_deadline
from resolvers.changes import ChangeFeed
from resolvers.context import RequestContext
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from gateway.view import GraphQLView

__all__ = ["MAX_SOCKET_OPERATIONS", "TransportWSHandler"]

MAX_SOCKET_OPERATIONS = 100
"""Operations one socket runs at once (Strawberry's default, named here: README and the
`TOO_MANY_OPERATIONS` code cite it); one more is refused with that code."""


_operation: ContextVar[RequestContext | None] = ContextVar("socket_operation", default=None)


@dataclasses.dataclass(frozen=True, slots=True)
class _Admitted:
    """What `handle_subscribe` learnt of an operation, for the task that runs it."""

    document: Resolved
    live: LiveOperation


# Set while Strawberry creates the operation's task, which copies it: that task's alone.
_admitted: ContextVar[_Admitted | None] = ContextVar("socket_admitted", default=None)


class TransportWSHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """Strawberry's handler; each operation runs with a context of its own (its own loaders,
    partial errors and request id, the connection's client), as each POST does."""

    _connection: RequestContext

    @property
    def context(self) -> RequestContext:
        return _operation.get() or self._connection

    @context.setter
    def context(self, value: RequestContext) -> None:
        self._connection = value

    @property
    def _gateway(self) -> GraphQLView:
        return self.view  # type: ignore[return-value]

    @property
    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.websocket.ws.scope.setdefault("state", {})  # type: ignore[attr-defined]
        return state

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if not self.connection_init_received:
            client = self._state.get("client")
            if not isinstance(client, Client):
                client = self._admit(message.get("payload"))
                if client is None:
                    await self.websocket.close(code=4403, reason="Forbidden")
                    return
                self._state["client"] = client
            self._gateway.admit(self.context, client)
        await super().handle_connection_init(message)

    def _admit(self, payload: object) -> Client | None:
        admit = self._state.get("admit")
        if not isinstance(payload, dict) or not callable(admit):
            return None
        authorization = payload.get("Authorization", payload.get("authorization"))
        if not isinstance(authorization, str):
            return None
        found = admit(authorization)
        return found if isinstance(found, Client) else None

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged or message.get("id") in self.operations:
            await super().handle_subscribe(message)  # closes the socket, as the protocol says
            return
        client = self._state.get("client")
        payload: Any = message.get("payload")
        if not isinstance(client, Client) or not isinstance(payload, dict):
            # Fail closed: no document runs that `resolve` has not seen.
            await self.websocket.close(code=4400, reason="Invalid subscribe message")
            return
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.operations) >= limit:
            # Ahead of Strawberry's own check, which answers without a code (and would come after
            # `_admit_document` counted the operation as started, never to end it).
            reason = f"Subscription limit reached: at most {limit} operations at once per socket"
            await self._refuse(message["id"], payload, "TOO_MANY_OPERATIONS", reason)
            return
        admitted = await self._admit_document(message["id"], client, payload)
        if admitted is None:
            return
        payload["query"] = admitted.document.query
        token = _admitted.set(admitted)
        try:
            await super().handle_subscribe(message)
        finally:
            _admitted.reset(token)

    async def _admit_document(
        self, id: str, client: Client, payload: dict[str, Any]
    ) -> _Admitted | None:
        """The document the payload names (persisted, trusted or its text), its operation
        counted as started; None when refused (answered with an `error` message)."""
        view = self._gateway
        try:
            resolved = await resolve(
                payload, client.name, view.persisted, view.documents, view.trusted
            )
        except DocumentRefused as refused:
            await self._refuse(id, payload, refused.code, refused.reason)
            return None
        kind = operation_type(resolved.query, payload.get("operationName"))
        live = LiveOperation.start(view.metrics, "ws", uuid.uuid4().hex[:16], kind)
        return _Admitted(resolved, live)

    async def _refuse(self, id: str, payload: dict[str, Any], code: str, reason: str) -> None:
        """Answers an operation refused before anything ran: an `error` message with `code`,
        and the operation counted and logged as started and rejected."""
        kind = operation_type(payload.get("query"), None)
        live = LiveOperation.start(self._gateway.metrics, "ws", uuid.uuid4().hex[:16], kind)
        live.refused(code)
        live.end(None)
        error = GraphQLError(reason, extensions={"code": code})
        await self.send_message({"id": id, "type": "error", "payload": [error.formatted]})

    def _operation_context(self, request_id: str) -> RequestContext:
        connection = self._connection
        return dataclasses.replace(
            connection,
            loaders=Loaders(connection.accounts, request_id),
            request_id=request_id,
            partial_errors=[],
        )

    async def run_operation(self, operation: Operation[RequestContext, None]) -> None:
        """Runs in the operation's own task, so what is set here is the operation's alone. A
        subscription that may share its execution joins its group (`gateway.fanout`)."""
        admitted = _admitted.get()
        request_id = admitted.live.request_id if admitted is not None else uuid.uuid4().hex[:16]
        client = self._state.get("client")
        feed = self._connection.changes
        try:
            if isinstance(client, Client) and feed is not None:
                key = group_key(
                    client, operation.query, operation.variables, operation.operation_name
                )
                if key is not None:
                    await self._run_shared(operation, key, feed, admitted)
                    return
            _operation.set(self._operation_context(request_id))
            set_deadline(self._gateway.request_timeout)
            await super().run_operation(operation)
        finally:
            if admitted is not None:
                admitted.live.end(self.context.operation_name or operation.operation_name)

    async def _run_shared(
        self,
        operation: Operation[RequestContext, None],
        key: GroupKey,
        feed: ChangeFeed,
        admitted: _Admitted | None,
    ) -> None:
        """Answers as `run_operation` would, from the group's one execution: a pre-execution
        error is this operation's own answer; every result is sent under its id."""
        frame_head = b'{"id":' + self._gateway.encode_json(operation.id) + b',"type":"next",'
        member = Member(partial(self._send_shared, operation, frame_head, admitted))
        groups = groups_of(feed)
        group = groups.join(key, member, partial(self._shared_stream, operation), _encode)
        try:
            first = await member.first
            if first is not None:
                await self._send_result_stream(operation, _once(first))
            else:
                await member.ended.wait()
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        finally:
            groups.leave(key, group, member)

    async def _shared_stream(
        self, operation: Operation[RequestContext, None]
    ) -> AsyncIterator[Any]:
        """The group's stream: in the group's own task, with a context of its own."""
        context = self._operation_context(uuid.uuid4().hex[:16])
        _operation.set(context)
        set_deadline(self._gateway.request_timeout)
        source = await self.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=context,
            root_value=self.root_value,
            operation_name=operation.operation_name,
        )
        return _shaped(source, context)

    async def _send_shared(
        self,
        operation: Operation[RequestContext, None],
        head: bytes,
        admitted: _Admitted | None,
        payload: bytes,
        result: ExecutionResult,
    ) -> None:
        if operation.completed or operation.id not in self.operations:
            return
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self.websocket.ws.send_bytes(head + b'"payload":' + payload + b"}")  # type: ignore[attr-defined]
        if admitted is not None:
            await self._observe(admitted, result, ran=True)

    async def _send_result_stream(
        self, operation: Operation[RequestContext, None], result_source: Any
    ) -> None:
        source = _shaped(result_source, self.context)
        admitted = _admitted.get()
        if admitted is not None:
            source = self._observed(source, admitted)
        await super()._send_result_stream(operation, source)

    async def _observed(
        self, source: AsyncIterator[Any], admitted: _Admitted
    ) -> AsyncGenerator[Any, None]:
        async for result in source:
            ran = isinstance(result, ExecutionResult) and not isinstance(result, PreExecutionError)
            await self._observe(admitted, result, ran=ran)
            yield result

    async def _observe(self, admitted: _Admitted, result: Any, *, ran: bool) -> None:
        """Counts a result; the first that ran registers a document sent with its hash (it
        passed parsing, validation and the limits, as a POST's must before it is kept)."""
        live = admitted.live
        errors = getattr(result, "errors", None)
        if not ran:
            live.rejected_by(errors)
            return
        first = live.events == 0
        live.delivered(errors)
        document = admitted.document
        if first and document.register and isinstance(document.query, str):
            await self._gateway.documents.put(document.scope, document.register, document.query)


async def _shaped(source: AsyncIterator[Any], context: RequestContext) -> AsyncGenerator[Any, None]:
    """Results with their errors shaped as a POST's are; a request error's too (sent as an
    `error` message: with its code, and for this operation alone, where Strawberry closed the
    whole socket on a document that does not parse)."""
    try:
        async for result in source:
            if isinstance(result, ExecutionResult) and (result.errors or context.partial_errors):
                shape_errors(result, context)
                context.partial_errors.clear()  # a subscription's next event starts clean
            yield result
    finally:
        await aclose(source)


async def aclose(source: AsyncIterator[Any]) -> None:
    closing = getattr(source, "aclose", None)
    if closing is not None:
        await closing()


async def _once(result: ExecutionResult) -> AsyncGenerator[ExecutionResult, None]:
    yield result


def _encode(result: ExecutionResult) -> bytes:
    """A `next` message's payload, as `Operation.send_next` builds it."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return _dumps(payload)


def _dumps(data: object) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()
