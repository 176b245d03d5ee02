"""The failure queues a stack has, and reading their entries without taking them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from mmsrelay_cli.errors import NotFound, UsageError
from mmsrelay_cli.stack import Stack

Kind = Literal["outbound", "media-retry", "events", "mm4-reports"]
# How long a received entry stays hidden from other readers while this command works on it.
HOLD_SECONDS = 120
BATCH = 10  # SQS's largest receive and batch


@dataclass(frozen=True)
class FailureQueue:
    kind: Kind
    url_output: str  # the stack output holding its URL
    holds: str
    goes_back_to: str


QUEUES: tuple[FailureQueue, ...] = (
    FailureQueue("outbound", "OutboundDeadLetterQueueUrl", "outbound jobs that kept failing", "the outbound queue"),
    FailureQueue(
        "media-retry", "MediaRetryDeadLetterQueueUrl", "media retries that kept crashing", "the media retry queue"
    ),
    FailureQueue("events", "EventsFailureQueueUrl", "stream batches whose events were not published", "EventsFunction"),
    FailureQueue(
        "mm4-reports",
        "Mm4ReportsFailureQueueUrl",
        "stored MM4 reports that could not be applied",
        "Mm4ReportFunction",
    ),
)
NAMES = tuple(queue.kind for queue in QUEUES)


def queue_named(kind: str) -> FailureQueue:
    for queue in QUEUES:
        if queue.kind == kind:
            return queue
    raise UsageError(f"no failure queue called {kind!r}: {', '.join(NAMES)}")


def queues_of(stack: Stack, kinds: Sequence[str]) -> list[FailureQueue]:
    """The queues named (all by default) that this stack has; naming one it lacks is ``NotFound``."""
    if not kinds:
        return [queue for queue in QUEUES if stack.outputs.get(queue.url_output)]
    chosen = [queue_named(kind) for kind in kinds]
    for queue in chosen:
        stack.output(queue.url_output)
    return chosen


@dataclass
class Entry:
    """One message of a failure queue, as received (its receipt handle is this receive's)."""

    queue: Kind
    id: str
    body: str
    receipt_handle: str
    attributes: dict[str, str] = field(default_factory=dict)
    message_attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_at(self) -> str | None:
        """When it reached the failure queue (SQS's SentTimestamp), ISO 8601."""
        sent = self.attributes.get("SentTimestamp")
        if not sent or not sent.isdigit():
            return None
        return datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    @property
    def receives(self) -> int:
        count = self.attributes.get("ApproximateReceiveCount", "0")
        return int(count) if count.isdigit() else 0


class QueueReader:
    """Receives a failure queue's entries in batches, each hidden for ``HOLD_SECONDS`` meanwhile."""

    def __init__(self, stack: Stack, queue: FailureQueue) -> None:
        self._sqs = stack.client("sqs")
        self.queue = queue
        self.url = stack.output(queue.url_output)

    def depth(self) -> int:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def batches(self, limit: int | None) -> Iterator[list[Entry]]:
        """Batches of entries not seen before in this run, until the queue shows no more or
        ``limit`` entries were received."""
        seen: set[str] = set()
        while limit is None or len(seen) < limit:
            wanted = BATCH if limit is None else min(BATCH, limit - len(seen))
            answer = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=wanted,
                VisibilityTimeout=HOLD_SECONDS,
                WaitTimeSeconds=1,  # asks every SQS server, not a sample of them
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            fresh = [self._entry(m) for m in answer.get("Messages", []) if m["MessageId"] not in seen]
            if not fresh:
                return
            seen.update(entry.id for entry in fresh)
            yield fresh

    def peek(self, limit: int | None) -> list[Entry]:
        """Up to ``limit`` entries, made visible again at once (listing takes nothing away)."""
        entries = [entry for batch in self.batches(limit) for entry in batch]
        self.release(entries)
        return entries

    def find(self, entry_id: str) -> Entry:
        entries = self.peek(None)
        for entry in entries:
            if entry.id == entry_id:
                return entry
        raise NotFound(f"no entry {entry_id} in the {self.queue.kind} failure queue ({len(entries)} there)")

    def release(self, entries: Sequence[Entry]) -> None:
        """Visible again now (for entries left in the queue)."""
        for first in range(0, len(entries), BATCH):
            chunk = entries[first : first + BATCH]
            with contextlib.suppress(ClientError):  # a handle that expired: the entry is visible anyway
                self._sqs.change_message_visibility_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": entry.receipt_handle, "VisibilityTimeout": 0}
                        for n, entry in enumerate(chunk)
                    ],
                )

    def delete(self, entry: Entry) -> None:
        self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=entry.receipt_handle)

    def _entry(self, message: dict[str, Any]) -> Entry:
        return Entry(
            queue=self.queue.kind,
            id=message["MessageId"],
            body=message.get("Body", ""),
            receipt_handle=message["ReceiptHandle"],
            attributes=dict(message.get("Attributes") or {}),
            message_attributes=dict(message.get("MessageAttributes") or {}),
        )
