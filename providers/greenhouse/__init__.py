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

`base_url` may name Harvest's host with or without `/v3`; a 404 on any call but one naming a
candidate means the route is wrong, so it is UPSTREAM_BAD_RESPONSE, never NOT_FOUND.
`updated_after` is pushed down as `updated_at=gt|…` (also on the ids read of the job filter).
Jobs: `/v3/jobs` pages like candidates (status and updated_after pushed down, a name search
scanned here: v3 has no name filter), `ids` per 50 for lookups; department and office names from
`/v3/departments` and `/v3/offices` (cached a minute per adapter), stages from
`/v3/job_interview_stages?job_ids=` per 50 jobs. Partner has no jobs listing.

Pipeline (providers/greenhouse/pipeline.py): Harvest lists applications with every filter pushed
down (the stage as `job_interview_stage_ids`: an application's stage id is its job's interview
stage), lists rejection reasons, and creates, moves, rejects and unrejects applications and adds
notes. Partner declares none of it.

Update semantics for list fields (emails, phones, urls, locations, tags): entries the client
gives are added, or retyped when the value is already there; entries it does not name are kept.
Harvest replaces whole lists, so the adapter reads the candidate and sends the merged list.
"""

from providers.greenhouse.config import SPEC, check
from providers.greenhouse.config import build as build
from providers.greenhouse.harvest import GreenhouseHarvestAdapter
from providers.greenhouse.mapping import (
    harvest_application,
    harvest_record,
    matches_search,
    partner_record,
    split_name,
)
from providers.greenhouse.partner import GreenhousePartnerAdapter

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
