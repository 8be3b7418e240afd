"""Registered GraphQL documents (automatic persisted queries), behind one protocol.

`DocumentStore` is what gateway.persisted reads and writes: a document's text by its SHA-256,
within a *scope* (the client that registered it, so no client learns which documents another
runs). `MemoryDocumentStore` (here) is this process's, `store.documents_redis` is shared by
every process naming the same Redis. Both are bounded in count per scope, oldest registration
out first: each client has its own share (`per_scope`), so no client's registrations push
another's out. The size of a document is bounded by the caller, which knows the setting.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

__all__ = ["DocumentStore", "MemoryDocumentStore", "per_scope"]


class DocumentStore(Protocol):
    async def get(self, scope: str, digest: str) -> str | None:
        """The document registered under `digest`, or None (unknown, evicted, store down)."""
        ...

    async def put(self, scope: str, digest: str, document: str) -> None:
        """Registers a document whose digest the caller has checked."""
        ...


def per_scope(max_documents: int, scopes: int) -> int:
    """Each scope's share of `max_documents` when `scopes` clients register (at least one)."""
    return max(1, max_documents // max(1, scopes))


class MemoryDocumentStore:
    """This process's registry: at most `per_scope` documents for each scope, least recently
    used out first."""

    def __init__(self, per_scope: int) -> None:
        self.per_scope = per_scope
        self._scopes: dict[str, OrderedDict[str, str]] = {}

    async def get(self, scope: str, digest: str) -> str | None:
        documents = self._scopes.get(scope)
        document = None if documents is None else documents.get(digest)
        if documents is not None and document is not None:
            documents.move_to_end(digest)
        return document

    async def put(self, scope: str, digest: str, document: str) -> None:
        documents = self._scopes.setdefault(scope, OrderedDict())
        documents[digest] = document
        documents.move_to_end(digest)
        while len(documents) > self.per_scope:
            documents.popitem(last=False)
