"""A sending code's pace: a schedule of send slots, slowed by the gateway's 429 and recovering by itself.

Times are microseconds since the epoch (integers: the schedule is added to thousands of times and
must not drift), rates are messages per second.

**Slots** (the generic cell rate algorithm, without a burst): the state holds ``next_at_us``, the
earliest moment the next message may go. A job of cost ``n`` (its recipients: a group MMS is ``n``
messages to the carrier) takes the slot ``max(now, next_at, paused_until)`` and moves ``next_at``
to the slot plus ``n / rate``. Slots are handed out in order, spaced exactly ``1 / rate`` apart
however many invocations ask at once, and a job told to wait knows the moment its slot is due.

**Back-off** (multiplicative decrease): a 429 halves the code's current rate (never below
``MIN_RATE_SHARE`` of the configured one) and pauses the code until ``Retry-After`` has passed
(``DEFAULT_PAUSE_SECONDS`` when the gateway gave none). A 429 that arrives while the code is
paused answers a send made before the pause began: it extends the pause but does not halve again.
Every slow-down bumps ``version``, so a job holding a slot granted before it can tell.

**Recovery** (additive increase): from the end of the pause the rate grows by ``RECOVERY_SHARE``
of the configured rate every ``RECOVERY_INTERVAL_SECONDS`` until it is the configured rate again.
Nothing is written for it: the rate is a function of the state and the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final

MICROS: Final = 1_000_000
MIN_RATE_SHARE: Final = 1 / 16
RECOVERY_SHARE: Final = 0.1
RECOVERY_INTERVAL_SECONDS: Final = 5.0
DEFAULT_PAUSE_SECONDS: Final = 1.0
MAX_PAUSE_SECONDS: Final = 900.0


@dataclass(frozen=True)
class SendRateState:
    """One sending code's schedule and back-off, as stored (every field empty for a code never used)."""

    next_at_us: int | None = None
    version: int = 0
    reduced_rate: float | None = None
    reduced_at_us: int | None = None
    paused_until_us: int | None = None


@dataclass(frozen=True)
class Slot:
    """When a job may be sent, and the ``version`` of the schedule that granted it."""

    at_us: int
    version: int


def micros(seconds: float) -> int:
    return round(seconds * MICROS)


def current_rate(state: SendRateState, configured: float, now_us: int) -> float:
    """The code's rate at ``now_us``: the configured one, or a reduced one on its way back up."""
    if state.reduced_rate is None:
        return configured
    since = state.paused_until_us if state.paused_until_us is not None else state.reduced_at_us
    steps = 0 if since is None or now_us <= since else math.floor((now_us - since) / micros(RECOVERY_INTERVAL_SECONDS))
    return min(configured, state.reduced_rate + steps * RECOVERY_SHARE * configured)


def spacing_us(state: SendRateState, configured: float, cost: int, now_us: int) -> int:
    """How long a job of ``cost`` messages holds the schedule: ``cost / rate``, rounded up (never faster)."""
    return math.ceil(cost * MICROS / current_rate(state, configured, now_us))


def earliest_us(state: SendRateState, now_us: int) -> int:
    """The first moment a slot may start: now, unless the schedule or a pause is ahead of it."""
    return max(now_us, state.next_at_us or now_us, state.paused_until_us or now_us)


def reserve(state: SendRateState, configured: float, cost: int, now_us: int) -> tuple[Slot, SendRateState]:
    """The next slot for a job of ``cost`` messages, and the schedule after it."""
    if cost < 1:
        raise ValueError("a job costs at least one message")
    start = earliest_us(state, now_us)
    return Slot(start, state.version), replace(state, next_at_us=start + spacing_us(state, configured, cost, now_us))


def slowed_down(state: SendRateState, configured: float, pause_seconds: float | None, now_us: int) -> SendRateState:
    """The state after the gateway answered 429 at ``now_us`` (``pause_seconds``: its Retry-After)."""
    pause = DEFAULT_PAUSE_SECONDS if pause_seconds is None or pause_seconds <= 0 else pause_seconds
    until = now_us + micros(min(MAX_PAUSE_SECONDS, pause))
    if state.paused_until_us is not None and now_us < state.paused_until_us:
        # The answer to a send made before this pause began: it was halved for already.
        return replace(state, paused_until_us=max(state.paused_until_us, until), version=state.version + 1)
    halved = max(configured * MIN_RATE_SHARE, current_rate(state, configured, now_us) / 2)
    return replace(state, reduced_rate=halved, reduced_at_us=now_us, paused_until_us=until, version=state.version + 1)
