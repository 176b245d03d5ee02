"""schemas/openapi.yaml as a validator of API Gateway events (requests) and handlers' answers.

API Gateway hands a function a REST proxy event and takes back ``{statusCode, headers, body}``;
these adapters present both to openapi-core (its ``Request`` and ``Response`` protocols), so a
sample event and what a handler answered to it are checked against the document as an HTTP
client would see them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import cache
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.template import ROOT

DOCUMENT = ROOT / "schemas" / "openapi.yaml"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
    return loaded


@cache
def openapi() -> OpenAPI:
    """The document, checked against the OpenAPI 3.1 schema on the way in (openapi-spec-validator)."""
    return OpenAPI.from_dict(document())


def is_api_event(event: object) -> bool:
    return isinstance(event, Mapping) and "httpMethod" in event and "resource" in event


class ApiGatewayRequest:
    """An API Gateway REST proxy event as the HTTP request it stands for."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        headers = dict(event.get("headers") or {})
        stage = (event.get("requestContext") or {}).get("stage", "v1")
        self.host_url = (
            f"https://{headers.get('Host') or headers.get('host') or 'abc123defg.execute-api.us-east-1.amazonaws.com'}"
        )
        self.path = f"/{stage}{event['path']}"
        self.method = str(event["httpMethod"]).lower()
        multi = event.get("multiValueQueryStringParameters") or {
            key: [value] for key, value in (event.get("queryStringParameters") or {}).items()
        }
        self.parameters = RequestParameters(
            query=ImmutableMultiDict([(key, value) for key, values in multi.items() for value in values]),
            header=Headers(headers),
            path={},
        )
        self.content_type = str(Headers(headers).get("Content-Type", "")).lower()
        raw = event.get("body")
        if raw is None:
            self.body: bytes | None = None
        elif event.get("isBase64Encoded"):
            self.body = base64.b64decode(raw)
        else:
            self.body = str(raw).encode("utf-8")


class ApiGatewayAnswer:
    """A handler's ``{statusCode, headers, body}`` as the HTTP response API Gateway sends."""

    def __init__(self, answer: Mapping[str, Any]) -> None:
        self.status_code = int(answer["statusCode"])
        self.headers = Headers(dict(answer.get("headers") or {}))
        self.content_type = str(self.headers.get("Content-Type", "")).lower()
        body = answer.get("body") or ""
        self.data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode("utf-8")


def check_request(event: Mapping[str, Any]) -> None:
    """Raises openapi-core's validation error when the event is not a request the document allows."""
    openapi().validate_request(ApiGatewayRequest(event))


def check_answer(event: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
    """Raises when ``answer`` is not a response the document gives for ``event``'s operation."""
    openapi().validate_response(ApiGatewayRequest(event), ApiGatewayAnswer(answer))
