"""Checks Merge traffic against Merge's own OpenAPI file, so the adapter and emulator can't drift.

`jsonschema` is not a dependency, so this is a small validator for the OpenAPI 3.0 subset
merge-ats-openapi.yml uses: type, properties, required, enum, nullable, items, allOf/oneOf/anyOf,
$ref, additionalProperties, min/maxLength, and the formats uuid, date-time, email and uri.
The file is Merge's 2023 spec; `CURRENT_API` adds what Merge has documented since (in
../shared/reference/providers.md and the current SDKs): `PATCH /candidates/{id}`, `expand`,
`Application.offers`, `POST /activities` with an Activity that names its candidate.
Expandable fields (`x-merge-expands-to`) may hold the expanded object instead of its id.
Request bodies are checked strictly: no property the schema does not name, none read-only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from emulators.merge.app import RecordedRequest

__all__ = ["SPEC_PATH", "check_traffic", "load_spec", "problems_in"]

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "reference" / "merge-ats-openapi.yml"
REF = "#/components/schemas/"

PATCHABLE = (
    "first_name", "last_name", "company", "title", "last_interaction_at", "is_private",
    "can_email", "locations", "phone_numbers", "email_addresses", "urls", "tags", "applications",
    "attachments", "remote_template_id", "integration_params", "linked_account_params",
)  # fmt: skip
APPLICATION_EXPANDS = {
    "candidate", "credited_to", "current_stage", "job", "offers", "reject_reason",
    "screening_question_answers", "screening_question_answers.question",
}  # fmt: skip
EXPANDS = {
    "/candidates": {"applications", "attachments"},
    "/candidates/{id}": {"applications", "attachments"},
    "/applications": APPLICATION_EXPANDS,
    "/applications/{id}": APPLICATION_EXPANDS,
}
# Write routes the 2023 file lacks, with the query parameters every Merge write takes.
CURRENT_WRITES = {("PATCH", "/candidates/{id}"), ("POST", "/activities")}


def _current_api(schemas: Mapping[str, Any]) -> dict[str, Any]:
    """Schemas of the current API that the 2023 file lacks (facts from the current Merge SDK)."""
    patched = {
        "type": "object",
        "properties": {name: schemas["CandidateRequest"]["properties"][name] for name in PATCHABLE},
    }
    application = dict(schemas["Application"])
    application["properties"] = {
        **application["properties"],
        "offers": {
            "type": "array",
            "items": {"type": "string", "format": "uuid", "nullable": True},
            "x-merge-expands-to": "Offer",
        },
        "created_at": {"type": "string", "format": "date-time"},
        "modified_at": {"type": "string", "format": "date-time"},
        "screening_question_answers": {"type": "array"},
    }
    activity = dict(schemas["Activity"])
    candidate_ref = {
        "type": "string",
        "format": "uuid",
        "nullable": True,
        "x-merge-expands-to": "Candidate",
    }
    activity["properties"] = {
        **activity["properties"],
        "candidate": candidate_ref,
        "created_at": {"type": "string", "format": "date-time"},
        "modified_at": {"type": "string", "format": "date-time"},
    }
    activity_request = {
        "type": "object",
        "properties": {
            name: activity["properties"][name]
            for name in ("user", "activity_type", "subject", "body", "visibility", "candidate")
        }
        | {
            name: schemas["ApplicationRequest"]["properties"][name]
            for name in ("remote_template_id", "integration_params", "linked_account_params")
        },
    }
    problems = {"type": "array", "items": {"$ref": REF + "ErrorValidationProblem"}}
    warnings = {"type": "array", "items": {"$ref": REF + "WarningValidationProblem"}}
    return {
        "PatchedCandidateRequest": patched,
        "PatchedCandidateEndpointRequest": {
            "type": "object",
            "properties": {
                "model": {"$ref": REF + "PatchedCandidateRequest"},
                "remote_user_id": {"type": "string"},
            },
            "required": ["model", "remote_user_id"],
        },
        "Application": application,
        "Activity": activity,
        "ActivityRequest": activity_request,
        "ActivityEndpointRequest": {
            "type": "object",
            "properties": {
                "model": {"$ref": REF + "ActivityRequest"},
                "remote_user_id": {"type": "string"},
            },
            "required": ["model", "remote_user_id"],
        },
        "ActivityResponse": {
            "type": "object",
            "properties": {
                "model": {"$ref": REF + "Activity"},
                "warnings": warnings,
                "errors": problems,
                "logs": {"type": "array", "items": {"$ref": REF + "DebugModeLog"}},
            },
            "required": ["model", "warnings", "errors"],
        },
        # Merge's 400 on a write: its problems, in the same shape as a 201's.
        "WriteErrorResponse": {
            "type": "object",
            "properties": {"errors": problems, "warnings": warnings},
            "required": ["errors"],
        },
        # Django REST Framework's error body, which Merge sends for 401, 404, 429 and 5xx.
        "DetailError": {
            "type": "object",
            "properties": {"detail": {"type": "string"}},
            "required": ["detail"],
        },
    }


@cache
def load_spec() -> dict[str, Any]:
    """Merge's OpenAPI file plus the current API's schemas; skips when it can't be read."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read Merge's OpenAPI file")
    if not SPEC_PATH.is_file():
        pytest.skip(f"{SPEC_PATH} is not there")
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    schemas.update(_current_api(schemas))
    return spec


def _schema(spec: Mapping[str, Any], name: str) -> Any:
    return spec["components"]["schemas"][name]


def _format_ok(value: str, form: str) -> bool:
    try:
        if form == "uuid":
            uuid.UUID(value)
        elif form == "date-time":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif form == "email":
            return re.fullmatch(r"[^@\s]+@[^@\s]+", value) is not None
        elif form == "uri":
            return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", value) is not None
    except ValueError:
        return False
    return True


TYPES: Mapping[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class _Validator:
    def __init__(self, spec: Mapping[str, Any], *, request: bool) -> None:
        self.spec = spec
        self.request = request
        self.found: list[str] = []

    def check(self, value: Any, schema: Mapping[str, Any], at: str) -> None:
        if "$ref" in schema:
            self.check(value, _schema(self.spec, schema["$ref"].removeprefix(REF)), at)
            return
        if value is None:
            if not schema.get("nullable") and ("type" in schema or "enum" in schema):
                self.found.append(f"{at}: null is not allowed")
            return
        expands = schema.get("x-merge-expands-to")
        if expands and isinstance(value, dict):
            self.check(value, {"$ref": REF + expands}, at)
            return
        for part in schema.get("allOf", ()):
            self.check(value, part, at)
        for key, want in (("oneOf", 1), ("anyOf", None)):
            if key in schema:
                passing = sum(1 for part in schema[key] if not self._sub(value, part, at))
                if passing == 0 or (want is not None and passing != want):
                    self.found.append(f"{at}: matches {passing} of {key}")
        kind = schema.get("type")
        if kind is not None and not TYPES[kind](value):
            self.found.append(f"{at}: expected {kind}, got {type(value).__name__}")
            return
        if "enum" in schema and value not in schema["enum"]:
            self.found.append(f"{at}: {value!r} is not one of {schema['enum']}")
        if isinstance(value, str):
            self._string(value, schema, at)
        elif isinstance(value, list):
            for n, item in enumerate(value):
                item_schema = schema.get("items", {})
                if expands and isinstance(item, dict):
                    item_schema = {"$ref": REF + expands}
                self.check(item, item_schema, f"{at}[{n}]")
        elif isinstance(value, dict):
            self._object(value, schema, at)

    def _sub(self, value: Any, schema: Mapping[str, Any], at: str) -> list[str]:
        inner = _Validator(self.spec, request=self.request)
        inner.check(value, schema, at)
        return inner.found

    def _string(self, value: str, schema: Mapping[str, Any], at: str) -> None:
        form = schema.get("format")
        if form and not _format_ok(value, form):
            self.found.append(f"{at}: {value!r} is not a {form}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            self.found.append(f"{at}: longer than {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            self.found.append(f"{at}: shorter than {schema['minLength']}")

    def _object(self, value: dict[str, Any], schema: Mapping[str, Any], at: str) -> None:
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                self.found.append(f"{at}: {name} is required")
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                if self.request and properties[name].get("readOnly"):
                    self.found.append(f"{at}.{name}: is read-only")
                self.check(item, properties[name], f"{at}.{name}")
            elif isinstance(extra, dict):
                self.check(item, extra, f"{at}.{name}")
            elif self.request and schema.get("type") == "object" and properties:
                self.found.append(f"{at}.{name}: not in the schema")


def problems_in(value: Any, schema_name: str, *, request: bool = False) -> list[str]:
    """Where `value` breaks the named component schema; empty when it conforms."""
    spec = load_spec()
    validator = _Validator(spec, request=request)
    validator.check(value, {"$ref": REF + schema_name}, schema_name)
    return validator.found


RESPONSES = {
    ("GET", "/candidates", 200): "PaginatedCandidateList",
    ("POST", "/candidates", 201): "CandidateResponse",
    ("GET", "/candidates/{id}", 200): "Candidate",
    ("PATCH", "/candidates/{id}", 200): "CandidateResponse",
    ("GET", "/candidates/meta/post", 200): "MetaResponse",
    ("GET", "/applications", 200): "PaginatedApplicationList",
    ("GET", "/applications/{id}", 200): "Application",
    ("POST", "/applications", 201): "ApplicationResponse",
    ("POST", "/applications/{id}/change-stage", 201): "ApplicationResponse",
    ("GET", "/reject-reasons", 200): "PaginatedRejectReasonList",
    ("POST", "/activities", 201): "ActivityResponse",
}
REQUESTS = {
    ("POST", "/candidates"): "CandidateEndpointRequest",
    ("PATCH", "/candidates/{id}"): "PatchedCandidateEndpointRequest",
    ("POST", "/applications"): "ApplicationEndpointRequest",
    ("POST", "/applications/{id}/change-stage"): "UpdateApplicationStageRequest",
    ("POST", "/activities"): "ActivityEndpointRequest",
}


def _response_schema(request: RecordedRequest) -> str:
    name = RESPONSES.get((request.method, request.route, request.status))
    if name is not None:
        return name
    if (
        request.status == 400
        and isinstance(request.response, dict)
        and "errors" in request.response
    ):
        return "WriteErrorResponse"
    assert request.status >= 400, f"no schema for {request.method} {request.route} {request.status}"
    return "DetailError"


def _query_problems(spec: Mapping[str, Any], request: RecordedRequest) -> list[str]:
    if (request.method, request.route) in CURRENT_WRITES:
        documented = {"is_debug_mode", "run_async"}  # the current API: every write's parameters
    else:
        operation = spec["paths"].get(request.route, {}).get(request.method.lower())
        if operation is None:
            return [f"{request.method} {request.route} is not in Merge's API"]
        documented = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}
    allowed_expands = EXPANDS.get(request.route, set())
    found = [
        f"query {name!r} is not a parameter of {request.method} {request.route}"
        for name in request.query
        if name not in documented and not (name == "expand" and allowed_expands)
    ]
    for part in request.query.get("expand", "").split(","):
        if part and part not in allowed_expands:
            found.append(f"expand {part!r} is not allowed on {request.route}")
    return found


def check_traffic(requests: Iterable[RecordedRequest]) -> list[str]:
    """Every way the recorded requests (body and query) and responses break Merge's API."""
    spec = load_spec()
    found: list[str] = []
    for request in requests:
        where = f"{request.method} {request.path} → {request.status}"
        if request.route != "/{path:path}" and request.status != 401:
            found += [f"{where}: {p}" for p in _query_problems(spec, request)]
        body_schema = REQUESTS.get((request.method, request.route))
        if body_schema is not None:
            found += [
                f"{where} body: {p}" for p in problems_in(request.body, body_schema, request=True)
            ]
        found += [
            f"{where} response: {p}"
            for p in problems_in(request.response, _response_schema(request))
        ]
    return found
