"""The Greenhouse Partner (Candidate Ingestion) API adapter: fetch by id list, and create.

Listing and updating are Harvest's; this adapter reports them as unsupported.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from typing import Any

from providers.base import (
    AccountConfig,
    CandidatePage,
    CandidateQuery,
    Capability,
    JobPage,
    JobQuery,
    Position,
)
from providers.errors import (
    FieldProblem,
    NotFound,
    Origin,
    ProviderError,
    Rejected,
    UnsupportedByProvider,
    UpstreamAuthFailed,
)
from providers.greenhouse.mapping import (
    EMAIL_TYPES,
    NAME,
    PARTNER_IGNORES,
    PARTNER_PHONE_TYPES,
    STAGE_WARNING,
    WEBSITE_TYPES,
    draft_job_id,
    draft_names,
    id_chunks,
    ignored_warnings,
    partner_record,
    person_url,
    record_id,
    refused_values,
    split_urls,
    typed_entries,
    without_empty,
)
from providers.model import Address as AddressRecord
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    JobRecord,
    JobRef,
    WriteResult,
)
from providers.refusals import RefusesPipeline
from providers.upstream.http import Upstream
from providers.upstream.sharing import Sharing
from providers.upstream.transport import Sender
from providers.wire import text_or_integer

__all__ = ["GreenhousePartnerAdapter"]


class GreenhousePartnerAdapter(RefusesPipeline):
    """Greenhouse's Partner (Candidate Ingestion) API: fetch by id list, and create."""

    name = NAME
    capabilities = frozenset({Capability.GET_MANY, Capability.CREATE, Capability.APPLICATIONS})

    def __init__(
        self, account: AccountConfig, client: Sender, sharing: Sharing | None = None
    ) -> None:
        self.upstream = Upstream(account, client, sharing=sharing)
        credentials, self._options = account.credentials, account.options
        if credentials.get("api_key"):
            basic = base64.b64encode(f"{credentials['api_key']}:".encode()).decode()
            self._headers = {"Authorization": f"Basic {basic}"}
        else:
            self._headers = {"Authorization": f"Bearer {credentials.get('oauth_token', '')}"}
        if self._options.get("on_behalf_of"):
            self._headers["On-Behalf-Of"] = str(self._options["on_behalf_of"])

    def _context(self) -> Origin:
        return {"account": self.upstream.account.id, "provider": self.name}

    async def _call(
        self, method: str, *, params: Mapping[str, str] | None = None, json: Any = None
    ) -> Any:
        response = await self.upstream.send(
            method, "candidates", params=params, json=json, headers=self._headers
        )
        body = self.upstream.json(response)
        if response.status_code >= 400:
            raise self._error(response.status_code, body)
        return body

    def _error(self, status: int, body: Any) -> ProviderError:
        errors = body.get("errors") if isinstance(body, Mapping) else None
        items = [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
        if status == 403:
            return UpstreamAuthFailed(
                f"Greenhouse refused account {self.upstream.account.id!r} (missing permission)",
                **self._context(),
            )
        if status == 404:
            return NotFound("Greenhouse found no such resource", **self._context())
        if status in (400, 422) and items:
            refused = refused_values(item.get("field") for item in items)
            return Rejected(refused, **self._context())
        return self.upstream.bad_response(f"an unexpected HTTP {status}")

    async def list_jobs(self, query: JobQuery, position: Position, limit: int) -> JobPage:
        raise UnsupportedByProvider(
            f"account {self.upstream.account.id!r} uses Greenhouse's Partner API, which has "
            "no jobs listing (Harvest has)",
            **self._context(),
        )

    async def get_jobs(self, remote_ids: Sequence[str]) -> list[JobRecord]:
        raise UnsupportedByProvider(
            f"account {self.upstream.account.id!r} uses Greenhouse's Partner API, which has "
            "no jobs listing (Harvest has)",
            **self._context(),
        )

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        raise UnsupportedByProvider(
            f"account {self.upstream.account.id!r} uses Greenhouse's Partner API, which cannot "
            "list candidates (Harvest can)",
            **self._context(),
        )

    async def _chunk(self, ids: Sequence[str]) -> list[CandidateRecord]:
        """The candidates among `ids`, each once: rows for other ids are dropped unmapped."""
        body = await self._call("GET", params={"candidate_ids": ",".join(ids)})
        if not isinstance(body, list):
            raise self.upstream.bad_response("candidates that are not an array")
        wanted = set(ids)
        rows: dict[str | None, Any] = {}
        for item in body:
            remote_id = record_id(item)
            if remote_id is None or remote_id in wanted:
                rows.setdefault(remote_id, item)
        records = [partner_record(item) for item in rows.values()]
        if None in records:
            raise self.upstream.bad_response("a candidate without an id")
        return [record for record in records if record is not None]

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        """One `GET candidates?candidate_ids=…` per 50 ids, concurrently; unknown ids drop out."""
        found = await asyncio.gather(*(self._chunk(chunk) for chunk in id_chunks(remote_ids)))
        return [record for chunk in found for record in chunk]

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        records = await self.get_candidates(remote_ids)
        return {r.remote_id: list(r.applications or ()) for r in records}

    def _body(self, draft: CandidateDraft) -> dict[str, Any]:
        problems: list[FieldProblem] = []
        first, last = draft_names(draft.first_name, draft.last_name, draft.full_name, problems)
        if not draft.external_id:
            problems.append(
                FieldProblem(
                    "REQUIRED",
                    "the Greenhouse Partner API needs externalId, your system's id for this person",
                    ("external_id",),
                )
            )
        job_id = draft_job_id(draft, problems)
        websites, social = split_urls(draft.urls)
        lists = {
            "emails": typed_entries(draft.emails, "emails", EMAIL_TYPES, "email", problems),
            "phone_numbers": typed_entries(
                draft.phones, "phones", PARTNER_PHONE_TYPES, "phone_number", problems
            ),
            "websites": typed_entries(websites, "urls", WEBSITE_TYPES, "url", problems),
            "social_media": [{"url": url.value} for url in social],
            "addresses": [{"address": v, "type": "other"} for v in draft.locations],
        }
        if problems:
            raise Rejected(problems, **self._context())
        body: dict[str, Any] = {
            "prospect": job_id is None,
            "job_id": job_id,
            "first_name": first,
            "last_name": last,
            "external_id": draft.external_id,
            "company": draft.company,
            "title": draft.title,
            "resume": draft.resume_url,
            "notes": draft.notes,
            **lists,
        }
        referrer = self._options.get("referrer")
        if isinstance(referrer, Mapping):
            body["referrer"] = {k: referrer[k] for k in ("email", "first_name", "last_name")}
        if job_id is None:
            for key in ("prospect_pool_id", "prospect_pool_stage_id", "prospect_owner_email"):
                body[key] = self._options.get(key)
        return without_empty(body)

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult:
        """Creates a candidate on a job, or a prospect when the draft names no application.

        The answer holds ids and a profile URL only, so the record is the draft as Greenhouse
        holds it plus those.
        """
        body = self._body(draft)
        warnings = ignored_warnings((n for n in PARTNER_IGNORES if getattr(draft, n)), "Partner")
        if draft.application and (draft.application.status or draft.application.notes):
            warnings.append(STAGE_WARNING)
        answer = await self._call("POST", json=body)
        if isinstance(answer, list) and len(answer) == 1:
            answer = answer[0]
        remote_id = record_id(answer)
        if remote_id is None:
            raise self.upstream.bad_response("a created candidate without an id")
        application_id, profile_url = (
            text_or_integer(answer, "application_id"),
            text_or_integer(answer, "profile_url"),
        )
        job_id = body.get("job_id")
        application = ApplicationRecord(
            remote_id=application_id or "",
            candidate_remote_id=remote_id,
            job=JobRef(remote_id=str(job_id)) if job_id is not None else None,
            status=ApplicationStatus.ACTIVE,
            profile_url=profile_url,
        )
        record = CandidateRecord(
            remote_id=remote_id,
            first_name=body["first_name"],
            last_name=body["last_name"],
            full_name=f"{body['first_name']} {body['last_name']}",
            company=draft.company,
            title=draft.title,
            emails=draft.emails,
            phones=draft.phones,
            urls=draft.urls,
            addresses=tuple(AddressRecord(value=v, type="other") for v in draft.locations),
            locations=draft.locations,
            resume_url=draft.resume_url,
            external_id=text_or_integer(answer, "external_id") or draft.external_id,
            profile_url=person_url(profile_url),
            remote_data=dict(answer),
            applications=(application,) if application_id else (),
        )
        return WriteResult(record, created=True, warnings=tuple(warnings))

    async def update_candidate(self, remote_id: str, patch: CandidatePatch) -> WriteResult:
        raise UnsupportedByProvider(
            f"account {self.upstream.account.id!r} uses Greenhouse's Partner API, which cannot "
            "update candidates (Harvest can)",
            **self._context(),
        )

    async def aclose(self) -> None:
        await self.upstream.aclose()
