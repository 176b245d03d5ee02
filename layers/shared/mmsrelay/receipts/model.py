"""A delivery receipt in one shape, whatever form the gateway reported it in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mmsrelay.domain.errors import PermanentError
from mmsrelay.domain.status import Status

ReceiptKind = Literal["http", "smpp_text", "carrier_event", "mm4_delivery_report", "mm4_read_reply"]
ReceiptErrorCode = Literal["no_transaction_guid", "not_an_mm4_report", "no_message_id", "ambiguous_report"]


@dataclass(frozen=True)
class Receipt:
    """What the gateway said about one message (one recipient), normalised.

    ``status`` is None when the state was missing or unknown: the caller then leaves the
    recipient's status unchanged and only records ``state``. GUIDs are the upper-case canonical
    ``8-4-4-4-12`` form; which of the two is the submit's is not documented, so look both up.
    """

    transaction_guid: str | None
    linked_guid: str | None
    status: Status | None
    state: str | None  # as received (word, code, MM4 status, event type), for the history
    error_code: str | None  # SMPP err:, smppStatusCode, ...
    detail: str | None  # short text, phone-number-like digit runs replaced, <= 200 characters
    occurred_at: datetime | None  # aware UTC
    kind: ReceiptKind
    mm4_message_id: str | None  # "<id@domain>", as derive_message_ids builds it
    recipient: str | None  # E.164 (or a short code's digits) of the recipient an MM4 report is about


class ReceiptError(PermanentError, ValueError):
    """The input cannot be a receipt at all; ``code`` says why (never echoing the input)."""

    def __init__(self, code: ReceiptErrorCode) -> None:
        super().__init__(code=code)
        self.code: ReceiptErrorCode = code
