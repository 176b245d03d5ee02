"""Builds the outbound and media-link use cases from settings and clients, once per environment."""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from mmsrelay import aws
from mmsrelay.domain.clock import utc_now
from mmsrelay.domain.media import MediaSink, MediaSource
from mmsrelay.domain.outbound import GatewayCredentials
from mmsrelay.gateway.https_client import AerialinkHttpClient, HttpApiSettings, session_factory
from mmsrelay.observability import MetricsSink
from mmsrelay.outbound.batch import (
    GatewaySenders,
    IdempotentJobs,
    OutboundRecords,
    PartialBatchResponse,
    QueueVisibility,
    process_batch,
)
from mmsrelay.outbound.links import MediaLinks
from mmsrelay.outbound.media import OutboundMedia
from mmsrelay.outbound.send import SendOutboundJob
from mmsrelay.outbound.settings import GatewaySettings, OutboundSettings
from mmsrelay.storage.links import LinkRepository
from mmsrelay.storage.outbound import OutboundRepository


def gateway_ca_file(settings: GatewaySettings) -> str | None:
    """The configured CA bundle written to /tmp (the Parameter holds it base64-encoded), or None."""
    if not settings.ca_certificate:
        return None
    pem = base64.b64decode(settings.ca_certificate, validate=True)
    handle, path = tempfile.mkstemp(prefix="gateway-ca-", suffix=".pem")
    with os.fdopen(handle, "wb") as file:
        file.write(pem)
    return path


def gateway_credentials(settings: OutboundSettings) -> Any:
    provider = SecretsProvider(boto3_client=aws.secretsmanager_client())

    def load() -> GatewayCredentials:
        secret = provider.get(
            settings.gateway.credentials_secret_arn, max_age=settings.secret_cache_seconds, transform="json"
        )
        if not isinstance(secret, dict) or not secret.get("apiKey") or not secret.get("apiSecret"):
            raise ValueError("the gateway credentials secret must hold apiKey and apiSecret")
        return GatewayCredentials(
            api_key=str(secret["apiKey"]),
            api_secret=str(secret["apiSecret"]),
            # MM4 logs in with the connection's API key and secret unless the secret says otherwise.
            mm4_username=str(secret.get("mm4Username") or secret["apiKey"]),
            mm4_password=str(secret.get("mm4Password") or secret["apiSecret"]),
        )

    return load


class LazyMm4Client:
    """The MM4 client, built (and its SMTP and e-mail modules imported) when a batch first needs it.

    Most batches are HTTPS only; they should not pay the MM4 stack's import on a cold start.
    """

    def __init__(self, gateway: GatewaySettings, ca_file: str | None, credentials: Any) -> None:
        self._gateway = gateway
        self._ca_file = ca_file
        self._credentials = credentials
        self._client: Any = None

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self._built().session() as session:
            yield session

    def _built(self) -> Any:
        if self._client is None:
            from mmsrelay.gateway.mm4_client import Mm4Client, Mm4Settings  # noqa: PLC0415

            self._client = Mm4Client(
                Mm4Settings(
                    host=self._gateway.mm4_host,
                    port=self._gateway.mm4_port,
                    tls_mode="implicit" if self._gateway.mm4_tls_mode == "implicit" else "starttls",
                    domain=self._gateway.mm4_domain,
                    ca_file=self._ca_file,
                    originator_system=self._gateway.mm4_originator_system,
                ),
                self._credentials,
            )
        return self._client


def media_fetcher(settings: OutboundSettings) -> MediaSource:
    # Imported on first use: only URL media fetched by the relay needs the fetcher (and its guard).
    from mmsrelay.media.fetcher import MediaFetcher  # noqa: PLC0415
    from mmsrelay.media.url_guard import FetchPolicy  # noqa: PLC0415

    policy = FetchPolicy.from_host_list(
        settings.outbound_media_allowed_hosts,
        allow_insecure=settings.allow_insecure_media_fetch,
        max_bytes=settings.max_outbound_message_bytes,
    )
    return MediaFetcher(policy)


def media_store(settings: OutboundSettings) -> MediaSink:
    from mmsrelay.media.store import S3MediaStore  # noqa: PLC0415 - only long URLs are copied to S3

    return S3MediaStore(aws.s3_client(), settings.links.media_bucket_name)


@dataclass(frozen=True)
class OutboundRelay:
    records: OutboundRecords
    senders: GatewaySenders
    idempotency: IdempotencyConfig
    max_concurrent_sends: int

    def handle_batch(self, event: dict[str, Any], context: Any) -> PartialBatchResponse:
        self.idempotency.register_lambda_context(context)
        with self.senders.open() as send:
            return process_batch(event, lambda record: self.records.handle(record, send), self.max_concurrent_sends)


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
    media = OutboundMedia(
        s3=aws.s3_client(),
        bucket=settings.links.media_bucket_name,
        fetcher=cache(lambda: media_fetcher(settings)),
        store=cache(lambda: media_store(settings)),
        links=MediaLinks(
            LinkRepository(aws.dynamodb_client(), table),
            settings.media_link_base_url,
            timedelta(hours=settings.media_link_ttl_hours),
            utc_now,
        ),
        max_message_bytes=settings.max_outbound_message_bytes,
        clock=utc_now,
    )
    use_case = SendOutboundJob(repository, media, metrics, settings.default_country_code, utc_now)
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
    credentials = gateway_credentials(settings)
    ca_file = gateway_ca_file(settings.gateway)
    http_settings = HttpApiSettings(base_url=settings.gateway.base_url, ca_file=ca_file)
    senders = GatewaySenders(
        https=AerialinkHttpClient(session_factory(http_settings), http_settings, credentials),
        mm4=LazyMm4Client(settings.gateway, ca_file, credentials),
    )
    records = OutboundRecords(
        IdempotentJobs(use_case, persistence, idempotency),
        repository,
        QueueVisibility(aws.sqs_client, settings.outbound_queue_url, settings.outbound_retry_base_delay_seconds),
        metrics,
        utc_now,
    )
    return OutboundRelay(records, senders, idempotency, settings.max_concurrent_sends)
