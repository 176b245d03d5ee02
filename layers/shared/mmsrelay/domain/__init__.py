"""The domain: what the relay's messages, statuses, numbers and errors are.

Imports nothing else of ``mmsrelay`` and does no I/O; every other layer depends on it
(docs/architecture.md, "Code").
"""
