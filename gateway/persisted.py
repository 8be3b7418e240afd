"""Persisted documents: which GraphQL text a request runs when it names a document by hash.

Two modes, checked before anything parses the document:

- **Automatic persisted queries** (Apollo's `extensions.persistedQuery: {version: 1,
  sha256Hash}`), on by default. A hash alone runs the document the same client registered
  earlier, or answers `PERSISTED_QUERY_NOT_FOUND` (HTTP 200, message `PersistedQueryNotFound`,
  which Apollo's link matches), so the client sends it again with the text. A hash with the
  text registers it, once the operation has run past parsing, validation and the query limits
  (the view keeps it then): nothing over a limit, and nothing from a request without a
  key, is ever kept. A text whose SHA-256 is not the hash is refused (400, BAD_USER_INPUT) and
  never kept. With APQ off, any hash is answered `PERSISTED_QUERY_NOT_SUPPORTED` (200), and
  Apollo's link stops sending hashes.
- **Trusted documents** (`[gateway] trusted_documents = "persisted-documents.json"`): the
  manifest GraphQL Code Generator's client preset writes, a JSON object of hash → document.
  Only those documents run, named by `extensions.persistedQuery.sha256Hash` (Apollo's link with
  the preset's hash) or `documentId` (the GraphQL-over-HTTP draft: `sha256:<hash>` or the bare
  hash). Everything else is refused with `PERSISTED_QUERY_NOT_ALLOWED` (403) before parsing;
  a text sent beside the id must be the manifest's. APQ registration is off in this mode.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException

from store.documents import DocumentStore

__all__ = [
    "DocumentRefused",
    "PersistedQueries",
    "Resolved",
    "TrustedDocuments",
    "read_manifest",
    "resolve",
]

log = logging.getLogger("gateway.persisted")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class PersistedQueries:
    enabled: bool = True
    max_documents: int = 10_000  # registered documents kept, over every client
    max_bytes: int = 32 * 1024  # a longer document still runs, but is not kept
    max_age: int = 0  # seconds a hash-only GET answer may be kept privately; 0 = no-store


class DocumentRefused(HTTPException):
    """The request names a document it may not run; answered before anything parses."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Resolved:
    query: str | None  # the document text
    scope: str = ""  # the client the document is registered for
    register: str | None = None  # the digest to keep `query` under once it has run
    by_hash: bool = False  # named by hash alone (a GET of this form may be cached)


def read_manifest(path: Path) -> dict[str, str]:
    """The manifest at `path`; ValueError (naming the file, never its text) when unusable."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as error:
        raise ValueError(f"{path}: cannot read ({error.strerror})") from None
    except ValueError:
        raise ValueError(f"{path}: not valid JSON") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: expected a JSON object of hash → document text")
    return data


class TrustedDocuments:
    """The manifest, read again when the file changes (checked on every request: one stat).

    A file that changed into something unusable keeps the last good manifest and logs why.
    Replace the file atomically (write, then rename: what a Kubernetes ConfigMap update does),
    so no request reads it half written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = self._stat()
        self._documents = read_manifest(path)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return (found.st_mtime_ns, found.st_size, found.st_ino)

    def documents(self) -> Mapping[str, str]:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._documents = read_manifest(self.path)
            except ValueError as error:
                log.error("trusted documents not reloaded, the last good ones stay: %s", error)
            else:
                log.info("trusted documents reloaded: %d documents", len(self._documents))
        return self._documents

    def lookup(self, document_id: str) -> str | None:
        documents = self.documents()
        found = documents.get(document_id)
        if found is None and ":" in document_id:
            found = documents.get(document_id.split(":", 1)[1])
        return found


SHAPES = (
    ("query", str, "a string"),
    ("operationName", str, "a string"),
    ("variables", Mapping, "an object"),
    ("extensions", Mapping, "an object"),
)


def _check_shape(data: Mapping[str, Any]) -> None:
    """The members of a request every transport refuses alike, before anything reads them: a
    socket's payload once reached the parser's cache with a list for `query` (a TypeError,
    logged, and the operation ended with no error), and a POST's `operationName` of any JSON
    type came back in its message as a Python repr."""
    for name, kind, what in SHAPES:
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            message = f"The GraphQL operation's `{name}` must be {what} or null, if provided."
            raise DocumentRefused(400, "BAD_USER_INPUT", message)
    if _holds_lone_surrogate(data):
        message = "the request holds a lone surrogate escape (\\ud800-\\udfff), which is no text"
        raise DocumentRefused(400, "BAD_USER_INPUT", message)


def _holds_lone_surrogate(data: Mapping[str, Any]) -> bool:
    """JSON may escape half a UTF-16 pair, which no Unicode text holds: a variable carrying one
    was sent on to a provider, failed to encode there and read as the account's
    UPSTREAM_UNAVAILABLE, after spending its rate budget. orjson refuses to write such a string
    (and integers past 64 bits, which the standard encoder then decides)."""
    try:
        orjson.dumps(data)
    except TypeError:
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return True
        except (TypeError, ValueError, RecursionError):
            return False
    return False


def _persisted_hash(extensions: Any) -> str | None:
    """`extensions.persistedQuery.sha256Hash`, checked; None when there is no persistedQuery."""
    if not isinstance(extensions, Mapping) or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
        raise DocumentRefused(400, "BAD_USER_INPUT", "persistedQuery.version must be 1")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not digest:
        raise DocumentRefused(400, "BAD_USER_INPUT", "persistedQuery.sha256Hash is missing")
    return digest


def _trusted(
    trusted: TrustedDocuments, query: Any, digest: str | None, document_id: Any
) -> Resolved:
    named = digest if digest is not None else document_id
    if not isinstance(named, str) or not named:
        raise DocumentRefused(
            403,
            "PERSISTED_QUERY_NOT_ALLOWED",
            "only trusted documents run here: send documentId or extensions.persistedQuery",
        )
    document = trusted.lookup(named)
    if document is None:
        raise DocumentRefused(
            403, "PERSISTED_QUERY_NOT_ALLOWED", "the document is not one of the trusted documents"
        )
    if query is not None and query != document:
        raise DocumentRefused(
            403, "PERSISTED_QUERY_NOT_ALLOWED", "the query text is not the trusted document's"
        )
    return Resolved(document, by_hash=query is None)


async def resolve(
    data: Mapping[str, Any],
    scope: str,
    persisted: PersistedQueries,
    store: DocumentStore,
    trusted: TrustedDocuments | None,
) -> Resolved:
    """The document `data` (a request's parsed body or query string, or a socket's subscribe
    payload) runs, for client `scope`."""
    _check_shape(data)
    query = data.get("query")
    digest = _persisted_hash(data.get("extensions"))
    document_id = data.get("documentId")
    if trusted is not None:
        return _trusted(trusted, query, digest, document_id)
    if digest is None and document_id is None:
        return Resolved(query, scope)
    if not persisted.enabled:
        raise DocumentRefused(200, "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
    if digest is None:
        if not isinstance(document_id, str) or not document_id.startswith("sha256:"):
            raise DocumentRefused(400, "BAD_USER_INPUT", "documentId must be sha256:<hash>")
        digest = document_id.removeprefix("sha256:")
    digest = digest.lower()
    if not SHA256.match(digest):
        raise DocumentRefused(400, "BAD_USER_INPUT", "sha256Hash must be 64 hex digits")
    if query is None:
        document = await store.get(scope, digest)
        if document is None:
            raise DocumentRefused(200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        return Resolved(document, scope, by_hash=True)
    text = query.encode()  # `_check_shape` refused any lone surrogate, which UTF-8 cannot hold
    if hashlib.sha256(text).hexdigest() != digest:
        raise DocumentRefused(400, "BAD_USER_INPUT", "the sha256Hash does not match the query")
    keep = len(text) <= persisted.max_bytes
    return Resolved(query, scope, register=digest if keep else None)
