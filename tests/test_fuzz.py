"""Fuzzing: generated GraphQL operations against the live gateway, and arbitrary upstream JSON.

Schemathesis (GraphQL mode) writes operations from the schema, mutations included; whatever it
sends, the gateway must answer below 500 and give every error a code from the documented list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.schema import schema as gateway_schema
from providers import greenhouse
from providers.errors import ProviderError
from providers.merge import wire as merge_wire
from providers.talynce.adapter import candidate_record, job_record
from tests.conftest import Stack, make_orgs, running_stack

CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "BAD_USER_INPUT",
    "BAD_CURSOR",
    "NOT_FOUND",
    "UNSUPPORTED_BY_PROVIDER",
    "UPSTREAM_TIMEOUT",
    "UPSTREAM_UNAVAILABLE",
    "UPSTREAM_RATE_LIMITED",
    "UPSTREAM_AUTH_FAILED",
    "UPSTREAM_BAD_RESPONSE",
    "UPSTREAM_OUTCOME_UNKNOWN",
    "QUERY_TOO_COMPLEX",
}
OPERATIONS: list[int] = []
FIELDS_RUN: set[int] = set()  # the generated tests (one per root field) this process ran

api = schemathesis.graphql.from_dict(gateway_schema.introspect())


@pytest.fixture(scope="module")
def fuzzed(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with running_stack(make_orgs()) as stack:
        yield stack
    # Under xdist a worker runs only some root fields: it owes its share of the 500.
    every = [
        item
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_generated_operations_never_fail_the_server"
    ]
    owed = 500 * len(FIELDS_RUN) / max(1, len(every))
    assert len(OPERATIONS) >= owed, f"only {len(OPERATIONS)} operations were generated"


@api.parametrize()
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_operations_never_fail_the_server(
    case: Any, fuzzed: Stack, request: pytest.FixtureRequest
) -> None:
    FIELDS_RUN.add(id(request.node))
    response = case.call(base_url=f"{fuzzed.url}/graphql")
    OPERATIONS.append(response.status_code)
    assert response.status_code < 500, response.text
    body = response.json()
    for error in body.get("errors") or []:
        assert error.get("extensions", {}).get("code") in CODES, error


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=8)
    ),
    max_leaves=30,
)
CANDIDATE_KEYS = [
    "id",
    "full_name",
    "email",
    "phone_number",
    "whatsapp_number",
    "location",
    "primary_skills",
    "secondary_skills",
    "skill_array",
    "total_experience_years",
    "current_company",
    "current_designation",
    "current_ctc",
    "expected_ctc",
    "notice_period_days",
    "resume_url",
    "source",
    "talent_pool_status",
    "metadata",
    "created_at",
    "updated_at",
    "applications",
]


@given(st.one_of(JSON, st.dictionaries(st.sampled_from(CANDIDATE_KEYS), JSON)))
@settings(max_examples=300, deadline=None)
def test_the_talynce_mapper_survives_any_json(raw: Any) -> None:
    record = candidate_record(raw)
    assert record is None or isinstance(record.remote_id, str)


MAPPERS = {
    "talynce candidate": candidate_record,
    "talynce job": job_record,
    "merge candidate": merge_wire.candidate_record,
    "merge application": merge_wire.application_record,
    "greenhouse partner candidate": greenhouse.partner_record,
    "greenhouse harvest candidate": greenhouse.harvest_record,
    "greenhouse harvest application": greenhouse.harvest_application,
}
WIRE_KEYS = sorted(
    {
        *CANDIDATE_KEYS,
        "first_name",
        "last_name",
        "name",
        "company",
        "title",
        "email_addresses",
        "phone_numbers",
        "urls",
        "website_addresses",
        "social_media_addresses",
        "addresses",
        "tags",
        "locations",
        "applications",
        "remote_id",
        "remote_data",
        "external_id",
        "status",
        "stage",
        "job",
        "job_id",
        "candidate_id",
        "current_stage",
        "rejected_at",
        "offers",
        "applied_at",
        "profile_url",
        "private",
        "custom_fields",
        "value",
        "type",
        "email_address_type",
        "pipeline_statuses",
        "department",
        "opened_at",
        "closed_at",
    }
)
HUGE = st.text(min_size=10_000, max_size=20_000)
WIRE = st.dictionaries(st.sampled_from(WIRE_KEYS), JSON | HUGE, max_size=12)


@pytest.mark.parametrize("name", sorted(MAPPERS))
@given(raw=st.one_of(JSON, WIRE))
@settings(max_examples=150, deadline=None)
def test_every_mapper_survives_any_json(name: str, raw: Any) -> None:
    """Missing fields, wrong types, unknown enum values, huge strings: a record or None, or
    UPSTREAM_BAD_RESPONSE, never another exception."""
    try:
        MAPPERS[name](raw)
    except ProviderError as error:
        assert error.code == "UPSTREAM_BAD_RESPONSE"
