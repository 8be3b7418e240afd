"""What the subscription layer needs to name a change event to a client: its object's global ID.

An event names its object by remote ids (`providers.events.ChangeEvent`); clients know objects
by the gateway's global IDs (`resolvers.ids`), an application's built from its candidate too.
"""

from __future__ import annotations

from providers.events import ChangeEvent, ObjectType
from resolvers.ids import encode_id

__all__ = ["KIND_OF", "global_id"]

KIND_OF = {
    ObjectType.CANDIDATE: "Candidate",
    ObjectType.APPLICATION: "Application",
    ObjectType.JOB: "Job",
}


def global_id(event: ChangeEvent) -> str:
    """The `id` a client sees for the event's object (the same as a query returns for it)."""
    parent = event.parent_remote_id if event.object_type is ObjectType.APPLICATION else None
    return encode_id(KIND_OF[event.object_type], event.account, event.remote_id, parent)
