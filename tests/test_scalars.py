"""The DateTime scalar writes every instant one way, however often and in whatever order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from gateway.scalars import rfc3339


def test_the_same_instant_at_another_offset_keeps_its_offset() -> None:
    """Remembered texts are keyed by instant and offset: equal datetimes differ in writing."""
    utc = datetime(2026, 11, 24, 9, tzinfo=UTC)
    india = utc.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert utc == india
    for _ in range(2):
        assert rfc3339(utc) == "2026-11-24T09:00:00Z"
        assert rfc3339(india) == "2026-11-24T14:30:00+05:30"


def test_text_naive_and_invalid_values() -> None:
    for _ in range(2):
        assert rfc3339("2026-11-24T09:00:00") == "2026-11-24T09:00:00Z"
        assert rfc3339(" 2026-11-24T14:30:00.5+05:30 ") == "2026-11-24T14:30:00.500000+05:30"
        assert rfc3339(datetime(2026, 11, 24, 9)) == "2026-11-24T09:00:00Z"
        assert rfc3339("not a time") is None
        assert rfc3339(5) is None
