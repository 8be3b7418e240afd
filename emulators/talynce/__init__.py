"""Talynce emulator: `app` (the Starlette app and its seeded organizations)."""

from emulators.talynce.app import RecordedRequest, TalynceEmulator, TalynceOrg, demo, demo_emulator

__all__ = ["RecordedRequest", "TalynceEmulator", "TalynceOrg", "demo", "demo_emulator"]
