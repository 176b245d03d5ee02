"""Use case: send one outbound job through the gateway at its code's pace, and record what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol

from mmsrelay.domain.errors import GatewayThrottled, PermanentError, PermanentSendError, TransientError
from mmsrelay.domain.outbound import OutboundAttachment, OutboundMessage, SendResult, TakenJob, Transport
from mmsrelay.domain.phone import InvalidPhoneNumber, mask, to_e164
from mmsrelay.domain.send_rate import MICROS, Slot
from mmsrelay.observability import COUNT, MetricsSink
from mmsrelay.outbound.job import OutboundJob
from mmsrelay.outbound.pace import SendDeferred, SendPace, sending_code
from mmsrelay.outbound.transport import choose_transport

logger = logging.getLogger(__name__)

# Sends a message over a transport (the batch's HTTPS client or MM4 session).
Sender = Callable[[Transport, OutboundMessage], SendResult]


class JobRecords(Protocol):
    """The repository's job methods (``mmsrelay.storage.outbound.OutboundRepository``)."""

    def job_queued(self, message_id: str, request: Mapping[str, Any], transport: str, at: datetime) -> TakenJob:
        """Marks the job taken from the queue, unless it was sent already; what its record held."""
        ...

    def job_waiting(self, message_id: str, slot: Slot, at: datetime) -> None:
        """The job goes back to the queue to wait for ``slot``, which it keeps."""

    def job_sending(self, message_id: str, at: datetime) -> None: ...

    def job_will_retry(
        self, message_id: str, code: str, detail: str, at: datetime, holding: Slot | None = None
    ) -> None:
        """A transient failure: back to the queue, the error kept (and ``holding``, a slot it keeps)."""

    def job_failed(self, message_id: str, code: str, detail: str, at: datetime) -> None: ...

    def job_sent(self, message: OutboundMessage, result: SendResult, at: datetime) -> None: ...


class MediaPreparer(Protocol):
    """``mmsrelay.outbound.media.OutboundMedia``."""

    def for_https(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]: ...

    def for_mm4(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]: ...


class Outcome(Protocol):
    def __call__(self, job: OutboundJob, message_id: str, send: Sender) -> dict[str, Any]: ...


# Sends counted per transport too (the dashboard's "sends by transport").
SENT_OVER_METRICS: Final[Mapping[Transport, str]] = {"https": "MessagesSentOverHttps", "mm4": "MessagesSentOverMm4"}


class SendOutboundJob:
    """queued -> sending -> sent, or failed; a transient failure goes back to the queue (raised).

    The job is sent at its slot in its sending code's schedule (``SendPace``): a slot due soon is
    waited for here, a later one in the queue (``SendDeferred`` raised, the slot kept on the job).
    """

    def __init__(
        self,
        repository: JobRecords,
        media: MediaPreparer,
        pace: SendPace,
        metrics: MetricsSink,
        default_country_code: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._repository = repository
        self._media = media
        self._pace = pace
        self._metrics = metrics
        self._country_code = default_country_code
        self._clock = clock

    def __call__(self, job: OutboundJob, message_id: str, send: Sender) -> dict[str, Any]:
        log = {"message_id": message_id, "recipients": len(job.to), "attachments": len(job.media)}
        taken = self._repository.job_queued(message_id, job.request(), job.transport, self._clock())
        if taken.sent is not None:
            # Sent and recorded, but the delivery was not completed (the process died after the
            # record): the gateway has it, so it is not sent again. The window for a duplicate
            # ends at the record (docs/architecture.md).
            logger.warning("job already sent, not sent again", extra={**log, "transport": taken.sent.transport})
            return _sent_outcome(taken.sent)
        code = ""
        try:
            transport = choose_transport(job)
            sender = self._number(job.sender, "from")
            recipients = tuple(self._number(number, f"to[{n}]") for n, number in enumerate(job.to))
            code = sending_code(sender)
            slot = self._pace.slot_for(code, len(recipients), taken.held_slot)
            message = OutboundMessage(
                message_id=message_id,
                sender=sender,
                recipients=recipients,
                text=job.text,
                subject=job.subject,
                attachments=self._attachments(job, message_id, transport),
                delivery_report=job.delivery_report,
            )
            self._repository.job_sending(message_id, self._clock())
            self._pace.wait_for(slot)
            result = send(transport, message)
        except SendDeferred as deferred:
            self._wait_in_queue(message_id, deferred, log)
            raise
        except PermanentError as error:
            self._repository.job_failed(message_id, error.code, str(error), self._clock())
            self._metrics.add_metric(name="SendFailedPermanent", unit=COUNT, value=1)
            logger.error("outbound message failed", extra={**log, "code": error.code})
            return {"status": "failed", "code": error.code}
        except TransientError as error:
            # After a 429 the job waits in the queue for a slot past the pause: one write says both.
            after_pause = (
                self._pace.throttled(code, len(job.to), error.retry_after)
                if isinstance(error, GatewayThrottled) and code
                else None
            )
            holding = None if after_pause is None else after_pause.slot
            self._repository.job_will_retry(message_id, error.code, str(error), self._clock(), holding)
            self._metrics.add_metric(name="SendFailedTransient", unit=COUNT, value=1)
            logger.warning("outbound message will be retried", extra={**log, "code": error.code})
            if after_pause is not None:
                self._metrics.add_metric(name="SendsDeferred", unit=COUNT, value=1)
                raise after_pause from error
            raise
        self._metrics.add_metric(name="MessagesSent", unit=COUNT, value=1)
        self._metrics.add_metric(name=SENT_OVER_METRICS[transport], unit=COUNT, value=1)
        summary = [
            {"to": mask(r.recipient), "transactionGUID": r.transaction_guid, "refused": r.refused}
            for r in result.recipients
        ]
        logger.info("outbound message sent", extra={**log, "transport": transport, "results": summary})
        self._record_sent(message, result)
        return _sent_outcome(result)

    def _wait_in_queue(self, message_id: str, deferred: SendDeferred, log: Mapping[str, Any]) -> None:
        self._repository.job_waiting(message_id, deferred.slot, self._clock())
        self._metrics.add_metric(name="SendsDeferred", unit=COUNT, value=1)
        wait = deferred.slot.at_us / MICROS - self._clock().timestamp()
        logger.info("outbound message waits for its send slot", extra={**log, "wait_seconds": round(wait, 3)})

    def _record_sent(self, message: OutboundMessage, result: SendResult) -> None:
        # The gateway has the message: failing now would make SQS resend it. A write that fails
        # here is logged with the GUIDs for reconciliation, and the job still counts as sent.
        try:
            self._repository.job_sent(message, result, self._clock())
        except TransientError as error:
            self._metrics.add_metric(name="SentRecordFailed", unit=COUNT, value=1)
            guids = [r.transaction_guid for r in result.recipients]
            logger.error(
                "sent, but recording it failed",
                extra={
                    "message_id": message.message_id,
                    "transaction_guids": guids,
                    "code": error.code,
                },
            )

    def _attachments(self, job: OutboundJob, message_id: str, transport: Transport) -> tuple[OutboundAttachment, ...]:
        if transport == "https":
            return self._media.for_https(job, message_id)
        return self._media.for_mm4(job, message_id)

    def _number(self, raw: str, field: str) -> str:
        try:
            return to_e164(raw, self._country_code)
        except InvalidPhoneNumber as error:
            raise PermanentSendError("invalid_number", f"{field}: {error}") from None


def _sent_outcome(result: SendResult) -> dict[str, Any]:
    """What the idempotency record keeps of a send (and a repeat of the job returns)."""
    return {
        "status": "sent",
        "transport": result.transport,
        "recipients": [
            {"transactionGUID": r.transaction_guid, "refused": r.refused, "code": r.code} for r in result.recipients
        ],
    }
