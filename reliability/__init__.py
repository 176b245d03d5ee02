"""Runs on the local stack (emulator and gateway simulator) that print figures: docs/reliability.md."""
