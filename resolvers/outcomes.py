"""What an idempotency key remembers, as JSON: a write's `WriteOutcome` or its unknown outcome.

A store outside the process (Redis) keeps this form; a replay in any process rebuilds the
outcome around that process's live `Account`, found by the id the entry names. Entries carry a
version; one this code cannot read replays as an unknown outcome, which is what it is to the
gateway: the first attempt happened, and what it produced can no longer be told.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from providers.errors import FieldProblem, UpstreamOutcomeUnknown
from providers.model import WriteWarning
from resolvers.accounts import Accounts, ServedAccount
from resolvers.candidates import FoundApplication, FoundCandidate
from resolvers.mutations import FoundNote, WriteOutcome
from store.records_json import application_from_json, candidate_from_json, note_from_json, to_json

__all__ = ["OutcomeCodec"]

VERSION = 1
KIND_OF: dict[type, str] = {
    FoundCandidate: "candidate",
    FoundApplication: "application",
    FoundNote: "note",
}
FOUND: dict[str, Callable[[ServedAccount, Any], object]] = {
    "candidate": FoundCandidate,
    "application": FoundApplication,
    "note": FoundNote,
}
RECORD_FROM_JSON: dict[str, Callable[[Any], object]] = {
    "candidate": candidate_from_json,
    "application": application_from_json,
    "note": note_from_json,
}


def _path(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(part) for part in value)


class OutcomeCodec:
    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    def encode(self, result: object) -> dict[str, Any]:
        if isinstance(result, UpstreamOutcomeUnknown):
            return {
                "v": VERSION,
                "unknown": {
                    "message": result.message,
                    "account": result.account,
                    "provider": result.provider,
                },
            }
        if not isinstance(result, WriteOutcome):
            raise TypeError(f"cannot remember a {type(result).__name__}")
        found = result.candidate or result.application or result.note
        return {
            "v": VERSION,
            "outcome": {
                "kind": None if found is None else KIND_OF[type(found)],
                "account": None if found is None else found.account.id,
                "record": None if found is None else to_json(found.record),
                "created": result.created,
                "warnings": [to_json(w) for w in result.warnings],
                "problems": [to_json(p) for p in result.problems],
            },
        }

    def decode(self, data: Any, *, account: str | None = None) -> object:
        """The remembered result; `account` names whose key it was, for the unknown case."""
        try:
            return self._decode(data)
        except (ValueError, TypeError, KeyError):
            return UpstreamOutcomeUnknown(
                "the first request with this idempotency key was answered, but its outcome "
                "can no longer be read; check whether the candidate exists",
                account=account,
                provider=None
                if (a := self._accounts.get(account or "")) is None
                else a.provider_name,
            )

    def _decode(self, data: Any) -> object:
        if not isinstance(data, Mapping) or data.get("v") != VERSION:
            raise ValueError("unknown entry version")
        if "unknown" in data:
            unknown = data["unknown"]
            return UpstreamOutcomeUnknown(
                str(unknown["message"]), account=unknown["account"], provider=unknown["provider"]
            )
        outcome = data["outcome"]
        account = self._accounts.get(outcome["account"] or "")
        record = outcome["record"]
        found: dict[str, object] = {}
        if record is not None and account is not None:
            kind = outcome.get("kind", "candidate")  # entries written before there were others
            found[kind] = FOUND[kind](account, RECORD_FROM_JSON[kind](record))
        return WriteOutcome(
            **found,  # type: ignore[arg-type]
            created=outcome["created"],
            warnings=tuple(
                WriteWarning(w["message"], w["code"], _path(w["field"]))
                for w in outcome["warnings"]
            ),
            problems=tuple(
                FieldProblem(p["code"], p["message"], _path(p["field"]))
                for p in outcome["problems"]
            ),
        )
