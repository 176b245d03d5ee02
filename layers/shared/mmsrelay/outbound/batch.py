"""An SQS batch of outbound jobs: each record parsed, deduplicated and sent, concurrently.

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
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.domain.errors import TransientError
from mmsrelay.domain.outbound import OutboundMessage, SendResult, Transport
from mmsrelay.observability import COUNT, MetricsSink
from mmsrelay.outbound.job import InvalidJob, OutboundJob, derived_message_id, message_id_of, parse_job
from mmsrelay.outbound.send import Outcome, Sender
from mmsrelay.storage.outbound import OutboundRepository

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit
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


class QueueVisibility:
    """Delays a failed record's next delivery (the queue's visibility timeout would be minutes)."""

    def __init__(self, client: Callable[[], SQSClient], queue_url: str, base_delay_seconds: int) -> None:
        self._client = client
        self._queue_url = queue_url
        self.base_delay_seconds = base_delay_seconds

    def delay(self, receipt_handle: str, seconds: float) -> None:
        try:
            self._client().change_message_visibility(
                QueueUrl=self._queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(1, min(MAX_VISIBILITY_SECONDS, round(seconds))),
            )
        except (ClientError, BotoCoreError) as error:  # the record fails anyway; SQS's own delay applies
            logger.warning("could not delay the record", extra={"error_type": type(error).__name__})


class IdempotentJobs:
    """The send use case behind Powertools idempotency, keyed by ``messageId``.

    A job redelivered by SQS, or put twice with one ``messageId``, reaches the gateway at most
    once: the first run leaves a record (in progress, then completed with its outcome) in the
    idempotency table; a repeat returns that outcome. A ``messageId`` reused for a different body
    is refused (the body's hash is validated). If the function crashes after the gateway accepted
    a message but before the completed record is written, the in-progress record expires with
    the invocation and a redelivery sends again: the one window for a duplicate
    (docs/architecture.md).
    """

    def __init__(self, use_case: Outcome, persistence: BasePersistenceLayer, config: IdempotencyConfig) -> None:
        self._use_case = use_case
        self._run: Callable[..., dict[str, Any]] = idempotent_function(
            data_keyword_argument="key", persistence_store=persistence, config=config
        )(self._send)

    def __call__(self, job: OutboundJob, message_id: str, body_hash: str, send: Sender) -> dict[str, Any]:
        return self._run(key={"messageId": message_id, "bodyHash": body_hash}, job=job, send=send)

    def _send(self, *, key: dict[str, str], job: OutboundJob, send: Sender) -> dict[str, Any]:
        return self._use_case(job, key["messageId"], send)


class JobSender(Protocol):
    def __call__(self, job: OutboundJob, message_id: str, body_hash: str, send: Sender) -> dict[str, Any]: ...


class OutboundRecords:
    def __init__(
        self,
        jobs: JobSender,
        repository: OutboundRepository,
        visibility: QueueVisibility,
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
            logger.info("job already in progress elsewhere", extra={"message_id": message_id})
            raise
        except TransientError as error:
            retry_after = getattr(error, "retry_after", None)
            if not retry_after:
                retry_after = backoff_seconds(record.receive_count, self._visibility.base_delay_seconds)
            self._visibility.delay(record.receipt_handle, retry_after)
            raise
        return str(outcome.get("status", "done"))


class TransportClient(Protocol):
    def send(self, message: OutboundMessage) -> SendResult: ...


class SessionFactory(Protocol):
    def session(self) -> Any: ...


class GatewaySenders:
    """The batch's way to the gateway: the shared HTTPS client, and one MM4 session per batch.

    The MM4 session holds one SMTP connection for the whole batch, opened at the batch's first
    MM4 message (an HTTPS-only batch opens none). It is not safe for concurrent use, so MM4
    sends take turns while HTTPS sends run side by side.
    """

    def __init__(self, https: TransportClient, mm4: SessionFactory) -> None:
        self._https = https
        self._mm4 = mm4

    @contextmanager
    def open(self) -> Iterator[Sender]:
        turn = threading.Lock()
        with ExitStack() as sessions:
            opened: list[Any] = []

            def send(transport: Transport, message: OutboundMessage) -> SendResult:
                if transport == "https":
                    return self._https.send(message)
                with turn:
                    if not opened:
                        opened.append(sessions.enter_context(self._mm4.session()))
                    result: SendResult = opened[0].send(message)
                    return result

            yield send
