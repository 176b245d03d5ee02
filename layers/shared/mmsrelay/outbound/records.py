"""The outbound queue's records: each parsed, deduplicated and sent, concurrently, failing alone.

Records are independent, so they are sent at the same time (bounded by a thread pool) and a
slow gateway costs a batch about one send's time, not ten. A record fails alone: a transient
error returns it to the queue (``ReportBatchItemFailures``) after a back-off (the gateway's
``Retry-After`` when it gave one, else a delay doubling with each delivery), and after the
queue's ``maxReceiveCount`` deliveries it moves to the dead-letter queue; a permanent error is
recorded and the record succeeds, so it is not retried forever.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypedDict

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from mmsrelay.domain.errors import TransientError
from mmsrelay.observability import COUNT, MetricsSink
from mmsrelay.outbound.job import InvalidJob, OutboundJob, derived_message_id, message_id_of, parse_job
from mmsrelay.outbound.send import Sender

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 900


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class PartialBatchResponse(TypedDict):
    """The answer SQS reads with ``ReportBatchItemFailures``: the records to deliver again."""

    batchItemFailures: list[BatchItemFailure]


@dataclass(frozen=True)
class QueueRecord:
    """What the relay reads of an SQS record."""

    message_id: str
    body: str
    receipt_handle: str
    receive_count: int

    @classmethod
    def from_event(cls, record: Mapping[str, Any]) -> QueueRecord:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=str(record["messageId"]),
            body=str(record.get("body", "")),
            receipt_handle=str(record.get("receiptHandle", "")),
            receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
        )


def process_batch(
    event: Mapping[str, Any], handle: Callable[[QueueRecord], object], max_workers: int
) -> PartialBatchResponse:
    """Handles every record concurrently (bounded); a record that raises is reported as failed.

    The contract of Powertools' ``BatchProcessor`` with ``process_partial_response``, without
    its import of every event type and of asyncio (about 16 ms of the outbound cold start, whose
    budget is 40% over its floor; docs/decisions.md). The media retry worker, with no such
    budget, uses Powertools' processor.
    """
    records = [QueueRecord.from_event(record) for record in event.get("Records", [])]

    def run(record: QueueRecord) -> str | None:
        try:
            handle(record)
        except TransientError as error:
            logger.warning(
                "record failed, SQS will deliver it again",
                extra={"sqs_message_id": record.message_id, "error_type": type(error).__name__},
            )
            return record.message_id
        except Exception:
            logger.exception("record failed unexpectedly", extra={"sqs_message_id": record.message_id})
            return record.message_id
        return None

    workers = max(1, min(max_workers, len(records)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send") as pool:
        failed = [message_id for message_id in pool.map(run, records) if message_id is not None]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def backoff_seconds(receive_count: int, base_seconds: int) -> int:
    """Delay before the next delivery of a record delivered ``receive_count`` times: base, doubling."""
    delay: int = base_seconds * 2 ** max(0, receive_count - 1)
    return min(MAX_BACKOFF_SECONDS, delay)


class JobSender(Protocol):
    def __call__(self, job: OutboundJob, message_id: str, body_hash: str, send: Sender) -> dict[str, Any]: ...


class InvalidJobs(Protocol):
    """Where an unreadable job is kept (``mmsrelay.storage.outbound.OutboundRepository``)."""

    def record_invalid(self, message_id: str, raw_body: str, errors: Sequence[str], at: datetime) -> None: ...


class Visibility(Protocol):
    """Delays a record's next delivery (``mmsrelay.queues.visibility.QueueVisibility``)."""

    base_delay_seconds: int

    def delay(self, receipt_handle: str, seconds: float) -> None: ...


class OutboundRecords:
    def __init__(
        self,
        jobs: JobSender,
        repository: InvalidJobs,
        visibility: Visibility,
        metrics: MetricsSink,
        clock: Callable[[], datetime],
    ) -> None:
        self._jobs = jobs
        self._repository = repository
        self._visibility = visibility
        self._metrics = metrics
        self._clock = clock

    def handle(self, record: QueueRecord, send: Sender) -> str:
        """Sends one record's job; raises only for what SQS should retry."""
        body = record.body
        try:
            job = parse_job(body)
        except InvalidJob as invalid:
            message_id = derived_message_id(body, prefix="invalid")
            self._repository.record_invalid(message_id, body, invalid.errors, self._clock())
            self._metrics.add_metric(name="SendFailedPermanent", unit=COUNT, value=1)
            logger.error("outbound job rejected", extra={"message_id": message_id, "errors": invalid.errors})
            return "invalid"
        message_id = message_id_of(job, body)
        body_hash = hashlib.sha256(derived_message_id(body).encode()).hexdigest()
        try:
            outcome = self._jobs(job, message_id, body_hash, send)
        except IdempotencyValidationError:
            self._metrics.add_metric(name="SendFailedPermanent", unit=COUNT, value=1)
            logger.error("messageId reused for a different message", extra={"message_id": message_id})
            return "message_id_reused"
        except IdempotencyAlreadyInProgressError:
            # Another delivery of the same job (often in this very batch) is sending it: look again
            # after the back-off, when its record says how it ended, not after the queue's visibility
            # timeout (six function timeouts).
            logger.info("job already in progress elsewhere", extra={"message_id": message_id})
            self._visibility.delay(
                record.receipt_handle, backoff_seconds(record.receive_count, self._visibility.base_delay_seconds)
            )
            raise
        except TransientError as error:
            retry_after = getattr(error, "retry_after", None)
            if not retry_after:
                retry_after = backoff_seconds(record.receive_count, self._visibility.base_delay_seconds)
            self._visibility.delay(record.receipt_handle, retry_after)
            raise
        return str(outcome.get("status", "done"))
