"""An in-process emulator of Greenhouse's Partner API (`/v1/partner`) and Harvest v3 (`/v3`).

Both APIs serve the same organisations, as at Greenhouse: a candidate created through Partner is
listed by Harvest. It follows the documents in `reference/` (Partner: Basic auth with the key as
user name plus `On-Behalf-Of`, `{"errors": [{message, field}]}`, unknown ids silently dropped;
Harvest v3: client-credentials tokens at `POST /token`, bearer checks, bare-array lists paged by
`Link: rel="next"` with an opaque cursor that carries the filters, `{message, errors}` bodies,
rate-limit headers; the pipeline's applications, rejection reasons, actions and notes as
`pipeline.py` describes) and adds knobs for latency, outages, rate limits and token lifetime.

Where the documents are silent it is strict, so an adapter bug shows up as an error rather than
as silently unfiltered rows: unknown query parameters and body fields are refused (422 on
Harvest, 400 on Partner), and every id list (`ids`, `candidate_ids`, `job_ids`, Partner's
`candidate_ids`) takes at most 50 ids.
"""

from emulators.greenhouse.app import GreenhouseEmulator, RecordedRequest, demo
from emulators.greenhouse.app import demo_emulator as demo_emulator
from emulators.greenhouse.errors import HarvestError, PartnerError
from emulators.greenhouse.store import (
    GhApplication,
    GhCandidate,
    GhJob,
    GhUser,
    GreenhouseOrg,
)
from emulators.greenhouse.store import ProspectPool as ProspectPool

__all__ = [
    "GhApplication",
    "GhCandidate",
    "GhJob",
    "GhUser",
    "GreenhouseEmulator",
    "GreenhouseOrg",
    "HarvestError",
    "PartnerError",
    "RecordedRequest",
    "demo",
]
