"""In-memory stand-ins for the outbound use case's ports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mmsrelay.domain.errors import MmsRelayError
from mmsrelay.domain.outbound import (
    OutboundAttachment,
    OutboundMessage,
    RecipientResult,
    SendResult,
    Transport,
)
from mmsrelay.outbound.job import OutboundJob


@dataclass
class FakeJobRecords:
    """Keeps each job's status history, like the MSG# item would."""

    statuses: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    sent: dict[str, SendResult] = field(default_factory=dict)
    requests: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    fail_sent_write: MmsRelayError | None = None

    def job_queued(
        self, message_id: str, request: Mapping[str, Any], transport: str, at: datetime
    ) -> SendResult | None:
        if self.statuses.get(message_id, [""])[-1] == "sent":
            return self.sent[message_id]
        self.requests[message_id] = request
        self.statuses.setdefault(message_id, []).append("queued")
        return None

    def job_sending(self, message_id: str, at: datetime) -> None:
        self.statuses[message_id].append("sending")

    def job_will_retry(self, message_id: str, code: str, detail: str, at: datetime) -> None:
        self.statuses[message_id].append("queued")
        self.errors[message_id] = (code, detail)

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

    def for_https(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]:
        if self.error is not None:
            raise self.error
        return tuple(
            OutboundAttachment("image/png", "0.png", url=f"https://relay.example/m/{n}")
            for n, _ in enumerate(job.media)
        )

    def for_mm4(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]:
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
