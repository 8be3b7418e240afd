"""GraphQL over HTTP (graphql-over-http spec): one test per rule the gateway promises."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Stack

GQL = "application/graphql-response+json"
OK_QUERY = {"query": "{ accounts { id } }"}


def send(stack: Stack, method: str = "POST", **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{stack.url}/graphql", **kw)


def test_application_json_clients_keep_200_and_json(shared_stack: Stack) -> None:
    response = send(shared_stack, json=OK_QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["accounts"]


def test_graphql_response_json_is_answered_in_kind(shared_stack: Stack) -> None:
    response = send(shared_stack, json=OK_QUERY, headers={"accept": GQL})
    assert response.status_code == 200
    assert response.headers["content-type"] == GQL


@pytest.mark.parametrize(
    "payload",
    [
        {"query": "{ accounts { "},
        {"query": "{ nope }"},
        {
            "query": "query($n: Int) { candidates(first: $n) { totalCount } }",
            "variables": {"n": "x"},
        },
    ],
    ids=["parse", "validation", "variable-coercion"],
)
def test_request_errors_are_4xx_without_data_for_graphql_response_json(
    shared_stack: Stack, payload: dict[str, Any]
) -> None:
    before = len(shared_stack.emulator.requests)
    response = send(shared_stack, json=payload, headers={"accept": GQL})
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    legacy = send(shared_stack, json=payload)
    assert legacy.status_code == 200 and "data" not in legacy.json()
    assert len(shared_stack.emulator.requests) == before


def test_field_errors_keep_data_and_200(shared_stack: Stack) -> None:
    response = send(
        shared_stack,
        json={"query": "{ candidates(first: 0) { totalCount } }"},
        headers={"accept": GQL},
    )
    assert response.status_code == 200
    assert response.json()["data"] is None


def test_get_serves_queries(shared_stack: Stack) -> None:
    response = send(shared_stack, "GET", params=OK_QUERY)
    assert response.status_code == 200 and response.json()["data"]["accounts"]


def test_get_refuses_mutations_with_405(shared_stack: Stack) -> None:
    response = send(
        shared_stack,
        "GET",
        params={
            "query": 'mutation { updateCandidate(id: "x", input: {}) { userErrors { code } } }'
        },
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_get_405(shared_stack: Stack, method: str) -> None:
    response = send(shared_stack, method, json=OK_QUERY)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


def test_other_request_media_types_get_415(shared_stack: Stack) -> None:
    response = send(
        shared_stack,
        content=b"{ accounts { id } }",
        headers={"content-type": "application/graphql"},
    )
    assert response.status_code == 415


def test_unacceptable_answers_get_406(shared_stack: Stack) -> None:
    response = send(shared_stack, json=OK_QUERY, headers={"accept": "application/xml"})
    assert response.status_code == 406


@pytest.mark.parametrize("filler", [0, 40])  # remembered when short, read each time when long
def test_accept_is_read_the_same_whatever_its_length(shared_stack: Stack, filler: int) -> None:
    ranges = [f"application/x-{i};q=0.1" for i in range(filler)]
    for accept, status, media_type in [
        (", ".join([*ranges, "application/xml"]), 406, None),
        (", ".join([*ranges, f"{GQL};q=0.5", "application/json;q=0.4"]), 200, GQL),
        (", ".join([*ranges, f"{GQL};q=0", "application/json"]), 200, "application/json"),
    ]:
        for _ in range(2):
            response = send(shared_stack, json=OK_QUERY, headers={"accept": accept})
            assert response.status_code == status
            if media_type is not None:
                assert response.headers["content-type"].startswith(media_type)


def test_malformed_bodies_get_400_with_a_code(shared_stack: Stack) -> None:
    for content in (b"{", b"{}", b'{"query": 1}'):
        response = send(shared_stack, content=content, headers={"content-type": "application/json"})
        assert response.status_code == 400, content
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
