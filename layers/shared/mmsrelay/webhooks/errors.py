"""Errors a webhook answers with a 4xx: the caller's request is at fault."""

from __future__ import annotations

from collections.abc import Sequence

from mmsrelay.errors import PermanentError


class WebhookRequestError(PermanentError):
    """The request cannot be accepted as sent; ``status`` is the HTTP answer."""

    status = 400
    code = "bad_request"


class Unauthorized(WebhookRequestError):
    """Missing or wrong credentials. Deliberately says nothing about which."""

    status = 401
    code = "unauthorized"


class PayloadTooLarge(WebhookRequestError):
    status = 413
    code = "payload_too_large"


class UnsupportedContentType(WebhookRequestError):
    status = 415
    code = "unsupported_content_type"


class MethodNotAllowed(WebhookRequestError):
    status = 405
    code = "method_not_allowed"


class InvalidPayload(WebhookRequestError):
    """Required fields are missing or malformed; ``fields`` names them (never their values)."""

    status = 400
    code = "invalid_payload"

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__(f"invalid fields: {', '.join(fields)}")
        self.fields = tuple(fields)
