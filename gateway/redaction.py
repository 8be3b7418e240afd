"""Keeps secrets out of log lines: every handler gets a filter that masks known secret values.

The filter masks the message, each format argument and any traceback, so a secret cannot slip
through as an argument or in an exception's text. Client keys are configured only as digests,
so the gateway cannot know them to mask them: credentials that look like one (`Bearer …`,
`access_token=…`) are masked by shape, and query strings (where clients put keys they should
not) never reach the access log at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["DropQueryStrings", "RedactSecrets", "install_redaction"]

MASK = "[redacted]"
CREDENTIAL = re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}")
KEYED_VALUE = re.compile(r"(?i)\b([a-z_-]*(?:token|key|secret|password|auth)[a-z_-]*)=[^&\s\"']+")
REMEMBERED_TEXTS = 1024  # masked forms kept, of texts up to REMEMBERED_LENGTH characters
REMEMBERED_LENGTH = 200


class RedactSecrets(logging.Filter):
    """Masks known secrets and credential-shaped text in every record a handler emits.

    Most of what is logged repeats (format strings, methods, paths, statuses), so short texts
    are remembered with their masked form: a line costs dictionary lookups, not a pass of
    every pattern. The memory is bounded and forgotten whenever a secret is added.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self._seen: dict[str, str] = {}
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Longest first, so a secret that contains another is masked whole."""
        known = set(self.secrets) | {s for s in secrets if len(s) >= 4}
        self.secrets = sorted(known, key=len, reverse=True)
        self._seen = {}

    def redact(self, text: str) -> str:
        seen = self._seen.get(text)
        if seen is not None:
            return seen
        masked = text
        for secret in self.secrets:
            masked = masked.replace(secret, MASK)
        if "=" in masked:
            masked = KEYED_VALUE.sub(rf"\1={MASK}", masked)
        masked = CREDENTIAL.sub(rf"\1\2{MASK}", masked)
        if len(text) <= REMEMBERED_LENGTH:
            if len(self._seen) >= REMEMBERED_TEXTS:
                self._seen = {}
            self._seen[text] = masked
        return masked

    def _clean(self, value: object) -> object:
        text = str(value)
        cleaned = self.redact(text)
        return value if cleaned == text else cleaned

    def filter(self, record: logging.LogRecord) -> bool:
        # Arguments are masked one by one, keeping their shape: formatters such as uvicorn's
        # access log unpack `record.args` themselves.
        record.msg = self._clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: self._clean(arg) for key, arg in record.args.items()}
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class DropQueryStrings(logging.Filter):
    """For uvicorn's access log, whose lines carry each request's path with its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_path_only(arg) for arg in record.args)
        return True


def _path_only(value: object) -> object:
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.partition("?")[0] + "?" + MASK
    return value


def install_redaction(secrets: Iterable[str]) -> None:
    """Masks `secrets` on every handler configured now (root, uvicorn's and the rest).

    A handler that already has the filter (another app in this process) learns the new secrets
    too, so every app's secrets stay masked whichever was created first.
    """
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryStrings) for f in access.filters):
        access.addFilter(DropQueryStrings())
    secrets = set(secrets)
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            present = [f for f in handler.filters if isinstance(f, RedactSecrets)]
            if present:
                present[0].add(secrets)
            else:
                handler.addFilter(RedactSecrets(secrets))
