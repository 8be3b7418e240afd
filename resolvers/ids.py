"""Global IDs: opaque to clients, stable, and naming the type and the account of what they point at.

The payload is a compact JSON array, base64url-encoded without padding, so remote ids may hold any
character without ambiguity.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass

from resolvers.compact import compact_json
from resolvers.errors import BadUserInput

__all__ = ["GlobalId", "decode_id", "encode_id"]

KINDS = frozenset({"Candidate", "Application", "Job", "JobStage", "RejectReason"})
# Kinds found again through a parent: an application through its candidate, a stage through its job.
PARENTED = frozenset({"Application", "JobStage"})


@dataclass(frozen=True, slots=True)
class GlobalId:
    kind: str
    account: str
    remote_id: str
    parent: str | None = None  # an application's candidate, a stage's job (see PARENTED)

    def encode(self) -> str:
        return encode_id(self.kind, self.account, self.remote_id, self.parent)


@functools.lru_cache(maxsize=8192)
def encode_id(kind: str, account: str, remote_id: str, parent: str | None = None) -> str:
    """Remembered: a page's candidates, applications and jobs are mostly the ones the last
    requests showed, and an ID is a pure function of its parts."""
    parts = [kind, account, remote_id] if parent is None else [kind, account, remote_id, parent]
    return base64.urlsafe_b64encode(compact_json(parts)).rstrip(b"=").decode()


def _text(part: object) -> bool:
    """A non-empty string that is Unicode text: JSON's `\\ud800` escape decodes to a lone
    surrogate, which no URL, log line or response can carry."""
    if not isinstance(part, str) or not part:
        return False
    try:
        part.encode()
    except UnicodeEncodeError:
        return False
    return True


def decode_id(value: str, *, expect: str | None = None, field: str = "id") -> GlobalId:
    """Parses a global ID, raising BAD_USER_INPUT for anything this gateway did not issue.

    Only the exact bytes `encode_id` writes are an ID: the base64 decoder skips characters
    outside its alphabet and takes padding, and JSON takes spaces and escapes, so without the
    round trip one node would answer to many spellings of its ID, and return another."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        parts = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        parts = None
    valid = (
        isinstance(parts, list)
        and len(parts) in (3, 4)
        and all(_text(p) for p in parts)
        and parts[0] in KINDS
        and (len(parts) == 4) == (parts[0] in PARENTED)
    )
    gid = GlobalId(*parts) if valid else None
    if gid is None or gid.encode() != value:
        raise BadUserInput(f"{field} is not a valid ID", field=(field,))
    if expect is not None and gid.kind != expect:
        raise BadUserInput(f"{field} is not a {expect} ID", field=(field,))
    return gid
