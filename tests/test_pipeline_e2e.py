"""The hiring pipeline end to end: createApplication, moveApplication, rejectApplication,
unrejectApplication, addNote and rejectReasons through the gateway over HTTP, in front of the
Talynce, Merge, Greenhouse Harvest and Partner emulators (tests/all_providers.py).

Every action at every provider: it happens (the emulator's data changed, one write sent), the
provider or the gateway refuses it, the provider cannot do it, the client may not see the
object or may not write, and an idempotency key replays it. Ground truth is the emulators'
data and request logs.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from hashlib import sha256
from typing import Any

import pytest

from emulators.faults import FaultProfile
from gateway.security import Client
from resolvers.ids import decode_id, encode_id
from tests.all_providers import Stack, running_stack

WRITER = "pipe-writer-key"
READER = "pipe-reader-key"
NARROW = "pipe-narrow-key"  # may write, but sees gh-durmstrang only


def _hash(key: str) -> str:
    return sha256(key.encode()).hexdigest()


CLIENTS = (
    Client("writer", _hash(WRITER), None, True),
    Client("reader", _hash(READER), None, False),
    Client("narrow", _hash(NARROW), frozenset({"gh-durmstrang"}), True),
)

ACTIVE = ("acme", "merge-initech", "gh-harvest")  # the accounts that take pipeline actions
EVERY = ("acme", "merge-initech", "gh-harvest", "gh-partner")
SUPPORTED = {
    "acme": {"CREATE_APPLICATION", "MOVE_APPLICATION"},
    "merge-initech": {"CREATE_APPLICATION", "MOVE_APPLICATION", "ADD_NOTE", "REJECT_REASONS"},
    "gh-harvest": {
        "CREATE_APPLICATION",
        "MOVE_APPLICATION",
        "REJECT_APPLICATION",
        "ADD_NOTE",
        "REJECT_REASONS",
    },
    "gh-partner": set(),
}
PIPELINE = {"CREATE_APPLICATION", "MOVE_APPLICATION", "REJECT_APPLICATION", "ADD_NOTE"}
PIPELINE_AND_REASONS = PIPELINE | {"REJECT_REASONS"}

APPLICATION = """
id remoteId status rawStatus stage { id name } job { id remoteId } account { id }
createdAt updatedAt rejectedAt rejectReason { id remoteId name } source remoteData
"""
ERRORS = "warnings { field code } userErrors { field code message }"


def _mutation(name: str, input_type: str, payload: str) -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {payload} {ERRORS} }} }}"


CREATE = _mutation(
    "createApplication", "CreateApplicationInput", f"created application {{ {APPLICATION} }}"
)
MOVE = _mutation("moveApplication", "MoveApplicationInput", f"application {{ {APPLICATION} }}")
REJECT = _mutation(
    "rejectApplication", "RejectApplicationInput", f"application {{ {APPLICATION} }}"
)
UNREJECT = _mutation(
    "unrejectApplication", "UnrejectApplicationInput", f"application {{ {APPLICATION} }}"
)
NOTE = _mutation("addNote", "AddNoteInput", "note { remoteId body visibility createdAt }")
FIELDS = {
    CREATE: "createApplication",
    MOVE: "moveApplication",
    REJECT: "rejectApplication",
    UNREJECT: "unrejectApplication",
    NOTE: "addNote",
}

APPLICATIONS = (
    "query($accounts: [ID!]) { candidates(accounts: $accounts, first: 50) { "
    f"edges {{ node {{ id remoteId applications {{ {APPLICATION} }} }} }} }} }}"
)
STAGES = "query($id: ID!) { job(id: $id) { id stages { id remoteId name order } } }"
REASONS = "query($account: ID!) { rejectReasons(account: $account) { id remoteId name } }"

TAKEN: set[str] = set()  # applications and candidates a test already changed


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(CLIENTS, key=WRITER) as running:
        yield running


# --- helpers -------------------------------------------------------------------------------


def writes(stack: Stack, before: Counter[str]) -> Counter[str]:
    """The upstream calls since `before` that could change something (a token fetch cannot)."""
    calls = stack.upstream_calls() - before
    return Counter(
        {k: n for k, n in calls.items() if k.split()[1] != "GET" and not k.endswith("/token")}
    )


def act(stack: Stack, query: str, key: str | None = None, **input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = stack.data(query, as_key=key, input=input)[FIELDS[query]]
    return payload


def candidates(stack: Stack, account: str) -> list[dict[str, Any]]:
    edges = stack.data(APPLICATIONS, accounts=[account])["candidates"]["edges"]
    return [e["node"] for e in edges]


def stages(stack: Stack, job_id: str) -> list[dict[str, Any]]:
    job = stack.data(STAGES, id=job_id)["job"]
    assert job is not None, job_id
    found: list[dict[str, Any]] = job["stages"]
    return found


def take_application(stack: Stack, account: str, status: str = "ACTIVE") -> dict[str, Any]:
    """An application in `status` on a job with at least two stages, not used by another test."""
    for candidate in candidates(stack, account):
        for application in candidate["applications"]:
            if application["id"] in TAKEN or application["status"] != status:
                continue
            if application["job"] is None or application["stage"] is None:
                continue
            if len(stages(stack, application["job"]["id"])) < 2:
                continue
            TAKEN.add(application["id"])
            return application
    raise AssertionError(f"{account} has no free {status} application")


def other_stage(stack: Stack, application: dict[str, Any]) -> dict[str, Any]:
    """A stage of the application's job it is not in (never a closing one: Talynce's last)."""
    return next(
        s
        for s in stages(stack, application["job"]["id"])
        if s["id"] != application["stage"]["id"] and s["name"] not in ("Hired", "Rejected")
    )


def take_candidate_and_job(stack: Stack, account: str) -> tuple[str, str]:
    """A candidate, and an open job of its account it has not applied to."""
    jobs = stack.data(
        "query($a: [ID!]) { jobs(accounts: $a, first: 100, status: OPEN) { edges { node { id } } } }",
        a=[account],
    )["jobs"]["edges"]
    job_ids = [e["node"]["id"] for e in jobs]
    for candidate in candidates(stack, account):
        if candidate["id"] in TAKEN or len(candidate["applications"]) > 2:
            continue
        applied = {a["job"]["id"] for a in candidate["applications"] if a["job"]}
        free = [j for j in job_ids if j not in applied and len(stages(stack, j)) >= 2]
        if free:
            TAKEN.add(candidate["id"])
            return candidate["id"], free[0]
    raise AssertionError(f"{account} has no candidate with a job to apply to")


def truth_stage(stack: Stack, application: dict[str, Any]) -> str | None:
    """The stage the emulator holds the application in, as the provider's stage id."""
    account = application["account"]["id"]
    remote = application["remoteId"]
    if account == "acme":
        gid = decode_id(application["id"])
        row = next(
            a for a in stack.acme.candidates[gid.parent or ""].applications if a.id == remote
        )
        return str(row.status)
    if account == "merge-initech":
        return stack.merge.accounts["initech"].applications[remote].stage_id
    stage = stack.harvest[account].applications[int(remote)].job_interview_stage_id
    return None if stage is None else str(stage)


def truth_reason(stack: Stack, application: dict[str, Any]) -> str | None:
    """The reject reason the emulator holds for the application (Talynce keeps none)."""
    account, remote = application["account"]["id"], application["remoteId"]
    if account == "acme":
        return None
    if account == "merge-initech":
        return stack.merge.accounts["initech"].applications[remote].reject_reason_id
    reason = stack.harvest[account].applications[int(remote)].rejection_reason_id
    return None if reason is None else str(reason)


def set_faults(stack: Stack, account: str, profile: FaultProfile) -> None:
    if account == "acme":
        stack.acme.faults = profile
    elif account == "merge-initech":
        stack.merge.accounts["initech"].faults = profile
    else:
        stack.harvest[account].faults = profile


def requests_of(stack: Stack, account: str) -> list[tuple[str, str]]:
    if account == "acme":
        return [(r.method, r.path) for r in stack.talynce.requests]
    if account == "merge-initech":
        return [(r.method, r.route) for r in stack.merge.emulator.requests]
    return [(r.method, r.path) for r in stack.greenhouse.requests if r.api == "harvest"]


def user_errors(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


# --- capabilities and reasons --------------------------------------------------------------


def test_account_capabilities_list_exactly_the_actions_each_account_supports(
    stack: Stack,
) -> None:
    accounts = stack.data("{ accounts { id capabilities } }")["accounts"]
    found = {a["id"]: set(a["capabilities"]) & PIPELINE_AND_REASONS for a in accounts}
    for account in EVERY:
        assert found[account] == SUPPORTED[account], account


@pytest.mark.parametrize("account", ["merge-initech", "gh-harvest"])
def test_reject_reasons_are_the_providers(stack: Stack, account: str) -> None:
    reasons = stack.data(REASONS, account=account)["rejectReasons"]
    if account == "gh-harvest":
        truth = {str(i): r.name for i, r in stack.harvest[account].rejection_reasons.items()}
    else:
        linked = stack.merge.accounts["initech"]
        truth = {r.id: r.name for r in linked.reject_reasons.values()}
    assert {r["remoteId"]: r["name"] for r in reasons} == truth
    assert all(r["id"] == encode_id("RejectReason", account, r["remoteId"]) for r in reasons)


@pytest.mark.parametrize("account", ["acme", "gh-partner"])
def test_reject_reasons_elsewhere_are_unsupported_without_a_call(
    stack: Stack, account: str
) -> None:
    before = stack.upstream_calls()
    body = stack.post(REASONS, account=account)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNSUPPORTED_BY_PROVIDER"
    assert error["extensions"]["account"] == account
    assert stack.upstream_calls() == before


# --- reading applications ------------------------------------------------------------------


@pytest.mark.parametrize("account", ACTIVE)
def test_application_fields_read_back_with_stages_of_their_job(stack: Stack, account: str) -> None:
    rows = [a for c in candidates(stack, account) for a in c["applications"] if a["job"]]
    assert rows
    for application in rows[:8]:
        assert application["account"] == {"id": account}
        assert application["createdAt"] and application["updatedAt"]
        job_stages = {s["id"]: s for s in stages(stack, application["job"]["id"])}
        stage = application["stage"]
        assert stage["id"] in job_stages, application
        assert stage["name"] == job_stages[stage["id"]]["name"]
        assert truth_stage(stack, application) == job_stages[stage["id"]]["remoteId"]
        assert (application["rejectedAt"] is None) == (application["status"] != "REJECTED")
        reason = application["rejectReason"]
        assert (reason and reason["remoteId"]) == truth_reason(stack, application)


# --- createApplication ---------------------------------------------------------------------


@pytest.mark.parametrize("account", ACTIVE)
def test_create_application_adds_it_at_the_stage_asked_with_one_write(
    stack: Stack, account: str
) -> None:
    candidate, job = take_candidate_and_job(stack, account)
    stage = stages(stack, job)[1]
    before = stack.upstream_calls()
    payload = act(stack, CREATE, candidateId=candidate, jobId=job, stageId=stage["id"])
    assert payload["userErrors"] == []
    assert payload["created"] is True
    application = payload["application"]
    assert application["job"]["id"] == job
    assert application["stage"] == {"id": stage["id"], "name": stage["name"]}
    assert truth_stage(stack, application) == stage["remoteId"]
    assert sum(writes(stack, before).values()) == 1
    TAKEN.add(application["id"])


# --- moveApplication -----------------------------------------------------------------------


@pytest.mark.parametrize("account", ACTIVE)
def test_move_application_changes_its_stage_with_one_write(stack: Stack, account: str) -> None:
    application = take_application(stack, account)
    target = other_stage(stack, application)
    before = stack.upstream_calls()
    payload = act(stack, MOVE, id=application["id"], stageId=target["id"])
    assert payload["userErrors"] == []
    moved = payload["application"]
    assert moved["id"] == application["id"]
    assert moved["stage"] == {"id": target["id"], "name": target["name"]}
    assert truth_stage(stack, application) == target["remoteId"]
    assert sum(writes(stack, before).values()) == 1


@pytest.mark.parametrize("account", ACTIVE)
def test_a_stage_of_another_job_is_refused_before_sending(stack: Stack, account: str) -> None:
    application = take_application(stack, account)
    job = application["job"]["remoteId"]
    other_jobs = [j for j in stack.job_truth(account) if j != job]
    elsewhere = next(s for j in other_jobs for s in stages(stack, encode_id("Job", account, j)))
    forged = encode_id("JobStage", account, decode_id(elsewhere["id"]).remote_id, parent=job)
    before = stack.upstream_calls()
    plain = act(stack, MOVE, id=application["id"], stageId=elsewhere["id"])
    assert user_errors(plain) == [(["input", "stageId"], "BAD_USER_INPUT")]
    assert plain["userErrors"][0]["message"] == "the stage belongs to another job"
    if account != "acme":  # Talynce's stages are the account's pipeline, shared by every job
        named = act(stack, MOVE, id=application["id"], stageId=forged)
        assert user_errors(named) == [(["input", "stageId"], "NOT_FOUND")]
        assert named["application"] is None
    assert writes(stack, before) == Counter()
    assert truth_stage(stack, application) == decode_id(application["stage"]["id"]).remote_id


def test_a_stage_of_another_visible_account_is_not_found(stack: Stack) -> None:
    application = take_application(stack, "gh-harvest")
    theirs = take_application(stack, "gh-durmstrang")["stage"]["id"]
    forged = encode_id(
        "JobStage", "gh-durmstrang", decode_id(theirs).remote_id, application["job"]["remoteId"]
    )
    before = stack.upstream_calls()
    for stage in (theirs, forged):
        payload = act(stack, MOVE, id=application["id"], stageId=stage)
        assert user_errors(payload) == [(["input", "stageId"], "NOT_FOUND")]
    assert writes(stack, before) == Counter()


def test_a_talynce_status_outside_the_pipeline_is_refused_before_sending(stack: Stack) -> None:
    application = take_application(stack, "acme")
    limbo = encode_id("JobStage", "acme", "Limbo", parent=application["job"]["remoteId"])
    before = stack.upstream_calls()
    payload = act(stack, MOVE, id=application["id"], stageId=limbo)
    assert user_errors(payload) == [(["input", "stageId"], "NOT_FOUND")]
    assert writes(stack, before) == Counter()


def test_harvest_refuses_to_move_a_rejected_application(stack: Stack) -> None:
    application = take_application(stack, "gh-harvest", status="REJECTED")
    target = other_stage(stack, application)
    before = stack.upstream_calls()
    move = {"id": application["id"], "stageId": target["id"], "idempotencyKey": "move-rejected"}
    payload = act(stack, MOVE, **move)
    assert act(stack, MOVE, **move) == payload  # a refusal is an answer: kept under the key
    assert payload["application"] is None
    assert [code for _, code in user_errors(payload)] == ["INVALID_APPLICATION_STATE"]
    assert "Only an active" not in payload["userErrors"][0]["message"]  # no upstream text
    assert writes(stack, before) == Counter(
        {f"harvest POST /v3/applications/{application['remoteId']}/move": 1}
    )
    assert truth_stage(stack, application) == decode_id(application["stage"]["id"]).remote_id


# --- rejectApplication and unrejectApplication ---------------------------------------------


def test_harvest_reject_then_unreject_with_one_write_each(stack: Stack) -> None:
    application = take_application(stack, "gh-harvest")
    reason = stack.data(REASONS, account="gh-harvest")["rejectReasons"][0]
    stored = stack.harvest["gh-harvest"].applications[int(application["remoteId"])]
    before = stack.upstream_calls()
    rejected = act(stack, REJECT, id=application["id"], reasonId=reason["id"], note="Not now")
    assert rejected["userErrors"] == []
    assert rejected["application"]["status"] == "REJECTED"
    assert rejected["application"]["rejectedAt"]
    assert rejected["application"]["rejectReason"] == reason
    assert (stored.status, stored.rejection_reason_id) == ("rejected", int(reason["remoteId"]))
    path = f"/v3/applications/{application['remoteId']}"
    assert writes(stack, before) == Counter({f"harvest POST {path}/reject": 1})

    again = act(stack, REJECT, id=application["id"], reasonId=reason["id"])
    assert again["application"] is None
    assert [code for _, code in user_errors(again)] == ["INVALID_APPLICATION_STATE"]
    assert "Only an active" not in again["userErrors"][0]["message"]  # no upstream text

    before = stack.upstream_calls()
    back = act(stack, UNREJECT, id=application["id"])
    assert back["userErrors"] == []
    assert back["application"]["status"] == "ACTIVE"
    assert back["application"]["rejectedAt"] is None
    assert stored.status == "in_process"
    assert writes(stack, before) == Counter({f"harvest POST {path}/unreject": 1})


# --- addNote -------------------------------------------------------------------------------


@pytest.mark.parametrize("account", ["merge-initech", "gh-harvest"])
def test_add_note_stores_one_note(stack: Stack, account: str) -> None:
    candidate = candidates(stack, account)[0]
    body = f"Called {account}; call back Tuesday"
    before = stack.upstream_calls()
    payload = act(stack, NOTE, candidateId=candidate["id"], body=body, visibility="PRIVATE")
    assert payload["userErrors"] == []
    assert (payload["note"]["body"], payload["note"]["visibility"]) == (body, "PRIVATE")
    assert sum(writes(stack, before).values()) == 1
    if account == "gh-harvest":
        notes = stack.harvest[account].notes.values()
        assert [(n.candidate_id, n.visibility) for n in notes if n.body == body] == [
            (int(candidate["remoteId"]), "privately_visible")
        ]
    else:
        activities = stack.merge.accounts["initech"].activities.values()
        assert [(a.candidate_id, a.visibility) for a in activities if a.body == body] == [
            (candidate["remoteId"], "PRIVATE")
        ]


# --- unsupported ---------------------------------------------------------------------------


def _inputs(stack: Stack, account: str) -> dict[str, dict[str, Any]]:
    """One input per action, on objects of `account` (ids of the right kind)."""
    if account == "gh-partner":  # Partner lists nothing: ids of the organisation's records
        row = next(iter(stack.harvest["gh-harvest"].applications.values()))
        candidate = {"id": encode_id("Candidate", account, str(row.candidate_id))}
        application = {
            "id": encode_id("Application", account, str(row.id), parent=str(row.candidate_id))
        }
    else:
        candidate = candidates(stack, account)[0]
        application = next(a for c in candidates(stack, account) for a in c["applications"])
    jobs = stack.job_truth("gh-harvest" if account == "gh-partner" else account)
    job = encode_id("Job", account, next(iter(jobs)))
    stage = encode_id("JobStage", account, "1", parent=decode_id(job).remote_id)
    return {
        CREATE: {"candidateId": candidate["id"], "jobId": job},
        MOVE: {"id": application["id"], "stageId": stage},
        REJECT: {"id": application["id"]},
        UNREJECT: {"id": application["id"]},
        NOTE: {"candidateId": candidate["id"], "body": "hello"},
    }


UNSUPPORTED = [
    ("acme", REJECT),
    ("acme", UNREJECT),
    ("acme", NOTE),
    ("merge-initech", REJECT),
    ("merge-initech", UNREJECT),
    *[("gh-partner", q) for q in FIELDS],
]


@pytest.mark.parametrize(("account", "query"), UNSUPPORTED)
def test_what_a_provider_cannot_do_is_refused_without_any_call(
    stack: Stack, account: str, query: str
) -> None:
    inputs = _inputs(stack, account)
    before = stack.upstream_calls()
    payload = act(stack, query, **inputs[query])
    assert user_errors(payload) == [(["input"], "UNSUPPORTED_BY_PROVIDER")]
    assert account in payload["userErrors"][0]["message"]
    assert stack.upstream_calls() == before


# --- who may act ---------------------------------------------------------------------------


@pytest.mark.parametrize("account", EVERY)
def test_another_accounts_objects_read_as_unknown_and_nothing_is_sent(
    stack: Stack, account: str
) -> None:
    inputs = _inputs(stack, account)
    unknown = {
        CREATE: {
            "candidateId": encode_id("Candidate", account, "999999"),
            "jobId": inputs[CREATE]["jobId"],
        },
        MOVE: {**inputs[MOVE], "id": encode_id("Application", account, "999999", parent="1")},
        REJECT: {"id": encode_id("Application", account, "999999", parent="1")},
        UNREJECT: {"id": encode_id("Application", "no-such-account", "1", parent="1")},
        NOTE: {"candidateId": encode_id("Candidate", "no-such-account", "1"), "body": "hello"},
    }
    before = stack.upstream_calls()
    for query, input in inputs.items():
        seen = act(stack, query, key=NARROW, **input)
        blind = act(stack, query, key=NARROW, **unknown[query])
        assert [(e["code"], e["message"]) for e in seen["userErrors"]] == [
            (e["code"], e["message"]) for e in blind["userErrors"]
        ], query
        assert [code for _, code in user_errors(seen)] == ["NOT_FOUND"]
        assert seen[next(k for k in seen if k not in ("userErrors", "warnings"))] is None
    assert stack.upstream_calls() == before
    body = stack.post(REASONS, as_key=NARROW, account=account)
    nowhere = stack.post(REASONS, as_key=NARROW, account="no-such-account")
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (
        body["errors"][0]["message"].replace(account, "no-such-account")
        == (nowhere["errors"][0]["message"])
    )


def test_a_narrow_key_refuses_a_stage_or_job_of_an_account_it_cannot_see(stack: Stack) -> None:
    own = take_application(stack, "gh-durmstrang")
    theirs = encode_id("JobStage", "gh-harvest", "1", parent=own["job"]["remoteId"])
    before = stack.upstream_calls()
    payload = act(stack, MOVE, key=NARROW, id=own["id"], stageId=theirs)
    assert user_errors(payload) == [(["input", "stageId"], "NOT_FOUND")]
    candidate = encode_id("Candidate", "gh-durmstrang", decode_id(own["id"]).parent or "")
    job = encode_id("Job", "gh-harvest", next(iter(stack.job_truth("gh-harvest"))))
    nowhere = encode_id("Job", "no-such-account", "1")
    create = act(stack, CREATE, key=NARROW, candidateId=candidate, jobId=job)
    blind = act(stack, CREATE, key=NARROW, candidateId=candidate, jobId=nowhere)
    assert user_errors(create) == [(["input", "jobId"], "NOT_FOUND")]
    assert create["userErrors"] == blind["userErrors"]
    assert writes(stack, before) == Counter()


@pytest.mark.parametrize("account", EVERY)
def test_a_read_only_key_is_forbidden_and_nothing_is_sent(stack: Stack, account: str) -> None:
    inputs = _inputs(stack, account)
    before = stack.upstream_calls()
    for query, input in inputs.items():
        body = stack.post(query, as_key=READER, input=input)
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], query
    assert stack.upstream_calls() == before


# --- idempotency ---------------------------------------------------------------------------


@pytest.mark.parametrize("account", ACTIVE)
def test_a_repeated_key_replays_the_move_and_other_input_is_refused(
    stack: Stack, account: str
) -> None:
    application = take_application(stack, account)
    target = other_stage(stack, application)
    key = f"move-{account}"
    before = stack.upstream_calls()
    first = act(stack, MOVE, id=application["id"], stageId=target["id"], idempotencyKey=key)
    again = act(stack, MOVE, id=application["id"], stageId=target["id"], idempotencyKey=key)
    assert first["userErrors"] == [] and again == first
    assert sum(writes(stack, before).values()) == 1
    back = application["stage"]["id"]
    other = act(stack, MOVE, id=application["id"], stageId=back, idempotencyKey=key)
    assert user_errors(other) == [(["input", "idempotencyKey"], "BAD_USER_INPUT")]
    assert sum(writes(stack, before).values()) == 1


@pytest.mark.parametrize("account", ACTIVE)
def test_a_repeated_key_replays_a_create(stack: Stack, account: str) -> None:
    candidate, job = take_candidate_and_job(stack, account)
    key = f"create-{account}"
    before = stack.upstream_calls()
    first = act(stack, CREATE, candidateId=candidate, jobId=job, idempotencyKey=key)
    again = act(stack, CREATE, candidateId=candidate, jobId=job, idempotencyKey=key)
    assert first["created"] is True and again == first
    assert sum(writes(stack, before).values()) == 1


def test_a_repeated_key_replays_harvest_reject_and_a_note(stack: Stack) -> None:
    application = take_application(stack, "gh-harvest")
    before = stack.upstream_calls()
    reason = stack.data(REASONS, account="gh-harvest")["rejectReasons"][-1]["id"]
    reject = {"id": application["id"], "reasonId": reason, "idempotencyKey": "reject-1"}
    first = act(stack, REJECT, **reject)
    assert first["userErrors"] == [] and act(stack, REJECT, **reject) == first
    candidate = decode_id(application["id"]).parent
    note = {
        "candidateId": encode_id("Candidate", "gh-harvest", candidate or ""),
        "body": "replayed note",
        "idempotencyKey": "note-1",
    }
    noted = act(stack, NOTE, **note)
    assert noted["userErrors"] == [] and act(stack, NOTE, **note) == noted
    assert sum(writes(stack, before).values()) == 2


def _reads_before_the_write(stack: Stack, account: str, start: int) -> int:
    log = requests_of(stack, account)[start:]
    return next(i for i, (method, _) in enumerate(log) if method != "GET")


@pytest.mark.parametrize("account", ACTIVE)
def test_a_write_stored_but_unanswered_is_unknown_and_its_key_replays_that(
    stack: Stack, account: str
) -> None:
    # A move without the fault first: how many reads the gateway makes before it writes.
    warm = take_application(stack, account)
    warm_target = other_stage(stack, warm)["id"]
    start = len(requests_of(stack, account))
    act(stack, MOVE, id=warm["id"], stageId=warm_target)
    reads = _reads_before_the_write(stack, account, start)

    application = take_application(stack, account)
    target = other_stage(stack, application)
    variables = {"id": application["id"], "stageId": target["id"], "idempotencyKey": "lost-1"}
    script = deque(["pass"] * reads + ["stored_error"])
    set_faults(stack, account, FaultProfile(script=script, error_statuses=(502,)))
    before = stack.upstream_calls()
    try:
        first = stack.post(MOVE, input=variables)
    finally:
        set_faults(stack, account, FaultProfile())
    assert first["data"] is None
    [error] = first["errors"]
    assert (error["extensions"]["code"], error["extensions"]["account"]) == (
        "UPSTREAM_OUTCOME_UNKNOWN",
        account,
    )
    assert "upstream failure" not in error["message"] and "127.0.0.1" not in error["message"]
    assert truth_stage(stack, application) == target["remoteId"]  # it was stored
    assert sum(writes(stack, before).values()) == 1
    again = stack.post(MOVE, input=variables)
    assert again == first
    assert sum(writes(stack, before).values()) == 1


# --- what each provider refuses --------------------------------------------------------------


def test_harvest_refusals_name_the_input_and_change_nothing(stack: Stack) -> None:
    application = take_application(stack, "gh-harvest")
    stored = stack.harvest["gh-harvest"].applications[int(application["remoteId"])]
    path = f"harvest POST /v3/applications/{application['remoteId']}"
    before = stack.upstream_calls()
    active = act(stack, UNREJECT, id=application["id"])
    assert active["application"] is None
    assert [code for _, code in user_errors(active)] == ["INVALID_APPLICATION_STATE"]
    unknown_reason = encode_id("RejectReason", "gh-harvest", "999999")
    reasonless = act(stack, REJECT, id=application["id"], reasonId=unknown_reason)
    assert reasonless["application"] is None
    assert [field for field, _ in user_errors(reasonless)] == [["input", "reasonId"]]
    assert "existing record" not in reasonless["userErrors"][0]["message"]
    assert writes(stack, before) == Counter({f"{path}/unreject": 1, f"{path}/reject": 1})
    assert (stored.status, stored.rejected_at) == ("in_process", None)


def test_a_reject_reason_of_another_account_is_not_found_before_sending(stack: Stack) -> None:
    application = take_application(stack, "gh-harvest")
    reason = stack.data(REASONS, account="merge-initech")["rejectReasons"][0]["id"]
    before = stack.upstream_calls()
    payload = act(stack, REJECT, id=application["id"], reasonId=reason)
    assert user_errors(payload) == [(["input", "reasonId"], "NOT_FOUND")]
    assert writes(stack, before) == Counter()


def test_talynce_create_on_a_job_the_candidate_is_on_changes_nothing(stack: Stack) -> None:
    application = take_application(stack, "acme")
    candidate = encode_id("Candidate", "acme", decode_id(application["id"]).parent or "")
    target = other_stage(stack, application)
    before = stack.upstream_calls()
    payload = act(
        stack, CREATE, candidateId=candidate, jobId=application["job"]["id"], stageId=target["id"]
    )
    assert payload["created"] is False
    assert payload["application"]["id"] == application["id"]
    assert payload["application"]["stage"] == application["stage"]
    assert [w["field"] for w in payload["warnings"]] == [["input", "stageId"]]
    assert writes(stack, before) == Counter()


@pytest.mark.parametrize("account", ACTIVE)
def test_create_with_a_source_keeps_it_where_the_provider_does(stack: Stack, account: str) -> None:
    candidate, job = take_candidate_and_job(stack, account)
    if account == "gh-harvest":
        known = next(iter(stack.harvest[account].sources.values()))
        source = known.name.upper()  # Harvest takes a source's id; the adapter finds it by name
    else:
        source = "Referral from a friend"
    before = stack.upstream_calls()
    payload = act(stack, CREATE, candidateId=candidate, jobId=job, source=source)
    assert payload["userErrors"] == [] and payload["created"] is True
    application = payload["application"]
    remote = application["remoteId"]
    if account == "acme":
        assert [(w["field"], w["code"]) for w in payload["warnings"]] == [
            (["input", "source"], "IGNORED_FIELD")
        ]
    elif account == "merge-initech":
        assert application["source"] == source
        assert stack.merge.accounts["initech"].applications[remote].source == source
    else:
        assert application["source"] == known.name
        assert stack.harvest[account].applications[int(remote)].source_id == known.id
    assert sum(writes(stack, before).values()) == 1


def test_harvest_refuses_a_source_it_does_not_have_before_writing(stack: Stack) -> None:
    candidate, job = take_candidate_and_job(stack, "gh-harvest")
    before = stack.upstream_calls()
    payload = act(stack, CREATE, candidateId=candidate, jobId=job, source="Carrier pigeon")
    assert user_errors(payload) == [(["input", "source"], "NOT_FOUND")]
    assert payload["application"] is None
    assert writes(stack, before) == Counter()


def test_partner_applications_name_their_stage_without_an_id(stack: Stack) -> None:
    """Partner names stages only: no `JobStage.id` to act on, and no action to take anyway."""
    org = stack.harvest["gh-harvest"]
    rows = [a for a in org.applications.values() if a.job_id and a.stage_name][:5]
    ids = [encode_id("Candidate", "gh-partner", str(a.candidate_id)) for a in rows]
    nodes = stack.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Candidate { "
        "remoteId applications { remoteId account { id } stage { id name } } } } }",
        ids=ids,
    )["nodes"]
    found = {a["remoteId"]: a for n in nodes for a in n["applications"]}
    for row in rows:
        application = found[str(row.id)]
        assert application["account"] == {"id": "gh-partner"}
        assert application["stage"] == {"id": None, "name": row.stage_name}
