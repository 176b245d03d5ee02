"""A sending code's schedule: slots at the configured rate, a 429's back-off, and the recovery after it.

Times are given, never read from a clock: every case says when things happen.
"""

from __future__ import annotations

import itertools

import pytest

from mmsrelay.domain.send_rate import (
    MIN_RATE_SHARE,
    RECOVERY_INTERVAL_SECONDS,
    SendRateState,
    Slot,
    current_rate,
    micros,
    reserve,
    slowed_down,
)

T0 = micros(1_795_000_000.0)  # a moment in 2026, in microseconds since the epoch


def reserve_many(state: SendRateState, rate: float, count: int, now_us: int, cost: int = 1) -> list[Slot]:
    slots = []
    for _ in range(count):
        slot, state = reserve(state, rate, cost, now_us)
        slots.append(slot)
    return slots


def test_an_idle_code_sends_at_once_and_the_next_job_one_interval_later() -> None:
    # Given a code never used, at 5 messages per second
    # When two jobs ask for a slot at the same moment
    first, state = reserve(SendRateState(), 5.0, 1, T0)
    second, _ = reserve(state, 5.0, 1, T0)
    # Then the first goes now and the second 200 ms later
    assert first == Slot(T0, 0)
    assert second.at_us - T0 == 200_000


def test_slots_are_spaced_exactly_and_never_drift_over_many_jobs() -> None:
    # Given a rate whose interval is not a whole number of microseconds (1/3 s)
    slots = reserve_many(SendRateState(), 3.0, 9_000, T0)
    # Then each interval is the rate's, rounded up to the microsecond, and 9,000 jobs take 3,000 s
    gaps = {later.at_us - earlier.at_us for earlier, later in itertools.pairwise(slots)}
    assert gaps == {333_334}
    assert slots[-1].at_us - T0 == 8_999 * 333_334  # never faster than 3 per second


def test_a_group_message_takes_one_slot_per_recipient() -> None:
    # Given a group of three at 10 messages per second
    _, state = reserve(SendRateState(), 10.0, 3, T0)
    # Then the next job waits for the three slots the group used
    following, _ = reserve(state, 10.0, 1, T0)
    assert following.at_us - T0 == 300_000


def test_a_code_that_was_idle_does_not_save_up_a_burst() -> None:
    # Given a code whose last job went a minute ago
    _, state = reserve(SendRateState(), 10.0, 1, T0)
    later = T0 + micros(60)
    # When three jobs ask at once
    slots = reserve_many(state, 10.0, 3, later)
    # Then they go one interval apart from now, not all at once
    assert [slot.at_us - later for slot in slots] == [0, 100_000, 200_000]


def test_a_429_halves_the_rate_and_pauses_the_code_for_retry_after() -> None:
    # Given a code at 20 messages per second, busy
    state = SendRateState()
    for _ in range(5):
        _, state = reserve(state, 20.0, 1, T0)
    # When the gateway answers 429 with Retry-After: 3
    slowed = slowed_down(state, 20.0, 3.0, T0 + 100_000)
    # Then nothing goes before the pause ends, and jobs after it go at 10 per second
    first, slowed = reserve(slowed, 20.0, 1, T0 + 100_000)
    second, _ = reserve(slowed, 20.0, 1, T0 + 100_000)
    assert first.at_us == T0 + 100_000 + micros(3)
    assert second.at_us - first.at_us == 100_000
    assert current_rate(slowed, 20.0, T0 + 100_000) == 10.0
    # And the schedule's version changed, so slots granted before can be told apart
    assert first.version == state.version + 1


def test_a_429_without_retry_after_pauses_one_second() -> None:
    slowed = slowed_down(SendRateState(), 10.0, None, T0)
    assert slowed.paused_until_us == T0 + micros(1)


def test_the_pause_is_capped_at_fifteen_minutes() -> None:
    slowed = slowed_down(SendRateState(), 10.0, 86_400.0, T0)
    assert slowed.paused_until_us == T0 + micros(900)


def test_429s_for_sends_made_before_the_pause_do_not_halve_it_again() -> None:
    # Given a code slowed down by a 429 with Retry-After: 2
    once = slowed_down(SendRateState(), 20.0, 2.0, T0)
    # When the answers to four sends already in flight come back during the pause, 429 too
    state = once
    for late in range(4):
        state = slowed_down(state, 20.0, 2.0, T0 + 50_000 * (late + 1))
    # Then the rate was halved once, and the pause reaches as far as the latest Retry-After
    assert current_rate(state, 20.0, T0 + 100_000) == 10.0
    assert state.paused_until_us == T0 + 200_000 + micros(2)


def test_a_429_after_the_pause_halves_again_but_never_below_the_floor() -> None:
    # Given a code at 16 per second throttled again each time its pause has ended
    state, now = SendRateState(), T0
    rates = []
    for _ in range(7):
        state = slowed_down(state, 16.0, 1.0, now)
        rates.append(current_rate(state, 16.0, now))
        now = state.paused_until_us or now
    # Then it halves each time, down to a sixteenth of the configured rate and no lower
    assert rates == [8.0, 4.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    assert 16.0 * MIN_RATE_SHARE == 1.0


def test_after_the_pause_the_rate_recovers_by_a_tenth_every_interval_up_to_the_configured_rate() -> None:
    # Given a code at 10 per second halved by a 429 with Retry-After: 2
    state = slowed_down(SendRateState(), 10.0, 2.0, T0)
    pause_end = T0 + micros(2)
    step = micros(RECOVERY_INTERVAL_SECONDS)
    # Then it stays at 5 until one interval after the pause, then gains 1 per second each interval
    assert current_rate(state, 10.0, pause_end + step - 1) == 5.0
    assert [current_rate(state, 10.0, pause_end + n * step) for n in range(1, 7)] == pytest.approx(
        [6.0, 7.0, 8.0, 9.0, 10.0, 10.0]
    )
    # And the spacing of new slots follows: 200 ms while halved, 100 ms once recovered
    _, while_halved = reserve(state, 10.0, 1, pause_end)
    recovered_at = pause_end + 5 * step
    _, once_recovered = reserve(state, 10.0, 1, recovered_at)
    assert while_halved.next_at_us == pause_end + 200_000
    assert once_recovered.next_at_us == recovered_at + 100_000


def test_a_lower_configured_rate_applies_at_once_even_while_recovering() -> None:
    state = slowed_down(SendRateState(), 20.0, 1.0, T0)
    assert current_rate(state, 4.0, T0 + micros(60)) == 4.0


def test_a_job_costs_at_least_one_message() -> None:
    with pytest.raises(ValueError, match="at least one"):
        reserve(SendRateState(), 10.0, 0, T0)
