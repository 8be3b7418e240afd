"""Log setup: JSON lines in production, readable lines in a terminal; one line per request.

`RequestLog` writes that line for every HTTP request, whatever answered it (the GraphQL view,
the guard's refusals, /healthz, /metrics, webhooks): method, path without its query string,
status, duration, the client's address, and, for GraphQL, what the view put in the request's
scope state (`request_id`, `operation`, `outcome`, `upstream_calls`). It replaces uvicorn's
access log, which `gateway.server` turns off: one line per request, not two.

A line costs: every request writes one, so records skip what no formatter here prints (the
caller's file and line, thread and process names) and JSON is written by orjson.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["JsonFormatter", "RequestLog", "TextFormatter", "configure_logging", "request_logger"]

request_logger = logging.getLogger("gateway.requests")
FIELDS = (
    "request_id",
    "operation",
    "outcome",
    "status",
    "duration_ms",
    "upstream_calls",
    "client",
    "transport",
    "operation_type",
    "events",
    "error_codes",
)
STATE_FIELDS = ("request_id", "operation", "outcome", "upstream_calls")


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:  # one strftime a second, not one a line
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._stamp}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        attributes = record.__dict__
        for name in FIELDS:
            if name in attributes:
                entry[name] = attributes[name]
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        try:
            return orjson.dumps(entry, default=str).decode()
        except (TypeError, orjson.JSONEncodeError):  # a lone surrogate, an integer past 64 bits
            return json.dumps(entry, default=str)


_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, each one line: a message's control characters are
    written as escapes, so a request path holding a newline (`/x%0aFAKE ...`) cannot forge a
    line of its own. A traceback, added after the message, keeps its lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = record.message.translate(_CONTROLS)
        return super().formatMessage(record)


class RequestLog:
    """ASGI middleware: one `gateway.requests` line per HTTP request, once it was answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not request_logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            state = scope.get("state") or {}
            if "live" not in state:  # a stream writes its own line as it ends (LiveOperation)
                extra: dict[str, Any] = {
                    "status": status,
                    "duration_ms": round((time.perf_counter() - began) * 1000, 2),
                }
                client = scope.get("client")
                if client:
                    extra["client"] = f"{client[0]}:{client[1]}"
                for name in STATE_FIELDS:
                    if name in state:
                        extra[name] = state[name]
                request_logger.info(f"{scope['method']} {scope['path']} {status}", extra=extra)


def configure_logging(style: str = "auto", level: int = logging.INFO) -> None:
    """`style` is "json", "text" or "auto" (text on a terminal, JSON otherwise)."""
    use_json = style == "json" or (style == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Neither format prints where a line was logged from, nor thread or process: the logging
    # documentation's own switches for not collecting them on every record (a stack walk, a
    # getpid and a thread lookup per line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry upstream URLs
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
