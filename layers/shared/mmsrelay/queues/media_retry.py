"""The media retry queue: media jobs sent to SQS with a growing per-message delay."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.domain.errors import TransientError
from mmsrelay.domain.media import MediaJob

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_DELAY_SECONDS = 900  # SQS's largest per-message delay


def retry_delay(attempt: int, first_delay: int) -> int:
    """Seconds before attempt number ``attempt`` (2 and up): the first delay, doubling, capped at 900."""
    delay: int = first_delay * 2 ** max(0, attempt - 2)
    return min(MAX_DELAY_SECONDS, delay)


class RetryQueueUnavailable(TransientError):
    """The retry job could not be queued."""


class MediaRetryQueue:
    """Queues media jobs with growing delays. The SQS client is created on first use only: most
    messages never need a retry, and a cold start should not pay for a client it does not use."""

    def __init__(self, client: Callable[[], SQSClient], queue_url: str, first_delay_seconds: int) -> None:
        self._client = client
        self._queue_url = queue_url
        self._first_delay = first_delay_seconds

    def schedule(self, job: MediaJob) -> None:
        try:
            self._client().send_message(
                QueueUrl=self._queue_url,
                MessageBody=job.to_json(),
                DelaySeconds=retry_delay(job.attempt, self._first_delay),
            )
        except (ClientError, BotoCoreError) as error:
            raise RetryQueueUnavailable("media retry queue unavailable") from error
