"""The emulator's two error shapes: Partner's `{"errors": [{message, field}]}` and Harvest's
`{message, errors}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.responses import JSONResponse

__all__ = ["HarvestError", "PartnerError"]


class PartnerError(Exception):
    """A Partner API error: `{"errors": [{"message", "field"?}]}`."""

    def __init__(self, status: int, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field_name = field_name

    def response(self) -> JSONResponse:
        error = {"message": self.message}
        if self.field_name is not None:
            error["field"] = self.field_name
        return JSONResponse({"errors": [error]}, status_code=self.status)


class HarvestError(Exception):
    """A Harvest v3 error: `{"message", "errors"?}`; errors are strings or {field: message}."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Sequence[str | Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body: dict[str, object] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = [e if isinstance(e, str) else dict(e) for e in self.errors]
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def unprocessable(*errors: str | Mapping[str, str]) -> HarvestError:
    return HarvestError(422, "Unprocessable Content", errors)
