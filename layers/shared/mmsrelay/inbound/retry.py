"""Use case: one more attempt at an attachment the webhook could not copy."""

from __future__ import annotations

from mmsrelay.domain.media import MediaJob
from mmsrelay.inbound.media_jobs import MediaCopier, MediaOutcome
from mmsrelay.storage.messages import MessageRepository


class RetryInboundMedia:
    def __init__(self, repository: MessageRepository, copier: MediaCopier) -> None:
        self._repository = repository
        self._copier = copier

    def __call__(self, job: MediaJob) -> MediaOutcome:
        if not self._repository.media_pending(job.transaction_guid, job.index):
            return "already_done"
        return self._copier.copy(job)
