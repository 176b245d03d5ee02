import base64

import pytest

from mmsrelay.webhooks.errors import PayloadTooLarge, UnsupportedContentType, WebhookRequestError
from mmsrelay.webhooks.http import WebhookRequest, json_response
from tests.support import load_event


def test_header_names_are_case_insensitive() -> None:
    event = load_event("inbound_post.json")
    event["headers"] = {"content-TYPE": "application/x-www-form-urlencoded; charset=utf-8"}
    request = WebhookRequest.from_event(event)
    assert request.header("Content-Type") == "application/x-www-form-urlencoded; charset=utf-8"
    assert request.content_type == "application/x-www-form-urlencoded"


def test_a_base64_body_is_decoded() -> None:
    request = WebhookRequest.from_event(load_event("inbound_post_base64.json"))
    assert request.fields(limit=10_000)["transactionGUID"] == ["CF7A8B9C-ADBE-4FC0-D1E2-5D6E7F8A9BAC"]


def test_repeated_query_keys_keep_every_value() -> None:
    event = load_event("inbound_get.json")
    event["multiValueQueryStringParameters"]["attachments"] = ["https://a/1", "https://a/2"]
    request = WebhookRequest.from_event(event)
    assert request.fields(limit=10)["attachments"] == ["https://a/1", "https://a/2"]


def test_single_value_query_parameters_are_used_when_multi_value_is_absent() -> None:
    event = load_event("inbound_get.json")
    event["multiValueQueryStringParameters"] = None
    event["queryStringParameters"] = {"source": "13105551212"}
    assert WebhookRequest.from_event(event).fields(limit=10) == {"source": ["13105551212"]}


@pytest.mark.parametrize("encoded", [False, True])
def test_a_body_over_the_limit_is_refused_before_parsing(encoded: bool) -> None:
    event = load_event("inbound_post.json")
    body = "messageText=" + "x" * 5000
    event["body"] = base64.b64encode(body.encode()).decode() if encoded else body
    event["isBase64Encoded"] = encoded
    with pytest.raises(PayloadTooLarge):
        WebhookRequest.from_event(event).fields(limit=4096)


def test_an_unknown_content_type_is_refused() -> None:
    event = load_event("inbound_post.json")
    event["headers"]["Content-Type"] = "text/xml"
    with pytest.raises(UnsupportedContentType):
        WebhookRequest.from_event(event).fields(limit=10_000)


def test_json_bodies_are_read_only_where_accepted() -> None:
    event = load_event("inbound_post.json")
    event["headers"]["Content-Type"] = "application/json"
    event["body"] = '{"transactionGUID": "A", "codes": [1, 2], "n": 5}'
    request = WebhookRequest.from_event(event)
    assert request.fields(limit=10_000, accept_json=True) == {
        "transactionGUID": ["A"],
        "codes": ["1", "2"],
        "n": ["5"],
    }
    with pytest.raises(UnsupportedContentType):
        request.fields(limit=10_000)


@pytest.mark.parametrize("body", ["[1, 2]", "{not json"])
def test_json_that_is_not_an_object_is_a_bad_request(body: str) -> None:
    event = load_event("inbound_post.json")
    event["headers"]["Content-Type"] = "application/json"
    event["body"] = body
    with pytest.raises(WebhookRequestError):
        WebhookRequest.from_event(event).fields(limit=10_000, accept_json=True)


def test_invalid_base64_is_a_bad_request() -> None:
    event = load_event("inbound_post.json")
    event["body"] = "%%%not-base64%%%"
    event["isBase64Encoded"] = True
    with pytest.raises(WebhookRequestError):
        WebhookRequest.from_event(event).fields(limit=10_000)


def test_too_many_form_fields_is_a_bad_request() -> None:
    event = load_event("inbound_post.json")
    event["body"] = "&".join(f"f{n}=1" for n in range(1200))
    with pytest.raises(WebhookRequestError):
        WebhookRequest.from_event(event).fields(limit=1_000_000)


def test_json_answers_are_not_cached() -> None:
    answer = json_response(200, {"ok": True}, {"X-Extra": "1"})
    assert answer["statusCode"] == 200
    assert answer["headers"]["Cache-Control"] == "no-store"
    assert answer["headers"]["X-Extra"] == "1"
    assert answer["body"] == '{"ok":true}'
