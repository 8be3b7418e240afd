"""What the emulator's route handlers are given (`Call`) and return (`Result`), and the id
lists, contact entries and timestamps both APIs read and write alike."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from starlette.datastructures import QueryParams
from starlette.requests import Request

from emulators.greenhouse.store import GreenhouseOrg

__all__ = ["MAX_IDS"]

MAX_IDS: Final = 50
DIGITS = re.compile(r"^[0-9]+$")


@dataclass(frozen=True, slots=True)
class Call:
    org: GreenhouseOrg
    user: str
    request: Request
    body: object | None
    body_is_json: bool

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    def json_body(self, error: Callable[[str], Exception]) -> object:
        if not self.body_is_json:
            raise error("Request body must be valid JSON")
        return self.body


Result = tuple[int, object, Mapping[str, str]]
CallHandler = Callable[[Call], Result]


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def id_list(raw: str, name: str, error: Callable[[str], Exception]) -> list[int]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts or not all(DIGITS.match(part) for part in parts):
        raise error(f"{name} must be a comma-separated list of integer ids")
    if len(parts) > MAX_IDS:
        raise error(f"{name} accepts at most {MAX_IDS} ids")
    return list(dict.fromkeys(int(part) for part in parts))


def typed_body_entries(
    body: Mapping[str, object],
    name: str,
    value_key: str,
    types: Sequence[str] | None,
    error: Callable[[str, str], Exception],
) -> list[dict[str, str]]:
    """Validated contact entries, stored the Harvest way (`{value, type}`)."""
    raw = body.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise error(name, f"{name} must be an array")
    entries = []
    for n, item in enumerate(raw):
        value = item.get(value_key) if isinstance(item, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise error(f"{name}[{n}].{value_key}", f"{name}[{n}].{value_key} is required")
        entry = {"value": value.strip()}
        if types is not None:
            kind = item.get("type")
            if kind not in types:
                raise error(
                    f"{name}[{n}].type", f"{name}[{n}].type must be one of {', '.join(types)}"
                )
            entry["type"] = str(kind)
        entries.append(entry)
    return entries
