"""Builds the receipt webhook, the mailed MM4 reports' use case and the no-receipt sweep, once per
execution environment.

The three serve three functions; the receipt webhook's (a cold-start target: bench/README.md)
imports only what it uses, so the sweep's and the mailed reports' modules are imported by their
own builders.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

from mmsrelay import aws
from mmsrelay.domain.clock import utc_now
from mmsrelay.observability import MetricsSink
from mmsrelay.receipts.apply import ApplyReceipt
from mmsrelay.receipts.settings import MailedReportSettings, ReceiptSettings, SweepSettings
from mmsrelay.receipts.webhook import ReceiptWebhook
from mmsrelay.storage.receipts import ReceiptRepository
from mmsrelay.wiring.snapstart import snapshot_safe
from mmsrelay.wiring.webhooks import basic_auth_verifier

if TYPE_CHECKING:
    from mmsrelay.receipts.mailed import ApplyMailedReport
    from mmsrelay.receipts.sweep import SweepNoReceipts


@cache
def receipt_webhook(metrics: MetricsSink) -> ReceiptWebhook:
    settings = ReceiptSettings.from_environ(os.environ)
    repository = ReceiptRepository(aws.dynamodb_client(), settings.messages_table_name)
    return ReceiptWebhook(
        verifier=basic_auth_verifier(settings.webhook),
        apply=ApplyReceipt(repository, metrics, utc_now, settings.receipt_guid_field),
        max_body_bytes=settings.webhook.max_body_bytes,
    )


@cache
def no_receipt_sweep(metrics: MetricsSink) -> SweepNoReceipts:
    from mmsrelay.receipts.sweep import SweepNoReceipts  # noqa: PLC0415 (the scheduled function's only)

    settings = SweepSettings.from_environ(os.environ)
    repository = ReceiptRepository(aws.dynamodb_client(), settings.messages_table_name)
    return SweepNoReceipts(repository, metrics, utc_now, settings.lookback_days, settings.max_per_run)


@cache
def mailed_report(metrics: MetricsSink) -> ApplyMailedReport:
    from mmsrelay.receipts.mailed import ApplyMailedReport  # noqa: PLC0415 (the MM4 report function's only)
    from mmsrelay.storage.report_objects import S3ReportObjects  # noqa: PLC0415

    settings = MailedReportSettings.from_environ(os.environ)
    repository = ReceiptRepository(aws.dynamodb_client(), settings.messages_table_name)
    return ApplyMailedReport(
        S3ReportObjects(aws.s3_client()),
        ApplyReceipt(repository, metrics, utc_now),
        metrics,
        settings.max_report_bytes,
    )


# SnapStart (EnableSnapStart): models loaded before the snapshot, everything built dropped after a restore.
snapshot_safe(("dynamodb", "secretsmanager"), receipt_webhook, no_receipt_sweep, mailed_report)
