"""The emulator's Partner API routes (`/v1/partner`): candidates by id, create, and the lookups
(current user, jobs, prospect pools) an integration makes first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from emulators.greenhouse.calls import DIGITS, Call, Result, id_list, now_ms, typed_body_entries
from emulators.greenhouse.errors import PartnerError
from emulators.greenhouse.store import (
    ADDRESS_TYPES,
    EMAIL_TYPES,
    FIRST_STAGE,
    PARTNER_PHONE_TYPES,
    PROFILE,
    WEBSITE_TYPES,
    GhApplication,
    GhCandidate,
    GreenhouseOrg,
)


def _partner_status(status: str) -> str:
    return {"rejected": "Rejected", "hired": "Hired"}.get(status, "Active")


def _partner_candidate(org: GreenhouseOrg, candidate: GhCandidate) -> dict[str, object]:
    rows = sorted(
        (a for a in org.applications.values() if a.candidate_id == candidate.id), key=lambda a: a.id
    )
    return {
        "id": candidate.id,
        "name": f"{candidate.first_name} {candidate.last_name}",
        "external_id": candidate.external_id,
        "applications": [
            {
                "id": a.id,
                "job": org.jobs[a.job_id].name if a.job_id in org.jobs else None,
                "status": _partner_status(a.status),
                "stage": a.stage_name,
                "profile_url": PROFILE.format(candidate=candidate.id, application=a.id),
            }
            for a in rows
        ],
    }


def partner_candidates(call: Call) -> Result:
    unknown = set(call.query) - {"candidate_ids"}
    if unknown:
        raise PartnerError(400, f"Unknown parameter {sorted(unknown)[0]}", sorted(unknown)[0])
    if "candidate_ids" not in call.query:
        raise PartnerError(400, "candidate_ids is required", "candidate_ids")
    ids = id_list(
        call.query["candidate_ids"],
        "candidate_ids",
        lambda m: PartnerError(400, m, "candidate_ids"),
    )
    found = [call.org.candidates[i] for i in ids if i in call.org.candidates]
    return 200, [_partner_candidate(call.org, c) for c in found], {}


def partner_current_user(call: Call) -> Result:
    user = call.org.user_by_email(call.user) or call.org.users[0]
    full = f"{user.first_name} {user.last_name}"
    return (
        200,
        {
            "id": user.id,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "full_name": full,
        },
        {},
    )


def partner_jobs(call: Call) -> Result:
    jobs = sorted(call.org.jobs.values(), key=lambda j: j.id)
    return (
        200,
        [
            {"id": j.id, "name": j.name, "status": j.status, "public": j.status == "open"}
            for j in jobs
        ],
        {},
    )


def partner_prospect_pools(call: Call) -> Result:
    pools = [
        {"id": p.id, "name": p.name, "stages": [{"id": s, "name": n} for s, n in p.stages]}
        for p in call.org.prospect_pools
    ]
    return 200, pools, {}


# fmt: off
_PARTNER_FIELDS: Final = frozenset({
    "prospect", "job_id", "first_name", "last_name", "external_id", "company", "title", "resume",
    "phone_numbers", "emails", "addresses", "social_media", "websites", "website", "referrer",
    "notes", "prospect_pool_id", "prospect_pool_stage_id", "prospect_owner_email",
})
# fmt: on


def _invalid(field_name: str, message: str) -> PartnerError:
    return PartnerError(400, message, field_name)


def _flag(value: object, name: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(name, f"{name} must be a boolean")


def _integer(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and DIGITS.match(value):
        return int(value)
    raise _invalid(name, f"{name} must be an integer")


def _string(body: Mapping[str, object], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(name, f"{name} is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool) and name == "external_id":
        return str(value)
    if not isinstance(value, str):
        raise _invalid(name, f"{name} must be a string")
    return value


def partner_create(call: Call) -> Result:
    body = call.json_body(lambda m: PartnerError(400, m))
    if isinstance(body, list):
        return 200, [_partner_create_one(call, item) for item in body], {}
    return 200, _partner_create_one(call, body), {}


def _partner_create_one(call: Call, body: object) -> dict[str, object]:
    org = call.org
    if not isinstance(body, dict):
        raise PartnerError(400, "Each candidate must be a JSON object")
    unknown = sorted(set(body) - _PARTNER_FIELDS)
    if unknown:
        raise _invalid(unknown[0], f"{unknown[0]} is not a candidate field")
    first = _string(body, "first_name", required=True)
    last = _string(body, "last_name", required=True)
    external_id = _string(body, "external_id", required=True)
    prospect = _flag(body.get("prospect"), "prospect", True)
    job_id = _integer(body.get("job_id"), "job_id")
    if job_id is None and not prospect:
        raise _invalid("job_id", "job_id is required when prospect is false")
    if job_id is not None and job_id not in org.jobs:
        raise _invalid("job_id", f"job {job_id} does not exist")
    pool_id = _integer(body.get("prospect_pool_id"), "prospect_pool_id")
    stage_id = _integer(body.get("prospect_pool_stage_id"), "prospect_pool_stage_id")
    owner = _string(body, "prospect_owner_email")
    for name, value in (
        ("prospect_pool_id", pool_id),
        ("prospect_pool_stage_id", stage_id),
        ("prospect_owner_email", owner),
    ):
        if value is not None and not prospect:
            raise _invalid(name, f"{name} needs prospect to be true")
    pool = next((p for p in org.prospect_pools if p.id == pool_id), None)
    if pool_id is not None and pool is None:
        raise _invalid("prospect_pool_id", f"prospect pool {pool_id} does not exist")
    if stage_id is not None and (pool is None or stage_id not in dict(pool.stages)):
        raise _invalid(
            "prospect_pool_stage_id", "prospect_pool_stage_id must be a stage of prospect_pool_id"
        )
    if owner is not None and org.user_by_email(owner) is None:
        raise _invalid("prospect_owner_email", "prospect_owner_email must be a Greenhouse user")
    referrer = body.get("referrer")
    if referrer is not None and not (
        isinstance(referrer, dict)
        and all(
            isinstance(referrer.get(k), str) and referrer[k]
            for k in ("email", "first_name", "last_name")
        )
    ):
        raise _invalid("referrer", "referrer needs email, first_name and last_name")
    websites_key = "websites" if "websites" in body else "website"
    now = now_ms()
    candidate = GhCandidate(
        id=org.next_id(org.candidates, 0),
        first_name=first or "",
        last_name=last or "",
        created_at=now,
        updated_at=now,
        company=_string(body, "company"),
        title=_string(body, "title"),
        email_addresses=typed_body_entries(body, "emails", "email", EMAIL_TYPES, _invalid),
        phone_numbers=typed_body_entries(
            body, "phone_numbers", "phone_number", PARTNER_PHONE_TYPES, _invalid
        ),
        addresses=typed_body_entries(body, "addresses", "address", ADDRESS_TYPES, _invalid),
        website_addresses=typed_body_entries(body, websites_key, "url", WEBSITE_TYPES, _invalid),
        social_media_addresses=typed_body_entries(body, "social_media", "url", None, _invalid),
        external_id=external_id,
        resume_url=_string(body, "resume"),
        notes=[note] if (note := _string(body, "notes")) else [],
    )
    application = GhApplication(
        id=org.next_id(org.applications, 0),
        candidate_id=candidate.id,
        job_id=None if prospect else job_id,
        status="in_process",
        stage_name=None if prospect else FIRST_STAGE,
        created_at=now,
        updated_at=now,
        prospect=prospect,
        prospective_job_ids=[job_id] if prospect and job_id is not None else [],
    )
    org.candidates[candidate.id] = candidate
    org.add_application(application)
    return {
        "id": candidate.id,
        "application_id": application.id,
        "external_id": external_id,
        "profile_url": PROFILE.format(candidate=candidate.id, application=application.id),
    }
