"""The `Subscription` type: live changes to candidates, applications and jobs.

Each event names what changed (kind, global ID, account, time, `eventId`) and carries the
object as it is now, fetched through the normal loaders once per event however many subscribers
read it (`resolvers.changes`), null for a deletion. When events were missed (a resume `after` an
id that left the replay window, or one this gateway never issued, or a subscriber that fell
behind), an event with `refetch: true` and every other field null says so: the client refetches
what it shows, then keeps reading the same subscription.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated, Self

import strawberry

from gateway.arguments import SelectAccounts
from gateway.scalars import DateTime
from gateway.types import Account, Application, Candidate, Info, Job, described
from providers.events import ChangeKind as ChangeKindValue
from providers.events import ObjectType
from resolvers.candidates import FoundApplication, FoundCandidate
from resolvers.changes import Change, ChangeFeed, Found
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.jobs import FoundJob
from resolvers.live import global_id

__all__ = ["ApplicationChange", "CandidateChange", "ChangeKind", "JobChange", "Subscription"]

ChangeKind = described(
    ChangeKindValue,
    "ChangeKind",
    "What happened to the object of a change event.",
    {
        "CREATED": "It is new.",
        "UPDATED": "It changed (for an application: a stage move, a rejection, a hire too).",
        "DELETED": "It is gone; the event's object is null.",
    },
)

ResumeAfter = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "The `eventId` of the last event received, to resume after it: the events since "
            "come first, or, when they are no longer all kept, an event with `refetch: true`. "
            "Null: from now."
        )
    ),
]


@strawberry.interface(description="A change to one object, or word that changes were missed.")
class ObjectChange:
    refetch: bool = strawberry.field(
        description=(
            "True when changes were missed and the client must refetch what it shows; every "
            "other field is then null."
        )
    )
    kind: ChangeKind | None = strawberry.field(  # type: ignore[valid-type]
        description="What happened; null only with `refetch`."
    )
    id: strawberry.ID | None = strawberry.field(
        description="The object's global ID (as queries return it); null only with `refetch`."
    )
    account: Account | None = strawberry.field(
        description="The account the object is in; null only with `refetch`."
    )
    occurred_at: DateTime | None = strawberry.field(
        description="When it happened, by the provider's clock where it says; null only with "
        "`refetch`."
    )
    event_id: str | None = strawberry.field(
        description="This event's position: pass it as `after` to resume after it."
    )
    current: strawberry.Private[asyncio.Future[Found | None] | None]

    @classmethod
    def of(cls, context: RequestContext, change: Change) -> Self:
        event = change.event
        if event is None:
            return cls(
                refetch=True,
                kind=None,
                id=None,
                account=None,
                occurred_at=None,
                event_id=None,
                current=None,
            )
        served = context.accounts.get(event.account)
        return cls(
            refetch=False,
            kind=event.kind,
            id=strawberry.ID(global_id(event)),
            account=None if served is None else Account.of(served),
            occurred_at=DateTime(event.occurred_at),
            event_id=change.event_id,
            current=change.current,
        )

    async def found(self) -> Found | None:
        if self.current is None:
            return None
        return await asyncio.shield(self.current)


@strawberry.type(description="A change to a candidate.")
class CandidateChange(ObjectChange):
    @strawberry.field(
        description="The candidate as it is now; null when deleted, gone, or with `refetch`."
    )
    async def candidate(self) -> Candidate | None:
        found = await self.found()
        return Candidate.of(found) if isinstance(found, FoundCandidate) else None


@strawberry.type(description="A change to an application.")
class ApplicationChange(ObjectChange):
    @strawberry.field(
        description="The application as it is now; null when deleted, gone, or with `refetch`."
    )
    async def application(self) -> Application | None:
        found = await self.found()
        if not isinstance(found, FoundApplication):
            return None
        return Application.of(found.account, found.record)


@strawberry.type(description="A change to a job.")
class JobChange(ObjectChange):
    @strawberry.field(
        description="The job as it is now; null when deleted, gone, or with `refetch`."
    )
    async def job(self) -> Job | None:
        found = await self.found()
        return Job.of(found) if isinstance(found, FoundJob) else None


def _feed(context: RequestContext) -> ChangeFeed:
    if context.changes is None:
        raise BadUserInput("subscriptions are not served here")
    return context.changes


@strawberry.type(
    description=(
        "Live changes, over graphql-transport-ws (WebSocket) or GraphQL over SSE: only of "
        "accounts the caller may see, each event with its object as it is now."
    )
)
class Subscription:
    @strawberry.subscription(
        description="Candidates created, changed or deleted in the accounts the caller may see."
    )
    async def candidate_changed(
        self,
        info: Info,
        accounts: SelectAccounts = None,
        job_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only candidates who applied to this job (a `Job.id`), and "
                "deletions in its account (a deleted candidate cannot be checked)."
            ),
        ] = None,
        after: ResumeAfter = None,
    ) -> AsyncGenerator[CandidateChange, None]:
        context = info.context
        feed = _feed(context)
        watched = feed.plan(context, ObjectType.CANDIDATE, accounts, job_id=job_id)
        async for change in feed.follow(context, watched, after):
            yield CandidateChange.of(context, change)

    @strawberry.subscription(
        description="Applications created, changed (stage moves, rejections, hires) or deleted."
    )
    async def application_changed(
        self,
        info: Info,
        accounts: SelectAccounts = None,
        job_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only applications to this job (a `Job.id`), and deletions in its "
                "account."
            ),
        ] = None,
        candidate_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this candidate's (a `Candidate.id`)."),
        ] = None,
        after: ResumeAfter = None,
    ) -> AsyncGenerator[ApplicationChange, None]:
        context = info.context
        feed = _feed(context)
        watched = feed.plan(
            context, ObjectType.APPLICATION, accounts, job_id=job_id, candidate_id=candidate_id
        )
        async for change in feed.follow(context, watched, after):
            yield ApplicationChange.of(context, change)

    @strawberry.subscription(description="Jobs created, changed or deleted.")
    async def job_changed(
        self, info: Info, accounts: SelectAccounts = None, after: ResumeAfter = None
    ) -> AsyncGenerator[JobChange, None]:
        context = info.context
        feed = _feed(context)
        watched = feed.plan(context, ObjectType.JOB, accounts)
        async for change in feed.follow(context, watched, after):
            yield JobChange.of(context, change)
