"""Sealed numbers: a bus's positions as ids nobody without the key can read, compare or make up.

One event bus serves every client key, so a plain position in the ids a subscriber sees (a
counter, a Redis stream id's milliseconds and sequence) would tell it when, and how often,
accounts it may not see had events; and an id made up with another number would resume
wherever it points. The memory bus seals its 64-bit counter under a per-process key; the Redis
bus seals a stream id's two 64-bit numbers as one 128-bit block under a key every replica
derives from the deployment's cursor secret (`derived_key`).
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["SealedNumbers", "derived_key"]

ROUNDS = 4
"""Luby-Rackoff: four Feistel rounds of a keyed PRF make a strong pseudorandom permutation."""


def derived_key(secret: bytes, purpose: bytes, context: bytes = b"") -> bytes:
    """A 32-byte key for one `purpose` (BLAKE2b's `person`, at most 16 bytes) and `context`.

    Keyed BLAKE2b of `context` under `secret`, personalised: the secret also signs cursors, and
    no key derived here equals it or another purpose's key. A secret longer than BLAKE2b's
    64-byte key is hashed down to one, as `resolvers.pagination.CursorCodec` does."""
    if not secret:
        raise ValueError("a key is derived only from a non-empty secret")
    key = secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()
    return hashlib.blake2b(context, key=key, person=purpose, digest_size=32).digest()


class SealedNumbers:
    """A keyed permutation of `bits`-bit numbers (Feistel rounds of keyed BLAKE2b), written as
    fixed-width lowercase hex: `token` seals a number, `read` opens a token, and anything that
    is not a token of this width reads as None."""

    def __init__(self, key: bytes, bits: int = 64) -> None:
        if bits % 16 or not 16 <= bits <= 128:
            raise ValueError("bits: a multiple of 16, from 16 to 128")
        self.bits = bits
        self._half = bits // 2
        self._mask = (1 << self._half) - 1
        self._keyed = hashlib.blake2b(key=key, digest_size=self._half // 8)
        self._token = re.compile(f"[0-9a-f]{{{bits // 4}}}")

    def _round(self, half: int, n: int) -> int:
        mixed = self._keyed.copy()
        mixed.update(half.to_bytes(self._half // 8, "big") + bytes((n,)))
        return int.from_bytes(mixed.digest(), "big")

    def seal(self, number: int) -> int:
        if not 0 <= number < 1 << self.bits:
            raise ValueError(f"only numbers of {self.bits} bits are sealed")
        left, right = number >> self._half, number & self._mask
        for n in range(ROUNDS):
            left, right = right, left ^ self._round(right, n)
        return left << self._half | right

    def open(self, sealed: int) -> int:
        left, right = sealed >> self._half, sealed & self._mask
        for n in reversed(range(ROUNDS)):
            left, right = right ^ self._round(left, n), left
        return left << self._half | right

    def token(self, number: int) -> str:
        return f"{self.seal(number):0{self.bits // 4}x}"

    def read(self, token: str) -> int | None:
        """The number `token` seals; None when it is not a token at all."""
        if not self._token.fullmatch(token):
            return None
        return self.open(int(token, 16))
