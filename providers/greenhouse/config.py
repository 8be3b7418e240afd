"""Greenhouse account settings: the checks for the API an account names, the adapter `build`
picks for it, and the spec the registry lists."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from providers.base import AccountConfig, Provider, ProviderSpec
from providers.greenhouse.harvest import MAX_PER_PAGE, GreenhouseHarvestAdapter, bounded_option
from providers.greenhouse.mapping import DIGITS, EMAIL, NAME
from providers.greenhouse.partner import GreenhousePartnerAdapter
from providers.upstream.sharing import Sharing
from providers.upstream.transport import Sender

__all__ = ["HARVEST_OPTIONS", "PARTNER_OPTIONS", "SPEC", "build", "check"]

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
        if name in options and bounded_option(options[name], 0) == 0:
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
        problems = _check_harvest(account.credentials, account.options)
        if urlsplit(account.base_url).path.rstrip("/").endswith(("/v1", "/v2")):
            problems.append(
                "base_url names Harvest v1/v2 (sunset 2026-08-31); this gateway speaks v3: "
                'use base_url = "https://harvest.greenhouse.io" (or …/v3)'
            )
        return problems
    return ['options.api must be "partner" or "harvest"']


def build(account: AccountConfig, client: Sender, sharing: Sharing | None = None) -> Provider:
    """The adapter for the API the account names; settings were checked when they were loaded."""
    problems = check(account)
    if problems:
        raise ValueError(f"account {account.id!r}: " + "; ".join(problems))
    if account.options["api"] == "partner":
        return GreenhousePartnerAdapter(account, client, sharing)
    return GreenhouseHarvestAdapter(account, client, sharing)


SPEC = ProviderSpec(
    name=NAME,
    capabilities=GreenhousePartnerAdapter.capabilities | GreenhouseHarvestAdapter.capabilities,
    build=build,
    credentials=("api_key", "oauth_token", "client_id", "client_secret"),
    check=check,
    default_base_url=None,
    # Harvest's documented 50 calls per 10 s (an integration may be granted more: set
    # `rate_limit`; a lower X-RateLimit-Limit is learned). The Partner API documents no limit,
    # and the same bound keeps it polite.
    rate_limit=(50, 10.0),
    read_ahead=MAX_PER_PAGE,
)
