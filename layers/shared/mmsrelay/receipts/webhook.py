"""The receipt webhooks: ``POST|GET /dlr`` (form, query string or JSON) and ``POST /dlr/mm4`` (raw MM4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmsrelay.receipts.apply import ApplyReceipt
from mmsrelay.receipts.model import Receipt, ReceiptError
from mmsrelay.receipts.parse import parse_http_receipt, parse_mm4_report
from mmsrelay.webhooks.basic_auth import BasicAuthVerifier
from mmsrelay.webhooks.border import answer
from mmsrelay.webhooks.errors import InvalidPayload, MethodNotAllowed, UnsupportedContentType
from mmsrelay.webhooks.http import WebhookRequest, json_response

MM4_CONTENT_TYPES = frozenset({"message/rfc822", "text/plain", "application/octet-stream", ""})
# What each code of a refused receipt names, for the 400's "fields".
_REFUSED_FIELDS = {
    "no_transaction_guid": ["transactionGUID"],
    "not_an_mm4_report": ["X-Mms-Message-Type"],
    "no_message_id": ["X-Mms-Message-ID"],
}


class ReceiptWebhook:
    def __init__(self, verifier: BasicAuthVerifier, apply: ApplyReceipt, max_body_bytes: int) -> None:
        self._verifier = verifier
        self._apply = apply
        self._max_body_bytes = max_body_bytes

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return answer(lambda: self._handle(WebhookRequest.from_event(event)))

    def _handle(self, request: WebhookRequest) -> dict[str, Any]:
        mm4 = request.path.rstrip("/").endswith("/dlr/mm4")
        if request.method not in (("POST",) if mm4 else ("GET", "POST")):
            raise MethodNotAllowed("method not allowed")
        self._verifier.verify(request.header("authorization"))  # before the body is read
        try:
            receipt = self._mm4_report(request) if mm4 else self._http_receipt(request)
        except ReceiptError as error:
            raise InvalidPayload(_REFUSED_FIELDS.get(error.code, ["body"])) from None
        applied = self._apply(receipt)
        return json_response(
            200,
            {"status": applied.outcome, "transactionGUID": applied.transaction_guid, "deliveryStatus": applied.status},
        )

    def _http_receipt(self, request: WebhookRequest) -> Receipt:
        return parse_http_receipt(request.fields(self._max_body_bytes, accept_json=True))

    def _mm4_report(self, request: WebhookRequest) -> Receipt:
        if request.content_type not in MM4_CONTENT_TYPES:
            raise UnsupportedContentType("an MM4 report is posted as message/rfc822")
        return parse_mm4_report(request.body(self._max_body_bytes))
