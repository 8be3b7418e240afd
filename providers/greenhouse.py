"""Greenhouse adapter: the Partner (Candidate Ingestion) API and Harvest v3, picked per account.

One provider name, two APIs with different hosts and powers. An account chooses with option
`api = "partner" | "harvest"`, and its `base_url` is required (the spec has no default) because
each API lives on its own host: `https://api.greenhouse.io/v1/partner` for Partner,
`https://harvest.greenhouse.io/v3` for Harvest.

Partner: fetch by id list and create, nothing else. Credentials `api_key` (Basic, key as user
name, empty password; option `on_behalf_of`, a Greenhouse user's email, is required with it) or
`oauth_token` (Bearer; `on_behalf_of` is sent when given). Options `referrer` ({email,
first_name, last_name}) and `prospect_pool_id` / `prospect_pool_stage_id` /
`prospect_owner_email` (for prospects) apply to every create. Without LIST or UPDATE, the gateway
reports listings and updates of these accounts as UNSUPPORTED_BY_PROVIDER.

Harvest v3: OAuth2 client credentials `client_id` / `client_secret`, option `user_id` (the token's
`sub`) and option `token_url` (default https://auth.greenhouse.io/token; a value starting with "/"
is taken on `base_url`'s host, which is how the demo points at its emulator). Lists are cursor
pages, one upstream page per `list_candidates` call, so a position is (cursor, rows already used
from that page). Option `page_size` (default 100) sizes pages. A search that is a whole email
address is pushed down as `email=` (Greenhouse matches the address exactly); any other search is
a name or partial address Harvest cannot filter on, so those pages (option `scan_rows`, default
500) are filtered here: one call scans at most `scan_rows` candidates and paging on continues
the scan, so results are never unfiltered and never cut short.

Update semantics for list fields (emails, phones, urls, locations, tags): entries the client
gives are added, or retyped when the value is already there; entries it does not name are kept.
Harvest replaces whole lists, so the adapter reads the candidate and sends the merged list.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from providers.base import (
    AccountConfig,
    CandidatePage,
    CandidateQuery,
    Capability,
    Position,
    Provider,
    ProviderSpec,
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
from providers.http import Upstream, path
from providers.model import Address as AddressRecord
from providers.model import (
    ApplicationRecord,
    ApplicationStatus,
    CandidateDraft,
    CandidatePatch,
    CandidateRecord,
    Contact,
    Email,
    EmailType,
    JobRef,
    Phone,
    PhoneType,
    Url,
    UrlType,
    WriteResult,
    WriteWarning,
)
from providers.sharing import shared_tokens

__all__ = [
    "SPEC",
    "GreenhouseHarvestAdapter",
    "GreenhousePartnerAdapter",
    "check",
    "harvest_application",
    "harvest_record",
    "matches_search",
    "partner_record",
    "split_name",
]

NAME = "greenhouse"
DEFAULT_TOKEN_URL = "https://auth.greenhouse.io/token"
MAX_IDS = 50  # Harvest's documented cap on `ids`; Partner's `candidate_ids` cap is undocumented
MAX_PER_PAGE = 500
DEFAULT_PAGE_SIZE = 100
TOKEN_EARLY = 60.0  # seconds before expiry to mint the next token
TOKEN_LIFETIME = 3600.0  # the documented lifetime, for a token answer that states none
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DIGITS = re.compile(r"^[0-9]+$")

PARTICLES = frozenset(
    {"al", "bin", "da", "das", "de", "del", "della", "der", "di", "dos", "du", "el", "ibn"}
    | {"la", "le", "st", "st.", "ten", "ter", "van", "von"}
)
SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})

PARTNER_STATUS = {
    "active": ApplicationStatus.ACTIVE,
    "rejected": ApplicationStatus.REJECTED,
    "hired": ApplicationStatus.HIRED,
}
HARVEST_STATUS = {
    "in_process": ApplicationStatus.ACTIVE,
    "rejected": ApplicationStatus.REJECTED,
    "hired": ApplicationStatus.HIRED,
    "converted": ApplicationStatus.OTHER,
}

EMAIL_TYPES = {t: t.value.lower() for t in (EmailType.PERSONAL, EmailType.WORK, EmailType.OTHER)}
PARTNER_PHONE_TYPES = {
    t: t.value.lower() for t in (PhoneType.MOBILE, PhoneType.HOME, PhoneType.WORK, PhoneType.OTHER)
}
HARVEST_PHONE_TYPES = {**PARTNER_PHONE_TYPES, PhoneType.SKYPE: "skype"}
WEBSITE_TYPES = {
    t: t.value.lower()
    for t in (UrlType.PERSONAL, UrlType.COMPANY, UrlType.PORTFOLIO, UrlType.BLOG, UrlType.OTHER)
}

# Greenhouse's field names → the gateway's input field names (snake case), for error paths.
WIRE_TO_INPUT = {
    "emails": ("emails",),
    "email_addresses": ("emails",),
    "phone_numbers": ("phones",),
    "websites": ("urls",),
    "website": ("urls",),
    "website_addresses": ("urls",),
    "social_media": ("urls",),
    "social_media_addresses": ("urls",),
    "addresses": ("locations",),
    "resume": ("resume_url",),
    "job_id": ("application", "job_id"),
    "application": ("application", "job_id"),
    **{name: (name,) for name in ("first_name", "last_name", "company", "title", "tags")},
    **{name: (name,) for name in ("external_id", "notes")},
}

# Draft fields each API has no place for: sent nowhere, reported as warnings.
PARTNER_IGNORES = (
    "tags",
    "skills",
    "experience_years",
    "current_compensation",
    "expected_compensation",
    "notice_period_days",
    "source",
)
HARVEST_IGNORES = (
    "skills",
    "experience_years",
    "current_compensation",
    "expected_compensation",
    "notice_period_days",
    "resume_url",
    "source",
    "external_id",
    "notes",
)
STAGE_WARNING = WriteWarning(
    "Greenhouse starts a new application at the job's first stage; status and notes were not saved",
    "IGNORED_FIELD",
    ("application",),
)

C = TypeVar("C", bound=Contact[Any])


# --- reading: wire JSON → records ---------------------------------------------------------------


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def _items(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = raw.get(key)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _id(raw: Any) -> str | None:
    return _text(raw, "id") if isinstance(raw, Mapping) else None


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """Splits Greenhouse's one `name` string; the last word is the last name.

    Greenhouse builds `name` from first and last name, and a two-word first name ("Mary Ann")
    is likelier than a two-word last name, except where a particle ("van", "de") or a suffix
    ("Jr.") says the last name runs longer.
    """
    words = (name or "").split()
    if len(words) < 2:
        return (words[0] if words else None), None
    cut = len(words) - 1
    if words[cut].casefold() in SUFFIXES and cut > 1:
        cut -= 1
    while cut > 1 and words[cut - 1].casefold() in PARTICLES:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


def _status(raw: str | None, table: Mapping[str, ApplicationStatus]) -> ApplicationStatus:
    return table.get((raw or "").strip().lower(), ApplicationStatus.OTHER)


def _person_url(application_url: str | None) -> str | None:
    """The person's page: an application's profile URL without its `application_id` query."""
    return application_url.split("?", 1)[0] if application_url else None


def _partner_application(raw: Mapping[str, Any], candidate_id: str) -> ApplicationRecord | None:
    remote_id, status, job = _id(raw), _text(raw, "status"), _text(raw, "job")
    if remote_id is None:
        return None
    return ApplicationRecord(
        remote_id=remote_id,
        candidate_remote_id=candidate_id,
        job=JobRef(remote_id=None, name=job) if job else None,
        status=_status(status, PARTNER_STATUS),
        raw_status=status,
        stage=_text(raw, "stage"),
        profile_url=_text(raw, "profile_url"),
    )


def partner_record(raw: Any) -> CandidateRecord | None:
    """Maps one Partner API candidate (`{id, name, external_id, applications}`); None without id."""
    remote_id = _id(raw)
    if remote_id is None:
        return None
    name = _text(raw, "name")
    first, last = split_name(name)
    applications = tuple(
        a for item in _items(raw, "applications") if (a := _partner_application(item, remote_id))
    )
    return CandidateRecord(
        remote_id=remote_id,
        first_name=first,
        last_name=last,
        full_name=name.strip() if name else None,
        external_id=_text(raw, "external_id"),
        profile_url=next((_person_url(a.profile_url) for a in applications if a.profile_url), None),
        remote_data=dict(raw),
        applications=applications,
    )


def _contacts(
    raw: Mapping[str, Any], key: str, kind: type[C], table: Mapping[Any, str], other: Any
) -> list[C]:
    """Typed contacts; an unknown label becomes `other`, and `raw_type` keeps every label."""
    by_label = {label: kind_ for kind_, label in table.items()}
    found = []
    for item in _items(raw, key):
        value, label = _text(item, "value"), (_text(item, "type") or "").strip().lower()
        if value:
            type_ = by_label.get(label, other) if label else None
            found.append(kind(value=value, type=type_, raw_type=label or None))
    return found


def harvest_application(raw: Any) -> ApplicationRecord | None:
    """Maps one Harvest v3 application (flat ids, `stage_name`, `status`); None without ids."""
    remote_id = _id(raw)
    candidate_id = _text(raw, "candidate_id") if remote_id is not None else None
    if remote_id is None or candidate_id is None:
        return None
    status, job_id = _text(raw, "status"), _text(raw, "job_id")
    return ApplicationRecord(
        remote_id=remote_id,
        candidate_remote_id=candidate_id,
        job=JobRef(remote_id=job_id) if job_id else None,
        status=_status(status, HARVEST_STATUS),
        raw_status=status,
        stage=_text(raw, "stage_name"),
        applied_at=_text(raw, "created_at"),
    )


def harvest_record(raw: Any) -> CandidateRecord | None:
    """Maps one Harvest v3 candidate; v3 embeds no applications, so they stay None (not loaded)."""
    remote_id = _id(raw)
    if remote_id is None:
        return None
    first, last = _text(raw, "first_name"), _text(raw, "last_name")
    urls = _contacts(raw, "website_addresses", Url, WEBSITE_TYPES, UrlType.OTHER)
    urls += [
        Url(value=value, type=UrlType.SOCIAL_MEDIA, raw_type="social_media")
        for item in _items(raw, "social_media_addresses")
        if (value := _text(item, "value"))
    ]
    addresses = tuple(
        AddressRecord(value=value, type=_text(item, "type"))
        for item in _items(raw, "addresses")
        if (value := _text(item, "value"))
    )
    tags = raw.get("tags")
    extras = {
        key: raw[key]
        for key in ("preferred_name", "private", "can_email", "time_zone", "last_activity_at")
        if raw.get(key) is not None
    }
    if isinstance(raw.get("custom_fields"), Mapping) and raw["custom_fields"]:
        extras["custom_fields"] = dict(raw["custom_fields"])
    return CandidateRecord(
        remote_id=remote_id,
        first_name=first,
        last_name=last,
        full_name=" ".join(part for part in (first, last) if part) or None,
        company=_text(raw, "company"),
        title=_text(raw, "title"),
        emails=tuple(_contacts(raw, "email_addresses", Email, EMAIL_TYPES, EmailType.OTHER)),
        phones=tuple(_contacts(raw, "phone_numbers", Phone, HARVEST_PHONE_TYPES, PhoneType.OTHER)),
        addresses=addresses,
        urls=tuple(urls),
        locations=tuple(a.value for a in addresses),
        tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        created_at=_text(raw, "created_at"),
        updated_at=_text(raw, "updated_at"),
        custom_fields=extras or None,
        remote_data=dict(raw),
    )


def matches_search(record: CandidateRecord, search: str) -> bool:
    """Harvest accounts' `search`, the same on every path: a whole email address matches an
    address exactly (as Harvest's `email=` does), anything else is a case-insensitive substring
    of a name or an address.
    """
    needle = search.strip().casefold()
    emails = [email.value.casefold() for email in record.emails]
    if EMAIL.match(needle):
        return needle in emails
    names = [record.first_name, record.last_name, record.full_name]
    return any(needle in text for text in [*(n.casefold() for n in names if n), *emails])


# --- writing: drafts → wire JSON ----------------------------------------------------------------


def _wire_type(contact: Contact[Any], table: Mapping[Any, str], default: str) -> str | None:
    """The provider's label for a contact's type: `default` when none was given, None when bad."""
    kind: Any = contact.type if contact.type is not None else contact.raw_type
    if kind is None:
        return default
    if kind in table:
        return table[kind]
    label = str(kind).strip().lower()
    return label if label in table.values() else None


def _typed_entries(
    values: Sequence[Contact[Any]],
    field_name: str,
    table: Mapping[Any, str],
    value_key: str,
    problems: list[FieldProblem],
    default: str = "other",
) -> list[dict[str, str]]:
    """Wire entries for typed contacts; `default=""` leaves out a type the client did not give."""
    entries = []
    for n, contact in enumerate(values):
        wire = _wire_type(contact, table, default)
        if wire is None:
            allowed = ", ".join(label.upper() for label in table.values())
            problems.append(
                FieldProblem(
                    "UNSUPPORTED_VALUE",
                    f"Greenhouse accepts these {field_name} types: {allowed}",
                    (field_name, str(n), "type"),
                )
            )
        else:
            entries.append({value_key: contact.value, **({"type": wire} if wire else {})})
    return entries


def _split_urls(values: Sequence[Url]) -> tuple[list[Url], list[Url]]:
    """(websites, social media links): Greenhouse keeps them apart, and social links untyped."""
    social = [
        url
        for url in values
        if url.type is UrlType.SOCIAL_MEDIA or (url.type is None and url.raw_type == "social_media")
    ]
    return [url for url in values if url not in social], social


def _names(
    first: str | None, last: str | None, full: str | None, problems: list[FieldProblem]
) -> tuple[str, str]:
    if not (first and last) and full:
        split_first, split_last = split_name(full)
        first, last = first or split_first, last or split_last
    for value, name in ((first, "first_name"), (last, "last_name")):
        if not value:
            label = name.replace("_", " ")
            problems.append(FieldProblem("REQUIRED", f"Greenhouse needs a {label}", (name,)))
    return first or "", last or ""


def _job_id(draft: CandidateDraft, problems: list[FieldProblem]) -> int | None:
    if draft.application is None:
        return None
    if DIGITS.match(draft.application.job_remote_id):
        return int(draft.application.job_remote_id)
    problems.append(
        FieldProblem("NOT_FOUND", "no such job in this account", ("application", "job_id"))
    )
    return None


def _ignored(names: Iterable[str], api: str) -> list[WriteWarning]:
    return [
        WriteWarning(
            f"the Greenhouse {api} API has no place for {name}; it was not saved",
            "IGNORED_FIELD",
            (name,),
        )
        for name in names
    ]


def _input_path(wire: object) -> tuple[str, ...] | None:
    if not isinstance(wire, str) or not wire:
        return None
    return WIRE_TO_INPUT.get(wire) or WIRE_TO_INPUT.get(re.split(r"[.\[]", wire, maxsplit=1)[0])


def _without_empty(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, [], "")}


# --- Partner API --------------------------------------------------------------------------------


class GreenhousePartnerAdapter:
    """Greenhouse's Partner (Candidate Ingestion) API: fetch by id list, and create."""

    name = NAME
    capabilities = frozenset({Capability.GET_MANY, Capability.CREATE, Capability.APPLICATIONS})

    def __init__(self, account: AccountConfig, client: httpx.AsyncClient) -> None:
        self.upstream = Upstream(account, client)
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
            problems = [
                FieldProblem(
                    "BAD_USER_INPUT",
                    str(item.get("message") or "Greenhouse refused this value"),
                    _input_path(item.get("field")),
                )
                for item in items
            ]
            return Rejected(problems, **self._context())
        return self.upstream.bad_response(f"an unexpected HTTP {status}")

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        raise UnsupportedByProvider(
            f"account {self.upstream.account.id!r} uses Greenhouse's Partner API, which cannot "
            "list candidates (Harvest can)",
            **self._context(),
        )

    async def _chunk(self, ids: Sequence[str]) -> list[CandidateRecord]:
        body = await self._call("GET", params={"candidate_ids": ",".join(ids)})
        if not isinstance(body, list):
            raise self.upstream.bad_response("candidates that are not an array")
        records = [partner_record(item) for item in body]
        if None in records:
            raise self.upstream.bad_response("a candidate without an id")
        return [record for record in records if record is not None]

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        """One `GET candidates?candidate_ids=…` per 50 ids, concurrently; unknown ids drop out."""
        found = await asyncio.gather(*(self._chunk(chunk) for chunk in _chunks(remote_ids)))
        return [record for chunk in found for record in chunk]

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        records = await self.get_candidates(remote_ids)
        return {r.remote_id: list(r.applications or ()) for r in records}

    def _body(self, draft: CandidateDraft) -> dict[str, Any]:
        problems: list[FieldProblem] = []
        first, last = _names(draft.first_name, draft.last_name, draft.full_name, problems)
        if not draft.external_id:
            problems.append(
                FieldProblem(
                    "REQUIRED",
                    "the Greenhouse Partner API needs externalId, your system's id for this person",
                    ("external_id",),
                )
            )
        job_id = _job_id(draft, problems)
        websites, social = _split_urls(draft.urls)
        lists = {
            "emails": _typed_entries(draft.emails, "emails", EMAIL_TYPES, "email", problems),
            "phone_numbers": _typed_entries(
                draft.phones, "phones", PARTNER_PHONE_TYPES, "phone_number", problems
            ),
            "websites": _typed_entries(websites, "urls", WEBSITE_TYPES, "url", problems),
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
        return _without_empty(body)

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult:
        """Creates a candidate on a job, or a prospect when the draft names no application.

        The answer holds ids and a profile URL only, so the record is the draft as Greenhouse
        holds it plus those.
        """
        body = self._body(draft)
        warnings = _ignored((n for n in PARTNER_IGNORES if getattr(draft, n)), "Partner")
        if draft.application and (draft.application.status or draft.application.notes):
            warnings.append(STAGE_WARNING)
        answer = await self._call("POST", json=body)
        if isinstance(answer, list) and len(answer) == 1:
            answer = answer[0]
        remote_id = _id(answer)
        if remote_id is None:
            raise self.upstream.bad_response("a created candidate without an id")
        application_id, profile_url = _text(answer, "application_id"), _text(answer, "profile_url")
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
            external_id=_text(answer, "external_id") or draft.external_id,
            profile_url=_person_url(profile_url),
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


def _chunks(remote_ids: Sequence[str]) -> list[list[str]]:
    """Distinct ids in groups of 50; ids that are not numbers cannot exist, so they are dropped."""
    ids = list(dict.fromkeys(i for i in remote_ids if DIGITS.match(i)))
    return [ids[n : n + MAX_IDS] for n in range(0, len(ids), MAX_IDS)]


# --- Harvest v3: tokens -------------------------------------------------------------------------


@dataclass(slots=True)
class _Token:
    value: str = field(repr=False)
    refresh_at: float  # time.monotonic() after which the next token is minted


def _token_url(account: AccountConfig) -> str:
    url = str(account.options.get("token_url") or DEFAULT_TOKEN_URL)
    if url.startswith("/"):
        base = urlsplit(account.base_url)
        return f"{base.scheme}://{base.netloc}{url}"
    return url


def _lifetime(body: Mapping[str, Any]) -> float:
    """Seconds a token lives: `expires_in`, or `expires_at` (RFC 3339), or the documented hour."""
    seconds = body.get("expires_in")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        return float(seconds)
    try:
        moment = datetime.fromisoformat(str(body["expires_at"]))
    except (KeyError, ValueError):
        return TOKEN_LIFETIME
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


class _TokenSource:
    """Mints Harvest v3 access tokens (OAuth2 client credentials), caching one until shortly
    before it expires; concurrent callers share one mint, and a refused token is replaced once.

    Minting goes through the account's `Upstream` like every call, so the deadline, breaker,
    retries and error mapping apply to it too. When the gateway shares state between processes
    (`providers.sharing`), a token minted by one process is reused by the others until its
    refresh time, so N processes mint once, not N times.
    """

    def __init__(self, upstream: Upstream, url: str) -> None:
        self._upstream = upstream
        self._url = url
        credentials, options = upstream.account.credentials, upstream.account.options
        pair = f"{credentials.get('client_id', '')}:{credentials.get('client_secret', '')}"
        self._basic = "Basic " + base64.b64encode(pair.encode()).decode()
        self._form = {"grant_type": "client_credentials", "sub": str(options.get("user_id", ""))}
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self._shared = shared_tokens(upstream.account)

    def __repr__(self) -> str:
        return f"<_TokenSource account={self._upstream.account.id!r}>"

    async def get(self) -> str:
        token = self._token
        if token is not None and time.monotonic() < token.refresh_at:
            return token.value
        async with self._lock:
            token = self._token
            if token is None or time.monotonic() >= token.refresh_at:
                token = self._token = await self._shared_token() or await self._mint_shared()
            return token.value

    async def refresh(self, refused: str) -> str:
        """A new token, unless another caller (here or in another process) already replaced
        the `refused` one."""
        async with self._lock:
            token = self._token
            if token is None or token.value == refused:
                token = await self._shared_token()
                if token is None or token.value == refused:
                    token = await self._mint_shared()
                self._token = token
            return token.value

    async def _shared_token(self) -> _Token | None:
        found = None if self._shared is None else await self._shared.load()
        return None if found is None else _Token(found[0], time.monotonic() + found[1])

    async def _mint_shared(self) -> _Token:
        token = await self._mint()
        if self._shared is not None:
            await self._shared.save(token.value, token.refresh_at - time.monotonic())
        return token

    async def _mint(self) -> _Token:
        account = self._upstream.account.id
        response = await self._upstream.send(
            "POST",
            self._url,
            data=self._form,
            headers={"Authorization": self._basic},
            idempotent=True,  # minting a token changes nothing upstream
        )
        if response.status_code in (400, 403):
            raise UpstreamAuthFailed(
                f"Greenhouse refused the client credentials of account {account!r}",
                account=account,
                provider=NAME,
            )
        status = response.status_code
        body = self._upstream.json(response)
        value = body.get("access_token") if isinstance(body, Mapping) else None
        if status >= 300 or not isinstance(value, str) or not value:
            raise self._upstream.bad_response("a token answer without an access token")
        lifetime = _lifetime(body)
        return _Token(value, time.monotonic() + lifetime - min(TOKEN_EARLY, max(0.0, lifetime) / 2))


# --- Harvest v3: the adapter --------------------------------------------------------------------


_ListChanges = dict[str, tuple[list[dict[str, str]], bool]]  # wire list → (entries, typed)
_LIST_INPUT = {
    "email_addresses": "emails",
    "phone_numbers": "phones",
    "website_addresses": "urls",
    "social_media_addresses": "urls",
    "addresses": "locations",
}


def _merged(current: Any, given: Sequence[Mapping[str, str]], typed: bool) -> list[dict[str, str]]:
    """The current wire list with the given entries added, or retyped where the value is there.

    Values match case-insensitively; an entry the client gave no type keeps its current type,
    or gets "other" when new.
    """
    merged = [
        {k: v for k, v in item.items() if k in ("value", "type")}
        for item in (current if isinstance(current, list) else [])
        if isinstance(item, Mapping) and isinstance(item.get("value"), str)
    ]
    index = {item["value"].strip().casefold(): item for item in merged}
    for entry in given:
        key = entry["value"].strip().casefold()
        if key not in index:
            index[key] = {"value": entry["value"], **({"type": "other"} if typed else {})}
            merged.append(index[key])
        if typed and entry.get("type"):
            index[key]["type"] = entry["type"]
    return merged


def _bounded(value: object, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PER_PAGE:
        return value
    return default


class GreenhouseHarvestAdapter:
    """Greenhouse Harvest v3: cursor-paged lists, filters, applications, create and update."""

    name = NAME
    capabilities = frozenset(
        {
            Capability.LIST,
            Capability.SEARCH,
            Capability.FILTER_JOB,
            Capability.GET_MANY,
            Capability.CREATE,
            Capability.UPDATE,
            Capability.APPLICATIONS,
        }
    )

    def __init__(self, account: AccountConfig, client: httpx.AsyncClient) -> None:
        self.upstream = Upstream(account, client)
        self.tokens = _TokenSource(self.upstream, _token_url(account))
        self.page_size = _bounded(account.options.get("page_size"), DEFAULT_PAGE_SIZE)
        self.scan_rows = _bounded(account.options.get("scan_rows"), MAX_PER_PAGE)

    def _context(self) -> Origin:
        return {"account": self.upstream.account.id, "provider": self.name}

    async def _send(
        self, method: str, url: str, params: Mapping[str, str | int] | None, json: Any
    ) -> httpx.Response:
        token = await self.tokens.get()
        try:
            return await self.upstream.send(
                method, url, params=params, json=json, headers={"Authorization": f"Bearer {token}"}
            )
        except UpstreamAuthFailed:
            token = await self.tokens.refresh(token)
        return await self.upstream.send(
            method, url, params=params, json=json, headers={"Authorization": f"Bearer {token}"}
        )

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> tuple[Any, httpx.Response]:
        response = await self._send(method, url, params, json)
        body = self.upstream.json(response)
        if response.status_code >= 400:
            raise self._error(response.status_code, body, write=method != "GET")
        return body, response

    def _error(self, status: int, body: Any, *, write: bool) -> ProviderError:
        if status == 404:
            return NotFound("Greenhouse found no such candidate", **self._context())
        if status == 403:
            return UpstreamAuthFailed(
                f"Greenhouse refused account {self.upstream.account.id!r}: its scopes or user "
                "do not allow this call",
                **self._context(),
            )
        if write and status in (400, 422) and isinstance(body, Mapping):
            return Rejected(_problems(body), **self._context())
        return self.upstream.bad_response(f"an unexpected HTTP {status}")

    async def _page(
        self, resource: str, params: Mapping[str, str | int]
    ) -> tuple[list[Any], str | None]:
        """One list page (a bare JSON array) and the cursor of the next, from `Link: rel=next`."""
        body, response = await self._call("GET", resource, params=params)
        if not isinstance(body, list):
            raise self.upstream.bad_response("a list that is not an array")
        link = response.links.get("next", {}).get("url")
        if not link:
            return body, None
        cursor = httpx.URL(link).params.get("cursor")
        if not cursor:
            raise self.upstream.bad_response("a next link without a cursor")
        return body, cursor

    async def _all_pages(self, resource: str, params: Mapping[str, str | int]) -> list[Any]:
        rows, cursor = await self._page(resource, params)
        while cursor is not None:
            more, cursor = await self._page(resource, {"cursor": cursor})
            rows += more
        return rows

    def _records(self, rows: Sequence[Any]) -> list[CandidateRecord]:
        records = [harvest_record(row) for row in rows]
        if None in records:
            raise self.upstream.bad_response("a candidate without an id")
        return [record for record in records if record is not None]

    async def list_candidates(
        self, query: CandidateQuery, position: Position, limit: int
    ) -> CandidatePage:
        """One upstream page per call, of which `position.skip` rows were already used."""
        search = (query.search or "").strip()
        if query.job_remote_id is not None:
            return await self._list_for_job(query.job_remote_id, search, position)
        scan = bool(search) and not EMAIL.match(search)
        params: Mapping[str, str | int]
        if position.token is not None:
            params = {"cursor": position.token}
        elif scan:
            params = {"per_page": self.scan_rows}
        else:
            # `skip` counts unfiltered rows here, so any first page longer than it holds them.
            size = min(MAX_PER_PAGE, max(self.page_size, limit + position.skip))
            params = {"per_page": size, **({"email": search} if search else {})}
        rows, cursor = await self._page("candidates", params)
        records = self._records(rows)
        if scan:
            records = [record for record in records if matches_search(record, search)]
        return CandidatePage(tuple(records[position.skip :]), position, cursor)

    async def _list_for_job(self, job_id: str, search: str, position: Position) -> CandidatePage:
        """Candidates of one job: a page of its applications, then their candidates by id."""
        if not DIGITS.match(job_id):
            return CandidatePage((), position, None)
        params: Mapping[str, str | int] = (
            {"cursor": position.token}
            if position.token is not None
            else {"job_ids": job_id, "per_page": self.page_size}
        )
        rows, cursor = await self._page("applications", params)
        applications = [harvest_application(row) for row in rows]
        ids = list(dict.fromkeys(a.candidate_remote_id for a in applications if a is not None))
        found = {record.remote_id: record for record in await self.get_candidates(ids)}
        records = [found[i] for i in ids if i in found]
        if search:
            records = [record for record in records if matches_search(record, search)]
        return CandidatePage(tuple(records[position.skip :]), position, cursor)

    async def _by_ids(self, ids: Sequence[str]) -> list[CandidateRecord]:
        rows = await self._all_pages("candidates", {"ids": ",".join(ids), "per_page": len(ids)})
        return self._records(rows)

    async def get_candidates(self, remote_ids: Sequence[str]) -> list[CandidateRecord]:
        """`GET candidates?ids=…` per 50 ids, concurrently: Harvest v3 has no by-id route."""
        found = await asyncio.gather(*(self._by_ids(chunk) for chunk in _chunks(remote_ids)))
        return [record for chunk in found for record in chunk]

    async def applications_for(
        self, remote_ids: Sequence[str]
    ) -> dict[str, list[ApplicationRecord]]:
        """`GET applications?candidate_ids=…` per 50 candidates, never one call per candidate."""
        pages = await asyncio.gather(
            *(
                self._all_pages(
                    "applications", {"candidate_ids": ",".join(chunk), "per_page": MAX_PER_PAGE}
                )
                for chunk in _chunks(remote_ids)
            )
        )
        found: dict[str, list[ApplicationRecord]] = {i: [] for i in remote_ids}
        for row in (row for page in pages for row in page):
            application = harvest_application(row)
            if application is None:
                raise self.upstream.bad_response("an application without ids")
            found.setdefault(application.candidate_remote_id, []).append(application)
        return found

    async def _current(self, remote_id: str) -> Mapping[str, Any]:
        if DIGITS.match(remote_id):
            for row in await self._all_pages("candidates", {"ids": remote_id, "per_page": 1}):
                if _id(row) == remote_id:
                    return dict(row)
        raise NotFound("Greenhouse found no such candidate", **self._context())

    def _record(self, raw: Any) -> CandidateRecord:
        record = harvest_record(raw)
        if record is None:
            raise self.upstream.bad_response("a candidate without an id")
        return record

    async def create_candidate(self, draft: CandidateDraft) -> WriteResult:
        """`POST candidates`, with the first application nested when the draft names a job."""
        problems: list[FieldProblem] = []
        first, last = _names(draft.first_name, draft.last_name, draft.full_name, problems)
        job_id = _job_id(draft, problems)
        websites, social = _split_urls(draft.urls)
        body = {
            "first_name": first,
            "last_name": last,
            "company": draft.company,
            "title": draft.title,
            "email_addresses": _typed_entries(
                draft.emails, "emails", EMAIL_TYPES, "value", problems
            ),
            "phone_numbers": _typed_entries(
                draft.phones, "phones", HARVEST_PHONE_TYPES, "value", problems
            ),
            "website_addresses": _typed_entries(websites, "urls", WEBSITE_TYPES, "value", problems),
            "social_media_addresses": [{"value": url.value} for url in social],
            "addresses": [{"value": v, "type": "other"} for v in draft.locations],
            "tags": list(draft.tags),
            "application": {"job_id": job_id} if job_id is not None else None,
        }
        if problems:
            raise Rejected(problems, **self._context())
        warnings = _ignored((n for n in HARVEST_IGNORES if getattr(draft, n)), "Harvest")
        if draft.application and (draft.application.status or draft.application.notes):
            warnings.append(STAGE_WARNING)
        answer, _ = await self._call("POST", "candidates", json=_without_empty(body))
        return WriteResult(self._record(answer), created=True, warnings=tuple(warnings))

    def _changes(self, given: Mapping[str, Any]) -> tuple[dict[str, Any], _ListChanges]:
        """The plain fields of a PATCH body, and the list entries to merge; bad input raises."""
        problems: list[FieldProblem] = []
        body = {k: given[k] for k in ("first_name", "last_name", "company", "title") if k in given}
        if "full_name" in given:
            first, last = split_name(given["full_name"])
            body = {"first_name": first, "last_name": last} | body
        for name in ("first_name", "last_name"):
            if name in body and not body[name]:
                where = name if name in given else "full_name"
                label = name.replace("_", " ")
                problems.append(FieldProblem("REQUIRED", f"Greenhouse needs a {label}", (where,)))
        lists: _ListChanges = {}
        if "emails" in given:
            emails = given["emails"] or ()
            entries = _typed_entries(emails, "emails", EMAIL_TYPES, "value", problems, "")
            lists["email_addresses"] = (entries, True)
        if "phones" in given:
            phones = given["phones"] or ()
            entries = _typed_entries(phones, "phones", HARVEST_PHONE_TYPES, "value", problems, "")
            lists["phone_numbers"] = (entries, True)
        if "urls" in given:
            websites, social = _split_urls(given["urls"] or ())
            entries = _typed_entries(websites, "urls", WEBSITE_TYPES, "value", problems, "")
            lists["website_addresses"] = (entries, True)
            lists["social_media_addresses"] = ([{"value": url.value} for url in social], False)
        if "locations" in given:
            lists["addresses"] = ([{"value": v} for v in given["locations"] or ()], True)
        if problems:
            raise Rejected(problems, **self._context())
        return body, lists

    async def update_candidate(self, remote_id: str, patch: CandidatePatch) -> WriteResult:
        """`PATCH candidates/{id}` with the given fields; list fields go out merged (see above).

        Input is checked before any call; the candidate is read first only when a list field
        must be merged, or when nothing is left to send.
        """
        given = patch.given()
        body, lists = self._changes(given)
        warnings = tuple(
            _ignored([n for n in (*HARVEST_IGNORES, "application") if n in given], "Harvest")
        )
        current = await self._current(remote_id) if lists or "tags" in given else None
        for wire, (entries, typed) in lists.items():
            cleared = given[_LIST_INPUT[wire]] is None
            body[wire] = [] if cleared else _merged((current or {}).get(wire), entries, typed)
        if "tags" in given:
            tags = (current or {}).get("tags")
            kept = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
            body["tags"] = (
                [] if given["tags"] is None else list(dict.fromkeys([*kept, *given["tags"]]))
            )
        if not body:
            record = self._record(current or await self._current(remote_id))
            return WriteResult(record, warnings=warnings)
        answer, _ = await self._call("PATCH", path("candidates", remote_id), json=body)
        return WriteResult(self._record(answer), warnings=warnings)

    async def aclose(self) -> None:
        await self.upstream.aclose()


def _problems(body: Mapping[str, Any]) -> list[FieldProblem]:
    """Harvest's `{message, errors}`; an error is a string or a one-key {field: message}."""
    errors = body.get("errors")
    problems = []
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, Mapping):
            problems += [
                FieldProblem("BAD_USER_INPUT", f"{wire}: {text}", _input_path(wire))
                for wire, text in item.items()
            ]
        else:
            problems.append(FieldProblem("BAD_USER_INPUT", str(item)))
    message = str(body.get("message") or "Greenhouse refused the request")
    return problems or [FieldProblem("BAD_USER_INPUT", message)]


# --- registry -----------------------------------------------------------------------------------

PARTNER_OPTIONS = frozenset(
    {"api", "on_behalf_of", "referrer", "prospect_pool_id", "prospect_pool_stage_id"}
    | {"prospect_owner_email"}
)
HARVEST_OPTIONS = frozenset({"api", "user_id", "token_url", "page_size", "scan_rows"})


def _check_partner(credentials: Mapping[str, str], options: Mapping[str, object]) -> list[str]:
    problems = []
    has_key, has_token = bool(credentials.get("api_key")), bool(credentials.get("oauth_token"))
    if has_key == has_token:
        problems.append("the Partner API needs exactly one of api_key_env or oauth_token_env")
    on_behalf_of = options.get("on_behalf_of")
    if has_key and not (isinstance(on_behalf_of, str) and EMAIL.match(on_behalf_of)):
        problems.append("options.on_behalf_of (a Greenhouse user's email) is required with api_key")
    referrer = options.get("referrer")
    if referrer is not None and not (
        isinstance(referrer, Mapping)
        and all(isinstance(referrer.get(k), str) for k in ("email", "first_name", "last_name"))
    ):
        problems.append("options.referrer needs email, first_name and last_name")
    for name in ("prospect_pool_id", "prospect_pool_stage_id"):
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"options.{name} must be an integer")
    if options.get("prospect_pool_stage_id") is not None and not options.get("prospect_pool_id"):
        problems.append("options.prospect_pool_stage_id needs options.prospect_pool_id")
    if credentials.get("client_id") or credentials.get("client_secret"):
        problems.append("client_id_env and client_secret_env are for the Harvest API")
    unknown = sorted(set(options) - PARTNER_OPTIONS)
    return problems + [f"options.{name} is not a Partner API option" for name in unknown]


def _check_harvest(credentials: Mapping[str, str], options: Mapping[str, object]) -> list[str]:
    problems = [
        f"{name}_env is required for the Harvest API"
        for name in ("client_id", "client_secret")
        if not credentials.get(name)
    ]
    user_id = options.get("user_id")
    if not DIGITS.match(str(user_id)) or isinstance(user_id, bool):
        problems.append("options.user_id (the Greenhouse user id the token acts as) is required")
    token_url = options.get("token_url")
    if token_url is not None and not str(token_url).startswith(("https://", "http://", "/")):
        problems.append("options.token_url must be an http(s) URL or a path on base_url's host")
    for name in ("page_size", "scan_rows"):
        if name in options and _bounded(options[name], 0) == 0:
            problems.append(f"options.{name} must be an integer from 1 to {MAX_PER_PAGE}")
    if credentials.get("api_key") or credentials.get("oauth_token"):
        problems.append("api_key_env and oauth_token_env are for the Partner API")
    unknown = sorted(set(options) - HARVEST_OPTIONS)
    return problems + [f"options.{name} is not a Harvest API option" for name in unknown]


def check(account: AccountConfig) -> list[str]:
    """What is missing or wrong in a Greenhouse account's settings, for the API it names."""
    api = account.options.get("api")
    if api == "partner":
        return _check_partner(account.credentials, account.options)
    if api == "harvest":
        return _check_harvest(account.credentials, account.options)
    return ['options.api must be "partner" or "harvest"']


def build(account: AccountConfig, client: httpx.AsyncClient) -> Provider:
    """The adapter for the API the account names; settings were checked when they were loaded."""
    problems = check(account)
    if problems:
        raise ValueError(f"account {account.id!r}: " + "; ".join(problems))
    if account.options["api"] == "partner":
        return GreenhousePartnerAdapter(account, client)
    return GreenhouseHarvestAdapter(account, client)


SPEC = ProviderSpec(
    name=NAME,
    capabilities=GreenhousePartnerAdapter.capabilities | GreenhouseHarvestAdapter.capabilities,
    build=build,
    credentials=("api_key", "oauth_token", "client_id", "client_secret"),
    check=check,
    default_base_url=None,
)
