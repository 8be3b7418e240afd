"""Tolerant readers of upstream JSON, shared by every adapter's wire mapping.

Upstream answers are untrusted: a field may be missing, null, of another type, or absurd. Each
reader returns the value when it has the expected shape and an empty answer (None, (), [])
otherwise, so a mapping never raises on a malformed field and never passes a wrong type on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["figure", "instant", "mappings", "strings", "text", "text_or_integer"]

MAX_INSTANT = 64  # characters; an ISO 8601 date-time with an offset needs about 35


def text(raw: Mapping[str, Any], key: str) -> str | None:
    """A non-empty string."""
    value = raw.get(key)
    return value if isinstance(value, str) and value != "" else None


def text_or_integer(raw: Mapping[str, Any], key: str) -> str | None:
    """A string with something besides blanks, or an integer as its decimal text (numeric ids)."""
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def figure(raw: Mapping[str, Any], key: str, limit: float) -> float | None:
    """A finite number no larger than `limit` either way, or None: NaN, 1e999 and 10**400 all
    parse as JSON."""
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > limit:
        return None
    number = float(value)
    return number if math.isfinite(number) and abs(number) <= limit else None


def strings(raw: Mapping[str, Any], key: str, *, keep_empty: bool = False) -> tuple[str, ...]:
    """The strings of a list (other items skipped); empty strings only with `keep_empty`."""
    value = raw.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and (keep_empty or item))


def mappings(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The objects of a list (other items skipped)."""
    value = raw.get(key)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def instant(value: object) -> datetime | None:
    """An ISO 8601 date-time as a timezone-aware datetime (naive ones are taken as UTC), or None
    for anything else. Filters the gateway applies itself (`updated_after` over a scan) compare
    these: parsed here, the same way for every provider, never by the provider's own rules."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_INSTANT:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
