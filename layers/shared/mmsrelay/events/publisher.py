"""Use case: a batch of stream records published as events (the bus is a port: ``EventBus``).

One record gives at most one entry, and every entry is traced back to its record: a record whose
entry EventBridge did not take fails (``PublishedBatch.confirm`` raises), so the batch processor
reports it and the stream delivers it again. A redelivery repeats events already published from
the same batch (Lambda resumes a stream at its first failed record); their ``eventId`` is the
same, so consumers drop the duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from mmsrelay.domain.errors import MmsRelayError, PermanentError, TransientError
from mmsrelay.domain.events import MAX_ENTRY_BYTES, EventEntry
from mmsrelay.domain.phone import mask
from mmsrelay.events.translate import MalformedStreamRecord
from mmsrelay.observability import COUNT, MetricsSink

logger = logging.getLogger(__name__)

MAX_ENTRIES_PER_CALL: Final = 10
MAX_REQUEST_BYTES: Final = MAX_ENTRY_BYTES


class EventTooLarge(PermanentError):
    """The entry alone exceeds EventBridge's 256 KB."""


class EventBus(Protocol):
    """Where events go (``mmsrelay.eventbus.eventbridge.EventBridgeBus``): one call per chunk, an
    outcome per entry, in order; a whole call that failed raises a ``TransientError`` (try later)
    or a ``PermanentError``."""

    def put(self, entries: Sequence[EventEntry]) -> list[MmsRelayError | None]: ...


@dataclass(frozen=True)
class Published:
    event_id: str
    detail_type: str


@dataclass(frozen=True)
class NoEvent:
    """The record means no event (a LINK# item, a REMOVE, a change that leaves the status alone)."""


@dataclass(frozen=True)
class Failed:
    error: MmsRelayError


Outcome = Published | NoEvent | Failed


class StreamRecordRef(Protocol):
    """What ``confirm`` reads of a record (Powertools' ``DynamoDBRecord`` has it)."""

    @property
    def event_id(self) -> str | None: ...


class PublishedBatch:
    """The outcome of each record of a batch, by the record's eventID."""

    def __init__(self, outcomes: Mapping[str, Outcome]) -> None:
        self.outcomes = dict(outcomes)

    def confirm(self, record: StreamRecordRef) -> str:
        """The record's result for the batch processor: raises when its event was not published."""
        if record.event_id is None:
            raise MalformedStreamRecord("the record has no eventID")
        outcome = self.outcomes.get(record.event_id)
        if outcome is None:
            raise MalformedStreamRecord("the record was not part of the published batch")
        if isinstance(outcome, Failed):
            raise outcome.error
        if isinstance(outcome, Published):
            return outcome.event_id
        return "no_event"


class PublishStreamEvents:
    """Use case: the events a batch of stream records means, published in as few calls as fit."""

    def __init__(
        self,
        bus: EventBus,
        metrics: MetricsSink,
        translator: Callable[[Mapping[str, Any]], EventEntry | None],
    ) -> None:
        self._bus = bus
        self._metrics = metrics
        self._translate = translator

    def publish(self, records: Sequence[Mapping[str, Any]]) -> PublishedBatch:
        outcomes: dict[str, Outcome] = {}
        entries: list[EventEntry] = []
        for record in records:
            record_id = record.get("eventID")
            try:
                entry = self._translate(record)
            except MalformedStreamRecord as error:
                logger.error("stream record not understood", extra={"event_id": record_id, "reason": str(error)})
                if isinstance(record_id, str):
                    outcomes[record_id] = Failed(error)
                continue
            if entry is None:
                outcomes[str(record_id)] = NoEvent()
            elif entry.size > MAX_REQUEST_BYTES:
                outcomes[entry.record_id] = Failed(EventTooLarge(f"{entry.size} bytes"))
            else:
                entries.append(entry)
        outcomes.update(self._put(entries))
        self._count(outcomes.values())
        return PublishedBatch(outcomes)

    def _put(self, entries: Sequence[EventEntry]) -> Iterator[tuple[str, Outcome]]:
        unavailable: TransientError | None = None
        for chunk in chunks(entries):
            if unavailable is not None:
                # EventBridge is throttling or failing: the stream resumes at the first failed
                # record anyway, so the rest waits for that redelivery instead of adding load.
                yield from ((entry.record_id, Failed(unavailable)) for entry in chunk)
                continue
            try:
                errors = self._bus.put(chunk)
            except TransientError as call_error:
                unavailable = call_error
                errors = [call_error] * len(chunk)
            except PermanentError as call_error:
                errors = [call_error] * len(chunk)
            for entry, error in zip(chunk, errors, strict=True):
                if error is None:
                    yield entry.record_id, Published(entry.event_id, entry.detail_type)
                else:
                    logger.error(
                        "event not published",
                        extra={
                            "detail_type": entry.detail_type,
                            "event_id": entry.event_id,
                            "stream_event_id": entry.record_id,
                            "error_type": type(error).__name__,
                            "code": str(error),
                            "number": mask(entry.detail.get("to")),
                        },
                    )
                    yield entry.record_id, Failed(error)

    def _count(self, outcomes: Iterable[Outcome]) -> None:
        published = failed = 0
        for outcome in outcomes:
            published += isinstance(outcome, Published)
            failed += isinstance(outcome, Failed)
        logger.info("stream batch published", extra={"events": published, "failed": failed})
        if published:
            self._metrics.add_metric(name="EventsPublished", unit=COUNT, value=published)
        if failed:
            self._metrics.add_metric(name="EventPublishFailed", unit=COUNT, value=failed)


def chunks(entries: Sequence[EventEntry]) -> Iterator[list[EventEntry]]:
    """Consecutive runs of entries, each within PutEvents' 10 entries and 256 KB."""
    chunk: list[EventEntry] = []
    size = 0
    for entry in entries:
        if chunk and (len(chunk) == MAX_ENTRIES_PER_CALL or size + entry.size > MAX_REQUEST_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry.size
    if chunk:
        yield chunk
