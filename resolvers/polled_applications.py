"""Application change events for Talynce, found through the candidates that changed.

Talynce lists applications (`candidate_jobs` rows) only with their candidate, one GET each, and
offers no updated-since filter for them. Every change to a row goes through the candidate
update (`application {job_id, status}`: a new row, a stage move, a rejection, which is a move to
the Rejected status), and that update moves the candidate's `updated_at` too. So the poller
(`resolvers.polling`) hands over the candidates its candidate listing found new or changed, and
this reads them, one GET each (the adapter's `applications_for`), and compares their rows with
what it saw there before: a row it did not see is CREATED, a seen row whose `updated_at` moved is
UPDATED, a seen row that is gone is DELETED, and so are the seen rows of a candidate that is
gone. A candidate read for the first time has nothing to compare with: its rows updated since
watching began are reported (CREATED when also created since), the others are its baseline.

Not detected: a row changed without its candidate's `updated_at` moving (a create-or-match POST
that adds a row to an existing candidate leaves it, as the emulator does; dashboard edits are
undocumented), and the deletion of a row on a candidate not read since watching began.

Bounds: at most `reads` GETs per poll (a tenth of the poller's `max_rows`, at least one);
candidates beyond that wait, oldest first, for the next polls. A backlog of more than `keep`
candidates drops the oldest (logged: their changes are missed); the rows of the `keep`
candidates read last are remembered.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import islice

from providers.base import Provider
from providers.events import ChangeKind, ObjectType, parse_time
from providers.model import ApplicationRecord
from resolvers.poll_events import Publish, poll_event

__all__ = ["PolledApplications"]

log = logging.getLogger("gateway.polling")


class PolledApplications:
    """One account's application polling, fed the candidates that changed."""

    def __init__(
        self, account_id: str, provider: Provider, publish: Publish, max_rows: int
    ) -> None:
        self.account_id = account_id
        self.provider = provider
        self.publish = publish
        self.reads = max(1, max_rows // 10)
        self.keep = 4 * max_rows
        self.started = datetime.now(UTC)
        self._rows: OrderedDict[str, dict[str, str | None]] = OrderedDict()
        self._pending: dict[str, None] = {}  # candidates to read, oldest first
        self._gone: dict[str, None] = {}  # candidates deleted, whose seen rows are to report
        self._dropped = False

    def note(self, changed: Iterable[str], gone: Iterable[str]) -> None:
        """Candidates the listing found new or changed, and candidates it found deleted."""
        for remote_id in changed:
            self._pending.setdefault(remote_id, None)
        for remote_id in gone:
            self._pending.pop(remote_id, None)
            self._gone[remote_id] = None
        while len(self._pending) > self.keep:
            del self._pending[next(iter(self._pending))]
            if not self._dropped:
                self._dropped = True
                log.warning(
                    "%s: over %d changed candidates wait for their applications to be read; "
                    "the oldest are skipped",
                    self.account_id,
                    self.keep,
                )

    async def poll(self) -> None:
        """Reports what changed on the candidates noted, reading at most `reads` of them."""
        for remote_id in list(self._gone):
            await self._compare(remote_id, ())
            del self._gone[remote_id]
        batch = list(islice(self._pending, self.reads))
        if not batch:
            return
        answers = await self.provider.applications_for(batch)
        for remote_id in batch:
            await self._compare(remote_id, answers.get(remote_id, ()))
            del self._pending[remote_id]

    async def _compare(self, candidate_id: str, rows: Sequence[ApplicationRecord]) -> None:
        known = self._rows.get(candidate_id)
        for row in rows:
            if known is not None:
                if row.remote_id in known and known[row.remote_id] == row.updated_at:
                    continue
                kind = ChangeKind.UPDATED if row.remote_id in known else ChangeKind.CREATED
            else:
                if parse_time(row.updated_at or row.created_at) <= self.started:
                    continue
                created = parse_time(row.created_at, self.started)
                kind = ChangeKind.CREATED if created >= self.started else ChangeKind.UPDATED
            await self._event(candidate_id, row.remote_id, kind, row.updated_at)
        present = {row.remote_id for row in rows}
        for remote_id in [r for r in known or () if r not in present]:
            await self._event(candidate_id, remote_id, ChangeKind.DELETED, None)
        self._rows.pop(candidate_id, None)
        if rows:
            self._rows[candidate_id] = {row.remote_id: row.updated_at for row in rows}
            while len(self._rows) > self.keep:
                self._rows.popitem(last=False)

    async def _event(
        self, candidate_id: str, remote_id: str, kind: ChangeKind, updated: str | None
    ) -> None:
        await self.publish(
            poll_event(
                self.account_id, ObjectType.APPLICATION, remote_id, kind, updated, candidate_id
            )
        )
