"""Registered GraphQL documents (automatic persisted queries), behind one protocol.

`DocumentStore` is what gateway.persisted reads and writes: a document's text by its SHA-256,
within a *scope* (the client that registered it, so no client learns which documents another
runs). `MemoryDocumentStore` (here) is this process's, `store.documents_redis` is shared by
every process naming the same Redis. Both are bounded in count, oldest registration out first;
the size of a document is bounded by the caller, which knows the setting.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

__all__ = ["DocumentStore", "MemoryDocumentStore"]


class DocumentStore(Protocol):
    async def get(self, scope: str, digest: str) -> str | None:
        """The document registered under `digest`, or None (unknown, evicted, store down)."""
        ...

    async def put(self, scope: str, digest: str, document: str) -> None:
        """Registers a document whose digest the caller has checked."""
        ...


class MemoryDocumentStore:
    """This process's registry: at most `max_documents`, least recently used out first."""

    def __init__(self, max_documents: int) -> None:
        self.max_documents = max_documents
        self._documents: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def get(self, scope: str, digest: str) -> str | None:
        document = self._documents.get((scope, digest))
        if document is not None:
            self._documents.move_to_end((scope, digest))
        return document

    async def put(self, scope: str, digest: str, document: str) -> None:
        self._documents[scope, digest] = document
        self._documents.move_to_end((scope, digest))
        while len(self._documents) > self.max_documents:
            self._documents.popitem(last=False)
