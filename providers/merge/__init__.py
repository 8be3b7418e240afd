"""Merge ATS: `adapter` (which calls serve each operation, the spec) and `wire` (JSON mapping)."""

from providers.merge.adapter import SPEC, MergeAdapter

__all__ = ["SPEC", "MergeAdapter"]
