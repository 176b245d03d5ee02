"""An API Gateway REST (proxy) event seen as an HTTP request, and answers shaped for it.

Header names are looked up case-insensitively (the emulator lowercases them, AWS keeps the
client's spelling); repeated query keys keep every value (``multiValueQueryStringParameters``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from mmsrelay.webhooks.errors import PayloadTooLarge, UnsupportedContentType, WebhookRequestError

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

MAX_FORM_FIELDS = 1000

Fields = dict[str, list[str]]


def raw_fields(fields: Mapping[str, Sequence[str]]) -> dict[str, str | tuple[str, ...]]:
    """Fields as an item keeps them raw: a single value as itself, a repeated field as all its values."""
    return {name: values[0] if len(values) == 1 else tuple(values) for name, values in fields.items()}


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lowercase names
    query: Fields
    raw_body: str | bytes | None
    body_is_base64: bool
    source_ip: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WebhookRequest:
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        multi = event.get("multiValueQueryStringParameters") or {}
        single = event.get("queryStringParameters") or {}
        query: Fields = {str(k): [str(v) for v in values] for k, values in multi.items()}
        for key, value in single.items():
            query.setdefault(str(key), [str(value)])
        identity = (event.get("requestContext") or {}).get("identity") or {}
        return cls(
            method=str(event.get("httpMethod", "")).upper(),
            path=str(event.get("path", "")),
            headers=headers,
            query=query,
            raw_body=event.get("body"),
            body_is_base64=bool(event.get("isBase64Encoded")),
            source_ip=str(identity.get("sourceIp", "")),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def body(self, limit: int) -> bytes:
        """The body's bytes, refused with 413 above ``limit`` (checked before decoding)."""
        raw = self.raw_body
        if raw is None:
            return b""
        if self.body_is_base64:
            encoded = raw.encode("ascii", "replace") if isinstance(raw, str) else raw
            if len(encoded) * 3 // 4 > limit:
                raise PayloadTooLarge("body over the limit")
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as error:
                raise WebhookRequestError("body is not valid base64") from error
        else:
            data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        if len(data) > limit:
            raise PayloadTooLarge("body over the limit")
        return data

    def fields(self, limit: int, accept_json: bool = False) -> Fields:
        """The submitted fields: the query string for GET, the form (or JSON object) for POST."""
        if self.method == "GET":
            return {key: list(values) for key, values in self.query.items()}
        body = self.body(limit)
        if self.content_type in (FORM, "") and body:
            return parse_form(body)
        if not body:
            return {}
        if accept_json and self.content_type == JSON:
            return parse_json_object(body)
        raise UnsupportedContentType("unsupported content type")


def parse_form(body: bytes) -> Fields:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    try:
        return parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as error:  # more fields than any gateway post carries
        raise WebhookRequestError("too many form fields") from error


def parse_json_object(body: bytes) -> Fields:
    try:
        document = json.loads(body)
    except ValueError as error:
        raise WebhookRequestError("body is not valid JSON") from error
    if not isinstance(document, dict):
        raise WebhookRequestError("JSON body must be an object")
    fields: Fields = {}
    for key, value in document.items():
        if isinstance(value, list):
            fields[str(key)] = [_as_text(item) for item in value]
        else:
            fields[str(key)] = [_as_text(value)]
    return fields


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway proxy answer with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, "Cache-Control": "no-store", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
    }
