"""The receipt and no-receipt functions' settings (see ``mmsrelay.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

from mmsrelay.settings import EnvironmentReader, FunctionSettings
from mmsrelay.webhooks.settings import WebhookSettings

GuidField = Literal["transactionGUID", "transactionGUIDlinked"]


@dataclass(frozen=True)
class ReceiptSettings(FunctionSettings):
    messages_table_name: str
    webhook: WebhookSettings
    # Which of a receipt's two GUIDs names our transaction (the gateway's page does not say).
    receipt_guid_field: GuidField

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        field = env.text("RECEIPT_GUID_FIELD", pattern=r"transactionGUID|transactionGUIDlinked")
        return cls(
            messages_table_name=env.text("MESSAGES_TABLE_NAME"),
            webhook=WebhookSettings.read(env),
            receipt_guid_field="transactionGUIDlinked" if field == "transactionGUIDlinked" else "transactionGUID",
        )


@dataclass(frozen=True)
class SweepSettings(FunctionSettings):
    messages_table_name: str
    # How many past days of deadlines a sweep looks through (a sweeper that was down catches up).
    lookback_days: int = 30
    max_per_run: int = 5000

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(messages_table_name=env.text("MESSAGES_TABLE_NAME"))


@dataclass(frozen=True)
class MailedReportSettings(FunctionSettings):
    """The function applying MM4 reports that SES stored in S3."""

    messages_table_name: str
    # The largest stored message read as a report (the same limit as a POST /dlr/mm4 body).
    max_report_bytes: int

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(
            messages_table_name=env.text("MESSAGES_TABLE_NAME"),
            max_report_bytes=env.integer("MAX_MM4_REPORT_BYTES", minimum=1024),
        )
