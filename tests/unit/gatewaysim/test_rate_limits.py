"""The simulator's per-source rate limits: token buckets, times given (no clock)."""

from __future__ import annotations

import pytest

from gatewaysim.rate_limits import SourceRateLimits, retry_after_header


def test_a_source_may_send_a_burst_of_one_second_then_at_its_rate() -> None:
    # Given 5 messages per second with one second of burst
    limits = SourceRateLimits({"55555": 5.0})
    # When it sends seven at once
    answers = [limits.take("55555", 100.0) for _ in range(7)]
    # Then five go, and the sixth and seventh must wait for a token (200 ms)
    assert answers[:5] == [None] * 5
    assert answers[5:] == [pytest.approx(0.2), pytest.approx(0.2)]
    # And 200 ms later one more goes
    assert limits.take("55555", 100.2) is None
    assert limits.take("55555", 100.2) is not None


def test_a_source_sending_exactly_at_its_rate_is_never_refused() -> None:
    limits = SourceRateLimits({"55555": 20.0})
    assert all(limits.take("55555", 10.0 + n / 20) is None for n in range(1_000))


def test_a_slow_rate_still_allows_one_message() -> None:
    limits = SourceRateLimits({"55555": 0.5})
    assert limits.take("55555", 0.0) is None
    assert limits.take("55555", 0.0) == pytest.approx(2.0)


def test_sources_without_a_rate_are_not_limited() -> None:
    limits = SourceRateLimits({"55555": 1.0})
    assert all(limits.take("12223334444", 0.0) is None for _ in range(100))


def test_retry_after_is_whole_seconds_never_early() -> None:
    assert [retry_after_header(wait) for wait in (0.01, 1.0, 1.2, 9.99)] == ["1", "1", "2", "10"]


def test_rates_and_bursts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SourceRateLimits({"55555": 0.0})
    with pytest.raises(ValueError, match="burst_s"):
        SourceRateLimits({"55555": 1.0}, burst_s=0)
