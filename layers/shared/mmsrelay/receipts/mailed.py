"""Use case: an MM4 report the gateway mailed to our MM4 domain, stored in S3 by SES, is applied.

Over MM4 the gateway returns delivery reports and read replies as e-mail. In AWS, an SES receipt
rule for ``Mm4ReportsDomain`` writes each message it receives, raw, to the media bucket under
``mm4-reports/``; the new object triggers this use case, which reads it and applies it through the
same parser and :class:`~mmsrelay.receipts.apply.ApplyReceipt` as ``POST /dlr/mm4``.

What cannot be a report (SES's setup notification, a message SES found to be spam or to carry a
virus, anything without the MM4 report headers, an object too large to be one) is refused: logged,
counted (``Mm4ReportsRefused``) and not retried, since no retry can make it a report. A storage
failure (S3 or DynamoDB not answering), or a report naming one of our forwards whose send is not
recorded yet (``ReportAwaitsItsSend``), raises, so Lambda retries the event and then hands it to
the function's failure queue: nothing is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, Protocol

from mmsrelay.domain.errors import PermanentError
from mmsrelay.observability import COUNT, MetricsSink
from mmsrelay.receipts.apply import ApplyReceipt
from mmsrelay.receipts.model import ReceiptError
from mmsrelay.receipts.parse import mail_headers, mm4_report_of

if TYPE_CHECKING:
    from email.message import Message

logger = logging.getLogger(__name__)

# Headers SES adds to a message it stores when the receipt rule scans it (ScanEnabled).
SES_VERDICT_HEADERS: Final = (("X-SES-Virus-Verdict", "virus"), ("X-SES-Spam-Verdict", "spam"))

MailedOutcome = Literal["advanced", "kept_in_history", "unmatched", "refused"]


class ReportObjects(Protocol):
    """Reads a stored message (the S3 adapter in ``mmsrelay.storage.report_objects``)."""

    def read(self, bucket: str, key: str, max_bytes: int) -> bytes:
        """The object's bytes; a ``PermanentError`` whose code says why it cannot be read
        (``object_missing``, ``too_large``), or a ``TransientError``."""
        ...


@dataclass(frozen=True)
class StoredMessage:
    """Where SES stored one received message."""

    bucket: str
    key: str


class ApplyMailedReport:
    def __init__(
        self, objects: ReportObjects, apply: ApplyReceipt, metrics: MetricsSink, max_report_bytes: int
    ) -> None:
        self._objects = objects
        self._apply = apply
        self._metrics = metrics
        self._max_bytes = max_report_bytes

    def __call__(self, stored: StoredMessage) -> MailedOutcome:
        try:
            headers = mail_headers(self._objects.read(stored.bucket, stored.key, self._max_bytes))
        except PermanentError as error:  # gone, or too large to be a report: its code says which
            return self._refused(stored, error.code)
        if verdict := _failed_verdict(headers):
            return self._refused(stored, verdict)
        try:
            receipt = mm4_report_of(headers)
        except ReceiptError as error:
            return self._refused(stored, error.code)
        return self._apply(receipt).outcome

    def _refused(self, stored: StoredMessage, reason: str) -> MailedOutcome:
        self._metrics.add_metric(name="Mm4ReportsRefused", unit=COUNT, value=1)
        logger.warning("stored message is not an MM4 report", extra={"object_key": stored.key, "reason": reason})
        return "refused"


def _failed_verdict(headers: Message) -> str | None:
    """``virus`` or ``spam`` when SES's scan of the message failed it; None otherwise (or unscanned)."""
    for header, name in SES_VERDICT_HEADERS:
        if str(headers.get(header, "")).strip().upper() == "FAIL":
            return name
    return None
