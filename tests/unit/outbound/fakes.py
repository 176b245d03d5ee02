"""In-memory stand-ins for the outbound use case's ports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mmsrelay.domain.errors import MmsRelayError
from mmsrelay.domain.outbound import (
    OutboundAttachment,
    OutboundMessage,
    RecipientResult,
    SendResult,
    TakenJob,
    Transport,
)
from mmsrelay.domain.send_rate import SendRateState, Slot, reserve, slowed_down
from mmsrelay.outbound.job import OutboundJob
from mmsrelay.outbound.pace import SendPace, SendRatePlan


@dataclass
class FakeJobRecords:
    """Keeps each job's status history, like the MSG# item would."""

    statuses: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    sent: dict[str, SendResult] = field(default_factory=dict)
    requests: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    held: dict[str, Slot] = field(default_factory=dict)
    fail_sent_write: MmsRelayError | None = None

    def job_queued(self, message_id: str, request: Mapping[str, Any], transport: str, at: datetime) -> TakenJob:
        if self.statuses.get(message_id, [""])[-1] == "sent":
            return TakenJob(sent=self.sent[message_id])
        self.requests[message_id] = request
        self.statuses.setdefault(message_id, []).append("queued")
        return TakenJob(held_slot=self.held.pop(message_id, None))

    def job_waiting(self, message_id: str, slot: Slot, at: datetime) -> None:
        self.held[message_id] = slot

    def job_sending(self, message_id: str, at: datetime) -> None:
        self.statuses[message_id].append("sending")

    def job_will_retry(
        self, message_id: str, code: str, detail: str, at: datetime, holding: Slot | None = None
    ) -> None:
        self.statuses[message_id].append("queued")
        self.errors[message_id] = (code, detail)
        if holding is not None:
            self.held[message_id] = holding

    def job_failed(self, message_id: str, code: str, detail: str, at: datetime) -> None:
        self.statuses[message_id].append("failed")
        self.errors[message_id] = (code, detail)

    def job_sent(self, message: OutboundMessage, result: SendResult, at: datetime) -> None:
        if self.fail_sent_write is not None:
            raise self.fail_sent_write
        self.statuses[message.message_id].append("sent")
        self.sent[message.message_id] = result


@dataclass
class FakeMedia:
    error: MmsRelayError | None = None
    prepared: list[str] = field(default_factory=list)

    def for_https(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]:
        self.prepared.append(message_id)
        if self.error is not None:
            raise self.error
        return tuple(
            OutboundAttachment("image/png", "0.png", url=f"https://relay.example/m/{n}")
            for n, _ in enumerate(job.media)
        )

    def for_mm4(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]:
        self.prepared.append(message_id)
        if self.error is not None:
            raise self.error
        return tuple(OutboundAttachment("image/png", f"{n}.png", data=b"\x89PNG") for n, _ in enumerate(job.media))


@dataclass
class FakeGateway:
    """Accepts every recipient with a GUID, or raises the error given for the next sends."""

    sent: list[tuple[Transport, OutboundMessage]] = field(default_factory=list)
    error: MmsRelayError | None = None
    refused: set[str] = field(default_factory=set)

    def __call__(self, transport: Transport, message: OutboundMessage) -> SendResult:
        if self.error is not None:
            raise self.error
        self.sent.append((transport, message))
        return SendResult(
            transport,
            tuple(
                RecipientResult(number, None, refused=True, code="smtp_550")
                if number in self.refused
                else RecipientResult(number, f"00000000-0000-4000-8000-{index:012d}")
                for index, number in enumerate(message.recipients)
            ),
        )


class ManualClock:
    """A clock that moves only when told to (or when the code under test sleeps on it)."""

    def __init__(self, start: datetime = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


@dataclass
class InMemorySendRates:
    """The shared schedules of ``SendRates``, in memory, with the domain's arithmetic."""

    states: dict[str, SendRateState] = field(default_factory=dict)
    reserved: list[tuple[str, int]] = field(default_factory=list)
    slowed: list[tuple[str, float | None]] = field(default_factory=list)

    def seen_version(self, code: str) -> int | None:
        state = self.states.get(code)
        return None if state is None else state.version

    def reserve(self, code: str, rate: float, cost: int, now_us: int) -> Slot:
        slot, self.states[code] = reserve(self.states.get(code, SendRateState()), rate, cost, now_us)
        self.reserved.append((code, cost))
        return slot

    def slow_down(self, code: str, rate: float, pause_seconds: float | None, now_us: int) -> None:
        self.states[code] = slowed_down(self.states.get(code, SendRateState()), rate, pause_seconds, now_us)
        self.slowed.append((code, pause_seconds))


def paced(rate: float = 1000.0, clock: ManualClock | None = None) -> tuple[SendPace, InMemorySendRates, ManualClock]:
    """A pace for every code at ``rate`` over in-memory schedules and a manual clock."""
    clock = clock or ManualClock()
    rates = InMemorySendRates()
    return SendPace(rates, SendRatePlan(rate, {}), clock, clock.sleep), rates, clock
