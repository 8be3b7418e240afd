"""Sealed numbers (`store.sealed`): the keyed permutation both event buses write their ids with,
and the key derivation the Redis bus uses so replicas sharing the cursor secret share the key."""

from __future__ import annotations

import random

import pytest

from store.sealed import SealedNumbers, derived_key


@pytest.mark.parametrize("bits", [64, 128])
def test_a_sealed_number_opens_to_itself_and_only_under_its_key(bits: int) -> None:
    sealed, other = SealedNumbers(b"k" * 16, bits), SealedNumbers(b"j" * 16, bits)
    numbers = [0, 1, 2, (1 << bits) - 1, *(random.getrandbits(bits) for _ in range(200))]
    tokens = [sealed.token(n) for n in numbers]
    assert all(len(t) == bits // 4 for t in tokens)
    assert [sealed.read(t) for t in tokens] == numbers
    assert len(set(tokens)) == len(set(numbers))
    assert sum(other.read(t) == n for t, n in zip(tokens, numbers, strict=True)) == 0


def test_anything_but_a_token_of_the_width_reads_as_none() -> None:
    sealed = SealedNumbers(b"k" * 16, 128)
    token = sealed.token(42)
    for bad in ("", token[:-1], token + "0", token.upper(), "g" * 32, "1796148215234-0"):
        assert sealed.read(bad) is None, bad
    with pytest.raises(ValueError):
        sealed.token(1 << 128)


def test_a_derived_key_is_neither_the_secret_nor_another_purposes() -> None:
    secret = b"deployment-cursor-secret"
    key = derived_key(secret, b"ats-gw.event-ids", b"prefix:events:stream")
    assert len(key) == 32 and secret not in key
    assert key == derived_key(secret, b"ats-gw.event-ids", b"prefix:events:stream")
    assert key != derived_key(secret, b"ats-gw.other", b"prefix:events:stream")
    assert key != derived_key(secret, b"ats-gw.event-ids", b"other:events:stream")
    assert key != derived_key(b"x" + secret, b"ats-gw.event-ids", b"prefix:events:stream")
    assert len(derived_key(b"s" * 200, b"ats-gw.event-ids")) == 32
    with pytest.raises(ValueError):
        derived_key(b"", b"ats-gw.event-ids")
