"""The change events the Talynce poller makes (`resolvers.polling`), and where it sends them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from providers.events import ChangeEvent, ChangeKind, ObjectType, content_dedupe_id, parse_time

__all__ = ["Publish", "poll_event"]

Publish = Callable[[ChangeEvent], Awaitable[object]]


def poll_event(
    account_id: str,
    object_type: ObjectType,
    remote_id: str,
    kind: ChangeKind,
    updated: str | None,
    parent: str | None = None,
) -> ChangeEvent:
    """A change found by reading. Its dedupe id is built from the object's state, not the kind:
    replicas that started watching at different times may call one change CREATED and UPDATED,
    and must still publish it once between them."""
    state = "deleted" if kind is ChangeKind.DELETED else updated
    # Candidates keep the prefix they always had, so ids stay stable across an upgrade.
    prefix = "poll" if object_type is ObjectType.CANDIDATE else f"poll-{object_type.lower()}"
    return ChangeEvent(
        account=account_id,
        object_type=object_type,
        kind=kind,
        remote_id=remote_id,
        occurred_at=parse_time(updated),
        dedupe_id=content_dedupe_id(account_id, prefix, remote_id, state),
        parent_remote_id=parent,
    )
