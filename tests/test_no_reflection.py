"""Nothing an upstream writes reaches a client: errors and userErrors carry the gateway's words.

A provider (or whoever sits between it and the gateway) controls the text of its error answers.
Passed on, that text would let it put markup, links or lies in front of the gateway's clients,
so adapters keep only what they can check against a fixed list: documented codes and the field
names the gateway itself writes. Each adapter is run here against one hostile upstream on
loopback that answers whatever a test scripts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import Settings
from providers.base import AccountConfig
from resolvers.ids import encode_id
from tests.servers import serve_in_thread

MARK = "HOSTILE"
TEXT = f"<script>alert('{MARK}')</script> see https://evil.example/{MARK}"

CREATE = """
mutation($input: CreateCandidateInput!) {
  createCandidate(input: $input) {
    candidate { id }
    warnings { field code message }
    userErrors { field code message }
  }
}
"""
READ = "query($id: ID!) { candidate(id: $id) { id fullName } }"
# Every name a userErrors or warnings path may hold here: the gateway's own input fields.
INPUT_NAMES = {"input", "emails", "firstName", "lastName", "tags", "title", "externalId", "jobId"}


@dataclass
class HostileUpstream:
    """Answers every call under /<account>/ with the (status, body) scripted for it."""

    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)

    async def answer(self, request: Request) -> Response:
        status, body = self.answers[request.path_params["account"]]
        return JSONResponse(body, status_code=status)

    async def token(self, request: Request) -> Response:
        return JSONResponse({"access_token": "hostile-token", "expires_in": 3600})

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PATCH", "PUT"]
        return Starlette(
            routes=[
                Route("/token", self.token, methods=["POST"]),
                Route("/{account}/{rest:path}", self.answer, methods=methods),
            ]
        )


def accounts(url: str) -> tuple[AccountConfig, ...]:
    def account(
        id_: str, provider: str, path: str, credentials: dict[str, str], **options: object
    ) -> AccountConfig:
        return AccountConfig(
            id=id_,
            name=id_,
            provider=provider,
            base_url=f"{url}/{id_}{path}",
            credentials=credentials,
            options=options,
            retries=0,
            breaker_threshold=10_000,
        )

    return (
        account("talynce", "talynce", "/api/v1", {"api_key": "talynce-key-0123456789"}),
        account(
            "merge",
            "merge",
            "/api/ats/v1",
            {"api_key": "merge-key-0123456789", "account_token": "merge-token-0123456789"},
            remote_user_id="user-1",
        ),
        account(
            "merge-debug",
            "merge",
            "/api/ats/v1",
            {"api_key": "merge-key-0123456789", "account_token": "merge-token-9876543210"},
            remote_user_id="user-1",
            is_debug_mode=True,
        ),
        account(
            "partner",
            "greenhouse",
            "/v1/partner",
            {"api_key": "partner-key-0123456789"},
            api="partner",
            on_behalf_of="owner@example.com",
        ),
        account(
            "harvest",
            "greenhouse",
            "/v3",
            {"client_id": "harvest-client", "client_secret": "harvest-secret-0123456789"},
            api="harvest",
            user_id=1,
            token_url="/token",
        ),
    )


@dataclass
class Stack:
    url: str
    upstream: HostileUpstream


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    upstream = HostileUpstream()
    with serve_in_thread(upstream.app()) as upstream_url:
        settings = Settings(accounts(upstream_url), cursor_secret=b"no-reflection")
        with serve_in_thread(create_app(settings), lifespan="on") as url:
            yield Stack(url, upstream)


def send(stack: Stack, account: str, operation: str) -> tuple[str, dict[str, Any]]:
    if operation == "create":
        person = {"firstName": "Ann", "lastName": "Lee", "externalId": "ext-1"}
        emails = [{"value": "ann@example.com"}]
        variables: dict[str, Any] = {"input": {"account": account, **person, "emails": emails}}
        query = CREATE
    else:
        remote_id = MERGE_ID if account == "merge" else "123"
        query, variables = READ, {"id": encode_id("Candidate", account, remote_id)}
    response = httpx.post(
        f"{stack.url}/graphql", json={"query": query, "variables": variables}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.text, response.json()


def problem(kind: str, pointer: str) -> dict[str, object]:
    return {"problem_type": kind, "title": TEXT, "detail": TEXT, "source": {"pointer": pointer}}


MERGE_ID = "5f0c8a3e-1111-4222-8333-944445555666"
MERGE_MODEL = {"id": "m-1", "remote_id": "1", "first_name": "Ann", "last_name": "Lee"}

# (account, status, body, operation, the code the client must see)
CASES = {
    "talynce-403-unknown-code": (
        "talynce",
        403,
        {"error": {"code": TEXT, "message": TEXT}},
        "read",
        "UPSTREAM_AUTH_FAILED",
    ),
    "talynce-validation": (
        "talynce",
        400,
        {
            "error": {
                "code": "validation_error",
                "message": TEXT,
                "details": {"fields": [TEXT, "email", f"application.{MARK}", {"x": TEXT}]},
            }
        },
        "create",
        "BAD_USER_INPUT",
    ),
    "talynce-locked": (
        "talynce",
        403,
        {
            "error": {
                "code": "talent_pool_reveal_required",
                "message": TEXT,
                "details": {"field": TEXT},
            }
        },
        "create",
        "TALENT_POOL_REVEAL_REQUIRED",
    ),
    "talynce-teapot": (
        "talynce",
        418,
        {"error": {"code": TEXT, "message": TEXT}},
        "read",
        "UPSTREAM_BAD_RESPONSE",
    ),
    "merge-400-detail": ("merge", 400, {"detail": TEXT}, "create", "ERROR"),
    "merge-400-problems": (
        "merge",
        400,
        {
            "errors": [
                problem(TEXT, f"/model/{MARK}"),
                problem("MISSING_REQUIRED_FIELD", "/model/first_name"),
            ]
        },
        "create",
        "ERROR",
    ),
    "merge-201-errors": (
        "merge",
        201,
        {
            "model": MERGE_MODEL,
            "errors": [problem("INCORRECT_FIELD_TYPE", f"/model/tags/{MARK}")],
            "warnings": [],
        },
        "create",
        "INCORRECT_FIELD_TYPE",
    ),
    "merge-201-warnings": (
        "merge",
        201,
        {
            "model": MERGE_MODEL,
            "errors": [],
            "warnings": [problem(TEXT, f"/{MARK}"), problem("UNRECOGNIZED_FIELD", "/model/title")],
        },
        "create",
        None,
    ),
    "merge-debug-logs": (
        "merge-debug",
        201,
        {
            "model": MERGE_MODEL,
            "logs": [
                {
                    "dashboard_view": TEXT,
                    "log_id": TEXT,
                    "log_summary": {"method": TEXT, "status_code": TEXT},
                },
                {
                    "dashboard_view": "https://app.merge.dev/logs/abc-123",
                    "log_summary": {"method": "POST", "status_code": 201},
                },
            ],
        },
        "create",
        None,
    ),
    "merge-403": ("merge", 403, {"detail": TEXT}, "read", "UPSTREAM_AUTH_FAILED"),
    "partner-422": (
        "partner",
        422,
        {"errors": [{"message": TEXT, "field": TEXT}, {"message": TEXT, "field": "email"}]},
        "create",
        "BAD_USER_INPUT",
    ),
    "partner-403": (
        "partner",
        403,
        {"errors": [{"message": TEXT}]},
        "read",
        "UPSTREAM_AUTH_FAILED",
    ),
    "harvest-422": (
        "harvest",
        422,
        {"message": TEXT, "errors": [TEXT, {TEXT: TEXT}, {"email_addresses": TEXT}]},
        "create",
        "BAD_USER_INPUT",
    ),
    "harvest-403": (
        "harvest",
        403,
        {"message": TEXT, "errors": [TEXT]},
        "read",
        "UPSTREAM_AUTH_FAILED",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_no_upstream_text_reaches_a_client(stack: Stack, case: tuple[Any, ...]) -> None:
    account, status, body, operation, code = case
    stack.upstream.answers[account] = (status, body)
    text, answer = send(stack, account, operation)
    assert MARK not in text and "<script" not in text and "evil.example" not in text, text
    if operation == "read":
        [error] = answer["errors"]
        assert error["extensions"]["code"] == code and error["extensions"]["account"] == account
        return
    payload = answer["data"]["createCandidate"]
    if code is None:  # accepted with warnings: each one in the gateway's words
        assert payload["candidate"] and payload["warnings"], payload
        for warning in payload["warnings"]:
            assert warning["message"] and set(warning["field"] or ()) <= INPUT_NAMES, warning
        logs = [w["message"] for w in payload["warnings"] if w["code"] == "MERGE_DEBUG_LOG"]
        if logs:  # what is checkable stays: a method, a status, Merge's own dashboard link
            assert logs[1] == "Merge debug log: POST → HTTP 201; https://app.merge.dev/logs/abc-123"
        else:
            assert ["input", "title"] in [w["field"] for w in payload["warnings"]]
        return
    assert payload["candidate"] is None and payload["userErrors"], payload
    assert code in {e["code"] for e in payload["userErrors"]}
    for error in payload["userErrors"]:
        assert error["message"] and set(error["field"] or ()) <= INPUT_NAMES, error
