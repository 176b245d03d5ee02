"""Builds the inbound use cases from settings and AWS clients, once per execution environment."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cache

from mmsrelay import aws
from mmsrelay.domain.clock import utc_now
from mmsrelay.inbound.media_jobs import MediaCopier
from mmsrelay.inbound.receive import ReceiveInboundMessage
from mmsrelay.inbound.retry import RetryInboundMedia
from mmsrelay.inbound.settings import InboundSettings, MediaSettings
from mmsrelay.inbound.webhook import InboundWebhook
from mmsrelay.media.fetcher import MediaFetcher
from mmsrelay.media.store import S3MediaStore
from mmsrelay.media.url_guard import FetchPolicy
from mmsrelay.observability import MetricsSink
from mmsrelay.queues.media_retry import MediaRetryQueue
from mmsrelay.storage.messages import MessageRepository
from mmsrelay.wiring.snapstart import snapshot_safe
from mmsrelay.wiring.webhooks import basic_auth_verifier


def _repository(settings: MediaSettings) -> MessageRepository:
    return MessageRepository(
        aws.dynamodb_client(), settings.messages_table_name, timedelta(days=settings.message_retention_days)
    )


def _copier(settings: MediaSettings, repository: MessageRepository, metrics: MetricsSink) -> MediaCopier:
    policy = FetchPolicy.from_host_list(
        settings.media_allowed_hosts,
        allow_insecure=settings.allow_insecure_media_fetch,
        max_bytes=settings.max_media_bytes,
        ca_bundle=settings.media_ca_bundle or None,
    )
    return MediaCopier(
        fetcher=MediaFetcher(policy),
        store=S3MediaStore(aws.s3_client(), settings.media_bucket_name),
        repository=repository,
        retries=MediaRetryQueue(
            aws.sqs_client, settings.media_retry_queue_url, settings.media_retry_first_delay_seconds
        ),
        metrics=metrics,
        max_attempts=settings.media_retry_max_attempts,
        clock=utc_now,
    )


@cache
def inbound_webhook(metrics: MetricsSink) -> InboundWebhook:
    settings = InboundSettings.from_environ(os.environ)
    repository = _repository(settings.media)
    return InboundWebhook(
        verifier=basic_auth_verifier(settings.webhook),
        receive=ReceiveInboundMessage(repository, _copier(settings.media, repository, metrics), metrics),
        max_body_bytes=settings.webhook.max_body_bytes,
        default_country_code=settings.default_country_code,
        media_budget_ms=settings.inline_media_budget_ms,
        inline_media_reserve_ms=settings.inline_media_reserve_ms,
        clock=utc_now,
    )


@cache
def media_retry(metrics: MetricsSink) -> RetryInboundMedia:
    settings = MediaSettings.from_environ(os.environ)
    repository = _repository(settings)
    return RetryInboundMedia(repository, _copier(settings, repository, metrics))


# SnapStart (EnableSnapStart): models loaded before the snapshot, everything built dropped after a restore.
snapshot_safe(("dynamodb", "s3", "secretsmanager"), inbound_webhook, media_retry)
