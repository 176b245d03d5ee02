"""The query API's refusals: the request cannot be answered as asked (the code names the parameter)."""

from __future__ import annotations

from mmsrelay.webhooks.errors import WebhookRequestError


class QueryRequestError(WebhookRequestError):
    """The query cannot be answered as asked."""


class InvalidIdentifier(QueryRequestError):
    default_code = "invalid_id"


class InvalidNumber(QueryRequestError):
    default_code = "invalid_number"


class InvalidLimit(QueryRequestError):
    default_code = "invalid_limit"


class InvalidCursor(QueryRequestError):
    default_code = "invalid_cursor"
