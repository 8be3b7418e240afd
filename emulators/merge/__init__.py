"""Merge emulator: `app` (routes, linked accounts), `seed` (records), `writes` (create, patch)."""

from emulators.merge.app import LinkedAccount, MergeEmulator, RecordedRequest, demo, demo_emulator

__all__ = ["LinkedAccount", "MergeEmulator", "RecordedRequest", "demo", "demo_emulator"]
