"""Copying one inbound attachment to S3, now or later.

An attachment is copied inline while the webhook has time; an attachment whose host failed
transiently (or that ran out of time) goes to the media retry queue with a growing delay, and is
marked ``failed`` after a bounded number of attempts. Permanent failures (a blocked URL, a type
not allowed, too large, a 404) are marked ``failed`` at once.
"""

from __future__ import annotations

import logging
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

    def copy(self, job: MediaJob) -> MediaOutcome:
        """One attempt at copying ``job``'s attachment; schedules or records what follows."""
        log = {"transaction_guid": job.transaction_guid, "media_index": job.index, "attempt": job.attempt}
        try:
            with self._fetcher.open(job.source_url) as download:
                stored = self._store.put_stream(
                    job.s3_key(download.content_type), download.chunks(), download.content_type
                )
        except PermanentError as error:
            return self._fail(job, error.code, log)
        except TransientError as error:
            if job.attempt >= self._max_attempts:
                return self._fail(job, f"{error.code} (after {job.attempt} attempts)", log)
            self.defer(job.next_attempt())
            logger.warning("media copy failed, retry scheduled", extra={**log, "reason": error.code})
            return "retry_scheduled"
        media = StoredMedia(stored.key, stored.content_type, stored.size, stored.sha256_hex)
        if not self._repository.record_media_stored(job.transaction_guid, job.index, media, self._clock()):
            return "already_done"
        self._metrics.add_metric(name="MediaStored", unit=COUNT, value=1)
        logger.info("media stored", extra={**log, "content_type": stored.content_type, "size": stored.size})
        return "stored"

    def defer(self, job: MediaJob) -> None:
        """Leaves the attachment pending and queues ``job`` for later."""
        self._retries.schedule(job)

    def _fail(self, job: MediaJob, reason: str, log: dict[str, object]) -> MediaOutcome:
        if not self._repository.record_media_failed(
            job.transaction_guid, job.index, reason, job.attempt, self._clock()
        ):
            return "already_done"
        self._metrics.add_metric(name="MediaFailed", unit=COUNT, value=1)
        logger.error("media copy failed for good", extra={**log, "reason": reason})
        return "failed"
