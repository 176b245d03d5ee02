"""Use case: send one outbound job through the gateway, and record what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol

from mmsrelay.domain.errors import PermanentError, PermanentSendError, TransientError
from mmsrelay.domain.outbound import OutboundAttachment, OutboundMessage, SendResult, Transport
from mmsrelay.domain.phone import InvalidPhoneNumber, mask, to_e164
from mmsrelay.observability import COUNT, MetricsSink
from mmsrelay.outbound.job import OutboundJob
from mmsrelay.outbound.transport import choose_transport

logger = logging.getLogger(__name__)

# Sends a message over a transport (the batch's HTTPS client or MM4 session).
Sender = Callable[[Transport, OutboundMessage], SendResult]


class JobRecords(Protocol):
    """The repository's job methods (``mmsrelay.storage.outbound.OutboundRepository``)."""

    def job_queued(
        self, message_id: str, request: Mapping[str, Any], transport: str, at: datetime
    ) -> SendResult | None:
        """Marks the job queued for an attempt (None), unless it was sent already: then the recorded send."""
        ...

    def job_sending(self, message_id: str, at: datetime) -> None: ...

    def job_will_retry(self, message_id: str, code: str, detail: str, at: datetime) -> None: ...

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
    """queued -> sending -> sent, or failed; a transient failure goes back to the queue (raised)."""

    def __init__(
        self,
        repository: JobRecords,
        media: MediaPreparer,
        metrics: MetricsSink,
        default_country_code: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._repository = repository
        self._media = media
        self._metrics = metrics
        self._country_code = default_country_code
        self._clock = clock

    def __call__(self, job: OutboundJob, message_id: str, send: Sender) -> dict[str, Any]:
        log = {"message_id": message_id, "recipients": len(job.to), "attachments": len(job.media)}
        recorded = self._repository.job_queued(
            message_id, job.model_dump(by_alias=True, exclude_none=True), job.transport, self._clock()
        )
        if recorded is not None:
            # Sent and recorded, but the delivery was not completed (the process died after the
            # record): the gateway has it, so it is not sent again. The window for a duplicate
            # ends at the record (docs/architecture.md).
            logger.warning("job already sent, not sent again", extra={**log, "transport": recorded.transport})
            return _sent_outcome(recorded)
        try:
            transport = choose_transport(job)
            message = OutboundMessage(
                message_id=message_id,
                sender=self._number(job.sender, "from"),
                recipients=tuple(self._number(number, f"to[{n}]") for n, number in enumerate(job.to)),
                text=job.text,
                subject=job.subject,
                attachments=self._attachments(job, message_id, transport),
                delivery_report=job.delivery_report,
            )
            self._repository.job_sending(message_id, self._clock())
            result = send(transport, message)
        except PermanentError as error:
            code = error.code
            self._repository.job_failed(message_id, code, str(error), self._clock())
            self._metrics.add_metric(name="SendFailedPermanent", unit=COUNT, value=1)
            logger.error("outbound message failed", extra={**log, "code": code})
            return {"status": "failed", "code": code}
        except TransientError as error:
            code = error.code
            self._repository.job_will_retry(message_id, code, str(error), self._clock())
            self._metrics.add_metric(name="SendFailedTransient", unit=COUNT, value=1)
            logger.warning("outbound message will be retried", extra={**log, "code": code})
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
