"""Which adapter serves which provider name. Adding a provider is one line here."""

from __future__ import annotations

from collections.abc import Mapping

from providers import talynce
from providers.base import ProviderSpec

__all__ = ["PROVIDERS"]

PROVIDERS: Mapping[str, ProviderSpec] = {spec.name: spec for spec in (talynce.SPEC,)}
