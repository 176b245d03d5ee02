"""Use case: one more attempt at an attachment the webhook could not copy."""

from __future__ import annotations

from typing import Protocol

from mmsrelay.domain.media import MediaJob
from mmsrelay.inbound.media_jobs import MediaCopier, MediaOutcome


class PendingMedia(Protocol):
    """``mmsrelay.storage.messages.MessageRepository``: whether an attachment still waits for its copy."""

    def media_pending(self, transaction_guid: str, index: int) -> bool: ...


class RetryInboundMedia:
    def __init__(self, repository: PendingMedia, copier: MediaCopier) -> None:
        self._repository = repository
        self._copier = copier

    def __call__(self, job: MediaJob) -> MediaOutcome:
        if not self._repository.media_pending(job.transaction_guid, job.index):
            return "already_done"
        return self._copier.copy(job)
