"""Errors of a request the caller got wrong (permanent; the border answers them with a 4xx).

Each names what is wrong by its ``code``; which HTTP status answers it is the border's business
(``mmsrelay.webhooks.border``), not the error's.
"""

from __future__ import annotations

from collections.abc import Sequence

from mmsrelay.domain.errors import PermanentError


class WebhookRequestError(PermanentError):
    """The request cannot be accepted as sent."""

    default_code = "bad_request"


class Unauthorized(WebhookRequestError):
    """Missing or wrong credentials. Deliberately says nothing about which."""

    default_code = "unauthorized"


class PayloadTooLarge(WebhookRequestError):
    default_code = "payload_too_large"


class UnsupportedContentType(WebhookRequestError):
    default_code = "unsupported_content_type"


class MethodNotAllowed(WebhookRequestError):
    default_code = "method_not_allowed"


class NotFound(WebhookRequestError):
    """No such route, or nothing by that id."""

    default_code = "not_found"


class InvalidPayload(WebhookRequestError):
    """Required fields are missing or malformed; ``fields`` names them (never their values)."""

    default_code = "invalid_payload"

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__(f"invalid fields: {', '.join(fields)}")
        self.fields = tuple(fields)
