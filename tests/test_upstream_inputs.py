"""What an account's upstream or configuration can hand the gateway that Python chokes on:
JSON nested past any parser's depth, a credential that cannot go into an HTTP header."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.__main__ import main
from providers.base import AccountConfig, CandidateQuery, Position
from providers.errors import UpstreamAuthFailed, UpstreamBadResponse
from providers.talynce.adapter import TalynceAdapter
from providers.upstream.http import build_client
from providers.upstream.resilience import deadline_scope
from tests.servers import serve_in_thread

DEPTH = 100_000
TOKEN = "tly-clé-secrète"  # not ASCII: no HTTP header can carry it


@pytest.fixture
def deep_json() -> Iterator[tuple[str, list[str]]]:
    """A loopback upstream answering every request with JSON nested DEPTH arrays deep."""
    seen: list[str] = []
    body = b"[" * DEPTH + b"]" * DEPTH

    async def answer(request: Request) -> Response:
        seen.append(request.url.path)
        return Response(body, media_type="application/json")

    with serve_in_thread(Starlette(routes=[Route("/{rest:path}", answer)])) as url:
        yield url, seen


def adapter(url: str, api_key: str = "tly-key") -> TalynceAdapter:
    config = AccountConfig(
        id="acme",
        name="Acme",
        provider="talynce",
        base_url=f"{url}/api/v1",
        credentials={"api_key": api_key},
        breaker_threshold=2,
    )
    return TalynceAdapter(config, build_client(config))


async def test_json_nested_too_deep_is_a_bad_response_of_that_account(
    deep_json: tuple[str, list[str]],
) -> None:
    url, seen = deep_json
    talynce = adapter(url)
    with deadline_scope(10), pytest.raises(UpstreamBadResponse) as caught:
        await talynce.list_candidates(CandidateQuery(), Position(), 5)
    assert (caught.value.account, caught.value.provider) == ("acme", "talynce")
    assert len(seen) == 1
    await talynce.aclose()


async def test_a_credential_no_header_can_carry_is_that_accounts_auth_failure(
    deep_json: tuple[str, list[str]],
) -> None:
    url, seen = deep_json
    talynce = adapter(url, api_key=TOKEN)
    for _ in range(4):  # past the breaker's threshold of 2
        with deadline_scope(10), pytest.raises(UpstreamAuthFailed) as caught:
            await talynce.list_candidates(CandidateQuery(), Position(), 5)
        assert (caught.value.account, caught.value.provider) == ("acme", "talynce")
        assert TOKEN not in caught.value.message
    assert seen == []  # nothing could be sent
    assert talynce.upstream.breaker.state == "closed"
    await talynce.aclose()


def test_check_config_names_the_account_and_variable_of_such_a_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ACME_TALYNCE_KEY", TOKEN)
    monkeypatch.setenv("GLOBEX_TALYNCE_KEY", "plain-ascii-key")
    path = tmp_path / "g.toml"
    path.write_text(
        '[[accounts]]\nid = "globex"\nprovider = "talynce"\nbase_url = "http://x"\n'
        'api_key_env = "GLOBEX_TALYNCE_KEY"\n'
        '[[accounts]]\nid = "acme"\nprovider = "talynce"\nbase_url = "http://x"\n'
        'api_key_env = "ACME_TALYNCE_KEY"\n'
    )
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert "acme" in captured.err and "ACME_TALYNCE_KEY" in captured.err
    assert "GLOBEX" not in captured.err
    assert TOKEN not in captured.err + captured.out
