"""graphql-transport-ws on /graphql: Strawberry's protocol handler, with the gateway's checks.

A socket runs nothing until it names a client key: in its upgrade request's Authorization
header (the guard checked it) or in `connection_init`'s payload as `{"Authorization": "Bearer
<key>"}`; a `connection_init` that names none closes the socket with 4403, as the protocol says.
Every operation then gets what a POST gets: the client's accounts and write permission, the
query limits, the introspection setting (both in the schema), the persisted or trusted
document its payload names (`gateway.persisted`; nothing is registered over a socket), its own
deadline, and errors shaped by `gateway.errors`.
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
from gateway.persisted import DocumentRefused, resolve
from gateway.security import Client
from providers.upstream.resilience import set_deadline
from resolvers.context import RequestContext
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from gateway.view import GraphQLView

__all__ = ["TransportWSHandler"]


_operation: ContextVar[RequestContext | None] = ContextVar("socket_operation", default=None)


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
        client = self._state.get("client")
        payload: Any = message.get("payload")
        if (
            self.connection_acknowledged
            and isinstance(client, Client)
            and isinstance(payload, dict)
            and message.get("id") not in self.operations
        ):
            view = self._gateway
            try:
                resolved = await resolve(
                    payload, client.name, view.persisted, view.documents, view.trusted
                )
            except DocumentRefused as refused:
                error = GraphQLError(refused.reason, extensions={"code": refused.code})
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
            payload["query"] = resolved.query
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[RequestContext, None]) -> None:
        """Runs in the operation's own task, so what is set here is the operation's alone."""
        connection = self._connection
        request_id = uuid.uuid4().hex[:16]
        _operation.set(
            dataclasses.replace(
                connection,
                loaders=Loaders(connection.accounts, request_id),
                request_id=request_id,
                partial_errors=[],
            )
        )
        set_deadline(self._gateway.request_timeout)
        await super().run_operation(operation)

    async def _send_result_stream(
        self, operation: Operation[RequestContext, None], result_source: Any
    ) -> None:
        async def shaped() -> AsyncGenerator[Any, None]:
            async for result in result_source:
                context = self.context
                if (
                    isinstance(result, ExecutionResult)
                    and not isinstance(result, PreExecutionError)
                    and (result.errors or context.partial_errors)
                ):
                    shape_errors(result, context)
                    context.partial_errors.clear()  # a subscription's next event starts clean
                yield result

        await super()._send_result_stream(operation, shaped())
