"""The inbound webhook: authenticate, parse, receive, answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from mmsrelay.inbound.payload import parse_inbound
from mmsrelay.inbound.receive import ReceiveInboundMessage
from mmsrelay.webhooks.basic_auth import BasicAuthVerifier
from mmsrelay.webhooks.border import answer
from mmsrelay.webhooks.errors import MethodNotAllowed
from mmsrelay.webhooks.http import WebhookRequest, json_response


class InboundWebhook:
    def __init__(
        self,
        verifier: BasicAuthVerifier,
        receive: ReceiveInboundMessage,
        max_body_bytes: int,
        default_country_code: str,
        media_budget_ms: int,
        inline_media_reserve_ms: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._verifier = verifier
        self._receive = receive
        self._max_body_bytes = max_body_bytes
        self._default_country_code = default_country_code
        self._media_budget_ms = media_budget_ms
        self._inline_media_reserve_ms = inline_media_reserve_ms
        self._clock = clock

    def handle(self, event: Mapping[str, Any], remaining_ms: Callable[[], int]) -> dict[str, Any]:
        """Answers one API Gateway event; media is copied inline for at most the media budget, and
        never into the last ``inline_media_reserve_ms`` of the invocation (``remaining_ms()``)."""

        def media_budget() -> float:
            allowed = min(self._media_budget_ms, remaining_ms() - self._inline_media_reserve_ms)
            return max(0, allowed) / 1000

        return answer(lambda: self._handle(WebhookRequest.from_event(event), media_budget))

    def _handle(self, request: WebhookRequest, media_budget: Callable[[], float]) -> dict[str, Any]:
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowed("GET or POST")
        self._verifier.verify(request.header("authorization"))  # before the body is read
        fields = request.fields(self._max_body_bytes)
        message = parse_inbound(fields, self._clock(), self._default_country_code)
        received = self._receive(message, media_budget)
        return json_response(200, {"status": received.status, "transactionGUID": received.transaction_guid})
