"""Builds the outbound function's relay from settings, clients and adapters, once per environment."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from functools import cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

from mmsrelay import aws
from mmsrelay.domain.clock import utc_now
from mmsrelay.domain.media import MediaSink, MediaSource
from mmsrelay.gateway.credentials import gateway_ca_file, gateway_credentials
from mmsrelay.gateway.https_client import AerialinkHttpClient, HttpApiSettings, session_factory
from mmsrelay.gateway.lazy_mm4 import LazyMm4Client, Mm4Settings
from mmsrelay.media.objects import S3Objects
from mmsrelay.observability import MetricsSink
from mmsrelay.outbound.fitting import ImageFitter
from mmsrelay.outbound.idempotency import IdempotentJobs
from mmsrelay.outbound.links import MediaLinks
from mmsrelay.outbound.media import OutboundMedia
from mmsrelay.outbound.pace import SendPace
from mmsrelay.outbound.records import OutboundRecords
from mmsrelay.outbound.relay import OutboundRelay
from mmsrelay.outbound.send import SendOutboundJob
from mmsrelay.outbound.senders import GatewaySenders
from mmsrelay.outbound.settings import OutboundSettings
from mmsrelay.queues.visibility import QueueVisibility
from mmsrelay.storage.links import LinkRepository
from mmsrelay.storage.outbound import OutboundRepository
from mmsrelay.storage.send_rates import SendRateRepository


def media_fetcher(settings: OutboundSettings) -> MediaSource:
    # Imported on first use: only URL media fetched by the relay needs the fetcher (and its guard).
    from mmsrelay.media.fetcher import MediaFetcher  # noqa: PLC0415
    from mmsrelay.media.url_guard import FetchPolicy  # noqa: PLC0415

    policy = FetchPolicy.from_host_list(
        settings.outbound_media_allowed_hosts,
        allow_insecure=settings.allow_insecure_media_fetch,
        max_bytes=settings.max_outbound_original_bytes,
    )
    return MediaFetcher(policy)


def image_fitter() -> ImageFitter:
    # Imported on first use: Pillow is loaded only when an image is over the message's limit.
    from mmsrelay.media.fitting import PillowFitter  # noqa: PLC0415

    return PillowFitter()


def media_store(settings: OutboundSettings) -> MediaSink:
    from mmsrelay.media.store import S3MediaStore  # noqa: PLC0415 - only long URLs and fitted copies are stored

    return S3MediaStore(aws.s3_client(), settings.links.media_bucket_name)


def outbound_media(settings: OutboundSettings) -> OutboundMedia:
    table = settings.links.messages_table_name
    return OutboundMedia(
        objects=S3Objects(aws.s3_client()),
        bucket=settings.links.media_bucket_name,
        fetcher=cache(lambda: media_fetcher(settings)),
        store=cache(lambda: media_store(settings)),
        links=MediaLinks(
            LinkRepository(aws.dynamodb_client(), table),
            settings.media_link_base_url,
            timedelta(hours=settings.media_link_ttl_hours),
            utc_now,
        ),
        fitter=cache(image_fitter),
        max_message_bytes=settings.max_outbound_message_bytes,
        max_original_bytes=settings.max_outbound_original_bytes,
        clock=utc_now,
    )


@cache
def outbound_relay(metrics: MetricsSink) -> OutboundRelay:
    settings = OutboundSettings.from_environ(os.environ)
    table = settings.links.messages_table_name
    repository = OutboundRepository(
        aws.dynamodb_client(),
        table,
        timedelta(days=settings.message_retention_days),
        timedelta(hours=settings.receipt_timeout_hours),
    )
    media = outbound_media(settings)
    pace = SendPace(SendRateRepository(aws.dynamodb_client(), table), settings.send_rates, utc_now, time.sleep)
    use_case = SendOutboundJob(repository, media, pace, metrics, settings.default_country_code, utc_now)
    idempotency = IdempotencyConfig(
        event_key_jmespath="messageId",
        payload_validation_jmespath="bodyHash",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_expiry_hours * 3600,
        use_local_cache=False,  # records are handled by several threads at once
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name, boto3_client=aws.dynamodb_client()
    )
    credentials = gateway_credentials(settings.gateway.credentials_secret_arn, settings.secret_cache_seconds)
    ca_file = gateway_ca_file(settings.gateway.ca_certificate)
    http_settings = HttpApiSettings(base_url=settings.gateway.base_url, ca_file=ca_file)
    senders = GatewaySenders(
        https=AerialinkHttpClient(session_factory(http_settings), http_settings, credentials),
        mm4=LazyMm4Client(
            Mm4Settings(
                host=settings.gateway.mm4_host,
                port=settings.gateway.mm4_port,
                tls_mode="implicit" if settings.gateway.mm4_tls_mode == "implicit" else "starttls",
                domain=settings.gateway.mm4_domain,
                ca_file=ca_file,
                originator_system=settings.gateway.mm4_originator_system,
            ),
            credentials,
        ),
    )
    records = OutboundRecords(
        IdempotentJobs(use_case, persistence, idempotency),
        repository,
        QueueVisibility(aws.sqs_client, settings.outbound_queue_url, settings.outbound_retry_base_delay_seconds),
        metrics,
        utc_now,
    )
    return OutboundRelay(records, senders, idempotency, settings.max_concurrent_sends)
