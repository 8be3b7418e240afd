"""Configuration: a TOML file of accounts, credentials named by environment variable.

Secrets never sit in the file: an account names the variable that holds each credential
(`api_key_env = "ACME_TALYNCE_KEY"`), and errors name the variable, never its value.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.compression import DEFAULT_MIN_BYTES, Compression
from gateway.limits import QueryLimits
from gateway.persisted import PersistedQueries, read_manifest
from gateway.security import Client
from providers.base import AccountConfig
from providers.events import WebhookAccount
from providers.registry import PROVIDERS
from providers.upstream.transport import DEFAULT_MAX_RESPONSE_BYTES
from providers.webhooks import WEBHOOKS
from store.events import REPLAY_MAX

__all__ = ["ConfigError", "Settings", "load_settings", "parse_settings"]

ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ACCOUNT_KEYS = {
    "id",
    "name",
    "provider",
    "base_url",
    "timeout",
    "max_concurrency",
    "retries",
    "breaker_threshold",
    "breaker_cooldown",
    "rate_limit",
    "max_response_bytes",
    "options",
    "webhook_secret_env",
    "webhook_origin",
}


GATEWAY_KEYS = {
    "cursor_secret_env",
    "request_timeout",
    "idempotency_ttl",
    "introspection",
    "graphiql",
    "compiled_execution",
    "cors_origins",
    "max_depth",
    "max_aliases",
    "max_tokens",
    "max_cost",
    "max_body_bytes",
    "max_fields",
    "store",
    "store_url_env",
    "store_prefix",
    "cache_ttl",
    "read_ahead",
    "read_ahead_ttl",
    "read_ahead_max_pages",
    "tracing",
    "metrics_key_sha256",
    "header_timeout",
    "keep_alive_timeout",
    "max_connections",
    "compression",
    "compression_min_bytes",
    "persisted_queries",
    "persisted_queries_max",
    "persisted_query_max_bytes",
    "persisted_query_max_age",
    "trusted_documents",
    "webhook_max_bytes",
    "event_window",
    "event_window_max",
    "event_replay_max",
    "event_dedupe_ttl",
    "poll_interval",
    "poll_max_rows",
}
TOP_LEVEL_KEYS = {"accounts", "clients", "gateway"}
TRACING = ("off", "console", "otlp")
SHARED_CURSOR_SECRET = "ATS_GATEWAY_SHARED_CURSOR_SECRET"
LIMITS = ("max_depth", "max_aliases", "max_tokens", "max_cost", "max_body_bytes", "max_fields")
DEFAULT_LIMITS = QueryLimits()
DEFAULT_COMPRESSION = Compression()
DEFAULT_PERSISTED = PersistedQueries()


class ConfigError(ValueError):
    """A configuration problem, worded for the operator: where it is and what was expected."""


@dataclass(frozen=True, slots=True)
class Settings:
    accounts: tuple[AccountConfig, ...]
    cursor_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    cursor_secret_configured: bool = False  # from cursor_secret_env, not made up at start
    source: str = "<built in>"
    request_timeout: float = 10.0
    idempotency_ttl: float = 24 * 3600.0
    clients: tuple[Client, ...] = ()
    limits: QueryLimits = DEFAULT_LIMITS
    introspection: bool = True
    compiled_execution: bool = True
    graphiql: bool = True
    cors_origins: tuple[str, ...] = ()
    store_url: str | None = field(default=None, repr=False)  # None: this process's memory
    store_prefix: str = "ats-gateway"
    cache_ttl: float = 0.0
    # Listings read whole provider pages and keep the rows not yet shown (resolvers.read_ahead);
    # on by default: paging many accounts otherwise costs one upstream call per account per page
    read_ahead: bool = True
    read_ahead_ttl: float = 60.0  # seconds a kept page serves later pages
    read_ahead_max_pages: int = 2000  # kept pages per process in memory mode (LRU beyond)
    tracing: str = "off"
    # Bearer key (as its SHA-256) for /metrics and the detailed /readyz; None keeps them private
    # unless no clients are configured (open mode, loopback only).
    metrics_key_sha256: str | None = None
    # seconds for a request's head to arrive (see gateway.server), and a socket's connection_init
    header_timeout: float = 10.0
    keep_alive_timeout: float = 5  # whole seconds an idle keep-alive connection stays open
    max_connections: int = 1000  # open connections (and requests) before new ones get 503
    compression: Compression = DEFAULT_COMPRESSION
    persisted_queries: PersistedQueries = DEFAULT_PERSISTED
    trusted_documents: Path | None = None  # a manifest: only its documents run
    # Live updates (gateway.webhooks, store.events, resolvers.polling): account id → how its
    # provider signs webhooks; the biggest delivery read; how long (seconds) and how many events
    # the bus keeps for replay; how long a dedupe id is remembered; Talynce polling.
    webhooks: Mapping[str, WebhookAccount] = field(default_factory=dict)
    webhook_max_bytes: int = 1024 * 1024
    event_window: float = 300.0
    event_window_max: int = 10_000
    event_replay_max: int = REPLAY_MAX
    event_dedupe_ttl: float = 24 * 3600.0
    poll_interval: float = 15.0
    poll_max_rows: int = 500

    def secrets(self) -> set[str]:
        """Every secret value the process holds, for log redaction."""
        found = {v for account in self.accounts for v in account.credentials.values() if v}
        found |= {hook.secret for hook in self.webhooks.values()}
        if self.store_url is not None and (password := urlsplit(self.store_url).password):
            found.add(password)
        return found | {self.cursor_secret.decode(errors="ignore")}


def _require(table: Mapping[str, Any], key: str, where: str, kind: type) -> Any:
    value = table.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}.{key}: expected a {kind.__name__}, got {value!r}")
    return value


def _from_env(env: Mapping[str, str], variable: object, where: str) -> str:
    """The value of the variable a setting names; errors name the variable, never a value."""
    if not isinstance(variable, str) or not env.get(variable):
        raise ConfigError(f"{where}: environment variable {variable} is not set")
    return env[variable]


def _number(
    table: Mapping[str, Any],
    key: str,
    where: str,
    default: float,
    *,
    minimum: float,
    integer: bool = False,
) -> float:
    value = table.get(key, default)
    kinds = int if integer else int | float
    if not isinstance(value, kinds) or isinstance(value, bool) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{where}.{key}: expected {kind} ≥ {minimum:g}, got {value!r}")
    return float(value)


def _account(table: Any, where: str, env: Mapping[str, str]) -> AccountConfig:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table")
    account_id = _require(table, "id", where, str)
    if not ACCOUNT_ID.match(account_id):
        raise ConfigError(f"{where}.id: {account_id!r} must be letters, digits, '-' or '_'")
    provider = _require(table, "provider", where, str)
    spec = PROVIDERS.get(provider)
    if spec is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(f"{where}.provider: unknown provider {provider!r} (known: {known})")
    base_url = _base_url(table.get("base_url", spec.default_base_url), f"{where}.base_url")
    credentials = {}
    for name in spec.credentials:
        if name in table:
            raise ConfigError(
                f"{where}.{name}: secrets do not go in the file; "
                f"set {name}_env to the name of an environment variable"
            )
        variable = table.get(f"{name}_env")
        if variable is not None:
            credentials[name] = _from_env(env, variable, f"{where}.{name}_env")
    unknown = set(table) - ACCOUNT_KEYS - {f"{n}_env" for n in spec.credentials}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    options = table.get("options", {})
    if not isinstance(options, Mapping):
        raise ConfigError(f"{where}.options: expected a table")
    timeout = table.get("timeout", 10.0)
    concurrency = table.get("max_concurrency", 8)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{where}.timeout: expected seconds > 0")
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ConfigError(f"{where}.max_concurrency: expected an integer ≥ 1")
    retries = _number(table, "retries", where, 6, minimum=0, integer=True)
    threshold = _number(table, "breaker_threshold", where, 5, minimum=1, integer=True)
    cooldown = _number(table, "breaker_cooldown", where, 30.0, minimum=0)
    max_response = _number(
        table, "max_response_bytes", where, DEFAULT_MAX_RESPONSE_BYTES, minimum=1024, integer=True
    )
    rate_limit = table.get("rate_limit", spec.rate_limit)
    if rate_limit is not None:
        valid = (
            isinstance(rate_limit, list | tuple)
            and len(rate_limit) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in rate_limit)
            and rate_limit[0] >= 1
            and rate_limit[1] > 0
        )
        if not valid:
            raise ConfigError(f"{where}.rate_limit: expected [calls, seconds], e.g. [100, 60]")
        rate_limit = (int(rate_limit[0]), float(rate_limit[1]))
    account = AccountConfig(
        id=account_id,
        name=str(table.get("name", account_id)),
        provider=provider,
        base_url=base_url,
        credentials=credentials,
        options=dict(options),
        timeout=float(timeout),
        max_concurrency=concurrency,
        retries=int(retries),
        breaker_threshold=int(threshold),
        breaker_cooldown=float(cooldown),
        rate_limit=rate_limit,
        max_response_bytes=int(max_response),
    )
    problems = spec.check(account)
    if problems:
        raise ConfigError(f"{where} ({provider}): " + "; ".join(problems))
    return account


def _base_url(value: object, where: str) -> str:
    """An http(s) URL with a host. Credentials in it would sit in the file in clear and be
    sent by the HTTP client as a login of its own, so they are refused; errors never repeat
    the URL."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected an http(s) URL")
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ConfigError(f"{where}: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: expected an http(s) URL with a host")
    if parts.query or parts.fragment:
        # paths are appended to the base URL: a query there is lost or, worse, a key in it
        raise ConfigError(f"{where}: expected no query string or fragment")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"{where}: credentials do not go in the URL; name their environment variable "
            "with the provider's *_env keys"
        )
    return value


def parse_settings(
    data: Mapping[str, Any], env: Mapping[str, str], source: str = "<built in>"
) -> Settings:
    try:
        return _parse(data, env, source)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def _parse(data: Mapping[str, Any], env: Mapping[str, str], source: str) -> Settings:
    # A misspelt table (`[gatway]`, `[[client]]`) would otherwise be skipped in silence,
    # and with it the limits or client keys the operator meant to set.
    unknown_tables = set(data) - TOP_LEVEL_KEYS
    if unknown_tables:
        raise ConfigError(
            f"unknown tables {sorted(unknown_tables)} (known: accounts, clients, gateway)"
        )
    tables = data.get("accounts")
    if not isinstance(tables, list) or not tables:
        raise ConfigError("accounts: expected at least one [[accounts]] table")
    accounts = tuple(_account(t, f"accounts[{n}]", env) for n, t in enumerate(tables))
    webhooks = {
        account.id: hook
        for n, (account, table) in enumerate(zip(accounts, tables, strict=True))
        if (hook := _webhook(account, table, f"accounts[{n}]", env)) is not None
    }
    seen: set[str] = set()
    for account in accounts:
        if account.id in seen:
            raise ConfigError(f"accounts: id {account.id!r} is used twice")
        seen.add(account.id)
    gateway = data.get("gateway", {})
    if not isinstance(gateway, Mapping):
        raise ConfigError("gateway: expected a table")
    unknown = set(gateway) - GATEWAY_KEYS
    if unknown:
        raise ConfigError(f"gateway: unknown keys {sorted(unknown)}")
    secret_var = gateway.get("cursor_secret_env")
    limits = QueryLimits(
        **{
            name: int(
                _number(
                    gateway, name, "gateway", getattr(DEFAULT_LIMITS, name), minimum=1, integer=True
                )
            )
            for name in LIMITS
        }
    )
    origins = gateway.get("cors_origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ConfigError("gateway.cors_origins: expected a list of origins")
    return Settings(
        accounts=accounts,
        cursor_secret=_cursor_secret(env, secret_var),
        cursor_secret_configured=secret_var is not None,
        source=source,
        request_timeout=_number(gateway, "request_timeout", "gateway", 10.0, minimum=0.1),
        idempotency_ttl=_number(gateway, "idempotency_ttl", "gateway", 86400.0, minimum=1),
        clients=_clients(data.get("clients", []), {a.id for a in accounts}),
        limits=limits,
        introspection=_flag(gateway, "introspection"),
        graphiql=_flag(gateway, "graphiql"),
        compiled_execution=_flag(gateway, "compiled_execution"),
        cors_origins=tuple(origins),
        store_url=_store_url(gateway, env),
        store_prefix=_store_prefix(gateway),
        cache_ttl=_number(gateway, "cache_ttl", "gateway", 0.0, minimum=0),
        read_ahead=_flag(gateway, "read_ahead"),
        read_ahead_ttl=_number(gateway, "read_ahead_ttl", "gateway", 60.0, minimum=0.1),
        read_ahead_max_pages=int(
            _number(gateway, "read_ahead_max_pages", "gateway", 2000, minimum=1, integer=True)
        ),
        tracing=_choice(gateway, "tracing", TRACING),
        metrics_key_sha256=_digest(gateway, "metrics_key_sha256", "gateway"),
        header_timeout=_number(gateway, "header_timeout", "gateway", 10.0, minimum=0.1),
        keep_alive_timeout=_number(
            gateway, "keep_alive_timeout", "gateway", 5, minimum=1, integer=True
        ),
        max_connections=int(
            _number(gateway, "max_connections", "gateway", 1000, minimum=1, integer=True)
        ),
        compression=Compression(
            enabled=_flag(gateway, "compression"),
            min_bytes=int(
                _number(
                    gateway,
                    "compression_min_bytes",
                    "gateway",
                    DEFAULT_MIN_BYTES,
                    minimum=0,
                    integer=True,
                )
            ),
        ),
        persisted_queries=_persisted(gateway),
        trusted_documents=_trusted_documents(gateway, source),
        webhooks=webhooks,
        webhook_max_bytes=int(
            _number(gateway, "webhook_max_bytes", "gateway", 1 << 20, minimum=1024, integer=True)
        ),
        event_window=_number(gateway, "event_window", "gateway", 300.0, minimum=1),
        event_window_max=int(
            _number(gateway, "event_window_max", "gateway", 10_000, minimum=1, integer=True)
        ),
        event_replay_max=int(
            _number(gateway, "event_replay_max", "gateway", REPLAY_MAX, minimum=1, integer=True)
        ),
        event_dedupe_ttl=_number(gateway, "event_dedupe_ttl", "gateway", 86400.0, minimum=1),
        poll_interval=_number(gateway, "poll_interval", "gateway", 15.0, minimum=0.05),
        poll_max_rows=int(
            _number(gateway, "poll_max_rows", "gateway", 500, minimum=1, integer=True)
        ),
    )


def _persisted(gateway: Mapping[str, Any]) -> PersistedQueries:
    def integer(key: str, default: int, minimum: int) -> int:
        return int(_number(gateway, key, "gateway", default, minimum=minimum, integer=True))

    return PersistedQueries(
        enabled=_flag(gateway, "persisted_queries"),
        max_documents=integer("persisted_queries_max", DEFAULT_PERSISTED.max_documents, 1),
        max_bytes=integer("persisted_query_max_bytes", DEFAULT_PERSISTED.max_bytes, 1),
        max_age=integer("persisted_query_max_age", DEFAULT_PERSISTED.max_age, 0),
    )


def _trusted_documents(gateway: Mapping[str, Any], source: str) -> Path | None:
    """The manifest's path (relative to the config file's folder), read once to check it."""
    value = gateway.get("trusted_documents")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError("gateway.trusted_documents: expected the path of a manifest file")
    path = Path(value)
    if not path.is_absolute() and Path(source).is_file():
        path = Path(source).parent / path
    try:
        read_manifest(path)
    except ValueError as error:
        raise ConfigError(f"gateway.trusted_documents: {error}") from None
    return path


def _webhook(
    account: AccountConfig, table: Mapping[str, Any], where: str, env: Mapping[str, str]
) -> WebhookAccount | None:
    """The account's webhook settings: a secret (by environment variable, like every
    credential) for providers that send webhooks; `webhook_origin` where one key signs for
    several accounts (a Merge organisation: the linked account's id)."""
    variable, origin = table.get("webhook_secret_env"), table.get("webhook_origin")
    if variable is None:
        if origin is not None:
            raise ConfigError(f"{where}.webhook_origin: set webhook_secret_env too")
        return None
    if account.provider not in WEBHOOKS:
        raise ConfigError(
            f"{where}.webhook_secret_env: {account.provider} sends no webhooks "
            "(the gateway polls its accounts while anyone watches them)"
        )
    if origin is not None and (not isinstance(origin, str) or not origin):
        raise ConfigError(f"{where}.webhook_origin: expected the provider's id of this account")
    secret = _from_env(env, variable, f"{where}.webhook_secret_env")
    return WebhookAccount(account.id, secret, origin)


def _digest(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ConfigError(f"{where}.{key}: expected 64 hex digits (python -m gateway new-key)")
    return value


STORE_SCHEMES = ("redis", "rediss", "unix")
STORE_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _store_url(gateway: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """None for "memory", else a checked Redis URL; errors never repeat the URL (a password)."""
    if "store" in gateway and "store_url_env" in gateway:
        raise ConfigError("gateway: give store or store_url_env, not both")
    variable = gateway.get("store_url_env")
    if variable is not None:
        url = _from_env(env, variable, "gateway.store_url_env")
        where = f"gateway.store_url_env ({variable})"
    else:
        url = gateway.get("store", "memory")
        where = "gateway.store"
        if url == "memory":
            return None
        if not isinstance(url, str):
            raise ConfigError(f'{where}: expected "memory" or a redis:// URL')
    url = url.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ConfigError(f"{where}: not a valid URL") from None
    expected = f'{where}: expected "memory" or redis://[user@]host[:port][/db]'
    if parts.scheme not in STORE_SCHEMES:
        raise ConfigError(f"{expected} (or rediss://, unix://)")
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"{expected}: the host is missing")
    if parts.scheme != "unix" and not re.fullmatch(r"/?\d*", parts.path):
        raise ConfigError(f"{expected}: the database must be a number")
    if parts.password and variable is None:
        raise ConfigError(
            f"{where}: a password does not go in the file; put the whole URL in an environment "
            "variable and name that variable with store_url_env"
        )
    return url


def _store_prefix(gateway: Mapping[str, Any]) -> str:
    prefix = gateway.get("store_prefix", "ats-gateway")
    if not isinstance(prefix, str) or not STORE_PREFIX.match(prefix):
        raise ConfigError(
            "gateway.store_prefix: expected up to 64 letters, digits, '.', '-' or '_'"
        )
    return prefix


def _cursor_secret(env: Mapping[str, str], variable: object) -> bytes:
    """The configured secret; else one shared by `serve --workers`; else a fresh one."""
    if variable is not None:
        return _from_env(env, variable, "gateway.cursor_secret_env").encode()
    shared = env.get(SHARED_CURSOR_SECRET)
    return shared.encode() if shared else secrets.token_bytes(32)


def _choice(table: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = table.get(key, choices[0])
    if value not in choices:
        raise ConfigError(f"gateway.{key}: expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _flag(table: Mapping[str, Any], key: str, default: bool = True) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"gateway.{key}: expected true or false")
    return value


def _clients(tables: Any, account_ids: set[str]) -> tuple[Client, ...]:
    if not isinstance(tables, list):
        raise ConfigError("clients: expected [[clients]] tables")
    clients: list[Client] = []
    for n, table in enumerate(tables):
        where = f"clients[{n}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(table) - {"name", "key_sha256", "accounts", "write"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        name = _require(table, "name", where, str)
        digest = _require(table, "key_sha256", where, str)
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ConfigError(
                f"{where}.key_sha256: expected 64 hex digits (python -m gateway new-key)"
            )
        visible = table.get("accounts", "*")
        if visible == "*":
            accounts = None
        elif isinstance(visible, list) and all(isinstance(a, str) for a in visible):
            missing = set(visible) - account_ids
            if missing:
                raise ConfigError(f"{where}.accounts: unknown accounts {sorted(missing)}")
            accounts = frozenset(visible)
        else:
            raise ConfigError(f'{where}.accounts: expected a list of account ids or "*"')
        write = table.get("write", False)
        if not isinstance(write, bool):
            raise ConfigError(f"{where}.write: expected true or false")
        # Documents and idempotency keys are kept per client name; a key names one client.
        if any(c.name == name for c in clients):
            raise ConfigError(f"{where}.name: another client has the name {name!r}")
        if any(c.key_sha256 == digest for c in clients):
            raise ConfigError(f"{where}.key_sha256: another client has the same key")
        clients.append(Client(name, digest, accounts, write))
    return tuple(clients)


def load_settings(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    return parse_settings(data, os.environ if env is None else env, str(path))
