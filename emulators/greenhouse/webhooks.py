"""Greenhouse web hooks as the emulator sends them: `{"action", "payload"}` bodies, signed
`Signature: sha256 <hex HMAC-SHA256 of the body>`, one `Greenhouse-Event-ID` per delivery.

A new application sends `new_candidate_application` (`new_prospect_application` for a
prospect); a changed one `hire_candidate`, `reject_candidate` or `candidate_stage_change` by what
changed, else `application_updated`; a changed candidate `update_candidate`; a deleted one
`delete_candidate` (with its applications' ids); jobs `job_created`/`job_updated`/`job_deleted`.
Greenhouse has no web hook for a candidate created without an application (the emulator's
Harvest create allows one), so that sends `update_candidate`.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from typing import Any

from emulators.greenhouse.calls import iso
from emulators.greenhouse.store import GhApplication, GhCandidate, GhJob, GreenhouseOrg
from emulators.webhooks import Change, Delivery, Snapshot, WebhookTarget, diff

__all__ = ["deliveries", "snapshot"]


def snapshot(org: GreenhouseOrg) -> Snapshot:
    found: Snapshot = {}
    found |= {("candidate", str(i)): (repr(c), None) for i, c in org.candidates.items()}
    found |= {("application", str(i)): (repr(a), copy.copy(a)) for i, a in org.applications.items()}
    found |= {("job", str(i)): (repr(j), None) for i, j in org.jobs.items()}
    return found


def _candidate(candidate: GhCandidate) -> dict[str, Any]:
    return {
        "id": candidate.id,
        "first_name": candidate.first_name,
        "last_name": candidate.last_name,
        "company": candidate.company,
        "title": candidate.title,
        "created_at": iso(candidate.created_at),
        "updated_at": iso(candidate.updated_at),
        "email_addresses": [dict(e) for e in candidate.email_addresses],
    }


def _application(org: GreenhouseOrg, application: GhApplication) -> dict[str, Any]:
    candidate = org.candidates.get(application.candidate_id)
    return {
        "id": application.id,
        "candidate_id": application.candidate_id,
        "prospect": application.prospect,
        "status": "active" if application.status == "in_process" else application.status,
        "applied_at": iso(application.created_at),
        "last_activity_at": iso(application.updated_at),
        "current_stage": {"name": application.stage_name} if application.stage_name else None,
        "jobs": [{"id": application.job_id}] if application.job_id else [],
        "candidate": _candidate(candidate) if candidate else {"id": application.candidate_id},
    }


def _job(job: GhJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.last_update),
    }


def _updated_action(before: object, now: GhApplication) -> str:
    previous = before if isinstance(before, GhApplication) else None
    if now.status == "hired" and (previous is None or previous.status != "hired"):
        return "hire_candidate"
    if now.status == "rejected" and (previous is None or previous.status != "rejected"):
        return "reject_candidate"
    if previous is not None and previous.stage_name != now.stage_name:
        return "candidate_stage_change"
    return "application_updated"


def _bodies(org: GreenhouseOrg, before: Snapshot) -> list[dict[str, Any]]:
    changes = diff(before, snapshot(org))
    new_applications = {
        org.applications[int(i)].candidate_id
        for change, kind, i, _ in changes
        if kind == "application" and change is Change.CREATED
    }
    gone_candidates = {
        int(i) for change, kind, i, _ in changes if kind == "candidate" and change is Change.DELETED
    }
    bodies = []
    for change, kind, remote_id, detail in changes:
        key = int(remote_id)
        if kind == "candidate" and change is Change.DELETED:
            deleted = [
                int(i)
                for c, k, i, d in changes
                if k == "application"
                and c is Change.DELETED
                and isinstance(d, GhApplication)
                and d.candidate_id == key
            ]
            person = {"id": key, "deleted_application_ids": deleted}
            bodies.append({"action": "delete_candidate", "payload": {"person": person}})
        elif kind == "candidate" and not (change is Change.CREATED and key in new_applications):
            candidate = _candidate(org.candidates[key])
            bodies.append({"action": "update_candidate", "payload": {"candidate": candidate}})
        elif kind == "application" and change is Change.DELETED:
            if isinstance(detail, GhApplication) and detail.candidate_id not in gone_candidates:
                application = {"id": key, "candidate_id": detail.candidate_id}
                bodies.append(
                    {"action": "delete_application", "payload": {"application": application}}
                )
        elif kind == "application":
            now = org.applications[key]
            if change is Change.CREATED:
                action = "new_prospect_application" if now.prospect else "new_candidate_application"
            else:
                action = _updated_action(detail, now)
            bodies.append({"action": action, "payload": {"application": _application(org, now)}})
        elif kind == "job":
            action = {Change.CREATED: "job_created", Change.UPDATED: "job_updated"}.get(
                change, "job_deleted"
            )
            job = _job(org.jobs[key]) if key in org.jobs else {"id": key}
            bodies.append({"action": action, "payload": {"job": job}})
    return bodies


def deliveries(
    org: GreenhouseOrg, before: Snapshot, targets: tuple[WebhookTarget, ...]
) -> list[Delivery]:
    """One signed delivery per change and target, in the order the changes happened."""
    found = []
    for body in _bodies(org, before):
        raw = json.dumps(body).encode()  # ASCII-escaped, as Greenhouse signs
        for target in targets:
            signature = hmac.new(target.secret.encode(), raw, hashlib.sha256).hexdigest()
            headers = {
                "content-type": "application/json",
                "signature": f"sha256 {signature}",
                "greenhouse-event-id": str(uuid.uuid4()),
            }
            found.append(Delivery(target, raw, headers))
    return found
