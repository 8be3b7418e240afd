"""Hostile or broken upstreams are bounded: an answer's size, the rows mapped from it, and the
pages followed for one call (the transport's own limits are in test_transport.py)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.settings import ConfigError, parse_settings

ACCOUNT = {"id": "a", "provider": "talynce", "base_url": "http://x", "api_key_env": "K"}


def test_max_response_bytes_is_an_account_setting_checked_where_it_is_read() -> None:
    [account] = parse_settings({"accounts": [ACCOUNT]}, {"K": "k"}).accounts
    assert account.max_response_bytes == 8 * 1024 * 1024
    given: dict[str, Any] = {**ACCOUNT, "max_response_bytes": 65536}
    [account] = parse_settings({"accounts": [given]}, {"K": "k"}).accounts
    assert account.max_response_bytes == 65536
    for bad in (0, 1023, 2.5, "8MiB", True):
        with pytest.raises(ConfigError, match=r"accounts\[0\]\.max_response_bytes"):
            parse_settings({"accounts": [{**ACCOUNT, "max_response_bytes": bad}]}, {"K": "k"})
