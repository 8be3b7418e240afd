"""Custom GraphQL scalars: `DateTime`, an RFC 3339 instant that always carries its offset.

Providers send timestamps in several ISO 8601 spellings (a `Z`, an offset, fractions, or none of
these); records keep them as sent, and the scalar writes each one the same way. A time with no
offset is taken as UTC, which is what every provider here documents for such values. As an
input, a value must carry an offset: "after 09:00" means nothing until it is said where.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timezone, tzinfo
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

__all__ = ["SCALARS", "DateTime", "parse_instant", "rfc3339"]

MAX_REMEMBERED = 8192

_formatted: dict[tuple[datetime, tzinfo], str] = {}


@functools.lru_cache(maxsize=MAX_REMEMBERED)
def parse_instant(value: str) -> datetime | None:
    """A provider's ISO 8601 text as an aware datetime (UTC when it names no offset).
    Remembered: a page's timestamps are mostly the ones the last requests showed."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def rfc3339(value: object) -> str | None:
    """An instant as RFC 3339 with its offset; text that is no timestamp becomes null.

    The text of a datetime with a fixed offset is remembered, keyed by the instant and the
    offset (equal instants at other offsets are written differently)."""
    if type(value) is datetime and type(value.tzinfo) is timezone:
        key = (value, value.tzinfo)
        found = _formatted.get(key)
        if found is None:
            found = value.isoformat().replace("+00:00", "Z")
            if len(_formatted) >= MAX_REMEMBERED:
                _formatted.clear()
            _formatted[key] = found
        return found
    if isinstance(value, datetime):
        instant: datetime | None = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        instant = parse_instant(value) if isinstance(value, str) else None
    return None if instant is None else instant.isoformat().replace("+00:00", "Z")


def _parse_input(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime is an RFC 3339 string, e.g. 2026-11-24T09:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("DateTime is an RFC 3339 string, e.g. 2026-11-24T09:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs an offset, e.g. 2026-11-24T09:00:00Z or +05:30")
    return parsed


DateTime = NewType("DateTime", datetime)
"""The Python side of the `DateTime` scalar: annotate fields and arguments with it."""

SCALARS: dict[object, ScalarDefinition] = {
    DateTime: strawberry.scalar(
        name="DateTime",
        description=(
            "An instant as an RFC 3339 string that always carries its offset, e.g. "
            "`2026-11-24T09:00:00Z` or `2026-11-24T14:30:00+05:30`. Inputs without an offset are "
            "refused; provider times without one are UTC."
        ),
        serialize=rfc3339,
        parse_value=_parse_input,
    )
}
"""What every schema that uses `DateTime` passes as `StrawberryConfig(scalar_map=...)`."""
