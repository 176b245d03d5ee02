"""schemas/openapi.yaml against the template and the sample requests in events/.

The handlers' answers to those samples are checked against it where the built functions answer
them (tests/integration/test_built_layer.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_core.exceptions import OpenAPIError
from openapi_core.validation.request.exceptions import InvalidRequestBody, SecurityValidationError

from tests.openapi import ApiGatewayAnswer, check_answer, check_request, document, is_api_event, openapi
from tests.support import EVENTS, load_event
from tests.template import resources

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

# Samples the document refuses, and why: the handlers refuse them too (401, 400, 400).
REFUSED: dict[str, type[OpenAPIError]] = {
    "inbound_no_credentials.json": SecurityValidationError,
    "dlr_no_credentials.json": SecurityValidationError,
    "inbound_invalid.json": InvalidRequestBody,
    "dlr_no_guid.json": InvalidRequestBody,
}


def api_samples() -> list[str]:
    return sorted(path.name for path in EVENTS.glob("*.json") if is_api_event(json.loads(path.read_text())))


def test_the_document_is_openapi_3_1() -> None:
    assert str(document()["openapi"]).startswith("3.1.")
    assert openapi() is not None  # openapi-spec-validator checked it on the way in


def test_every_route_of_the_template_is_documented_and_nothing_else() -> None:
    in_template = {
        (str(event["Properties"]["Path"]), str(event["Properties"]["Method"]).lower())
        for function in resources("AWS::Serverless::Function").values()
        for event in (function["Properties"].get("Events") or {}).values()
        if event["Type"] == "Api"
    }
    documented = {
        (path, method) for path, item in document()["paths"].items() for method in item if method in HTTP_METHODS
    }
    assert documented == in_template


def test_webhooks_need_basic_credentials_and_the_query_api_a_signature() -> None:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            expected: list[dict[str, list[str]]] = [{"gatewayBasic": []}]
            if path.startswith(("/messages", "/numbers")):
                expected = [{"sigv4": []}]
            elif path.startswith("/m/"):
                expected = []  # the gateway fetches media links without credentials
            assert operation["security"] == expected, (path, method)


@pytest.mark.parametrize("sample", api_samples())
def test_each_sample_request_is_one_the_document_describes(sample: str) -> None:
    event = load_event(sample)
    if sample in REFUSED:
        # Given a sample the handler refuses, Then the document refuses it too, for that reason
        with pytest.raises(REFUSED[sample]):
            check_request(event)
    else:
        check_request(event)


def test_the_refused_samples_are_samples() -> None:
    assert set(REFUSED) <= set(api_samples())


@pytest.mark.parametrize(
    ("sample", "answer"),
    [
        ("inbound_post.json", {"status": "stored"}),
        ("inbound_post.json", {"status": "stored", "transactionGUID": "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F", "x": 1}),
        ("query_conversation.json", {"number": "+13105551212", "messages": [{"transactionGUID": "x"}]}),
        ("query_message.json", {"error": "unknown_code"}),
    ],
)
def test_an_answer_the_document_does_not_give_is_refused(sample: str, answer: dict[str, Any]) -> None:
    # Given an answer with a field missing, an extra field, a malformed entry or an unknown error code
    with pytest.raises(OpenAPIError):
        check_answer(load_event(sample), json_answer(200 if "error" not in answer else 400, answer))


def test_the_error_borders_answers_are_documented() -> None:
    unauthorized = json_answer(401, {"error": "unauthorized"})
    unauthorized["headers"]["WWW-Authenticate"] = 'Basic realm="mms-relay", charset="UTF-8"'
    check_answer(load_event("inbound_post.json"), unauthorized)
    unavailable = json_answer(503, {"error": "temporarily_unavailable"})
    unavailable["headers"]["Retry-After"] = "30"
    check_answer(load_event("dlr_post_word.json"), unavailable)
    check_answer(load_event("query_conversation.json"), json_answer(400, {"error": "invalid_cursor"}))
    check_answer(load_event("inbound_post.json"), json_answer(400, {"error": "invalid_payload", "fields": ["source"]}))
    redirect = {"statusCode": 302, "headers": {"Location": "https://s3/x", "Cache-Control": "no-store",
                                                "Referrer-Policy": "no-referrer"}, "body": ""}  # fmt: skip
    check_answer(load_event("media_link_get.json"), redirect)


def json_answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }


def test_an_answer_adapter_reads_base64_bodies() -> None:
    answer = ApiGatewayAnswer({"statusCode": 200, "headers": {}, "body": "e30=", "isBase64Encoded": True})
    assert answer.data == b"{}"
