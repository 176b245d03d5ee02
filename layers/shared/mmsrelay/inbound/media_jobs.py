"""Copying one inbound attachment to S3, now or later.

An attachment is copied inline within the webhook's budget; an attachment whose host failed
transiently (or that was not copied within the budget) goes to the media retry queue with a growing
delay, and is marked ``failed`` after a bounded number of attempts. Permanent failures (a blocked
URL, a type not allowed, too large, a 404) are marked ``failed`` at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Literal, Protocol

from mmsrelay.domain.errors import PermanentError, TransientError
from mmsrelay.domain.media import MediaJob, MediaSink, MediaSource, StoredMedia
from mmsrelay.observability import COUNT, MetricsSink

logger = logging.getLogger(__name__)


class RetryScheduler(Protocol):
    def schedule(self, job: MediaJob) -> None: ...


class MediaRecords(Protocol):
    """The repository's media methods (``mmsrelay.storage.messages.MessageRepository``)."""

    def record_media_stored(self, transaction_guid: str, index: int, media: StoredMedia, at: datetime) -> bool: ...

    def record_media_failed(
        self, transaction_guid: str, index: int, reason: str, attempts: int, at: datetime
    ) -> bool: ...


MediaOutcome = Literal["stored", "failed", "retry_scheduled", "already_done"]
# What one attempt ends in: ``retry_needed`` (a transient failure with attempts left) asks the caller
# to queue the next attempt, which ``copy`` does itself and the webhook does once its budget is spent.
AttemptOutcome = Literal["stored", "failed", "already_done", "retry_needed"]


class MediaCopier:
    def __init__(
        self,
        fetcher: MediaSource,
        store: MediaSink,
        repository: MediaRecords,
        retries: RetryScheduler,
        metrics: MetricsSink,
        max_attempts: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._fetcher = fetcher
        self._store = store
        self._repository = repository
        self._retries = retries
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._clock = clock
        # The webhook's copies run side by side and Powertools' metrics are not thread-safe.
        self._metrics_lock = threading.Lock()

    def copy(self, job: MediaJob, time_limit: float | None = None) -> MediaOutcome:
        """One attempt at copying ``job``'s attachment; schedules or records what follows."""
        outcome = self.attempt(job, time_limit)
        if outcome != "retry_needed":
            return outcome
        self.defer(job.next_attempt())
        return "retry_scheduled"

    def attempt(self, job: MediaJob, time_limit: float | None = None) -> AttemptOutcome:
        """One attempt, the fetch given at most ``time_limit`` seconds; records a success or a failure
        for good, and answers ``retry_needed`` for a transient failure with attempts left.

        Safe to run beside another attempt at the same attachment (a retry racing a copy the webhook
        gave up waiting for): the S3 key is deterministic and only the first record leaves ``pending``.
        """
        log = {"transaction_guid": job.transaction_guid, "media_index": job.index, "attempt": job.attempt}
        try:
            with self._fetcher.open(job.source_url, time_limit) as download:
                stored = self._store.put_stream(
                    job.s3_key(download.content_type), download.chunks(), download.content_type
                )
        except PermanentError as error:
            return self._fail(job, error.code, log)
        except TransientError as error:
            if job.attempt >= self._max_attempts:
                return self._fail(job, f"{error.code} (after {job.attempt} attempts)", log)
            logger.warning("media copy failed, to be retried", extra={**log, "reason": error.code})
            return "retry_needed"
        media = StoredMedia(stored.key, stored.content_type, stored.size, stored.sha256_hex)
        if not self._repository.record_media_stored(job.transaction_guid, job.index, media, self._clock()):
            return "already_done"
        with self._metrics_lock:
            self._metrics.add_metric(name="MediaStored", unit=COUNT, value=1)
        logger.info("media stored", extra={**log, "content_type": stored.content_type, "size": stored.size})
        return "stored"

    def defer(self, job: MediaJob) -> None:
        """Leaves the attachment pending and queues ``job`` for later."""
        self._retries.schedule(job)

    def _fail(self, job: MediaJob, reason: str, log: dict[str, object]) -> Literal["failed", "already_done"]:
        if not self._repository.record_media_failed(
            job.transaction_guid, job.index, reason, job.attempt, self._clock()
        ):
            return "already_done"
        with self._metrics_lock:
            self._metrics.add_metric(name="MediaFailed", unit=COUNT, value=1)
        logger.error("media copy failed for good", extra={**log, "reason": reason})
        return "failed"
