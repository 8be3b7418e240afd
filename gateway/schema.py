"""The GraphQL schema: Query, Mutation and Subscription, thin calls into resolvers/."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable
from typing import Annotated, Any, cast

import strawberry
from graphql import GraphQLBoolean, GraphQLError, GraphQLField, is_input_object_type
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, StreamResult
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from gateway.arguments import (
    DEFAULT_FIRST,
    After,
    First,
    JobSearch,
    Search,
    SelectAccounts,
    UpdatedAfter,
)
from gateway.compiled_fence import compiled_executor
from gateway.documents import Documents, check_hooks
from gateway.errors import is_expected
from gateway.hidden_names import HiddenNames
from gateway.inputs import CreateCandidateInput, UpdateCandidateInput
from gateway.limits import QueryLimits, limit_errors
from gateway.pipeline import (
    AddNoteInput,
    AddNotePayload,
    ApplicationPayload,
    CreateApplicationInput,
    MoveApplicationInput,
    RejectApplicationInput,
    UnrejectApplicationInput,
)
from gateway.scalars import SCALARS
from gateway.subscriptions import Subscription
from gateway.types import (
    Account,
    Application,
    ApplicationConnection,
    ApplicationStatus,
    Candidate,
    CandidateConnection,
    Info,
    Job,
    JobConnection,
    JobStatus,
    Node,
    RejectReason,
    UserError,
    Warning,
    jobs_wanted,
    node_of,
    selects,
)
from gateway.validation_cache import ValidationResults
from resolvers import applications, candidates, mutations, nodes, pipeline
from resolvers import jobs as job_reads
from resolvers.mutations import WriteOutcome
from resolvers.nodes import MAX_NODES

__all__ = ["GatewaySchema", "build_schema", "schema"]

DEFAULT_LIMITS = QueryLimits()

logger = logging.getLogger("gateway")


@strawberry.type(description="What a client may read.")
class Query:
    @strawberry.field(
        description=(
            "Candidates of every account the caller may see, merged: one from each account in "
            "turn, in account order. `search` matches an email address whole, or part of a "
            "name or address, case-insensitively, the same at every provider."
        )
    )
    async def candidates(
        self,
        info: Info,
        search: Search = None,
        job_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description=(
                    "Only candidates who applied to this job (`Job.id`, `Application.job.id`); "
                    "only the job's account is asked."
                )
            ),
        ] = None,
        updated_after: UpdatedAfter = None,
        accounts: SelectAccounts = None,
        first: First = DEFAULT_FIRST,
        after: After = None,
    ) -> CandidateConnection:
        listing = await candidates.list_candidates(
            info.context,
            search=search,
            job_id=job_id,
            account_ids=accounts,
            first=DEFAULT_FIRST if first is None else first,
            after=after,
            updated_after=updated_after,
            with_applications=selects(info, "edges", "node", "applications"),
            with_jobs=jobs_wanted(info),
            path=info.path.as_list(),
        )
        return CandidateConnection(listing=listing)

    @strawberry.field(
        description=(
            "One candidate by global ID; null when the account does not have it or the caller "
            "may not see the account."
        )
    )
    async def candidate(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A `Candidate.id`.")],
    ) -> Candidate | None:
        found = await candidates.get_candidate(info.context, id)
        return Candidate.of(found) if found else None

    @strawberry.field(
        description=(
            "Jobs of every account the caller may see, merged like `candidates`: one from each "
            "account in turn, in account order, with the same cursors and `sources`. Accounts "
            "whose provider has no jobs listing (Greenhouse Partner) read UNSUPPORTED."
        )
    )
    async def jobs(
        self,
        info: Info,
        search: JobSearch = None,
        status: Annotated[
            JobStatus | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only jobs in this state; null means any."),
        ] = None,
        updated_after: UpdatedAfter = None,
        accounts: SelectAccounts = None,
        first: First = DEFAULT_FIRST,
        after: After = None,
    ) -> JobConnection:
        listing = await job_reads.list_jobs(
            info.context,
            search=search,
            status=status,
            updated_after=updated_after,
            account_ids=accounts,
            first=DEFAULT_FIRST if first is None else first,
            after=after,
            path=info.path.as_list(),
        )
        return JobConnection(listing=listing)

    @strawberry.field(
        description=(
            "Applications of every account the caller may see, merged like `candidates` (the "
            "same cursors, `sources` and exactly-once paging): a pipeline board is "
            "`applications(jobId:)`. A job, candidate or stage ID narrows the fan-out to its "
            "account; filters a provider cannot apply, upstream or over a bounded scan "
            "(`filteredLocally`), make that account UNSUPPORTED, never unfiltered: Talynce lists "
            "applications only per job or per candidate."
        )
    )
    async def applications(
        self,
        info: Info,
        job_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only applications to this job (a `Job.id`)."),
        ] = None,
        candidate_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this candidate's (a `Candidate.id`)."),
        ] = None,
        status: Annotated[
            ApplicationStatus | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only applications in this state; null means any."),
        ] = None,
        stage_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only applications in this stage (a `JobStage.id`; it implies its "
                "job, and with `jobId` must be one of that job's)."
            ),
        ] = None,
        updated_after: UpdatedAfter = None,
        accounts: SelectAccounts = None,
        first: First = DEFAULT_FIRST,
        after: After = None,
    ) -> ApplicationConnection:
        listing = await applications.list_applications(
            info.context,
            job_id=job_id,
            candidate_id=candidate_id,
            stage_id=stage_id,
            status=status,
            updated_after=updated_after,
            account_ids=accounts,
            first=DEFAULT_FIRST if first is None else first,
            after=after,
            path=info.path.as_list(),
        )
        return ApplicationConnection(listing=listing)

    @strawberry.field(
        description=(
            "One job by global ID; null when the account does not have it, cannot fetch jobs, "
            "or the caller may not see the account."
        )
    )
    async def job(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A `Job.id`.")],
    ) -> Job | None:
        found = await job_reads.get_job(info.context, id)
        return Job.of(found) if found else None

    @strawberry.field(
        description=(
            "Any object by global ID (a candidate, an application or a job); null when not found."
        )
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A `Node.id`.")],
    ) -> Node | None:
        return node_of(await nodes.get_node(info.context, id))

    @strawberry.field(
        description=(
            f"Objects by global ID, in the order of `ids` (at most {MAX_NODES}, else "
            "BAD_USER_INPUT); null where one is not found, with an error where its account "
            "failed. Fetched in one batch per account and kind, like `node`."
        )
    )
    def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"`Node.id`s, at most {MAX_NODES}."),
        ],
    ) -> list[Node | None]:
        """A list of awaitables: graphql-core awaits them together (so the loaders batch them)
        and places each one's error at its own index."""
        return cast(
            list[Node | None], [_node(found) for found in nodes.get_nodes(info.context, ids)]
        )

    @strawberry.field(
        description=(
            "The reasons `account` offers for `rejectApplication`, in the provider's order. "
            "An error UNSUPPORTED_BY_PROVIDER where the account keeps none (`Account."
            "capabilities` lacks REJECT_REASONS); NOT_FOUND for an account the caller may not see."
        )
    )
    async def reject_reasons(
        self,
        info: Info,
        account: Annotated[strawberry.ID, strawberry.argument(description="An `Account.id`.")],
    ) -> list[RejectReason]:
        served, reasons = await applications.reject_reasons(info.context, str(account))
        return [RejectReason.of(served, reason) for reason in reasons]

    @strawberry.field(description="The accounts the caller may see, in configuration order.")
    def accounts(self, info: Info) -> list[Account]:
        return [Account.of(account) for account in info.context.accounts]


async def _node(found: Awaitable[nodes.Found | None]) -> Node | None:
    return node_of(await found)


CHANGED = "The candidate as the provider has it after the write; null when nothing changed."
WARNINGS = "What the provider accepted with a caveat (e.g. a field it cannot hold, not saved)."
USER_ERRORS = "Why nothing changed, per input field; empty when the write happened."


@strawberry.type(description="What `createCandidate` did.")
class CreateCandidatePayload:
    candidate: Candidate | None = strawberry.field(description=CHANGED)
    created: bool | None = strawberry.field(
        description=(
            "False when the provider matched an existing candidate instead of creating one; "
            "null when nothing was written."
        )
    )
    warnings: list[Warning] = strawberry.field(description=WARNINGS)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="What `updateCandidate` did.")
class UpdateCandidatePayload:
    candidate: Candidate | None = strawberry.field(description=CHANGED)
    warnings: list[Warning] = strawberry.field(description=WARNINGS)
    user_errors: list[UserError] = strawberry.field(description=USER_ERRORS)


def _parts(outcome: WriteOutcome, id_field: bool = False) -> dict[str, Any]:
    return {
        "candidate": Candidate.of(outcome.candidate) if outcome.candidate else None,
        "warnings": [Warning.of(w) for w in outcome.warnings],
        "user_errors": [
            UserError.of(p, () if p.field == ("id",) and id_field else ("input",))
            for p in outcome.problems
        ],
    }


@strawberry.type(description="Writes; each goes to one account and is never repeated on its own.")
class Mutation:
    @strawberry.mutation(
        description="Creates a candidate in `input.account`, or matches one the provider has."
    )
    async def create_candidate(
        self,
        info: Info,
        input: Annotated[
            CreateCandidateInput, strawberry.argument(description="The candidate to create.")
        ],
    ) -> CreateCandidatePayload:
        outcome = await mutations.create_candidate(
            info.context, str(input.account), input.to_draft(), input.idempotency_key
        )
        return CreateCandidatePayload(created=outcome.created, **_parts(outcome))

    @strawberry.mutation(description="Changes only the fields given; an explicit null clears one.")
    async def update_candidate(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A `Candidate.id`.")],
        input: Annotated[
            UpdateCandidateInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> UpdateCandidatePayload:
        outcome = await mutations.update_candidate(info.context, id, input.to_patch())
        return UpdateCandidatePayload(**_parts(outcome, id_field=True))

    @strawberry.mutation(
        description="Adds a candidate to a job of the same account (UNSUPPORTED_BY_PROVIDER "
        "where `Account.capabilities` lacks CREATE_APPLICATION; nothing is sent)."
    )
    async def create_application(
        self,
        info: Info,
        input: Annotated[
            CreateApplicationInput, strawberry.argument(description="The application to make.")
        ],
    ) -> ApplicationPayload:
        outcome = await pipeline.create_application(
            info.context,
            input.candidate_id,
            input.job_id,
            input.stage_id,
            input.source,
            input.idempotency_key,
        )
        return ApplicationPayload.of(outcome)

    @strawberry.mutation(
        description="Moves an application to another stage of its job (needs MOVE_APPLICATION)."
    )
    async def move_application(
        self,
        info: Info,
        input: Annotated[MoveApplicationInput, strawberry.argument(description="The move.")],
    ) -> ApplicationPayload:
        outcome = await pipeline.move_application(
            info.context, input.id, input.stage_id, input.idempotency_key
        )
        return ApplicationPayload.of(outcome)

    @strawberry.mutation(
        description="Rejects an application, with a reason and a note where the provider keeps "
        "them (needs REJECT_APPLICATION)."
    )
    async def reject_application(
        self,
        info: Info,
        input: Annotated[RejectApplicationInput, strawberry.argument(description="The rejection.")],
    ) -> ApplicationPayload:
        outcome = await pipeline.reject_application(
            info.context, input.id, input.reason_id, input.note, input.idempotency_key
        )
        return ApplicationPayload.of(outcome)

    @strawberry.mutation(
        description="Puts a rejected application back in its pipeline (needs REJECT_APPLICATION)."
    )
    async def unreject_application(
        self,
        info: Info,
        input: Annotated[
            UnrejectApplicationInput, strawberry.argument(description="What to unreject.")
        ],
    ) -> ApplicationPayload:
        outcome = await pipeline.unreject_application(info.context, input.id, input.idempotency_key)
        return ApplicationPayload.of(outcome)

    @strawberry.mutation(description="Adds a note to a candidate's record (needs ADD_NOTE).")
    async def add_note(
        self,
        info: Info,
        input: Annotated[AddNoteInput, strawberry.argument(description="The note.")],
    ) -> AddNotePayload:
        outcome = await pipeline.add_note(
            info.context, input.candidate_id, input.body, input.visibility, input.idempotency_key
        )
        return AddNotePayload.of(outcome)


def _note_operation(context: ExecutionContext) -> None:
    request = context.context
    if hasattr(request, "operation_name"):
        request.operation_name = context.operation_name


def _is_one_of(type_: Any, _info: Any) -> bool | None:
    """`__Type.isOneOf`: for input objects whether they are @oneOf, null for every other kind.

    Strawberry 0.341 replaces graphql-core's resolver with one that reads `extensions` of
    whatever type it is given, and list and non-null wrappers have none: any query asking
    `isOneOf` of a field's type failed with INTERNAL.
    """
    if not is_input_object_type(type_):
        return None
    definition = type_.extensions.get("strawberry-definition")
    return bool(getattr(definition, "is_one_of", False) or type_.is_one_of)


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema, with the gateway's parsing, validation and error handling.

    `documents` parses and validates from the hooks below rather than from schema extensions
    (see gateway.documents); the operation's name is noted in the request context, for
    metrics and the request log, once the document is known.
    """

    hide_suggestions = False
    hidden_names: HiddenNames | None = None
    documents: Documents | None = None

    def _create_execution_context(self, *args: Any, **kwargs: Any) -> ExecutionContext:
        context = super()._create_execution_context(*args, **kwargs)
        if self.documents is not None:
            self.documents.start(context)
        return context

    async def _prepare_operation_async(
        self, context: ExecutionContext, extensions_runner: SchemaExtensionsRunner
    ) -> PreExecutionError | None:
        if self.documents is not None:
            self.documents.prepare(context)
        refused = await super()._prepare_operation_async(context, extensions_runner)
        _note_operation(context)
        return refused

    def _prepare_operation_sync(
        self, context: ExecutionContext, extensions_runner: SchemaExtensionsRunner
    ) -> ExecutionResult | None:
        if self.documents is not None:
            self.documents.prepare(context)
        refused = super()._prepare_operation_sync(context, extensions_runner)
        _note_operation(context)
        return refused

    def _extend_introspection(self) -> None:
        """As Strawberry's, with an `isOneOf` that answers for wrapped types (see _is_one_of).

        `__Type` is graphql-core's one shared object, so every schema built after this one
        sees the same resolver, until another plain `strawberry.Schema` is built.
        """
        introspection_type = self._schema.type_map["__Type"]
        introspection_type.fields["isOneOf"] = GraphQLField(  # type: ignore[attr-defined]
            GraphQLBoolean, resolve=_is_one_of
        )

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> ExecutionResult:
        """As strawberry's, with schema names the client did not write taken out of request
        errors when introspection is off (see gateway.hidden_names). A subscription is never
        executed here (SSE and sockets `stream` it): run as a query, its field would return a
        stream where a value is due, an INTERNAL error for what is the client's mistake."""
        allowed = kwargs.get("allowed_operation_types") or DEFAULT_ALLOWED_OPERATION_TYPES
        kwargs["allowed_operation_types"] = set(allowed) - {OperationType.SUBSCRIPTION}
        result = await super().execute(query, variable_values, *args, **kwargs)
        if self.hidden_names is not None and result.errors:
            result.errors = self.hidden_names.redact(result.errors, query, variable_values)
        return result

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> StreamResult:
        """As strawberry's, with the same redaction as `execute`: SSE and sockets run
        every document through here."""
        source = await super().stream(query, variable_values, *args, **kwargs)
        return self._answered(source, query, variable_values)

    async def _answered(
        self, source: StreamResult, query: str | None, variables: Any
    ) -> AsyncGenerator[Any, None]:
        async with contextlib.aclosing(source):
            async for result in source:
                yield self._redacted(result, query, variables)

    def _redacted(self, result: Any, query: str | None, variables: Any) -> Any:
        hidden = self.hidden_names
        if hidden is not None and isinstance(result, ExecutionResult) and result.errors:
            result.errors = hidden.redact(result.errors, query, variables)
        return result

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        """Variable coercion errors without "Did you mean …?" when suggestions are hidden."""
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        return kwargs | {"hide_suggestions": True} if self.hide_suggestions else kwargs

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if not is_expected(error):
                logger.error("unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(
    limits: QueryLimits = DEFAULT_LIMITS, *, introspection: bool = True, compiled: bool = True
) -> GatewaySchema:
    """The schema with a deployment's limits; built once per app, never per request.

    With `compiled`, gateway.compiled is imported and self-checked here (gateway.compiled_fence);
    without, it is never imported.

    The limits are checked before the rest of validation, which only runs when they pass. With
    introspection off, no message suggests names: "Did you mean 'candidate'?" would tell a
    client about schema members it never wrote.
    """
    results = ValidationResults(
        maxsize=512,
        first=lambda document: limit_errors(document, limits),
        hide_suggestions=not introspection,
    )
    check_hooks(strawberry.Schema)
    built = GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Candidate, Application, Job],
        execution_context_class=compiled_executor() if compiled else None,
        config=StrawberryConfig(scalar_map=SCALARS),
    )
    built.documents = Documents(
        results, max_tokens=limits.max_tokens, introspection=introspection, maxsize=512
    )
    if not introspection:
        built.hide_suggestions = True
        built.hidden_names = HiddenNames(built._schema)
    return built


schema = build_schema(compiled=False)
"""For the SDL and introspection (export-schema); apps build their own."""
