"""The relay's one clock: aware UTC datetimes (passed into use cases, replaced in tests)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_time(moment: datetime) -> str:
    """UTC, millisecond precision, sortable: ``2026-11-25T16:20:01.123Z``."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"
