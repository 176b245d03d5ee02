"""Use case: a delivery receipt moves its transaction's status forward (or is kept in its history)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, Protocol

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.errors import TransientError
from mmsrelay.domain.history import StatusEvent
from mmsrelay.domain.status import RANK
from mmsrelay.gateway_protocol.mm4_ids import is_message_key, message_key_of
from mmsrelay.observability import COUNT, MetricsSink
from mmsrelay.receipts.model import Receipt
from mmsrelay.receipts.parse import canonical_guid
from mmsrelay.receipts.settings import GuidField

logger = logging.getLogger(__name__)


# Receipts counted per reported status (the dashboard's "receipts by status"): ReceiptsDelivered...
RECEIPT_STATUS_METRICS: Final[Mapping[str, str]] = {
    status: "Receipts" + status.title().replace("_", "") for status in RANK
}


class ReceiptRecords(Protocol):
    """What applying a receipt needs of the table (``mmsrelay.storage.receipts.ReceiptRepository``)."""

    def apply(self, guid: str, event: StatusEvent) -> Literal["advanced", "kept_in_history"]:
        """Moves the transaction's status forward if ``event`` ranks higher; keeps the event either way."""
        ...

    def guid_for_mm4_report(self, mm4_message_key: str, recipient: str | None) -> str | None:
        """The transaction GUID an MM4 report is about: its message and, for a group, its recipient."""
        ...


class ReportAwaitsItsSend(TransientError):
    """An MM4 report dated within ``EARLY_REPORT_WINDOW`` names one of our forwards that no recorded
    send carries yet: the report came before the send was recorded (or while a send that died
    before its record waits to be sent again). Asked for again later (a 503 to the gateway, a Lambda
    retry of a mailed report), it applies once the send is recorded; answered 200, it would be lost."""

    default_code = "report_awaits_its_send"


# How long an MM4 report naming one of our forwards that no recorded send carries is asked for
# again, by the report's own Date: an early report is seconds ahead of its send's record (a send
# that died before its record is sent again within minutes). A report without a Date, or older,
# is unmatched: a key of our shape that names no send is not asked for forever.
EARLY_REPORT_WINDOW: Final = timedelta(minutes=10)
CLOCK_SKEW: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class Applied:
    outcome: Literal["advanced", "kept_in_history", "unmatched"]
    transaction_guid: str | None
    status: str | None


class ApplyReceipt:
    def __init__(
        self,
        repository: ReceiptRecords,
        metrics: MetricsSink,
        clock: Callable[[], datetime],
        guid_field: GuidField = "transactionGUID",
    ) -> None:
        self._repository = repository
        self._metrics = metrics
        self._clock = clock
        self._guid_field = guid_field

    def __call__(self, receipt: Receipt) -> Applied:
        self._metrics.add_metric(name="ReceiptsReceived", unit=COUNT, value=1)
        guid = self._transaction_of(receipt)
        log = {"receipt_kind": receipt.kind, "state": receipt.state, "status": receipt.status, "guid": guid}
        if guid is None:
            self._metrics.add_metric(name="ReceiptsUnmatched", unit=COUNT, value=1)
            if self._names_our_forward(receipt) and self._is_recent(receipt):
                logger.warning("report names a forward not recorded yet: asked for again", extra=log)
                raise ReportAwaitsItsSend("no recorded send carries this message key yet")
            logger.warning("receipt matches no transaction", extra=log)
            return Applied("unmatched", None, receipt.status)
        if receipt.status is None:
            self._metrics.add_metric(name="ReceiptStateUnknown", unit=COUNT, value=1)
        else:
            self._metrics.add_metric(name=RECEIPT_STATUS_METRICS[receipt.status], unit=COUNT, value=1)
        event = StatusEvent(
            status=receipt.status,
            at=iso_time(self._clock()),
            source=receipt.kind,
            state=receipt.state,
            code=receipt.error_code,
            occurred_at=iso_time(receipt.occurred_at) if receipt.occurred_at else None,
            detail=receipt.detail,
        )
        outcome = self._repository.apply(guid, event)
        logger.info("receipt applied", extra={**log, "outcome": outcome})
        return Applied(outcome, guid, receipt.status)

    @staticmethod
    def _names_our_forward(receipt: Receipt) -> bool:
        return receipt.kind in ("mm4_delivery_report", "mm4_read_reply") and is_message_key(
            message_key_of(receipt.mm4_message_id or "")
        )

    def _is_recent(self, receipt: Receipt) -> bool:
        if receipt.occurred_at is None:
            return False
        now = self._clock()
        return now - EARLY_REPORT_WINDOW <= receipt.occurred_at <= now + CLOCK_SKEW

    def _transaction_of(self, receipt: Receipt) -> str | None:
        if receipt.kind in ("mm4_delivery_report", "mm4_read_reply"):
            if not receipt.mm4_message_id:
                return None
            # The report's X-Mms-Message-ID is either our forward's Message-ID (a 32-digit hex key)
            # or the gateway's transaction GUID from its reply to DATA (8-4-4-4-12): the gateway's
            # page does not say which, and the two shapes cannot be confused. Anything else names
            # no message of ours and is not looked up (an empty or over-long key is one DynamoDB
            # refuses outright).
            key = message_key_of(receipt.mm4_message_id)
            if guid := canonical_guid(key):
                return guid
            return self._repository.guid_for_mm4_report(key, receipt.recipient) if is_message_key(key) else None
        preferred, other = receipt.transaction_guid, receipt.linked_guid
        if self._guid_field == "transactionGUIDlinked":
            preferred, other = other, preferred
        return preferred or other
