"""What `bench.subscribers` counts: which sent event a delivery is, what each subscriber received
(once, twice, or not at all) and how long after its webhook left the sender.

An event is known by its `occurredAt`: the sender dates event `seq` `EPOCH + seq` ms (warm-up
events `WARM_EPOCH + n` ms), the gateway passes the provider's time through, and a subscriber
maps it back. Times are `time.monotonic()`, one clock for every process on a Linux machine.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.stats import percentile

__all__ = [
    "EPOCH",
    "WARM_EPOCH",
    "Outcome",
    "SubscriberLog",
    "Summary",
    "account_of",
    "event_time",
    "judge",
    "merge",
    "seq_of",
    "warm_time",
]

EPOCH = datetime(2030, 1, 1, tzinfo=UTC)
WARM_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
WARM = -1
"""`seq_of` for a warm-up event."""


def event_time(seq: int) -> str:
    return (EPOCH + timedelta(milliseconds=seq)).isoformat().replace("+00:00", "Z")


def warm_time(n: int) -> str:
    return (WARM_EPOCH + timedelta(milliseconds=n)).isoformat().replace("+00:00", "Z")


def seq_of(occurred_at: str) -> int | None:
    """The measured event an `occurredAt` names, `WARM` for a warm-up one, None for neither."""
    try:
        when = datetime.fromisoformat(occurred_at)
    except ValueError:
        return None
    if when.year == WARM_EPOCH.year:
        return WARM
    delta = when - EPOCH
    if delta < timedelta(0):
        return None
    return delta // timedelta(milliseconds=1)


def account_of(seq: int, accounts: int) -> int:
    """Which account event `seq` is in: events go round the accounts in turn."""
    return seq % accounts


@dataclass
class SubscriberLog:
    """One subscriber's deliveries: the first receive time of each event and how many came."""

    account: int
    received_at: array[float] = field(default_factory=lambda: array("d"))
    copies: bytearray = field(default_factory=bytearray)
    warm: bool = False
    errors: int = 0
    empty: int = 0
    """Deliveries whose object was null: the gateway's fetch found nothing or failed."""

    def record(self, seq: int, now: float) -> None:
        if seq == WARM:
            self.warm = True
            return
        if seq >= len(self.copies):
            grow = seq + 1 - len(self.copies) + 256
            self.copies.extend(bytes(grow))
            self.received_at.extend([0.0] * grow)
        if self.copies[seq] == 0:
            self.received_at[seq] = now
        if self.copies[seq] < 255:
            self.copies[seq] += 1

    @property
    def deliveries(self) -> int:
        return sum(self.copies)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One subscriber's result against the events the gateway accepted."""

    received: int
    lost: int
    duplicated: int
    foreign: int
    """Deliveries of events in an account this subscriber does not watch."""
    errors: int
    empty: int


def judge(
    log: SubscriberLog, sent_at: Sequence[float | None], accounts: int, latencies: array[float]
) -> Outcome:
    """Compares one subscriber's deliveries with the accepted events (`sent_at[seq]` is when
    event `seq` left the sender, None when the gateway did not accept it); appends the latency
    (ms) of each expected delivery to `latencies`."""
    lost = duplicated = foreign = 0
    for seq, sent in enumerate(sent_at):
        copies = log.copies[seq] if seq < len(log.copies) else 0
        if sent is None or account_of(seq, accounts) != log.account:
            foreign += copies
            continue
        if copies == 0:
            lost += 1
            continue
        duplicated += copies - 1
        latencies.append((log.received_at[seq] - sent) * 1000)
    foreign += sum(log.copies[len(sent_at) :])
    return Outcome(log.deliveries, lost, duplicated, foreign, log.errors, log.empty)


@dataclass(frozen=True, slots=True)
class Summary:
    subscribers: int
    expected: int
    received: int
    lost: int
    duplicated: int
    foreign: int
    errors: int
    empty: int
    min_count: int
    max_count: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.foreign or self.errors or self.empty)


def merge(outcomes: Iterable[Outcome], expected: int, latencies: array[float]) -> Summary:
    """Every subscriber's outcome and every delivery's latency, as one summary."""
    found = list(outcomes)
    counts = [o.received for o in found]
    ordered = sorted(latencies)
    return Summary(
        subscribers=len(found),
        expected=expected,
        received=sum(counts),
        lost=sum(o.lost for o in found),
        duplicated=sum(o.duplicated for o in found),
        foreign=sum(o.foreign for o in found),
        errors=sum(o.errors for o in found),
        empty=sum(o.empty for o in found),
        min_count=min(counts, default=0),
        max_count=max(counts, default=0),
        p50_ms=percentile(ordered, 50),
        p99_ms=percentile(ordered, 99),
        max_ms=ordered[-1] if ordered else None,
    )
