"""The query API's two routes (API Gateway REST proxy events, IAM-authorised before they arrive).

- ``GET /messages/{id}``: a messageId or a transactionGUID -> the message, or 404.
- ``GET /numbers/{number}/messages?limit=&cursor=``: the number's conversation, newest first.

Parameters are checked here, before any read; every error becomes its answer in one place
(``mmsrelay.webhooks.border.answer``): 400/404/405 ``{"error": <code>}``, 503 with ``Retry-After``
when DynamoDB throttles, 500 for anything unexpected.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from mmsrelay.domain.phone import InvalidPhoneNumber, parse_number
from mmsrelay.query.errors import InvalidCursor, InvalidIdentifier, InvalidLimit, InvalidNumber
from mmsrelay.query.queries import MessageQueries
from mmsrelay.webhooks.border import answer
from mmsrelay.webhooks.errors import MethodNotAllowed, NotFound
from mmsrelay.webhooks.http import WebhookRequest, json_response

logger = logging.getLogger(__name__)

MESSAGE_ROUTE = "/messages/{id}"
CONVERSATION_ROUTE = "/numbers/{number}/messages"
IDENTIFIER = re.compile(r"[A-Za-z0-9._:-]{1,128}")
LIMIT = re.compile(r"[0-9]{1,3}")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_NUMBER_CHARS = 64


class QueryApi:
    def __init__(self, queries: MessageQueries, default_country_code: str) -> None:
        self._queries = queries
        self._default_country_code = default_country_code

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return answer(lambda: self._route(event))

    def _route(self, event: Mapping[str, Any]) -> dict[str, Any]:
        resource = str(event.get("resource", ""))
        if resource not in (MESSAGE_ROUTE, CONVERSATION_ROUTE):
            raise NotFound("no such route")
        request = WebhookRequest.from_event(event)
        if request.method != "GET":
            raise MethodNotAllowed("GET only")
        identity = (event.get("requestContext") or {}).get("identity") or {}
        # Who read: the IAM principal (an ARN, not a secret). What was read is never logged.
        logger.info("query", extra={"route": resource, "caller_arn": str(identity.get("userArn") or "")})
        parameters = event.get("pathParameters") or {}
        if resource == MESSAGE_ROUTE:
            return self._message(parameters.get("id"))
        return self._conversation(parameters.get("number"), request.query)

    def _message(self, identifier: object) -> dict[str, Any]:
        if not isinstance(identifier, str) or not IDENTIFIER.fullmatch(identifier):
            raise InvalidIdentifier("id must be 1 to 128 of A-Z a-z 0-9 . _ : -")
        document = self._queries.find(identifier)
        if document is None:
            raise NotFound("unknown id")
        return json_response(200, document)

    def _conversation(self, raw_number: object, query: Mapping[str, list[str]]) -> dict[str, Any]:
        number = self._number(raw_number)
        limit = _limit(query.get("limit"))
        cursor = _cursor(query.get("cursor"))
        return json_response(200, self._queries.conversation(number, limit, cursor))

    def _number(self, raw: object) -> str:
        # API Gateway may hand the segment over still percent-encoded (``%2B1310...``).
        text = unquote(raw) if isinstance(raw, str) else ""
        if not text or len(text) > MAX_NUMBER_CHARS:
            raise InvalidNumber("not a phone number")
        try:
            return parse_number(text, self._default_country_code)
        except InvalidPhoneNumber as error:
            raise InvalidNumber(str(error)) from error


def _limit(values: list[str] | None) -> int:
    if values is None:
        return DEFAULT_LIMIT
    if len(values) != 1 or not LIMIT.fullmatch(values[0]) or not 1 <= int(values[0]) <= MAX_LIMIT:
        raise InvalidLimit(f"limit must be 1 to {MAX_LIMIT}")
    return int(values[0])


def _cursor(values: list[str] | None) -> str | None:
    if values is None:
        return None
    if len(values) != 1 or not values[0]:
        raise InvalidCursor("one non-empty cursor")
    return values[0]
