"""Delaying an SQS record's next delivery (the outbound queue's visibility timeout would be minutes)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit


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
