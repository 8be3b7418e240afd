"""Which adapter serves which provider name.

Adding a provider is one line here and one in `emulators.registry` (its demo emulator): the
serving path imports this module and must not import any emulator.
"""

from __future__ import annotations

from collections.abc import Mapping

from providers import greenhouse, merge, talynce
from providers.base import ProviderSpec

__all__ = ["PROVIDERS"]

PROVIDERS: Mapping[str, ProviderSpec] = {
    spec.name: spec for spec in (talynce.SPEC, merge.SPEC, greenhouse.SPEC)
}
