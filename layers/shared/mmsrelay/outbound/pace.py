"""Pacing sends per sending code: each job is sent at its slot in its code's schedule.

The schedule (``mmsrelay.domain.send_rate``) lives in the table, shared by every invocation
(``mmsrelay.storage.send_rates``); the rate each code is configured for comes from the function's
settings. Where a job waits for its slot:

- **Due within** ``MAX_SLEEP_SECONDS``: in the invocation. The job's media is prepared, then its
  thread sleeps until the slot, then it is sent.
- **Further away**: in the queue. The job keeps its slot (on its ``MSG#`` item) and its message
  comes back at most ``MAX_SLEEP_SECONDS`` before the slot is due, then sleeps the rest. One wait
  costs one delivery however long the code's backlog is, so waiting never walks a healthy job
  towards the dead-letter queue (docs/decisions.md, "Waiting for a send slot").
- **A held slot** is used as it is, unless this environment has seen the code slow down since it
  was granted: then the job takes a new slot at the slower rate.

A gateway 429 slows the code down (``throttled``): the job that met it takes a new slot after the
pause and waits for it in the queue.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from mmsrelay.domain.errors import TransientError
from mmsrelay.domain.send_rate import MICROS, Slot, micros

# The longest wait spent in the invocation; longer ones are spent in the queue.
MAX_SLEEP_SECONDS: Final = 2.0


class SendRates(Protocol):
    """The code's shared schedule (``mmsrelay.storage.send_rates.SendRateRepository``)."""

    def seen_version(self, code: str) -> int | None: ...

    def reserve(self, code: str, rate: float, cost: int, now_us: int) -> Slot: ...

    def slow_down(self, code: str, rate: float, pause_seconds: float | None, now_us: int) -> None: ...


@dataclass(frozen=True)
class SendRatePlan:
    """Configured messages per second: ``default`` for every code, ``overrides`` by code (its digits)."""

    default: float
    overrides: Mapping[str, float]

    def rate_of(self, code: str) -> float:
        return self.overrides.get(code, self.default)


class SendDeferred(TransientError):
    """The job's slot is too far away to sleep for: it waits in the queue, holding ``slot``.

    ``retry_after``: seconds until the message should be delivered again (whole, at least one).
    """

    default_code = "send_rate"

    def __init__(self, slot: Slot, retry_after: int) -> None:
        super().__init__(f"send slot in about {retry_after} s")
        self.slot = slot
        self.retry_after = retry_after


def sending_code(sender: str) -> str:
    """The schedule's key for a sender: its digits, as the gateway's ``source`` field carries them."""
    return sender.removeprefix("+")


class SendPace:
    def __init__(
        self,
        rates: SendRates,
        plan: SendRatePlan,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self._rates = rates
        self._plan = plan
        self._clock = clock
        self._sleep = sleep

    def slot_for(self, code: str, cost: int, held: Slot | None) -> Slot:
        """The slot a job of ``cost`` messages is sent at: the one it holds, else a new one.

        Raises ``SendDeferred`` when the slot is more than ``MAX_SLEEP_SECONDS`` away.
        """
        now_us = self._now_us()
        if held is not None and self._slowed_since(code, held):
            held = None
        slot = held if held is not None else self._rates.reserve(code, self._plan.rate_of(code), cost, now_us)
        wait = (slot.at_us - now_us) / MICROS
        if wait > MAX_SLEEP_SECONDS:
            raise SendDeferred(slot, _queue_delay(wait))
        return slot

    def wait_for(self, slot: Slot) -> None:
        """Returns when ``slot`` is due (sleeping until then)."""
        remaining = (slot.at_us - self._now_us()) / MICROS
        if remaining > 0:
            self._sleep(remaining)

    def throttled(self, code: str, cost: int, retry_after: float | None) -> SendDeferred:
        """Slows ``code`` down after the gateway's 429; the deferral holding the job's new slot."""
        now_us = self._now_us()
        rate = self._plan.rate_of(code)
        self._rates.slow_down(code, rate, retry_after, now_us)
        slot = self._rates.reserve(code, rate, cost, now_us)
        return SendDeferred(slot, _queue_delay((slot.at_us - now_us) / MICROS))

    def _slowed_since(self, code: str, held: Slot) -> bool:
        seen = self._rates.seen_version(code)
        return seen is not None and seen > held.version

    def _now_us(self) -> int:
        return micros(self._clock().timestamp())


def _queue_delay(wait_seconds: float) -> int:
    """Whole seconds in the queue that bring the job back at most ``MAX_SLEEP_SECONDS`` before its slot."""
    return max(1, math.ceil(wait_seconds - MAX_SLEEP_SECONDS))
