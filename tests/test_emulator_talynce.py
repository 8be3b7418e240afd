"""Behaviour of the Talynce emulator over HTTP, since the adapter is built against its wire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from emulators.seed import PIPELINE_STATUSES, Candidate
from emulators.talynce.app import TalynceEmulator, TalynceOrg

CANDIDATE_KEYS = {
    "id",
    "full_name",
    "email",
    "phone_number",
    "whatsapp_number",
    "location",
    "preferred_location",
    "primary_skills",
    "secondary_skills",
    "skill_array",
    "total_experience_years",
    "current_company",
    "current_designation",
    "current_ctc",
    "expected_ctc",
    "notice_period_days",
    "in_notice_period",
    "last_working_day",
    "resume_url",
    "source",
    "screening_score",
    "talent_pool_status",
    "metadata",
    "created_at",
    "updated_at",
}
APPLICATION_KEYS = {
    "id",
    "candidate_id",
    "job_id",
    "organization_id",
    "status",
    "screening_score",
    "match_score",
    "notes",
    "shortlisted_at",
    "screening_started_at",
    "screening_completed_at",
    "status_date",
    "outreach_sent_at",
    "interest_clicked_at",
    "video_interview_invite_sent_at",
    "metadata",
    "created_at",
    "updated_at",
}
JOB_KEYS = {
    "id",
    "title",
    "status",
    "department",
    "locations",
    "pipeline_statuses",
    "created_at",
    "updated_at",
    "opened_at",
    "closed_at",
}
NEW_CANDIDATE: dict[str, Any] = {
    "full_name": "Jane Doe",
    "email": "jane.doe@example.com",
    "phone_number": "+91 90000 12345",
    "location": "Bangalore",
    "primary_skills": ["React", "TypeScript"],
    "secondary_skills": ["Docker", "React"],
    "total_experience_years": 6,
    "current_ctc": 18,
    "expected_ctc": 24.5,
    "notice_period_days": 30,
    "in_notice_period": False,
    "metadata": {"external_id": "ATS-9912"},
}


@pytest.fixture
def acme() -> TalynceOrg:
    return TalynceOrg.seeded("Acme", "key-acme", candidates=40, jobs=5, masked=3, seed=7)


@pytest.fixture
def globex() -> TalynceOrg:
    return TalynceOrg.seeded("Globex", "key-globex", candidates=60, jobs=4, masked=2, seed=8)


@pytest.fixture
def emulator(acme: TalynceOrg, globex: TalynceOrg) -> TalynceEmulator:
    return TalynceEmulator([acme, globex])


@pytest.fixture
async def client(emulator: TalynceEmulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://talynce.test") as client:
        yield client


def auth(org: TalynceOrg) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.api_key}"}


def visible(org: TalynceOrg) -> list[Candidate]:
    """Seeded candidates that are not masked, oldest first."""
    return [c for c in org.ordered_candidates() if c.talent_pool_status != "masked"]


def linked(org: TalynceOrg, candidate: Candidate) -> set[str]:
    return {a.job_id for a in candidate.applications}


def unlinked_job(org: TalynceOrg, candidate: Candidate) -> str:
    return next(j.id for j in org.jobs if j.id not in linked(org, candidate))


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


# --- auth -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic key-acme"}],
    ids=["missing", "unknown", "wrong-scheme"],
)
async def test_requests_without_a_valid_key_are_unauthorized(
    client: httpx.AsyncClient, emulator: TalynceEmulator, headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/candidates", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert emulator.requests[-1].org is None


async def test_the_key_selects_the_tenant(
    client: httpx.AsyncClient, acme: TalynceOrg, globex: TalynceOrg
) -> None:
    acme_page = (await client.get("/api/v1/candidates", headers=auth(acme))).json()
    globex_page = (await client.get("/api/v1/candidates", headers=auth(globex))).json()
    assert acme_page["meta"]["total"] == 40
    assert globex_page["meta"]["total"] == 60
    acme_id = acme_page["data"][0]["id"]
    response = await client.get(f"/api/v1/candidates/{acme_id}", headers=auth(globex))
    assert_error(response, 404, "not_found")


# --- listing ----------------------------------------------------------------------------


async def test_pages_walk_the_stable_order_with_meta(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    seen: list[str] = []
    for offset in range(0, 40, 15):
        response = await client.get(
            "/api/v1/candidates", params={"limit": 15, "offset": offset}, headers=auth(acme)
        )
        assert response.status_code == 200
        body = response.json()
        assert body["meta"] == {"total": 40, "limit": 15, "offset": offset}
        assert all("applications" not in item for item in body["data"])
        seen.extend(item["id"] for item in body["data"])
    assert seen == [c.id for c in acme.ordered_candidates()]


async def test_default_limit_is_fifty(client: httpx.AsyncClient, globex: TalynceOrg) -> None:
    body = (await client.get("/api/v1/candidates", headers=auth(globex))).json()
    assert body["meta"] == {"total": 60, "limit": 50, "offset": 0}
    assert len(body["data"]) == 50


async def test_offset_past_the_end_is_an_empty_page(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    body = (
        await client.get("/api/v1/candidates", params={"offset": 500}, headers=auth(acme))
    ).json()
    assert body == {"data": [], "meta": {"total": 40, "limit": 50, "offset": 500}}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "ten"),
        ("limit", ""),
        ("limit", "-5"),
        ("offset", "-1"),
        ("offset", "1.5"),
    ],
)
async def test_paging_values_out_of_range_are_rejected(
    client: httpx.AsyncClient, acme: TalynceOrg, name: str, value: str
) -> None:
    response = await client.get("/api/v1/candidates", params={name: value}, headers=auth(acme))
    error = assert_error(response, 400, "validation_error")
    assert error["details"] == {"field": name}


@pytest.mark.parametrize("limit", [1, 100])
async def test_paging_bounds_are_inclusive(
    client: httpx.AsyncClient, acme: TalynceOrg, limit: int
) -> None:
    response = await client.get("/api/v1/candidates", params={"limit": limit}, headers=auth(acme))
    assert response.status_code == 200
    assert len(response.json()["data"]) == min(limit, 40)


async def test_search_matches_names_case_insensitively(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    target = visible(acme)[3]
    needle = target.full_name.split()[-1]
    response = await client.get(
        "/api/v1/candidates", params={"search": needle.upper()}, headers=auth(acme)
    )
    expected = [
        c.id
        for c in acme.ordered_candidates()
        if needle.casefold() in c.full_name.casefold()
        or (c.talent_pool_status != "masked" and needle.casefold() in c.email.casefold())
    ]
    body = response.json()
    assert [item["id"] for item in body["data"]] == expected
    assert body["meta"]["total"] == len(expected)
    assert target.id in expected
    assert len(expected) < 40


async def test_search_matches_emails(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    target = visible(acme)[5]
    response = await client.get(
        "/api/v1/candidates", params={"search": target.email.upper()}, headers=auth(acme)
    )
    assert target.id in [item["id"] for item in response.json()["data"]]


async def test_masked_emails_cannot_be_probed_by_search(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    masked = acme.candidates[acme.masked_ids()[0]]
    by_email = await client.get(
        "/api/v1/candidates", params={"search": masked.email}, headers=auth(acme)
    )
    assert masked.id not in [item["id"] for item in by_email.json()["data"]]
    by_name = await client.get(
        "/api/v1/candidates", params={"search": masked.full_name}, headers=auth(acme)
    )
    assert masked.id in [item["id"] for item in by_name.json()["data"]]


async def test_job_filter_returns_only_linked_candidates(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    job = acme.jobs[1]
    expected = [c.id for c in acme.ordered_candidates() if job.id in linked(acme, c)]
    assert 0 < len(expected) < 40
    body = (
        await client.get("/api/v1/candidates", params={"job_id": job.id}, headers=auth(acme))
    ).json()
    assert [item["id"] for item in body["data"]] == expected
    assert body["meta"]["total"] == len(expected)


async def test_unknown_job_filter_is_empty(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    body = (
        await client.get(
            "/api/v1/candidates",
            params={"job_id": "00000000-0000-4000-8000-000000000000"},
            headers=auth(acme),
        )
    ).json()
    assert body == {"data": [], "meta": {"total": 0, "limit": 50, "offset": 0}}


async def test_jobs_are_listed_with_paging(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    body = (
        await client.get("/api/v1/jobs", params={"limit": 2, "offset": 1}, headers=auth(acme))
    ).json()
    ordered = sorted(acme.jobs, key=lambda j: (j.created_at, j.id))
    assert body["meta"] == {"total": 5, "limit": 2, "offset": 1}
    assert [j["id"] for j in body["data"]] == [j.id for j in ordered[1:3]]
    assert set(body["data"][0]) == JOB_KEYS
    assert body["data"][0]["pipeline_statuses"] == list(PIPELINE_STATUSES)
    limit_error = await client.get("/api/v1/jobs", params={"limit": 0}, headers=auth(acme))
    assert_error(limit_error, 400, "validation_error")


async def test_jobs_search_matches_titles_and_one_job_reads_by_id(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    job = acme.jobs[2]
    word = job.title.split(" ")[0].upper()
    found = (await client.get("/api/v1/jobs", params={"search": word}, headers=auth(acme))).json()
    expected = {j.id for j in acme.jobs if word.casefold() in j.title.casefold()}
    assert {j["id"] for j in found["data"]} == expected and found["meta"]["total"] == len(expected)

    one = (await client.get(f"/api/v1/jobs/{job.id}", headers=auth(acme))).json()["data"]
    assert one["id"] == job.id and one["title"] == job.title and set(one) == JOB_KEYS
    assert datetime.fromisoformat(one["updated_at"]) >= datetime.fromisoformat(one["created_at"])
    missing = await client.get(
        "/api/v1/jobs/00000000-0000-4000-8000-000000000000", headers=auth(acme)
    )
    assert_error(missing, 404, "not_found")


async def test_jobs_are_rate_limited_like_every_route(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    acme.rate_limit = (1, 60)
    assert (await client.get("/api/v1/jobs", headers=auth(acme))).status_code == 200
    limited = await client.get(f"/api/v1/jobs/{acme.jobs[0].id}", headers=auth(acme))
    assert_error(limited, 429, "rate_limit_exceeded")


# --- single candidate ---------------------------------------------------------------------


async def test_get_returns_the_candidate_with_its_applications(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    target = next(c for c in visible(acme) if len(c.applications) >= 2)
    response = await client.get(f"/api/v1/candidates/{target.id}", headers=auth(acme))
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == CANDIDATE_KEYS | {"applications"}
    assert data["email"] == target.email
    assert data["current_ctc"] == target.current_ctc
    assert data["skill_array"] == target.primary_skills + [
        s for s in target.secondary_skills if s not in target.primary_skills
    ]
    rows = data["applications"]
    assert {r["id"] for r in rows} == {a.id for a in target.applications}
    assert {(r["job_id"], r["status"]) for r in rows} == {
        (a.job_id, a.status) for a in target.applications
    }
    for row in rows:
        assert set(row) == APPLICATION_KEYS
        assert row["candidate_id"] == target.id
        assert row["organization_id"] == acme.organization_id
    assert data["created_at"].endswith("Z")
    assert datetime.fromisoformat(data["created_at"]) == target.created_at


async def test_unknown_candidate_is_not_found(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    response = await client.get("/api/v1/candidates/does-not-exist", headers=auth(acme))
    assert_error(response, 404, "not_found")


async def test_unknown_routes_and_methods_answer_json(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    assert_error(await client.get("/api/v1/clients", headers=auth(acme)), 404, "not_found")
    deleted = await client.delete(f"/api/v1/candidates/{acme.masked_ids()[0]}", headers=auth(acme))
    assert_error(deleted, 405, "method_not_allowed")


# --- create -------------------------------------------------------------------------------


async def test_post_creates_a_candidate(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    job = acme.jobs[2]
    body = {**NEW_CANDIDATE, "application": {"job_id": job.id, "notes": "From ATS"}}
    response = await client.post("/api/v1/candidates", json=body, headers=auth(acme))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["full_name"] == "Jane Doe"
    assert data["email"] == "jane.doe@example.com"
    assert data["source"] == "api"
    assert data["talent_pool_status"] == "not_linked"
    assert data["skill_array"] == ["React", "TypeScript", "Docker"]
    assert data["expected_ctc"] == 24.5
    assert data["metadata"] == {"external_id": "ATS-9912"}
    assert data["whatsapp_number"] is None
    [row] = data["applications"]
    assert (row["job_id"], row["status"], row["notes"]) == (job.id, "Applied", "From ATS")
    assert data["id"] in acme.candidates
    listed = (
        await client.get("/api/v1/candidates", params={"limit": 100}, headers=auth(acme))
    ).json()
    assert listed["meta"]["total"] == 41
    assert listed["data"][-1]["id"] == data["id"]


async def test_post_matches_an_existing_email_case_insensitively(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    existing = visible(acme)[0]
    before = (existing.full_name, existing.location, existing.updated_at)
    response = await client.post(
        "/api/v1/candidates",
        json={"full_name": "Someone Else", "email": existing.email.upper(), "location": "Mars"},
        headers=auth(acme),
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == existing.id
    assert data["full_name"] == before[0]
    assert (existing.full_name, existing.location, existing.updated_at) == before
    assert len(acme.candidates) == 40


async def test_post_match_links_a_new_job(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    existing = next(c for c in visible(acme) if len(c.applications) < len(acme.jobs))
    job_id = unlinked_job(acme, existing)
    response = await client.post(
        "/api/v1/candidates",
        json={
            "full_name": existing.full_name,
            "email": existing.email,
            "application": {"job_id": job_id, "status": "screening"},
        },
        headers=auth(acme),
    )
    assert response.status_code == 200
    rows = {r["job_id"]: r["status"] for r in response.json()["data"]["applications"]}
    assert rows[job_id] == "Screening"
    assert job_id in linked(acme, existing)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"full_name": None}, "full_name"),
        ({"full_name": "   "}, "full_name"),
        ({"email": None}, "email"),
        ({"email": "no-at-sign.com"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"email": "user@localhost"}, "email"),
        ({"email": "@example.com"}, "email"),
        ({"phone_number": 9000012345}, "phone_number"),
        ({"primary_skills": ["React", 3]}, "primary_skills"),
        ({"secondary_skills": "Docker"}, "secondary_skills"),
        ({"total_experience_years": "6"}, "total_experience_years"),
        ({"current_ctc": True}, "current_ctc"),
        ({"expected_ctc": [24]}, "expected_ctc"),
        ({"notice_period_days": 30.5}, "notice_period_days"),
        ({"in_notice_period": "no"}, "in_notice_period"),
        ({"last_working_day": "2025-02-30"}, "last_working_day"),
        ({"last_working_day": "30/01/2025"}, "last_working_day"),
        ({"metadata": ["x"]}, "metadata"),
        ({"application": "job"}, "application"),
        ({"application": {"status": "Applied"}}, "application.job_id"),
        ({"application": {"job_id": "00000000-0000-4000-8000-000000000000"}}, "application.job_id"),
        ({"application": {"job_id": "JOB", "status": 3}}, "application.status"),
        ({"application": {"job_id": "JOB", "notes": 3}}, "application.notes"),
    ],
)
async def test_post_validation_names_the_bad_field(
    client: httpx.AsyncClient, acme: TalynceOrg, change: dict[str, Any], field: str
) -> None:
    body = {**NEW_CANDIDATE, **change}
    application = body.get("application")
    if isinstance(application, dict) and application.get("job_id") == "JOB":
        body["application"] = {**application, "job_id": acme.jobs[0].id}
    response = await client.post("/api/v1/candidates", json=body, headers=auth(acme))
    error = assert_error(response, 400, "validation_error")
    assert error["details"] == {"field": field}
    assert len(acme.candidates) == 40


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.com"}, "full_name"),
        ({"full_name": "A"}, "email"),
        ({"email": 5}, "full_name"),
        ({"full_name": 5}, "full_name"),
    ],
)
async def test_post_reports_the_first_bad_field(
    client: httpx.AsyncClient, acme: TalynceOrg, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/candidates", json=body, headers=auth(acme))
    assert assert_error(response, 400, "validation_error")["details"] == {"field": field}


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"", b'{"full_name": NaN}'])
async def test_post_requires_a_json_object(
    client: httpx.AsyncClient, acme: TalynceOrg, content: bytes
) -> None:
    response = await client.post(
        "/api/v1/candidates",
        content=content,
        headers={**auth(acme), "Content-Type": "application/json"},
    )
    assert_error(response, 400, "validation_error")


async def test_post_rejects_unknown_pipeline_status(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    body = {**NEW_CANDIDATE, "application": {"job_id": acme.jobs[0].id, "status": "Ghosted"}}
    response = await client.post("/api/v1/candidates", json=body, headers=auth(acme))
    error = assert_error(response, 400, "invalid_pipeline_status")
    assert error["details"] == {"field": "application.status"}
    assert acme.find_by_email(NEW_CANDIDATE["email"]) is None


async def test_post_stores_the_canonical_status_casing(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    body = {**NEW_CANDIDATE, "application": {"job_id": acme.jobs[0].id, "status": "sHoRtLiStEd"}}
    response = await client.post("/api/v1/candidates", json=body, headers=auth(acme))
    [row] = response.json()["data"]["applications"]
    assert row["status"] == "Shortlisted"
    assert row["shortlisted_at"] is not None


async def test_post_ignores_unknown_and_read_only_keys(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    body = {**NEW_CANDIDATE, "talent_pool_status": "masked", "favourite_colour": "teal"}
    response = await client.post("/api/v1/candidates", json=body, headers=auth(acme))
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["talent_pool_status"] == "not_linked"
    assert "favourite_colour" not in data


# --- update -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_update_changes_only_the_keys_sent(
    client: httpx.AsyncClient, acme: TalynceOrg, method: str
) -> None:
    target = next(c for c in visible(acme) if c.current_company is not None)
    before = (target.full_name, target.email, target.primary_skills, target.updated_at)
    response = await client.request(
        method,
        f"/api/v1/candidates/{target.id}",
        json={"location": "Remote", "current_company": None, "notice_period_days": 0},
        headers=auth(acme),
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["location"] == "Remote"
    assert data["current_company"] is None
    assert data["notice_period_days"] == 0
    assert (data["full_name"], data["email"], data["primary_skills"]) == before[:3]
    assert "applications" in data
    assert target.location == "Remote" and target.current_company is None
    assert target.updated_at > before[3]
    assert datetime.fromisoformat(data["updated_at"]) == target.updated_at


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"full_name": None}, "full_name"),
        ({"full_name": ""}, "full_name"),
        ({"email": None}, "email"),
        ({"email": ""}, "email"),
        ({"location": 7}, "location"),
    ],
)
async def test_update_rejects_clearing_required_fields(
    client: httpx.AsyncClient, acme: TalynceOrg, body: dict[str, Any], field: str
) -> None:
    target = visible(acme)[0]
    before = (target.full_name, target.email, target.location)
    response = await client.patch(f"/api/v1/candidates/{target.id}", json=body, headers=auth(acme))
    assert assert_error(response, 400, "validation_error")["details"] == {"field": field}
    assert (target.full_name, target.email, target.location) == before


async def test_update_refuses_an_email_owned_by_another_candidate(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    first, second = visible(acme)[:2]
    taken = await client.patch(
        f"/api/v1/candidates/{first.id}", json={"email": second.email.upper()}, headers=auth(acme)
    )
    assert assert_error(taken, 400, "validation_error")["details"] == {"field": "email"}
    own = await client.patch(
        f"/api/v1/candidates/{first.id}", json={"email": first.email.upper()}, headers=auth(acme)
    )
    assert own.status_code == 200
    assert own.json()["data"]["email"] == first.email.upper()


async def test_update_of_unknown_candidate_is_not_found(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    response = await client.patch(
        "/api/v1/candidates/missing", json={"location": "X"}, headers=auth(acme)
    )
    assert_error(response, 404, "not_found")


async def test_update_adds_and_moves_applications(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    target = next(c for c in visible(acme) if 0 < len(c.applications) < len(acme.jobs))
    existing = target.applications[0]
    new_job = unlinked_job(acme, target)
    url = f"/api/v1/candidates/{target.id}"
    added = await client.patch(url, json={"application": {"job_id": new_job}}, headers=auth(acme))
    rows = {r["job_id"]: r for r in added.json()["data"]["applications"]}
    assert rows[new_job]["status"] == "Applied"
    moved = await client.patch(
        url,
        json={"application": {"job_id": existing.job_id, "status": "offered", "notes": "Yes"}},
        headers=auth(acme),
    )
    rows = {r["job_id"]: r for r in moved.json()["data"]["applications"]}
    assert (rows[existing.job_id]["status"], rows[existing.job_id]["notes"]) == ("Offered", "Yes")
    assert rows[existing.job_id]["id"] == existing.id
    assert len(rows) == len(target.applications)


async def test_update_with_a_bad_status_changes_nothing(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    target = next(c for c in visible(acme) if c.applications)
    row = target.applications[0]
    before = (target.location, row.status, target.updated_at)
    response = await client.patch(
        f"/api/v1/candidates/{target.id}",
        json={"location": "Elsewhere", "application": {"job_id": row.job_id, "status": "Limbo"}},
        headers=auth(acme),
    )
    assert_error(response, 400, "invalid_pipeline_status")
    assert (target.location, row.status, target.updated_at) == before


# --- talent pool masking -----------------------------------------------------------------


async def test_masked_candidates_hide_contact_and_ctc(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    masked = acme.candidates[acme.masked_ids()[0]]
    assert masked.email and masked.phone_number
    data = (await client.get(f"/api/v1/candidates/{masked.id}", headers=auth(acme))).json()["data"]
    assert data["talent_pool_status"] == "masked"
    assert data["email"] == ""
    assert [
        data[k] for k in ("phone_number", "whatsapp_number", "current_ctc", "expected_ctc")
    ] == [None] * 4
    assert data["full_name"] == masked.full_name
    listed = (
        await client.get("/api/v1/candidates", params={"limit": 100}, headers=auth(acme))
    ).json()
    row = next(item for item in listed["data"] if item["id"] == masked.id)
    assert row["email"] == "" and row["phone_number"] is None


async def test_masked_locked_fields_need_a_reveal(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    masked = acme.candidates[acme.masked_ids()[1]]
    before = (masked.email, masked.current_ctc, masked.location, masked.updated_at)
    response = await client.patch(
        f"/api/v1/candidates/{masked.id}",
        json={"location": "Pune", "current_ctc": 99, "email": "new@example.com"},
        headers=auth(acme),
    )
    error = assert_error(response, 403, "talent_pool_reveal_required")
    assert error["details"] == {"fields": ["current_ctc", "email"]}
    assert (masked.email, masked.current_ctc, masked.location, masked.updated_at) == before


async def test_masked_unlocked_fields_can_change(
    client: httpx.AsyncClient, acme: TalynceOrg
) -> None:
    masked = acme.candidates[acme.masked_ids()[2]]
    stored_email = masked.email
    response = await client.patch(
        f"/api/v1/candidates/{masked.id}",
        json={"location": "Pune", "application": {"job_id": acme.jobs[0].id}},
        headers=auth(acme),
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["location"] == "Pune"
    assert data["email"] == ""
    assert masked.email == stored_email
    assert acme.jobs[0].id in {r["job_id"] for r in data["applications"]}


# --- knobs: rate limit, latency, outage, failures -----------------------------------------


async def test_rate_limit_answers_429_with_retry_after(
    client: httpx.AsyncClient, acme: TalynceOrg, globex: TalynceOrg
) -> None:
    acme.rate_limit = (3, 60.0)
    statuses = [
        (await client.get("/api/v1/jobs", headers=auth(acme))).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    limited = await client.get("/api/v1/jobs", headers=auth(acme))
    assert_error(limited, 429, "rate_limit_exceeded")
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert (await client.get("/api/v1/jobs", headers=auth(globex))).status_code == 200


async def test_rate_limit_window_recovers(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    acme.rate_limit = (2, 0.2)
    for _ in range(2):
        assert (await client.get("/api/v1/jobs", headers=auth(acme))).status_code == 200
    limited = await client.get("/api/v1/jobs", headers=auth(acme))
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    await asyncio.sleep(0.25)
    assert (await client.get("/api/v1/jobs", headers=auth(acme))).status_code == 200


async def test_rate_limit_is_off_by_default(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    responses = await asyncio.gather(
        *(client.get("/api/v1/jobs", headers=auth(acme)) for _ in range(30))
    )
    assert {r.status_code for r in responses} == {200}


async def test_request_log_records_traffic(
    client: httpx.AsyncClient, emulator: TalynceEmulator, acme: TalynceOrg
) -> None:
    await client.get("/api/v1/candidates", params={"limit": 5}, headers=auth(acme))
    await client.post("/api/v1/candidates", json=NEW_CANDIDATE, headers=auth(acme))
    await client.get("/api/v1/jobs")
    listed, created, anonymous = emulator.requests
    assert (listed.org, listed.method, listed.path, listed.status) == (
        "Acme",
        "GET",
        "/api/v1/candidates",
        200,
    )
    assert listed.query == {"limit": "5"} and listed.body is None
    assert (created.method, created.status, created.body) == ("POST", 201, NEW_CANDIDATE)
    assert (anonymous.org, anonymous.status) == (None, 401)
    for record in emulator.requests:
        assert record.started <= record.finished
    assert listed.started <= created.started <= anonymous.started
    emulator.reset_log()
    assert emulator.requests == []


async def test_latency_is_applied_and_requests_overlap(
    client: httpx.AsyncClient, emulator: TalynceEmulator, acme: TalynceOrg
) -> None:
    acme.latency = 0.2
    began = time.monotonic()
    responses = await asyncio.gather(
        *(client.get("/api/v1/jobs", headers=auth(acme)) for _ in range(5))
    )
    elapsed = time.monotonic() - began
    assert {r.status_code for r in responses} == {200}
    assert all(r.finished - r.started >= 0.2 for r in emulator.requests)
    assert 0.2 <= elapsed < 0.8
    records = emulator.requests
    assert [r.started for r in records] == sorted(r.started for r in records)


async def test_request_log_keeps_arrival_order(
    client: httpx.AsyncClient, emulator: TalynceEmulator, acme: TalynceOrg, globex: TalynceOrg
) -> None:
    acme.latency = 0.2

    async def fast_after_slow_started() -> httpx.Response:
        await asyncio.sleep(0.05)
        return await client.get("/api/v1/jobs", headers=auth(globex))

    await asyncio.gather(client.get("/api/v1/jobs", headers=auth(acme)), fast_after_slow_started())
    slow, fast = emulator.requests
    assert (slow.org, fast.org) == ("Acme", "Globex")
    assert fast.finished < slow.finished


async def test_outage_answers_503(client: httpx.AsyncClient, acme: TalynceOrg) -> None:
    acme.outage = True
    assert_error(await client.get("/api/v1/jobs", headers=auth(acme)), 503, "internal_error")
    acme.outage = False
    assert (await client.get("/api/v1/jobs", headers=auth(acme))).status_code == 200


async def test_unexpected_errors_are_500_without_internals(
    client: httpx.AsyncClient, acme: TalynceOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode() -> list[Candidate]:
        raise RuntimeError("secret database detail")

    monkeypatch.setattr(acme, "ordered_candidates", explode)
    response = await client.get("/api/v1/candidates", headers=auth(acme))
    assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text


# --- seed data ---------------------------------------------------------------------------


def test_seed_is_deterministic_and_seed_dependent() -> None:
    first = TalynceOrg.seeded("A", "a", seed=3)
    again = TalynceOrg.seeded("A", "a", seed=3)
    other = TalynceOrg.seeded("B", "b", seed=4)
    assert [(c.id, c.email, c.full_name) for c in first.ordered_candidates()] == [
        (c.id, c.email, c.full_name) for c in again.ordered_candidates()
    ]
    assert [j.id for j in first.jobs] == [j.id for j in again.jobs]
    assert first.organization_id == again.organization_id != other.organization_id
    assert [c.email for c in first.ordered_candidates()] != [
        c.email for c in other.ordered_candidates()
    ]
    assert set(first.candidates).isdisjoint(other.candidates)


def test_seed_shape() -> None:
    org = TalynceOrg.seeded("A", "a", candidates=100, jobs=5, masked=5, seed=11)
    people = list(org.candidates.values())
    assert len(people) == 100 and len(org.jobs) == 5
    assert len(org.masked_ids()) == 5
    assert any(c.talent_pool_status == "revealed" for c in people)
    emails = [c.email for c in people]
    assert len(set(emails)) == 100
    assert all(e == e.lower() and e.count("@") == 1 for e in emails)
    assert len({c.created_at for c in people}) == 100
    span = max(c.created_at for c in people) - min(c.created_at for c in people)
    assert 200 <= span.days <= 366
    statuses = [a.status for c in people for a in c.applications]
    assert {"Hired", "Rejected", "Applied"} <= set(statuses) <= set(PIPELINE_STATUSES)
    assert all(0 <= len(c.applications) <= 3 for c in people)
    assert all(len(linked(org, c)) == len(c.applications) for c in people)
    job_ids = {j.id for j in org.jobs}
    assert all(
        a.job_id in job_ids and a.created_at >= c.created_at for c in people for a in c.applications
    )


def test_duplicate_api_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        TalynceEmulator([TalynceOrg("A", "same"), TalynceOrg("B", "same")])


async def test_the_admin_route_sets_a_tenants_fault_profile() -> None:
    org = TalynceOrg.seeded("Admin Co", "admin-key", candidates=10, masked=1)
    emulator = TalynceEmulator([org])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="http://t"
    ) as client:
        ok = await client.put(
            "/_admin/faults/Admin Co", json={"script": ["error"], "error_statuses": [503]}
        )
        assert ok.status_code == 200
        assert (
            await client.get("/api/v1/candidates", headers={"authorization": "Bearer admin-key"})
        ).status_code == 503
        assert (await client.put("/_admin/faults/Nobody", json={})).status_code == 404
        assert (
            await client.put("/_admin/faults/Admin Co", json={"rates": {"meteor": 1}})
        ).status_code == 400
