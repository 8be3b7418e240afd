"""Merge's OpenAPI file is the judge: adapter requests and emulator responses must conform.

Also parses the seed's create example (merge-ats-candidates-create.md), errors and warnings too.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from providers.base import CandidateQuery, Position
from providers.errors import ProviderError, Rejected
from providers.merge import wire as wire
from providers.model import (
    CandidateDraft,
    CandidatePatch,
    Email,
    EmailType,
    Phone,
    PhoneType,
    Url,
    UrlType,
)
from tests.merge_openapi import check_traffic, load_spec, problems_in
from tests.merge_support import API_KEY, running_merge

SEED = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "merge-ats-candidates-create.md"
)


def seed_example() -> dict[str, object]:
    if not SEED.is_file():
        pytest.skip(f"{SEED} is not there")
    line = next(
        line
        for line in SEED.read_text(encoding="utf-8").splitlines()
        if line.startswith('{"errors"')
    )
    body: dict[str, object] = json.loads(line)
    return body


def test_the_validator_finds_what_breaks_the_schemas() -> None:
    load_spec()
    bad_request = {
        "model": {
            "email_addresses": [{"value": "a@b.example", "email_address_type": "HOME"}],
            "colour": "red",
            "tags": "not-a-list",
        }
    }
    found = problems_in(bad_request, "CandidateEndpointRequest", request=True)
    assert any("remote_user_id is required" in p for p in found)
    assert any("'HOME' is not one of" in p for p in found)
    assert any("colour: not in the schema" in p for p in found)
    assert any("tags: expected array" in p for p in found)
    patch = {"model": {"remote_created_at": "2021-10-15T00:00:00Z"}, "remote_user_id": "u"}
    assert problems_in(patch, "PatchedCandidateEndpointRequest", request=True)
    candidate = {"id": "not-a-uuid", "applications": [{"id": 5}], "remote_created_at": "yesterday"}
    found = problems_in(candidate, "Candidate")
    assert any("is not a uuid" in p for p in found)
    assert any("applications[0].id: expected string" in p for p in found)
    assert any("is not a date-time" in p for p in found)
    assert problems_in({"results": [], "next": None}, "PaginatedCandidateList") == []


def test_the_validator_knows_the_pipeline_writes() -> None:
    """The current API's activity write and the 2023 file's application writes are checked."""
    load_spec()
    note = {
        "model": {"candidate": "not-a-uuid", "activity_type": "MEMO", "colour": "red"},
        "remote_user_id": "u",
    }
    found = problems_in(note, "ActivityEndpointRequest", request=True)
    assert any("candidate: 'not-a-uuid' is not a uuid" in p for p in found)
    assert any("'MEMO' is not one of" in p for p in found)
    assert any("colour: not in the schema" in p for p in found)
    assert problems_in({"job_interview_stage": 5}, "UpdateApplicationStageRequest", request=True)
    answer = {"model": {"id": "x", "candidate": {"id": "y"}}, "warnings": [], "errors": []}
    assert any("is not a uuid" in p for p in problems_in(answer, "ActivityResponse"))
    assert any("errors is required" in p for p in problems_in({"model": {}}, "ApplicationResponse"))


def test_the_seed_example_conforms_to_candidate_response() -> None:
    assert problems_in(seed_example(), "CandidateResponse") == []


def test_the_seed_example_parses_errors_warnings_model_and_logs() -> None:
    body = seed_example()
    problems = wire.problems(body["errors"])
    # Two alike (their pointers name nothing the gateway wrote) are one, in the gateway's words.
    assert [(p.code, p.field) for p in problems] == [("MISSING_REQUIRED_FIELD", None)]
    assert problems[0].message == wire.PROBLEM_MESSAGES["MISSING_REQUIRED_FIELD"]
    warnings = wire.warnings(body["warnings"])
    assert [(w.code, w.field) for w in warnings] == [("UNRECOGNIZED_FIELD", None)]
    assert "age" not in warnings[0].message
    record = wire.candidate_record(body["model"])
    assert record is not None
    assert (record.remote_id, record.full_name, record.company) == (
        "521b18c2-4d01-4297-b451-19858d07c133",
        "Gil Feig",
        "Columbia Dining App.",
    )
    assert record.emails == (Email("hello@merge.dev", EmailType.PERSONAL, "PERSONAL"),)
    assert record.phones == (Phone("+1234567890", PhoneType.MOBILE, "MOBILE"),)
    assert record.urls == (Url("http://alturl.com/p749b", UrlType.BLOG, "BLOG"),)
    assert record.locations == ("San Francisco", "New York", "Miami")
    assert record.created_at == "2021-10-15T00:00:00Z"
    assert (record.ats_remote_id, record.remote_was_deleted) == ("21198", False)
    assert record.custom_fields is not None and "remote_id" not in record.custom_fields
    logs = wire.debug_logs(body["logs"])
    assert len(logs) == 2 and all("harvest.greenhouse.io" not in w.message for w in logs)


async def test_every_request_and_response_conforms_to_merges_api() -> None:
    """Drives every call the adapter makes, success and failure, then checks all traffic."""
    load_spec()
    with running_merge() as merge:
        initech, hooli = merge.accounts["initech"], merge.accounts["hooli"]
        adapter = merge.adapter("initech", include_remote_data=True, is_debug_mode=True)
        page = await adapter.list_candidates(CandidateQuery(), Position(), 30)
        await adapter.list_candidates(CandidateQuery(), page.resume_at(30) or Position(), 30)
        await adapter.list_candidates(CandidateQuery(), page.resume_at(12) or Position(), 30)
        address = str(initech.ordered_candidates()[5].email_addresses[0]["value"])
        await adapter.list_candidates(CandidateQuery(search=address), Position(), 10)
        await adapter.list_candidates(CandidateQuery(search="feig"), Position(), 10)
        job = next(iter(initech.jobs))
        await adapter.list_candidates(CandidateQuery(job_remote_id=job), Position(), 10)
        ids = [r.remote_id for r in page.records[:5]]
        await adapter.get_candidates([*ids, "00000000-0000-4000-8000-000000000000"])
        await adapter.applications_for(ids)
        created = await adapter.create_candidate(
            CandidateDraft(
                first_name="Vera",
                last_name="Nyx",
                emails=(Email("vera@nyx.example", EmailType.WORK),),
                phones=(Phone("+1555", PhoneType.HOME),),
                urls=(Url("https://vera.example", UrlType.RESUME),),
                locations=("Oslo",),
                tags=("New",),
            )
        )
        await adapter.update_candidate(
            created.record.remote_id,
            CandidatePatch(first_name="Vee", title=None, phones=None, tags=("Old",)),
        )
        with pytest.raises(ProviderError):
            await adapter.update_candidate(
                "00000000-0000-4000-8000-000000000000", CandidatePatch(title="x")
            )
        with pytest.raises(ProviderError):
            await adapter.list_candidates(CandidateQuery(), Position("bm90LWEtY3Vyc29y"), 5)
        await adapter.aclose()
        strict = merge.adapter("hooli")
        with pytest.raises(Rejected):
            await strict.create_candidate(
                CandidateDraft(first_name="No", last_name="Mail", tags=("x",))
            )
        taken = str(hooli.ordered_candidates()[0].email_addresses[0]["value"])
        with pytest.raises(Rejected):
            await strict.update_candidate(
                hooli.ordered_candidates()[1].id, CandidatePatch(emails=(Email(taken),))
            )
        await strict.create_candidate(
            CandidateDraft(
                first_name="Ok", last_name="Go", emails=(Email("ok@go.example"),), tags=("x",)
            )
        )
        await strict.aclose()
        hooli.rate_limit = (0, 30.0)
        headers = {"Authorization": f"Bearer {API_KEY}", "X-Account-Token": initech.account_token}
        raw_calls = [
            ("/candidates/meta/post", {}, {}, 200),
            ("/candidates", {"expand": "applications", "page_size": "3"}, {}, 200),
            ("/no-such-route", {}, {}, 404),
            ("/candidates", {}, {"Authorization": "Bearer nope"}, 401),
            ("/candidates", {}, {"X-Account-Token": "nope"}, 401),
            ("/candidates", {}, {"X-Account-Token": hooli.account_token}, 429),
        ]
        async with httpx.AsyncClient(base_url=merge.base_url, headers=headers) as raw:
            for url, params, extra, status in raw_calls:
                assert (await raw.get(url, params=params, headers=extra)).status_code == status
        statuses = {r.status for r in merge.emulator.requests}
        assert statuses == {200, 201, 400, 401, 404, 429}
        assert {r.route for r in merge.emulator.requests} >= {
            "/candidates",
            "/candidates/{id}",
            "/candidates/meta/post",
            "/applications",
        }
        assert check_traffic(merge.emulator.requests) == []
