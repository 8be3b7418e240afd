"""Listing arguments shared by `candidates`, `jobs` and `Job.candidates`: one type and one
description each, so the fields that take them say the same thing."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway.scalars import DateTime
from resolvers.candidates import MAX_FIRST, MAX_SEARCH

__all__ = [
    "DEFAULT_FIRST",
    "After",
    "First",
    "JobSearch",
    "Search",
    "SelectAccounts",
    "UpdatedAfter",
]

DEFAULT_FIRST = 20

Search = Annotated[
    str | None,
    strawberry.argument(
        description=(
            'With "@": an email address, matching a candidate with exactly that address (any '
            "case). Otherwise part of the full, first or last name or of any email address, "
            f"case-insensitive. At most {MAX_SEARCH} characters; blanks around are ignored "
            "(blank means no filter). Accounts that cannot search read UNSUPPORTED; some filter "
            "a bounded scan (`filteredLocally`)."
        )
    ),
]
JobSearch = Annotated[
    str | None,
    strawberry.argument(
        description=(
            f"Part of the job's name, case-insensitive, at most {MAX_SEARCH} characters "
            "(blank means no filter). Providers that cannot search job names have the gateway "
            "filter a bounded scan (`filteredLocally`)."
        )
    ),
]
First = Annotated[
    int | None,
    strawberry.argument(
        description=(
            f"Page size, 1 to {MAX_FIRST}; null or omitted means {DEFAULT_FIRST}. "
            "A page may hold fewer while more follow (see `pageInfo.hasNextPage`)."
        )
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "`pageInfo.endCursor` (or an edge's `cursor`) of the same listing with the same "
            "filters: the page starts right after it. Otherwise BAD_CURSOR."
        )
    ),
]
SelectAccounts = Annotated[
    list[strawberry.ID] | None,
    strawberry.argument(
        description="Only these `Account.id`s; null means every account the caller may see."
    ),
]
UpdatedAfter = Annotated[
    DateTime | None,
    strawberry.argument(
        description=(
            "Only records updated strictly after this instant (for syncing: pass the time of "
            "the last sync). Pushed to the provider where it can filter (Merge "
            "`modified_after`, Harvest `updated_at`); Talynce filters a bounded scan in the "
            "gateway (`filteredLocally`); an account that can do neither reads UNSUPPORTED, "
            "never unfiltered rows."
        )
    ),
]
