"""What `search` means, the same for every adapter.

A search containing "@" is an email address: it matches a candidate having an address equal to
it (case-insensitive, whole address). Any other search is a case-insensitive substring of the
full name (first and last name when the provider keeps none), first name, last name or any
email address. Leading and trailing blanks are ignored,
and a blank search matches everyone.

Adapters may push a search down to their provider, but they still filter what comes back with
`matches_search`: a provider's own matching may only narrow the rows, never widen them.
"""

from __future__ import annotations

from providers.model import CandidateRecord

__all__ = ["is_address", "matches_search"]


def is_address(search: str) -> bool:
    """Whether the search is matched as a whole email address rather than as a substring."""
    return "@" in search


def matches_search(record: CandidateRecord, search: str) -> bool:
    needle = search.strip().casefold()
    if not needle:
        return True
    emails = [email.value.strip().casefold() for email in record.emails]
    if is_address(needle):
        return needle in emails
    parts = " ".join(part for part in (record.first_name, record.last_name) if part)
    names = (record.full_name or parts, record.first_name, record.last_name)
    return any(needle in text for text in [*(n.casefold() for n in names if n), *emails])
