"""Which emulator each provider's demo runs; imported by `--demo` and tests, never when serving.

Adding a provider is one line here and one in `providers.registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from emulators import Demo, greenhouse, merge, talynce

__all__ = ["DEMOS"]

DEMOS: Mapping[str, Callable[[], Demo]] = {
    "talynce": talynce.demo,
    "merge": merge.demo,
    "greenhouse": greenhouse.demo,
}
