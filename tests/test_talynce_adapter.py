"""Contract tests: the Talynce adapter against the Talynce emulator over real HTTP on loopback."""

from __future__ import annotations

import copy
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from emulators.seed import Candidate
from emulators.talynce.app import RecordedRequest, TalynceEmulator, TalynceOrg
from providers.base import AccountConfig, CandidatePage, CandidateQuery, Position
from providers.errors import (
    FieldProblem,
    NotFound,
    ProviderError,
    Rejected,
    UpstreamAuthFailed,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from providers.model import (
    ApplicationDraft,
    ApplicationStatus,
    CandidateDraft,
    CandidatePatch,
    Compensation,
    Email,
    Phone,
    WriteWarning,
)
from providers.talynce.adapter import TalynceAdapter
from providers.upstream.http import build_client
from tests.servers import serve_in_thread

API_KEY = "tly-secret-key-acme-0123456789"
PREFIX = "/api/v1/candidates/"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def mail(local: str) -> str:
    return "@".join((local, "example.com"))


JANE = mail("jane.doe")
EXPECTED_STATUS = {"Hired": ApplicationStatus.HIRED, "Rejected": ApplicationStatus.REJECTED}


def adapter_for(url: str, api_key: str = API_KEY, timeout: float = 10.0) -> TalynceAdapter:
    config = AccountConfig(
        id="acme",
        name="Acme",
        provider="talynce",
        base_url=f"{url}/api/v1",
        credentials={"api_key": api_key},
        timeout=timeout,
    )
    return TalynceAdapter(config, build_client(config))


@dataclass
class Talynce:
    url: str
    emulator: TalynceEmulator
    org: TalynceOrg
    adapter: TalynceAdapter

    def calls(self, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.emulator.requests if method is None or r.method == method]

    def ids(self) -> list[str]:
        return [c.id for c in self.org.ordered_candidates()]

    def stored(self, remote_id: str) -> Candidate:
        return self.org.candidates[remote_id]

    def first(self, test: Callable[[Candidate], bool]) -> Candidate:
        return next(c for c in self.org.ordered_candidates() if test(c))

    def masked(self) -> Candidate:
        return self.first(lambda c: c.talent_pool_status == "masked")

    def plain(self) -> Candidate:
        """Unmasked, with a company and a two-part name."""
        return self.first(
            lambda c: c.talent_pool_status != "masked" and c.current_company is not None
        )

    def with_status(self, status: str) -> Candidate:
        return self.first(lambda c: any(a.status == status for a in c.applications))


def fresh_org() -> TalynceOrg:
    return TalynceOrg.seeded("acme", API_KEY, candidates=30, jobs=4, masked=4, seed=7)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, TalynceEmulator]]:
    """One emulator server per module; each test gets a fresh org and request log on it."""
    emulator = TalynceEmulator([fresh_org()])
    with serve_in_thread(emulator.app) as url:
        yield url, emulator


@pytest.fixture
async def talynce(served: tuple[str, TalynceEmulator]) -> AsyncIterator[Talynce]:
    url, emulator = served
    org = emulator.orgs[API_KEY] = fresh_org()
    emulator.reset_log()
    adapter = adapter_for(url)
    yield Talynce(url, emulator, org, adapter)
    await adapter.aclose()


@pytest.fixture
async def own_server() -> AsyncIterator[Talynce]:
    """A server of its own, for tests that leave requests in flight when they end."""
    org = fresh_org()
    emulator = TalynceEmulator([org])
    with serve_in_thread(emulator.app) as url:
        adapter = adapter_for(url)
        yield Talynce(url, emulator, org, adapter)
        await adapter.aclose()


def assert_discreet(error: ProviderError, *secrets: str) -> None:
    for text in (str(error), repr(error), error.message):
        for secret in secrets:
            assert secret not in text


def draft(email: str = JANE, **fields: Any) -> CandidateDraft:
    return CandidateDraft(first_name="Jane", last_name="Doe", emails=(Email(email),), **fields)


# --- list_candidates -------------------------------------------------------------------------


async def test_first_page_respects_limit_and_reports_total(talynce: Talynce) -> None:
    page = await talynce.adapter.list_candidates(CandidateQuery(), Position(), 5)

    assert [r.remote_id for r in page.records] == talynce.ids()[:5]
    assert page.total == 30
    assert page.next_token == "5"
    assert talynce.calls()[0].query == {"limit": "5", "offset": "0"}


async def test_next_token_continues_after_the_page(talynce: Talynce) -> None:
    first = await talynce.adapter.list_candidates(CandidateQuery(), Position(), 5)
    resume = first.resume_at(5)
    assert resume == Position(first.next_token)

    second = await talynce.adapter.list_candidates(CandidateQuery(), resume, 5)

    assert [r.remote_id for r in second.records] == talynce.ids()[5:10]


async def test_resume_mid_page_gives_exactly_the_following_rows(talynce: Talynce) -> None:
    first = await talynce.adapter.list_candidates(CandidateQuery(), Position("5"), 5)
    resume = first.resume_at(2)
    assert resume is not None

    rest = await talynce.adapter.list_candidates(CandidateQuery(), resume, 5)

    assert [r.remote_id for r in rest.records] == talynce.ids()[7:12]
    assert talynce.calls()[-1].query["offset"] == "7"


async def test_last_page_has_no_next_token(talynce: Talynce) -> None:
    page = await talynce.adapter.list_candidates(CandidateQuery(), Position("27"), 5)

    assert [r.remote_id for r in page.records] == talynce.ids()[27:]
    assert page.next_token is None
    assert page.resume_at(3) is None
    assert page.resume_at(1) == Position("27", 1)


async def test_limit_above_100_is_clamped(talynce: Talynce) -> None:
    await talynce.adapter.list_candidates(CandidateQuery(), Position(), 500)

    assert talynce.calls()[0].query["limit"] == "100"


@pytest.mark.parametrize("transform", [str.upper, str.lower], ids=["upper", "lower"])
async def test_search_by_name_is_pushed_down_and_case_insensitive(
    talynce: Talynce, transform: type[str]
) -> None:
    target = talynce.plain()
    last_name = target.full_name.split(" ", 1)[1]
    expected = [
        c.id for c in talynce.org.ordered_candidates() if last_name.lower() in c.full_name.lower()
    ]

    page = await talynce.adapter.list_candidates(
        CandidateQuery(search=transform(last_name)), Position(), 50
    )

    assert [r.remote_id for r in page.records] == expected
    assert page.total == len(expected)
    assert talynce.calls()[0].query["search"] == transform(last_name)


async def test_search_by_email(talynce: Talynce) -> None:
    target = talynce.plain()

    page = await talynce.adapter.list_candidates(
        CandidateQuery(search=target.email.upper()), Position(), 50
    )

    assert [r.remote_id for r in page.records] == [target.id]
    assert page.records[0].emails == (Email(target.email),)
    assert talynce.calls()[0].query["search"] == target.email.upper()


async def test_job_filter_sends_job_id(talynce: Talynce) -> None:
    job = talynce.org.jobs[1]
    expected = [
        c.id
        for c in talynce.org.ordered_candidates()
        if any(a.job_id == job.id for a in c.applications)
    ]
    assert 0 < len(expected) < 30

    page = await talynce.adapter.list_candidates(
        CandidateQuery(job_remote_id=job.id), Position(), 50
    )

    assert [r.remote_id for r in page.records] == expected
    assert talynce.calls()[0].query["job_id"] == job.id
    assert "search" not in talynce.calls()[0].query


async def test_masked_candidates_hide_contact_and_pay(talynce: Talynce) -> None:
    page = await talynce.adapter.list_candidates(CandidateQuery(), Position(), 100)
    masked = [r for r in page.records if r.masked]

    assert sorted(r.remote_id for r in masked) == sorted(talynce.org.masked_ids())
    for record in masked:
        assert record.emails == ()
        assert record.phones == ()
        assert record.current_compensation is None
        assert record.expected_compensation is None


async def test_list_records_leave_applications_unfetched(talynce: Talynce) -> None:
    page = await talynce.adapter.list_candidates(CandidateQuery(), Position(), 10)

    assert all(r.applications is None for r in page.records)


# --- get_candidates / applications_for --------------------------------------------------------


async def test_get_candidates_one_get_per_id_and_drops_unknown(talynce: Talynce) -> None:
    wanted = [talynce.with_status("Hired").id, UNKNOWN_ID, talynce.with_status("Rejected").id]

    records = await talynce.adapter.get_candidates(wanted)

    assert [r.remote_id for r in records] == [wanted[0], wanted[2]]
    assert sorted(r.path for r in talynce.calls("GET")) == sorted(PREFIX + i for i in wanted)


async def test_get_candidates_maps_applications(talynce: Talynce) -> None:
    people = [talynce.with_status(s) for s in ("Hired", "Rejected", "Interview")]

    records = await talynce.adapter.get_candidates([p.id for p in people])

    seen: set[ApplicationStatus] = set()
    for person, record in zip(people, records, strict=True):
        assert record.applications is not None
        stored = sorted(person.applications, key=lambda a: (a.created_at, a.id))
        assert [a.remote_id for a in record.applications] == [a.id for a in stored]
        for application, row in zip(record.applications, stored, strict=True):
            assert application.raw_status == row.status
            assert application.status == EXPECTED_STATUS.get(row.status, ApplicationStatus.ACTIVE)
            assert application.job is not None and application.job.remote_id == row.job_id
            assert application.candidate_remote_id == person.id
            seen.add(application.status)
    assert seen >= {ApplicationStatus.ACTIVE, ApplicationStatus.REJECTED, ApplicationStatus.HIRED}


@pytest.mark.parametrize("remote_id", ["../jobs", "..", "?x=y", "%2e%2e", "../../v1/candidates"])
async def test_hostile_ids_stay_one_segment(talynce: Talynce, remote_id: str) -> None:
    records = await talynce.adapter.get_candidates([remote_id])

    assert records == []
    [call] = talynce.calls()
    assert call.path == PREFIX + remote_id.replace("?", "%3F")  # Starlette re-escapes a "?"
    assert call.query == {}
    assert call.status == 404


async def test_applications_for_gives_a_list_per_id(talynce: Talynce) -> None:
    hired, none = talynce.with_status("Hired"), talynce.first(lambda c: not c.applications)

    found = await talynce.adapter.applications_for([hired.id, none.id, UNKNOWN_ID])

    assert set(found) == {hired.id, none.id}
    assert {a.remote_id for a in found[hired.id]} == {a.id for a in hired.applications}
    assert found[none.id] == []


# --- create_candidate ------------------------------------------------------------------------


async def test_create_new_candidate(talynce: Talynce) -> None:
    result = await talynce.adapter.create_candidate(
        draft(
            phones=(Phone("+91 90000 12345"),),
            company="Acme Inc",
            title="Senior Engineer",
            skills=("React", "TypeScript"),
            external_id="ATS-9912",
        )
    )

    record = result.record
    assert result.created is True
    assert result.warnings == ()
    assert talynce.calls()[-1].status == 201
    assert record.remote_id in talynce.org.candidates
    assert (record.first_name, record.last_name, record.full_name) == ("Jane", "Doe", "Jane Doe")
    assert record.emails == (Email(JANE),)
    assert [p.value for p in record.phones] == ["+91 90000 12345"]
    assert (record.company, record.title) == ("Acme Inc", "Senior Engineer")
    assert record.skills == ("React", "TypeScript")
    assert record.external_id == "ATS-9912"
    assert talynce.stored(record.remote_id).email == JANE


async def test_create_with_known_email_matches_existing(talynce: Talynce) -> None:
    first = await talynce.adapter.create_candidate(draft())

    again = await talynce.adapter.create_candidate(draft(JANE.upper()))

    assert again.created is False
    assert again.record.remote_id == first.record.remote_id
    assert talynce.calls()[-1].status == 200
    assert len(talynce.org.candidates) == 31


async def test_create_with_application_uses_canonical_status(talynce: Talynce) -> None:
    job = talynce.org.jobs[2]
    application = ApplicationDraft(job.id, status="shortlisted", notes="Strong React background")

    result = await talynce.adapter.create_candidate(draft(application=application))

    [created] = result.record.applications or ()
    assert created.raw_status == "Shortlisted"
    assert created.status == ApplicationStatus.ACTIVE
    assert created.job is not None and created.job.remote_id == job.id
    assert created.notes == "Strong React background"
    assert talynce.calls()[-1].body["application"] == {  # type: ignore[index]
        "job_id": job.id,
        "status": "shortlisted",
        "notes": "Strong React background",
    }


async def test_create_with_unknown_pipeline_status_is_rejected(talynce: Talynce) -> None:
    application = ApplicationDraft(talynce.org.jobs[0].id, status="Ghosted")

    with pytest.raises(Rejected) as caught:
        await talynce.adapter.create_candidate(draft(application=application))

    [problem] = caught.value.problems
    assert (problem.code, problem.field) == ("INVALID_PIPELINE_STATUS", ("application", "status"))
    assert caught.value.account == "acme"
    assert len(talynce.org.candidates) == 30


async def test_create_without_email_is_rejected_before_any_call(talynce: Talynce) -> None:
    with pytest.raises(Rejected) as caught:
        await talynce.adapter.create_candidate(CandidateDraft(first_name="No", last_name="Mail"))

    assert [p.code for p in caught.value.problems] == ["REQUIRED"]
    assert caught.value.problems[0].field == ("emails",)
    assert talynce.calls() == []


async def test_create_keeps_only_the_first_email_and_warns(talynce: Talynce) -> None:
    emails = (Email(JANE), Email(mail("jane.work")))

    result = await talynce.adapter.create_candidate(
        CandidateDraft(full_name="Jane Doe", emails=emails)
    )

    assert [(w.code, w.field) for w in result.warnings] == [("IGNORED_VALUES", ("emails",))]
    assert isinstance(result.warnings[0], WriteWarning)
    assert result.record.emails == (Email(JANE),)
    assert talynce.stored(result.record.remote_id).email == JANE


async def test_create_converts_yearly_inr_to_lpa(talynce: Talynce) -> None:
    pay = Compensation(amount=1_800_000, currency="INR", period="YEAR")

    result = await talynce.adapter.create_candidate(draft(current_compensation=pay))

    assert talynce.stored(result.record.remote_id).current_ctc == 18
    assert talynce.calls()[-1].body["current_ctc"] == 18  # type: ignore[index]
    assert result.record.current_compensation is not None
    assert result.record.current_compensation.amount == 1_800_000


async def test_create_rejects_other_currencies_before_any_call(talynce: Talynce) -> None:
    pay = Compensation(amount=120_000, currency="USD", period="YEAR")

    with pytest.raises(Rejected) as caught:
        await talynce.adapter.create_candidate(draft(current_compensation=pay))

    assert caught.value.problems == [
        FieldProblem(
            "UNSUPPORTED_VALUE", caught.value.problems[0].message, ("current_compensation",)
        )
    ]
    assert talynce.calls() == []


# --- update_candidate ------------------------------------------------------------------------


async def test_update_sends_only_given_fields(talynce: Talynce) -> None:
    target = talynce.plain()

    result = await talynce.adapter.update_candidate(
        target.id, CandidatePatch(title="Staff Engineer", notice_period_days=15)
    )

    [call] = talynce.calls()
    assert (call.method, call.path) == ("PATCH", PREFIX + target.id)
    assert call.body == {"current_designation": "Staff Engineer", "notice_period_days": 15}
    assert (result.record.title, result.record.notice_period_days) == ("Staff Engineer", 15)
    assert talynce.stored(target.id).current_designation == "Staff Engineer"


async def test_update_with_none_clears(talynce: Talynce) -> None:
    target = talynce.plain()

    result = await talynce.adapter.update_candidate(target.id, CandidatePatch(company=None))

    assert talynce.calls("PATCH")[0].body == {"current_company": None}
    assert talynce.stored(target.id).current_company is None
    assert result.record.company is None


async def test_update_first_name_keeps_last_name(talynce: Talynce) -> None:
    target = talynce.plain()
    last_name = target.full_name.split(" ", 1)[1]

    result = await talynce.adapter.update_candidate(target.id, CandidatePatch(first_name="Janet"))

    assert talynce.calls("PATCH")[0].body == {"full_name": f"Janet {last_name}"}
    assert talynce.stored(target.id).full_name == f"Janet {last_name}"
    assert (result.record.first_name, result.record.last_name) == ("Janet", last_name)


async def test_update_contact_of_masked_candidate_needs_reveal(talynce: Talynce) -> None:
    target = talynce.masked()
    before = copy.deepcopy(target)

    with pytest.raises(Rejected) as caught:
        await talynce.adapter.update_candidate(
            target.id, CandidatePatch(emails=(Email(mail("new.address")),))
        )

    [problem] = caught.value.problems
    assert (problem.code, problem.field) == ("TALENT_POOL_REVEAL_REQUIRED", ("emails",))
    assert talynce.stored(target.id) == before


async def test_update_unlocked_field_of_masked_candidate(talynce: Talynce) -> None:
    target = talynce.masked()

    result = await talynce.adapter.update_candidate(target.id, CandidatePatch(company="New Co"))

    assert result.record.company == "New Co"
    assert result.record.masked is True
    assert result.record.emails == ()
    assert talynce.stored(target.id).current_company == "New Co"


@pytest.mark.parametrize(
    "patch", [CandidatePatch(company="X"), CandidatePatch(first_name="X")], ids=["plain", "rename"]
)
@pytest.mark.parametrize("remote_id", [UNKNOWN_ID, "../jobs"])
async def test_update_unknown_candidate(
    talynce: Talynce, patch: CandidatePatch, remote_id: str
) -> None:
    with pytest.raises(NotFound) as caught:
        await talynce.adapter.update_candidate(remote_id, patch)

    assert caught.value.account == "acme"
    assert all(call.path == PREFIX + remote_id for call in talynce.calls())


# --- upstream failures -----------------------------------------------------------------------


async def list_first_page(adapter: TalynceAdapter) -> CandidatePage:
    return await adapter.list_candidates(CandidateQuery(), Position(), 5)


async def test_wrong_api_key(talynce: Talynce) -> None:
    wrong_key = "tly-wrong-key-9876543210"
    adapter = adapter_for(talynce.url, wrong_key)
    try:
        with pytest.raises(UpstreamAuthFailed) as caught:
            await list_first_page(adapter)
    finally:
        await adapter.aclose()

    assert caught.value.account == "acme"
    assert caught.value.provider == "talynce"
    assert_discreet(caught.value, wrong_key, talynce.url, "127.0.0.1")


async def test_rate_limited_reports_retry_after(talynce: Talynce) -> None:
    talynce.org.rate_limit = (1, 60)
    await list_first_page(talynce.adapter)

    with pytest.raises(UpstreamRateLimited) as caught:
        await list_first_page(talynce.adapter)

    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60
    assert caught.value.account == "acme"
    assert [c.status for c in talynce.calls()] == [200, 429]
    assert_discreet(caught.value, API_KEY, talynce.url, "127.0.0.1")


async def test_outage_is_unavailable(talynce: Talynce) -> None:
    talynce.org.outage = True

    with pytest.raises(UpstreamUnavailable) as caught:
        await talynce.adapter.get_candidates([talynce.ids()[0]])

    assert caught.value.account == "acme"
    assert_discreet(caught.value, API_KEY, talynce.url, "127.0.0.1")


async def test_closed_port_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    adapter = adapter_for(url)
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            await list_first_page(adapter)
    finally:
        await adapter.aclose()

    assert caught.value.account == "acme"
    assert_discreet(caught.value, API_KEY, url, "127.0.0.1", str(port))


async def test_slow_upstream_times_out(own_server: Talynce) -> None:
    talynce = own_server
    talynce.org.latency = 2
    adapter = adapter_for(talynce.url, timeout=0.2)
    try:
        with pytest.raises(UpstreamTimeout) as caught:
            await list_first_page(adapter)
    finally:
        await adapter.aclose()

    assert caught.value.account == "acme"
    assert_discreet(caught.value, API_KEY, talynce.url, "127.0.0.1")


def canned(response: Response) -> Starlette:
    async def endpoint(request: Request) -> Response:
        return response

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PATCH"])])


@pytest.mark.parametrize(
    "response",
    [
        HTMLResponse("<html><body>Welcome</body></html>"),
        JSONResponse({"items": []}),
        JSONResponse({"data": {"id": "x"}, "meta": {"total": 1}}),
    ],
    ids=["html", "no-data", "data-not-list"],
)
async def test_unexpected_body_is_bad_response(response: Response) -> None:
    with serve_in_thread(canned(response)) as url:
        adapter = adapter_for(url)
        try:
            with pytest.raises(UpstreamBadResponse) as caught:
                await list_first_page(adapter)
        finally:
            await adapter.aclose()

    assert caught.value.account == "acme"
    assert_discreet(caught.value, API_KEY, url, "127.0.0.1")


async def test_a_listed_row_without_id_is_left_out_not_the_page() -> None:
    """That row's failure only: the page is served without it and says where it was."""
    rows = [{"id": "c1", "full_name": "Zoë Ng"}, {"full_name": "No Id"}, "nonsense"]
    with serve_in_thread(canned(JSONResponse({"data": rows, "meta": {"total": 3}}))) as url:
        adapter = adapter_for(url)
        try:
            page = await list_first_page(adapter)
        finally:
            await adapter.aclose()
    assert [record.remote_id for record in page.records] == ["c1"]
    assert page.gaps == (1, 1)
    assert page.resume_at(0) == Position("0", 0)
    assert page.next_token is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"data":[{"id":"c1","full_name":"Zoë Ng","total_experience_years":NaN}]}', None),
        ('{"data":[{"id":"c1","full_name":"Zoë Ng","notice_period_days":1e999}]}', None),
        ('{"data":[{"id":"c1","full_name":"Zoë Ng","current_ctc":' + "9" * 30 + "}]}", None),
        ('{"data":[{"id":"c1","full_name":"Zoë Ng"}]}', "utf-16"),
    ],
    ids=["nan", "infinity", "integer-past-64-bits", "utf-16"],
)
async def test_json_that_only_the_standard_parser_reads_is_still_read(
    body: str, content_type: str | None
) -> None:
    """The fast JSON parser refuses NaN, 1e999, integers past 64 bits and non-UTF-8 text;
    Python's parser reads them, and the mapping then drops figures that make no sense."""
    encoding = content_type or "utf-8"
    response = Response(body.encode(encoding), media_type=f"application/json; charset={encoding}")
    with serve_in_thread(canned(response)) as url:
        adapter = adapter_for(url)
        try:
            page = await adapter.list_candidates(CandidateQuery(), Position(), 5)
        finally:
            await adapter.aclose()

    (record,) = page.records
    assert record.full_name == "Zoë Ng"
    assert record.experience_years is None
    assert record.notice_period_days is None
    assert record.current_compensation is None


@pytest.mark.parametrize(
    ("limit", "rows", "next_token"),
    [(5, 5, "5"), (5, 3, None), (150, 100, "100")],
    ids=["full-page", "short-page", "full-clamped-page"],
)
async def test_without_total_a_full_page_means_more(
    limit: int, rows: int, next_token: str | None
) -> None:
    body = {"data": [{"id": f"c{i}", "full_name": f"Person {i}"} for i in range(rows)]}
    with serve_in_thread(canned(JSONResponse(body))) as url:
        adapter = adapter_for(url)
        try:
            page = await adapter.list_candidates(CandidateQuery(), Position(), limit)
        finally:
            await adapter.aclose()

    assert page.total is None
    assert len(page.records) == rows
    assert page.next_token == next_token


async def test_out_of_range_numbers_from_upstream_map_to_none() -> None:
    """Python's JSON parser accepts these; a figure that is no number must not end the call."""
    body = b'{"data": [{"id": "c1", "current_ctc": NaN, "notice_period_days": 1e999}]}'
    upstream = canned(Response(body, media_type="application/json"))
    with serve_in_thread(upstream) as url:
        adapter = adapter_for(url)
        try:
            page = await adapter.list_candidates(CandidateQuery(), Position(), 5)
        finally:
            await adapter.aclose()

    [record] = page.records
    assert record.current_compensation is None
    assert record.notice_period_days is None


async def test_a_row_talynce_matched_but_the_search_rule_does_not_is_held_back() -> None:
    """Talynce's search may only narrow: a row it returns that the gateway's rule refuses is
    left out, and the position resumes after it (the rows before it are handed out)."""
    names = ["Ravi Iyer", "Nobody Else", "Ravi Shah", "Ravindra Rao"]
    body = {
        "data": [{"id": f"c{i}", "full_name": name} for i, name in enumerate(names)],
        "meta": {"total": 9},
    }
    with serve_in_thread(canned(JSONResponse(body))) as url:
        adapter = adapter_for(url)
        try:
            page = await adapter.list_candidates(CandidateQuery(search="ravi"), Position("3"), 4)
        finally:
            await adapter.aclose()

    assert [r.remote_id for r in page.records] == ["c0"]
    assert page.total is None  # Talynce's count includes the row held back
    assert page.resume_at(1) == Position("5")  # offset 3, rows c0 and c1 used
