"""Configuration files: what is accepted, and errors that say where and what."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.settings import ConfigError, load_settings, parse_settings

GOOD = """
[gateway]
cursor_secret_env = "CURSOR_SECRET"

[[accounts]]
id = "acme"
name = "Acme"
provider = "talynce"
base_url = "https://talynce.example/api/v1"
api_key_env = "ACME_KEY"
timeout = 5
max_concurrency = 4
"""


def test_a_good_file_loads_with_credentials_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(GOOD)
    settings = load_settings(path, {"ACME_KEY": "s3cret-value", "CURSOR_SECRET": "c"})
    [account] = settings.accounts
    assert (account.id, account.provider, account.timeout, account.max_concurrency) == (
        "acme",
        "talynce",
        5.0,
        4,
    )
    assert account.credentials == {"api_key": "s3cret-value"}
    assert settings.cursor_secret == b"c"
    assert "s3cret-value" not in repr(settings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('api_key_env = "ACME_KEY"', 'api_key_env = "MISSING_KEY"'), "MISSING_KEY is not set"),
        (('api_key_env = "ACME_KEY"', 'api_key = "literal"'), "secrets do not go in the file"),
        (('provider = "talynce"', 'provider = "workday"'), "unknown provider 'workday'"),
        (('id = "acme"', 'id = "a b"'), "accounts[0].id"),
        (("timeout = 5", "timeout = -1"), "accounts[0].timeout"),
        (("max_concurrency = 4", "max_concurrency = 0"), "accounts[0].max_concurrency"),
        (('base_url = "https://', 'base_url = "ftp://'), "accounts[0].base_url"),
        (("timeout = 5", "timeout = 5\ncolour = 1"), "unknown keys ['colour']"),
    ],
)
def test_errors_name_the_file_and_the_key(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError) as raised:
        load_settings(path, {"ACME_KEY": "k", "CURSOR_SECRET": "c"})
    assert str(path) in str(raised.value)
    assert message in str(raised.value)
    assert "literal" not in str(raised.value) or "secrets" in str(raised.value)


def test_duplicate_ids_and_empty_files_are_refused() -> None:
    account = {"id": "a", "provider": "talynce", "base_url": "http://x", "api_key_env": "K"}
    with pytest.raises(ConfigError, match="used twice"):
        parse_settings({"accounts": [account, account]}, {"K": "k"})
    with pytest.raises(ConfigError, match="at least one"):
        parse_settings({}, {})


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[accounts]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, {})


def test_client_names_and_keys_are_unique() -> None:
    """Persisted queries and idempotency keys are kept per client name: two clients of one
    name (say, two tenants' keys both named "app") would run each other's registered documents
    by hash and replay each other's writes. Two clients of one key would leave the second
    unreachable."""
    one, other = "a" * 64, "b" * 64
    for clients in (
        [{"name": "app", "key_sha256": one}, {"name": "app", "key_sha256": other}],
        [{"name": "app", "key_sha256": one}, {"name": "web", "key_sha256": one}],
    ):
        with pytest.raises(ConfigError, match=r"clients\[1\]"):
            parse_settings(
                {
                    "accounts": [{"id": "a", "provider": "talynce", "api_key_env": "K"}],
                    "clients": clients,
                },
                {"K": "k"},
            )


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("https://user:hunter2-pass@talynce.example/api", "credentials do not go in the URL"),
        ("https://hunter2-token@talynce.example/api", "credentials do not go in the URL"),
        ("http://", "with a host"),
        ("file:///etc/passwd", "with a host"),
        ("https://talynce.example:port/api", "not a valid URL"),
        ("https://talynce.example/api?api_key=hunter2-key", "no query string"),
    ],
)
def test_a_base_url_needs_a_host_and_carries_no_credentials(base_url: str, message: str) -> None:
    """A login in the URL would sit in the file in clear (and, unknown to redaction, in any line
    that logs the URL), and the HTTP client would send it as credentials of its own."""
    account = {"id": "a", "provider": "talynce", "base_url": base_url, "api_key_env": "K"}
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.base_url") as raised:
        parse_settings({"accounts": [account]}, {"K": "k"})
    assert message in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("table", ["gatway", "client", "account"])
def test_a_misspelt_table_is_refused_not_skipped(table: str) -> None:
    """Skipping `[gatway]` or `[[client]]` in silence would run without the limits or client
    keys the operator meant to set."""
    account = {"id": "a", "provider": "talynce", "api_key_env": "K"}
    with pytest.raises(ConfigError, match=f"unknown tables \\['{table}'\\]"):
        parse_settings({"accounts": [account], table: {}}, {"K": "k"})


def test_the_readme_configuration_example_loads(tmp_path: Path) -> None:
    """What an operator copies first: it must pass as written, its placeholders filled."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.partition("## Configuration")[2]
    example = section.partition("```toml\n")[2].partition("```")[0]
    (tmp_path / "persisted-documents.json").write_text("{}")
    path = tmp_path / "gateway.toml"
    path.write_text(example.replace('key_sha256 = "…"', f'key_sha256 = "{"a" * 64}"'))
    variables = re.findall(r'_env = "([A-Z0-9_]+)"', example)
    settings = load_settings(path, dict.fromkeys(variables, "placeholder-value"))
    assert [client.name for client in settings.clients] == ["recruiting-frontend"]
    assert len(settings.accounts) == 3
