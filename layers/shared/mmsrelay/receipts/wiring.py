"""Builds the receipt webhook and the no-receipt sweep, once per execution environment."""

from __future__ import annotations

import os
from functools import cache

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from mmsrelay import aws
from mmsrelay.clock import utc_now
from mmsrelay.observability import MetricsSink
from mmsrelay.receipts.apply import ApplyReceipt
from mmsrelay.receipts.settings import ReceiptSettings, SweepSettings
from mmsrelay.receipts.sweep import SweepNoReceipts
from mmsrelay.receipts.webhook import ReceiptWebhook
from mmsrelay.storage.receipts import ReceiptRepository
from mmsrelay.webhooks.basic_auth import BasicAuthVerifier
from mmsrelay.webhooks.credentials import secret_credentials


@cache
def receipt_webhook(metrics: MetricsSink) -> ReceiptWebhook:
    settings = ReceiptSettings.from_environ(os.environ)
    credentials = secret_credentials(
        SecretsProvider(boto3_client=aws.secretsmanager_client()),
        settings.webhook_credentials_secret_arn,
        settings.secret_cache_seconds,
    )
    repository = ReceiptRepository(aws.dynamodb_client(), settings.messages_table_name)
    return ReceiptWebhook(
        verifier=BasicAuthVerifier(credentials),
        apply=ApplyReceipt(repository, metrics, utc_now, settings.receipt_guid_field),
        max_body_bytes=settings.max_webhook_body_bytes,
    )


@cache
def no_receipt_sweep(metrics: MetricsSink) -> SweepNoReceipts:
    settings = SweepSettings.from_environ(os.environ)
    repository = ReceiptRepository(aws.dynamodb_client(), settings.messages_table_name)
    return SweepNoReceipts(repository, metrics, utc_now, settings.lookback_days, settings.max_per_run)
