"""Talynce: `adapter` (calls, wire mapping and the spec the registry lists)."""

from providers.talynce.adapter import SPEC, TalynceAdapter

__all__ = ["SPEC", "TalynceAdapter"]
