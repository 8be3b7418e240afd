"""Greenhouse wire JSON → records, the seed document's own examples, and account settings checks."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import httpx
import pytest

from gateway.settings import ConfigError, parse_settings
from providers.base import AccountConfig, Capability
from providers.greenhouse import (
    SPEC,
    GreenhouseHarvestAdapter,
    GreenhousePartnerAdapter,
    build,
    check,
    harvest_application,
    harvest_record,
    partner_record,
    split_name,
)
from providers.model import ApplicationStatus, EmailType, JobRef, PhoneType, UrlType

# Verbatim from reference/greenhouse-partner-candidates.md ("API Response" of Retrieve Candidates).
DOC_RETRIEVE_RESPONSE = """
{
	"id": 17681532,
	"name": "Harry Potter",
	"external_id": 24680,
	"applications": [
		{
			"id": 59724,
			"job": "Auror",
			"status": "Active",
			"stage": "Application Review",
			"profile_url": "https://app.greenhouse.io/people/17681532?application_id=26234709"
		}
	]
}
"""

# Verbatim from the same document ("Post Candidates" request). As printed it is not valid JSON
# (a trailing comma after the last member), so `doc_json` drops trailing commas before parsing.
DOC_POST_REQUEST = """
{
	"prospect": "true",
	"first_name": "Harry",
	"last_name": "Potter",
	"company": "Hogwarts",
	"title": "Student",
	"resume": "https://hogwarts.com/resume",
	"phone_numbers": [
		{
			"phone_number": "123-456-7890",
			"type": "home"
		}
	],
	"emails": [
		{
			"email": "hpotter@hogwarts.edu",
			"type": "other"
		}
	],
	"social_media": [
		{
			"url": "https://twitter.com/hp"
		}
	],
	"websites": [
		{
			"url": "https://harrypotter.com",
			"type": "blog"
		}
	],
	"addresses": [
		{
			"address": "4 Privet Dr",
			"type": "home"
		}
	],
	"job_id": 12345,
	"external_id": 24680,
	"notes": "Good at Quiddich",
	"prospect_pool_id": 123,
	"prospect_pool_stage_id": 456,
	"prospect_owner_email": "prospect_owners_email@example.com",
}
"""

DOC_POST_RESPONSE = """
{
"id": 12345,
"application_id": 17681532,
"external_id": 24680,
"profile_url": "https://app.greenhouse.io/people/17681532?application_id=26234709"
}
"""


def doc_json(text: str) -> Any:
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def test_the_documents_retrieve_example_maps_to_a_record() -> None:
    record = partner_record(doc_json(DOC_RETRIEVE_RESPONSE))
    assert record is not None
    assert (record.remote_id, record.first_name, record.last_name, record.full_name) == (
        "17681532",
        "Harry",
        "Potter",
        "Harry Potter",
    )
    assert record.external_id == "24680"
    assert record.profile_url == "https://app.greenhouse.io/people/17681532"
    [application] = record.applications or ()
    assert application.remote_id == "59724"
    assert application.candidate_remote_id == "17681532"
    assert application.job == JobRef(remote_id=None, name="Auror")
    assert (application.status, application.raw_status) == (ApplicationStatus.ACTIVE, "Active")
    assert application.stage == "Application Review"
    assert (
        application.profile_url
        == "https://app.greenhouse.io/people/17681532?application_id=26234709"
    )


def test_the_documents_post_examples_parse() -> None:
    request, response = doc_json(DOC_POST_REQUEST), doc_json(DOC_POST_RESPONSE)
    assert request["prospect"] == "true" and request["external_id"] == 24680
    assert set(response) == {"id", "application_id", "external_id", "profile_url"}


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Harry Potter", "Harry", "Potter"),
        ("  Harry   Potter ", "Harry", "Potter"),
        ("Cher", "Cher", None),
        ("Mary Ann Smith", "Mary Ann", "Smith"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Juan Carlos de la Cruz", "Juan Carlos", "de la Cruz"),
        ("Martin Luther King Jr.", "Martin Luther", "King Jr."),
        ("", None, None),
        (None, None, None),
    ],
)
def test_split_name_keeps_the_last_word_and_its_particles_as_last_name(
    name: str | None, first: str | None, last: str | None
) -> None:
    assert split_name(name) == (first, last)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("active", ApplicationStatus.ACTIVE),
        ("ACTIVE", ApplicationStatus.ACTIVE),
        ("Rejected", ApplicationStatus.REJECTED),
        ("hired", ApplicationStatus.HIRED),
        ("on_hold", ApplicationStatus.OTHER),
        (None, ApplicationStatus.OTHER),
    ],
)
def test_partner_status_in_any_case_and_unknown_values_as_other(
    raw: str | None, status: ApplicationStatus
) -> None:
    record = partner_record({"id": 1, "name": "A B", "applications": [{"id": 2, "status": raw}]})
    assert record is not None and record.applications is not None
    assert record.applications[0].status is status
    assert record.applications[0].raw_status == raw


def test_partner_record_without_id_is_refused_and_sparse_ones_map() -> None:
    assert partner_record({"name": "No Id"}) is None
    assert partner_record("nope") is None
    record = partner_record({"id": "7", "applications": [{"job": None}, "junk"]})
    assert record is not None
    assert (record.first_name, record.full_name, record.applications) == (None, None, ())


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("in_process", ApplicationStatus.ACTIVE),
        ("rejected", ApplicationStatus.REJECTED),
        ("hired", ApplicationStatus.HIRED),
        ("converted", ApplicationStatus.OTHER),
        ("something_new", ApplicationStatus.OTHER),
    ],
)
def test_harvest_application_status(raw: str, status: ApplicationStatus) -> None:
    application = harvest_application(
        {
            "id": 5,
            "candidate_id": 9,
            "job_id": 3,
            "status": raw,
            "stage_name": "Offer",
            "created_at": "2024-01-02T00:00:00.000Z",
        }
    )
    assert application is not None
    assert (application.status, application.raw_status) == (status, raw)
    assert application.job == JobRef(remote_id="3")
    assert (application.stage, application.applied_at) == ("Offer", "2024-01-02T00:00:00.000Z")


def test_harvest_prospect_application_has_no_job_and_rows_without_ids_are_refused() -> None:
    prospect = harvest_application(
        {"id": 5, "candidate_id": 9, "job_id": None, "status": "in_process"}
    )
    assert prospect is not None and prospect.job is None
    assert harvest_application({"id": 5}) is None
    assert harvest_application({"candidate_id": 5}) is None


HARVEST_CANDIDATE = {
    "id": 42,
    "first_name": "Ginny",
    "last_name": "Weasley",
    "company": "Holyhead Harpies",
    "title": "Chaser",
    "created_at": "2024-01-01T00:00:00.000Z",
    "updated_at": "2024-02-01T00:00:00.000Z",
    "private": False,
    "email_addresses": [
        {"value": "ginny@example.com", "type": "personal"},
        {"value": "gw@harpies.example", "type": "pigeon"},
    ],
    "phone_numbers": [{"value": "+44 1", "type": "skype"}, {"value": "+44 2"}],
    "addresses": [{"value": "The Burrow", "type": "home"}],
    "website_addresses": [{"value": "https://ginny.blog", "type": "blog"}],
    "social_media_addresses": [{"value": "https://twitter.com/ginny"}],
    "tags": ["quidditch", 7],
    "custom_fields": {"house": "Gryffindor"},
}


def test_harvest_record_maps_types_and_keeps_unknown_labels_as_other_with_raw() -> None:
    record = harvest_record(HARVEST_CANDIDATE)
    assert record is not None
    assert (record.remote_id, record.full_name, record.company, record.title) == (
        "42",
        "Ginny Weasley",
        "Holyhead Harpies",
        "Chaser",
    )
    assert [(e.value, e.type, e.raw_type) for e in record.emails] == [
        ("ginny@example.com", EmailType.PERSONAL, "personal"),
        ("gw@harpies.example", EmailType.OTHER, "pigeon"),
    ]
    assert [(p.type, p.raw_type) for p in record.phones] == [
        (PhoneType.SKYPE, "skype"),
        (None, None),
    ]
    assert [(u.value, u.type) for u in record.urls] == [
        ("https://ginny.blog", UrlType.BLOG),
        ("https://twitter.com/ginny", UrlType.SOCIAL_MEDIA),
    ]
    assert record.locations == ("The Burrow",) and record.addresses[0].type == "home"
    assert record.tags == ("quidditch",)
    assert record.applications is None  # v3 embeds none: the gateway must load them
    assert record.custom_fields == {"private": False, "custom_fields": {"house": "Gryffindor"}}
    assert harvest_record({"first_name": "x"}) is None


def account(options: dict[str, object], **credentials: str) -> AccountConfig:
    return AccountConfig(
        id="gh",
        name="GH",
        provider="greenhouse",
        base_url="https://example.invalid/v3",
        credentials=credentials,
        options=options,
    )


PARTNER_OK = account({"api": "partner", "on_behalf_of": "boss@example.com"}, api_key="k")
HARVEST_OK = account({"api": "harvest", "user_id": "123"}, client_id="id", client_secret="secret")


def test_valid_accounts_pass_the_check_and_build_the_adapter_of_their_api() -> None:
    assert check(PARTNER_OK) == [] and check(HARVEST_OK) == []
    assert check(account({"api": "partner"}, oauth_token="t")) == []
    client = httpx.AsyncClient()
    partner, harvest = build(PARTNER_OK, client), build(HARVEST_OK, client)
    assert isinstance(partner, GreenhousePartnerAdapter) and isinstance(
        harvest, GreenhouseHarvestAdapter
    )
    assert partner.capabilities == {Capability.GET_MANY, Capability.CREATE, Capability.APPLICATIONS}
    assert harvest.capabilities == set(Capability)
    assert SPEC.capabilities == partner.capabilities | harvest.capabilities
    assert SPEC.default_base_url is None


@pytest.mark.parametrize(
    "base_url",
    ["https://harvest.greenhouse.io", "https://harvest.greenhouse.io/", "https://h.example/v3/"],
)
def test_harvest_base_url_may_name_the_host_or_v3(base_url: str) -> None:
    assert check(replace(HARVEST_OK, base_url=base_url)) == []


@pytest.mark.parametrize("version", ["v1", "v2/"])
def test_a_harvest_v1_or_v2_base_url_is_refused_naming_the_fix(version: str) -> None:
    [problem] = check(replace(HARVEST_OK, base_url=f"https://harvest.greenhouse.io/{version}"))
    assert "v3" in problem and 'base_url = "https://harvest.greenhouse.io"' in problem


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (account({}), 'options.api must be "partner" or "harvest"'),
        (
            account({"api": "partner", "on_behalf_of": "a@b.co"}),
            "exactly one of api_key_env or oauth_token_env",
        ),
        (
            account({"api": "partner"}, api_key="k"),
            "options.on_behalf_of (a Greenhouse user's email) is required",
        ),
        (
            account({"api": "partner", "on_behalf_of": "a@b.co"}, api_key="k", client_id="c"),
            "client_id_env and client_secret_env are for the Harvest API",
        ),
        (
            account(
                {"api": "partner", "on_behalf_of": "a@b.co", "prospect_pool_stage_id": 4},
                api_key="k",
            ),
            "needs options.prospect_pool_id",
        ),
        (
            account(
                {"api": "partner", "on_behalf_of": "a@b.co", "referrer": {"email": "x"}},
                api_key="k",
            ),
            "options.referrer needs",
        ),
        (
            account({"api": "harvest", "user_id": 5}, client_id="c"),
            "client_secret_env is required for the Harvest API",
        ),
        (account({"api": "harvest"}, client_id="c", client_secret="s"), "options.user_id"),
        (
            account(
                {"api": "harvest", "user_id": 5, "page_size": 501}, client_id="c", client_secret="s"
            ),
            "options.page_size must be an integer from 1 to 500",
        ),
        (
            account(
                {"api": "harvest", "user_id": 5, "token_url": "ftp://x"},
                client_id="c",
                client_secret="s",
            ),
            "options.token_url",
        ),
        (
            account(
                {"api": "harvest", "user_id": 5, "on_behalf_of": "a@b.co"},
                client_id="c",
                client_secret="s",
            ),
            "options.on_behalf_of is not a Harvest API option",
        ),
    ],
)
def test_check_names_what_is_missing_for_the_chosen_api(
    config: AccountConfig, problem: str
) -> None:
    problems = check(config)
    assert any(problem in p for p in problems), problems
    with pytest.raises(ValueError, match="account 'gh'"):
        build(config, httpx.AsyncClient())


def test_settings_require_a_base_url_and_report_check_problems_without_secrets() -> None:
    env = {"GH_ID": "client-id", "GH_SECRET": "very-secret-value"}
    table: dict[str, Any] = {
        "id": "gh",
        "provider": "greenhouse",
        "client_id_env": "GH_ID",
        "client_secret_env": "GH_SECRET",
        "options": {"api": "harvest"},
    }
    with pytest.raises(ConfigError, match="base_url"):
        parse_settings({"accounts": [table]}, env)
    table["base_url"] = "https://harvest.greenhouse.io/v3"
    with pytest.raises(ConfigError, match=r"options\.user_id") as refused:
        parse_settings({"accounts": [table]}, env)
    assert "very-secret-value" not in str(refused.value)
    table["options"] = {"api": "harvest", "user_id": 4080001}
    [config] = parse_settings({"accounts": [table]}, env).accounts
    assert config.credentials == {"client_id": "client-id", "client_secret": "very-secret-value"}
    assert "very-secret-value" not in repr(config)
