"""The one meaning of `search` (providers.search), on records of every provider's shape."""

from __future__ import annotations

import pytest

from providers.model import CandidateRecord, Email
from providers.search import matches_search

GINNY = CandidateRecord(
    remote_id="42",
    first_name="Ginny",
    last_name="Weasley",
    full_name="Ginny Weasley",
    emails=(Email("ginny@example.com"), Email("g.weasley@harpies.example")),
)
ONLY_FULL_NAME = CandidateRecord(
    remote_id="t1", full_name="Asha Rao", emails=(Email("asha@example.com"),)
)
NO_EMAIL = CandidateRecord(remote_id="m1", first_name="Gil", last_name="Feig")


@pytest.mark.parametrize(
    ("record", "search", "found"),
    [
        (GINNY, "gin", True),
        (GINNY, "WEASLEY", True),
        (GINNY, "ginny weasley", True),
        (GINNY, "  nny wea\t", True),  # blanks around are ignored
        (GINNY, "harpies.example", True),  # no "@": a substring of an address
        (GINNY, "GINNY@example.com", True),  # a whole address, any case
        (GINNY, " g.weasley@HARPIES.example ", True),  # any of the addresses
        (GINNY, "nny@example.com", False),  # an address that is only a suffix of one
        (GINNY, "ginny@example.co", False),  # a prefix of one
        (GINNY, "ginny@", False),
        (GINNY, "ron", False),
        (GINNY, "   ", True),  # blank: no filter
        (ONLY_FULL_NAME, "sha r", True),
        (ONLY_FULL_NAME, "asha@example.co", False),
        (ONLY_FULL_NAME, "ASHA@EXAMPLE.COM", True),
        (NO_EMAIL, "il fe", True),
        (NO_EMAIL, "feig@", False),
    ],
)
def test_an_address_matches_whole_and_anything_else_as_a_substring(
    record: CandidateRecord, search: str, found: bool
) -> None:
    assert matches_search(record, search) is found
