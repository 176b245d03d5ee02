"""Use case: receive one inbound MMS from the gateway exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.inbound import AlreadyStored, InboundMessage, Inserted
from mmsrelay.domain.media import MediaJob
from mmsrelay.domain.phone import mask
from mmsrelay.inbound.media_jobs import MediaOutcome
from mmsrelay.observability import COUNT, MetricsSink

logger = logging.getLogger(__name__)

# Attempt number given to attachments a repeated post finds still pending: the first attempt
# belonged to the original post, which may have died before it could schedule anything.
RESUMED_ATTEMPT = 2


class InboundRepository(Protocol):
    def add_inbound(self, message: InboundMessage) -> Inserted | AlreadyStored: ...


class MediaHandling(Protocol):
    def copy(self, job: MediaJob) -> MediaOutcome: ...

    def defer(self, job: MediaJob) -> None: ...


@dataclass(frozen=True)
class Received:
    status: Literal["stored", "duplicate"]
    transaction_guid: str
    media: tuple[MediaOutcome, ...] = ()


class ReceiveInboundMessage:
    """Stores the message (one conditional write), then copies its media while time allows.

    A repeated post of a stored transaction changes nothing; if that transaction still has
    attachments pending (the first post may have died mid-way), they are queued for a retry,
    so no media is lost whichever request survived.
    """

    def __init__(self, repository: InboundRepository, media: MediaHandling, metrics: MetricsSink) -> None:
        self._repository = repository
        self._media = media
        self._metrics = metrics

    def __call__(self, message: InboundMessage, has_time: Callable[[], bool]) -> Received:
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
        outcomes: list[MediaOutcome] = []
        for attachment in message.attachments:
            job = MediaJob(message.transaction_guid, attachment.index, attachment.source_url, received_at)
            if has_time():
                outcomes.append(self._media.copy(job))
            else:
                self._media.defer(job.next_attempt())
                outcomes.append("retry_scheduled")
        return Received("stored", message.transaction_guid, tuple(outcomes))
