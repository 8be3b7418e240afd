"""graphql-transport-ws on /graphql: Strawberry's protocol handler, with the gateway's checks.

A socket runs nothing until it names a client key: in its upgrade request's Authorization
header (the guard checked it) or in `connection_init`'s payload as `{"Authorization": "Bearer
<key>"}`; a `connection_init` that names none closes the socket with 4403, as the protocol says.
Every operation then gets what a POST gets: the client's accounts and write permission, the
query limits, the introspection setting (both in the schema), the persisted or trusted
document its payload names (`gateway.persisted`, refusals as an `error` message with the code a
POST gets), its own deadline, and errors shaped by `gateway.errors`. A document sent with its
hash is registered once its first result has passed parsing, validation and the limits (a
subscription's: at its first event). Each operation is counted and logged as it starts and ends
(`gateway.live_operations`).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncGenerator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from gateway.errors import shape_errors
from gateway.live_operations import LiveOperation, operation_type
from gateway.persisted import DocumentRefused, Resolved, resolve
from gateway.security import Client
from providers.upstream.resilience import set_deadline
from resolvers.context import RequestContext
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from gateway.view import GraphQLView

__all__ = ["TransportWSHandler"]


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
        request_id = uuid.uuid4().hex[:16]
        try:
            resolved = await resolve(
                payload, client.name, view.persisted, view.documents, view.trusted
            )
        except DocumentRefused as refused:
            live = LiveOperation.start(
                view.metrics, "ws", request_id, operation_type(payload.get("query"), None)
            )
            live.refused(refused.code)
            live.end(None)
            error = GraphQLError(refused.reason, extensions={"code": refused.code})
            await self.send_message({"id": id, "type": "error", "payload": [error.formatted]})
            return None
        kind = operation_type(resolved.query, payload.get("operationName"))
        return _Admitted(resolved, LiveOperation.start(view.metrics, "ws", request_id, kind))

    async def run_operation(self, operation: Operation[RequestContext, None]) -> None:
        """Runs in the operation's own task, so what is set here is the operation's alone."""
        connection = self._connection
        admitted = _admitted.get()
        request_id = admitted.live.request_id if admitted is not None else uuid.uuid4().hex[:16]
        _operation.set(
            dataclasses.replace(
                connection,
                loaders=Loaders(connection.accounts, request_id),
                request_id=request_id,
                partial_errors=[],
            )
        )
        set_deadline(self._gateway.request_timeout)
        try:
            await super().run_operation(operation)
        finally:
            if admitted is not None:
                admitted.live.end(self.context.operation_name or operation.operation_name)

    async def _send_result_stream(
        self, operation: Operation[RequestContext, None], result_source: Any
    ) -> None:
        admitted = _admitted.get()

        async def shaped() -> AsyncGenerator[Any, None]:
            async for result in result_source:
                context = self.context
                ran = isinstance(result, ExecutionResult) and not isinstance(
                    result, PreExecutionError
                )
                if ran and (result.errors or context.partial_errors):
                    shape_errors(result, context)
                    context.partial_errors.clear()  # a subscription's next event starts clean
                if admitted is not None:
                    await self._observe(admitted, result, ran=ran)
                yield result

        await super()._send_result_stream(operation, shaped())

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
