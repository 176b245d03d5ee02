"""The inbound webhook end to end over its ports: every sample event gets the right answer."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mmsrelay.inbound.receive import ReceiveInboundMessage
from mmsrelay.inbound.webhook import InboundWebhook
from mmsrelay.storage.errors import StorageUnavailable
from mmsrelay.webhooks.basic_auth import BasicAuthVerifier, BasicCredentials
from tests.support import EVENT_PASSWORD, EVENT_USERNAME, MetricsRecorder, load_event
from tests.unit.inbound.fakes import FakeMedia, FakeRepository

NOW = datetime(2026, 11, 25, 16, 20, 1, tzinfo=UTC)


class Harness:
    def __init__(self) -> None:
        self.repository = FakeRepository()
        self.media = FakeMedia()
        self.credential_loads = 0
        self.webhook = InboundWebhook(
            verifier=BasicAuthVerifier(self._credentials, clock=lambda: 0.0),
            receive=ReceiveInboundMessage(self.repository, self.media, MetricsRecorder()),
            max_body_bytes=64 * 1024,
            default_country_code="1",
            media_budget_ms=2000,
            inline_media_reserve_ms=8000,
            clock=lambda: NOW,
        )

    def _credentials(self, force: bool) -> BasicCredentials:
        self.credential_loads += 1
        return BasicCredentials(EVENT_USERNAME, EVENT_PASSWORD)

    def post(self, event: dict[str, Any], remaining_ms: int = 20_000) -> tuple[int, dict[str, Any], dict[str, str]]:
        answer = self.webhook.handle(event, remaining_ms=lambda: remaining_ms)
        return answer["statusCode"], json.loads(answer["body"]), answer["headers"]


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.mark.parametrize(
    "event",
    [
        "inbound_post.json",
        "inbound_get.json",
        "inbound_post_base64.json",
        "inbound_post_attachments_json.json",
        "inbound_post_attachments_repeated.json",
        "inbound_post_segment_unknown_fields.json",
        "inbound_post_long_fields.json",
    ],
)
def test_every_valid_sample_is_stored_and_answered_200(harness: Harness, event: str) -> None:
    status, body, _ = harness.post(load_event(event))
    assert status == 200
    assert body["status"] == "stored"
    assert body["transactionGUID"] in harness.repository.stored


def test_a_repeat_is_answered_200_as_a_duplicate(harness: Harness) -> None:
    harness.post(load_event("inbound_post.json"))
    status, body, _ = harness.post(load_event("inbound_post.json"))
    assert (status, body["status"]) == (200, "duplicate")
    assert len(harness.repository.stored) == 1


@pytest.mark.parametrize("event", ["inbound_no_credentials.json", "inbound_wrong_credentials.json"])
def test_bad_credentials_get_a_401_with_a_challenge_and_nothing_stored(harness: Harness, event: str) -> None:
    status, body, headers = harness.post(load_event(event))
    assert status == 401
    assert body == {"error": "unauthorized"}
    assert headers["WWW-Authenticate"].startswith("Basic ")
    assert harness.repository.stored == {}


def test_credentials_are_checked_before_the_body_is_read(harness: Harness) -> None:
    # Given an unauthenticated post whose body could not even be decoded
    event = load_event("inbound_no_credentials.json")
    event["body"], event["isBase64Encoded"] = "%%%", True
    # Then the answer is about the credentials, not the body
    status, _, _ = harness.post(event)
    assert status == 401


def test_invalid_fields_get_a_400_naming_them_and_nothing_stored(harness: Harness) -> None:
    status, body, _ = harness.post(load_event("inbound_invalid.json"))
    assert status == 400
    assert body == {"error": "invalid_payload", "fields": ["destination", "source", "transactionGUID"]}
    assert harness.repository.stored == {}


def test_a_body_over_the_limit_gets_a_413(harness: Harness) -> None:
    event = load_event("inbound_post.json")
    event["body"] += "&messageText=" + "x" * 70_000
    status, body, _ = harness.post(event)
    assert (status, body) == (413, {"error": "payload_too_large"})


def test_an_unsupported_content_type_gets_a_415(harness: Harness) -> None:
    event = load_event("inbound_post.json")
    event["headers"]["Content-Type"] = "application/xml"
    assert harness.post(event)[0] == 415


def test_other_methods_get_a_405(harness: Harness) -> None:
    event = load_event("inbound_post.json")
    event["httpMethod"] = "PUT"
    assert harness.post(event)[0] == 405


@pytest.mark.parametrize(
    "body",
    [
        "",
        "transactionGUID=%ZZ",
        "\x00\x01\x02",
        "source=1&source=2&destination=",
        base64.b64encode(bytes(range(256))).decode(),
        "a=" + "%" * 500,
    ],
)
def test_garbage_never_gets_a_5xx(harness: Harness, body: str) -> None:
    event = load_event("inbound_post.json")
    event["body"] = body
    assert 400 <= harness.post(event)[0] < 500


def test_a_storage_outage_gets_a_503_so_the_gateway_retries(harness: Harness) -> None:
    def unavailable(message: object) -> object:
        raise StorageUnavailable("ThrottlingException")

    harness.repository.add_inbound = unavailable  # type: ignore[assignment, method-assign]
    status, body, headers = harness.post(load_event("inbound_post.json"))
    assert (status, body) == (503, {"error": "temporarily_unavailable"})
    assert headers["Retry-After"] == "30"


def test_an_unexpected_error_gets_a_bare_500(harness: Harness) -> None:
    def broken(message: object) -> object:
        raise RuntimeError("secret detail")

    harness.repository.add_inbound = broken  # type: ignore[assignment, method-assign]
    status, body, _ = harness.post(load_event("inbound_post.json"))
    assert (status, body) == (500, {"error": "internal_error"})


def test_the_media_budget_never_reaches_into_the_invocations_reserve(harness: Harness) -> None:
    # Given 9 s left of the invocation, 8 s of them kept in reserve, and a 2 s media budget
    status, _, _ = harness.post(load_event("inbound_post_attachments_json.json"), remaining_ms=9000)
    # Then the copies were given at most the 1 s before the reserve
    assert status == 200
    assert sorted(harness.media.time_limits) == [0, 1, 2]
    assert all(limit is not None and 0 < limit <= 1.0 for limit in harness.media.time_limits.values())


def test_media_is_queued_instead_of_copied_when_the_invocation_is_nearly_over(harness: Harness) -> None:
    status, _, _ = harness.post(load_event("inbound_post_attachments_json.json"), remaining_ms=5000)
    assert status == 200
    assert harness.media.copied == []
    assert len(harness.media.deferred) == 3
