"""Which providers send webhooks, and the reader of each (`providers/<name>/webhooks.py`).

A provider missing here (Talynce) documents none; the gateway watches such accounts by polling
(`resolvers.polling`).
"""

from __future__ import annotations

from collections.abc import Mapping

from providers.events import WebhookReader
from providers.greenhouse.webhooks import READER as GREENHOUSE
from providers.merge.webhooks import READER as MERGE

__all__ = ["WEBHOOKS"]

WEBHOOKS: Mapping[str, WebhookReader] = {"greenhouse": GREENHOUSE, "merge": MERGE}
