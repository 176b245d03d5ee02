"""Use case: receive one inbound MMS from the gateway exactly once, answering within a budget.

After the durable write, the attachments are copied side by side, each fetch given what is left of
the media budget; the webhook answers once every copy has ended or the budget (plus a short grace,
for a copy whose fetch ended in time to store and record it) is spent. An attachment not copied by
then is queued for the media retry function, so a slow media host never keeps the gateway waiting
and nothing is lost. A copy still running when the webhook answers (its S3 write or its record
hanging) may finish later, racing the retry: harmless, since the S3 key is deterministic and only
the first record moves the attachment out of ``pending`` (``MediaCopier.attempt``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.inbound import AlreadyStored, InboundMessage, Inserted
from mmsrelay.domain.media import MediaJob
from mmsrelay.domain.phone import mask
from mmsrelay.inbound.media_jobs import AttemptOutcome, MediaOutcome
from mmsrelay.observability import COUNT, MetricsSink

logger = logging.getLogger(__name__)

# Attempt number given to attachments a repeated post finds still pending: the first attempt
# belonged to the original post, which may have died before it could schedule anything.
RESUMED_ATTEMPT = 2
# Attachments copied at once (a message carries at most 20; most carry one or two).
INLINE_COPIES: Final = 4
# After the budget, the time a copy whose fetch ended in time has to store and record it.
GRACE_SECONDS: Final = 0.25


class InboundRepository(Protocol):
    def add_inbound(self, message: InboundMessage) -> Inserted | AlreadyStored: ...


class MediaHandling(Protocol):
    """``mmsrelay.inbound.media_jobs.MediaCopier``."""

    def attempt(self, job: MediaJob, time_limit: float | None = None) -> AttemptOutcome: ...

    def defer(self, job: MediaJob) -> None: ...


@dataclass(frozen=True)
class Received:
    status: Literal["stored", "duplicate"]
    transaction_guid: str
    media: tuple[MediaOutcome, ...] = ()


class ReceiveInboundMessage:
    """Stores the message (one conditional write), then copies its media within the budget.

    A repeated post of a stored transaction changes nothing; if that transaction still has
    attachments pending (the first post may have died mid-way), they are queued for a retry,
    so no media is lost whichever request survived.
    """

    def __init__(
        self,
        repository: InboundRepository,
        media: MediaHandling,
        metrics: MetricsSink,
        clock: Callable[[], float] = time.monotonic,
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        self._repository = repository
        self._media = media
        self._metrics = metrics
        self._clock = clock
        self._grace = grace_seconds

    def __call__(self, message: InboundMessage, media_budget: Callable[[], float]) -> Received:
        """Receives ``message``; ``media_budget()``, asked after the write, is the seconds its media may take."""
        received_at = iso_time(message.received_at)
        outcome = self._repository.add_inbound(message)
        if isinstance(outcome, AlreadyStored):
            stored_at = outcome.received_at or received_at
            for attachment in outcome.pending_media:
                self._media.defer(
                    MediaJob(
                        message.transaction_guid, attachment.index, attachment.source_url, stored_at, RESUMED_ATTEMPT
                    )
                )
            logger.info("inbound message already stored", extra={"transaction_guid": message.transaction_guid})
            return Received("duplicate", message.transaction_guid)

        self._metrics.add_metric(name="MessagesReceived", unit=COUNT, value=1)
        logger.info(
            "inbound message stored",
            extra={
                "transaction_guid": message.transaction_guid,
                "from": mask(message.sender),
                "to": mask(message.recipient),
                "attachments": len(message.attachments),
                "flags": list(message.flags),
            },
        )
        jobs = [
            MediaJob(message.transaction_guid, attachment.index, attachment.source_url, received_at)
            for attachment in message.attachments
        ]
        return Received("stored", message.transaction_guid, self._copy_within(jobs, media_budget()) if jobs else ())

    def _copy_within(self, jobs: Sequence[MediaJob], budget: float) -> tuple[MediaOutcome, ...]:
        """Copies ``jobs`` side by side for at most ``budget`` seconds (plus the grace); queues the rest."""
        deadline = self._clock() + budget
        futures: list[Future[AttemptOutcome]] = []
        if budget > 0:
            pool = ThreadPoolExecutor(max_workers=min(INLINE_COPIES, len(jobs)), thread_name_prefix="inline-media")
            try:
                futures = [pool.submit(self._attempt, job, deadline) for job in jobs]
                wait(futures, timeout=max(0.0, deadline + self._grace - self._clock()))
            finally:
                # Never waits: a copy still running goes on by itself (see the module's docstring).
                pool.shutdown(wait=False, cancel_futures=True)
        outcomes: list[MediaOutcome] = []
        for index, job in enumerate(jobs):
            future = futures[index] if futures else None
            # A copy's own failure (DynamoDB, S3 or the queue unavailable) is raised here: 503, retried.
            attempt = future.result() if future is not None and future.done() and not future.cancelled() else None
            if attempt is None or attempt == "retry_needed":
                self._media.defer(job.next_attempt())
                if attempt is None:
                    logger.info("media not copied within the budget, queued", extra=_log_of(job))
                outcomes.append("retry_scheduled")
            else:
                outcomes.append(attempt)
        return tuple(outcomes)

    def _attempt(self, job: MediaJob, deadline: float) -> AttemptOutcome:
        left = deadline - self._clock()
        return self._media.attempt(job, left) if left > 0 else "retry_needed"


def _log_of(job: MediaJob) -> dict[str, object]:
    return {"transaction_guid": job.transaction_guid, "media_index": job.index}
