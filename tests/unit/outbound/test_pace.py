"""Where a job waits for its send slot: in the invocation when it is near, in the queue when it is not."""

from __future__ import annotations

import pytest

from mmsrelay.domain.send_rate import MICROS, Slot, micros
from mmsrelay.outbound.pace import MAX_SLEEP_SECONDS, SendDeferred, SendPace, SendRatePlan, sending_code
from tests.unit.outbound.fakes import InMemorySendRates, ManualClock, paced

CODE = "12223334444"


def now_us(clock: ManualClock) -> int:
    return micros(clock().timestamp())


def test_a_slot_due_soon_is_waited_for_in_the_invocation_exactly() -> None:
    # Given a code at 5 per second and a job that already took the current slot
    pace, _, clock = paced(rate=5.0)
    pace.wait_for(pace.slot_for(CODE, 1, None))
    # When the next job asks at the same moment
    slot = pace.slot_for(CODE, 1, None)
    pace.wait_for(slot)
    # Then it sleeps 200 ms, no more, before it may be sent
    assert clock.slept == [pytest.approx(0.2)]
    assert now_us(clock) == slot.at_us


def test_a_slot_further_than_a_sleep_is_waited_for_in_the_queue_holding_the_slot() -> None:
    # Given a code at 1 per second with a group of five just sent ahead of this job
    pace, _, clock = paced(rate=1.0)
    pace.slot_for(CODE, 5, None)
    # When this job asks for its slot (5 s away)
    with pytest.raises(SendDeferred) as deferred:
        pace.slot_for(CODE, 1, None)
    # Then it goes back to the queue with its slot, to return at most a sleep before the slot
    slot = deferred.value.slot
    assert slot.at_us - now_us(clock) == 5 * MICROS
    back = now_us(clock) + deferred.value.retry_after * MICROS
    assert 0 < slot.at_us - back <= MAX_SLEEP_SECONDS * MICROS
    assert deferred.value.code == "send_rate"
    # And nothing slept in the invocation
    assert clock.slept == []


def test_a_job_back_from_the_queue_is_sent_at_the_slot_it_holds_without_taking_another() -> None:
    # Given a job that was deferred holding its slot
    pace, rates, clock = paced(rate=1.0)
    pace.slot_for(CODE, 5, None)
    with pytest.raises(SendDeferred) as deferred:
        pace.slot_for(CODE, 1, None)
    reserved = len(rates.reserved)
    # When it comes back after the delay it was given
    clock.advance(deferred.value.retry_after)
    slot = pace.slot_for(CODE, 1, deferred.value.slot)
    pace.wait_for(slot)
    # Then it waits for the rest of its own slot and takes no new one
    assert slot == deferred.value.slot
    assert len(rates.reserved) == reserved
    assert now_us(clock) == slot.at_us
    assert len(clock.slept) == 1
    assert clock.slept[0] <= MAX_SLEEP_SECONDS


def test_a_held_slot_granted_before_the_code_slowed_down_is_replaced_at_the_slower_rate() -> None:
    # Given a job holding a slot of the schedule's first version
    pace, rates, clock = paced(rate=10.0)
    held = pace.slot_for(CODE, 1, None)
    # When the code slows down (a 429 for another job) before the job comes back
    pace.throttled(CODE, 1, 5.0)
    clock.advance(0.5)
    with pytest.raises(SendDeferred) as deferred:
        pace.slot_for(CODE, 1, held)
    # Then it takes a new slot of the new version, after the pause and the throttled job's slot
    assert deferred.value.slot.version == held.version + 1
    assert deferred.value.slot.at_us > now_us(clock) + MAX_SLEEP_SECONDS * MICROS
    assert rates.slowed == [(CODE, 5.0)]


def test_a_429_slows_the_code_and_defers_the_job_past_the_pause() -> None:
    # Given a code at 20 per second
    pace, rates, clock = paced(rate=20.0)
    # When the gateway answers 429 with Retry-After: 4
    deferred = pace.throttled(CODE, 1, 4.0)
    # Then the code is slowed down and the job holds a slot after the pause
    assert rates.slowed == [(CODE, 4.0)]
    assert deferred.slot.at_us == now_us(clock) + 4 * MICROS
    assert deferred.retry_after == 2  # back 2 s before the slot, the rest slept
    assert rates.states[CODE].reduced_rate == 10.0


def test_each_code_keeps_its_own_schedule_at_its_own_rate() -> None:
    # Given two codes, one overridden to 2 per second, the other at the default 50
    clock = ManualClock()
    rates = InMemorySendRates()
    pace = SendPace(rates, SendRatePlan(50.0, {"55555": 2.0}), clock, clock.sleep)
    # When each gets three jobs at once
    slow = [pace.slot_for("55555", 1, None) for _ in range(3)]
    fast = [pace.slot_for(CODE, 1, None) for _ in range(3)]
    # Then each is spaced by its own rate
    start = now_us(clock)
    assert [slot.at_us - start for slot in slow] == [0, 500_000, 1_000_000]
    assert [slot.at_us - start for slot in fast] == [0, 20_000, 40_000]


def test_the_schedule_key_is_the_senders_digits() -> None:
    assert sending_code("+12223334444") == "12223334444"
    assert sending_code("55555") == "55555"


def test_a_slot_already_due_is_not_slept_for() -> None:
    pace, _, clock = paced(rate=5.0)
    clock.advance(3)
    pace.wait_for(Slot(now_us(clock) - 1, 0))
    assert clock.slept == []
