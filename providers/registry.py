"""Which adapter serves which provider name, and which emulator its demo runs.

Adding a provider is one line in each mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from providers import greenhouse, merge, talynce
from providers.base import ProviderSpec
from providers.emulators import Demo
from providers.emulators import greenhouse as greenhouse_emulator
from providers.emulators import merge as merge_emulator
from providers.emulators import talynce as talynce_emulator

__all__ = ["DEMOS", "PROVIDERS"]

PROVIDERS: Mapping[str, ProviderSpec] = {
    spec.name: spec for spec in (talynce.SPEC, merge.SPEC, greenhouse.SPEC)
}

DEMOS: Mapping[str, Callable[[], Demo]] = {
    "talynce": talynce_emulator.demo,
    "merge": merge_emulator.demo,
    "greenhouse": greenhouse_emulator.demo,
}
