"""Inbound MMS on the deployed local stack: the simulator posts to /inbound like the gateway."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.stack import DeployedStack
from gatewaysim import images
from gatewaysim.mo import MoMessage, MoSender
from gatewaysim.simulator import GatewaySimulator
from tests.system.conftest import eventually

pytestmark = pytest.mark.system


@pytest.fixture
def sender(local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]) -> Iterator[MoSender]:
    with simulator.mo_sender(
        f"{local_stack.api_url}/inbound", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as mo_sender:
        yield mo_sender


def media_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["M"] for entry in item["media"]["L"]]


def object_bytes(stack: DeployedStack, key: str) -> bytes:
    body: bytes = stack.client("s3").get_object(Bucket=stack.outputs["MediaBucketName"], Key=key)["Body"].read()
    return body


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_an_mo_with_two_images_is_stored_with_its_media(
    local_stack: DeployedStack, simulator: GatewaySimulator, sender: MoSender, method: str
) -> None:
    # Given two images on the gateway's media host
    photo, logo = images.jpeg(64, 48), images.png(32, 32)
    urls = [
        simulator.media.add(f"photo-{method}.jpg", photo, "image/jpeg"),
        simulator.media.add(f"logo-{method}.png", logo, "image/png"),
    ]
    mo = MoMessage(attachments=urls, message_text="two pictures", mms_subject="Pics")
    # When the gateway forwards the MO
    result = sender.send(mo, method=method)  # type: ignore[arg-type]
    # Then it is answered 200 only once stored, and the item holds both copies
    assert result.status_code == 200, result.body
    assert json.loads(result.body)["status"] == "stored"
    item = local_stack.transaction_item(mo.transaction_guid)
    assert item is not None
    assert item["from"] == {"S": "+13105551212"}
    assert item["text"] == {"S": "two pictures"}
    stored = media_of(item)
    assert [m["status"]["S"] for m in stored] == ["stored", "stored"]
    for entry, original, content_type in zip(stored, (photo, logo), ("image/jpeg", "image/png"), strict=True):
        key = entry["s3Key"]["S"]
        assert key.startswith("inbound/")
        assert mo.transaction_guid in key
        assert entry["contentType"]["S"] == content_type
        assert entry["size"]["N"] == str(len(original))
        assert entry["sha256"]["S"] == hashlib.sha256(original).hexdigest()
        assert object_bytes(local_stack, key) == original


def test_a_repeated_post_is_answered_200_and_changes_nothing(
    local_stack: DeployedStack, simulator: GatewaySimulator, sender: MoSender
) -> None:
    url = simulator.media.add("repeat.png", images.png(8, 8), "image/png")
    mo = MoMessage(attachments=[url])
    first = sender.send(mo)
    assert first.status_code == 200
    before = local_stack.transaction_item(mo.transaction_guid)
    fetches = len(simulator.media.requests)
    again = sender.send(mo)
    assert again.status_code == 200
    assert json.loads(again.body)["status"] == "duplicate"
    assert local_stack.transaction_item(mo.transaction_guid) == before
    assert len(simulator.media.requests) == fetches  # the media was not fetched again


def test_concurrent_duplicates_store_one_item(
    local_stack: DeployedStack, simulator: GatewaySimulator, sender: MoSender
) -> None:
    url = simulator.media.add("concurrent.gif", images.gif(), "image/gif")
    mo = MoMessage(attachments=[url])
    results = sender.send_duplicate(mo, times=4, concurrent=True)
    assert [r.status_code for r in results] == [200] * 4
    statuses = sorted(json.loads(r.body)["status"] for r in results)
    assert statuses == ["duplicate"] * 3 + ["stored"]
    item = eventually(lambda: local_stack.transaction_item(mo.transaction_guid))
    assert media_of(item)[0]["status"]["S"] == "stored"


def test_wrong_or_missing_credentials_get_401_and_nothing_is_stored(
    local_stack: DeployedStack, sender: MoSender
) -> None:
    for credentials in ("wrong", "none"):
        mo = MoMessage()
        result = sender.send(mo, credentials=credentials)
        assert result.status_code == 401
        assert result.headers.get("WWW-Authenticate", result.headers.get("www-authenticate", "")).startswith("Basic")
        assert local_stack.transaction_item(mo.transaction_guid) is None


def test_a_malformed_post_gets_400_naming_the_fields(local_stack: DeployedStack, credentials: tuple[str, str]) -> None:
    answer = requests.post(
        f"{local_stack.api_url}/inbound",
        data={"transactionGUID": "nope", "source": "13105551212"},
        auth=credentials,
        timeout=60,
        verify=str(local_stack.ca_file),
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_payload", "fields": ["destination", "transactionGUID"]}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "host_not_allowed"),
        ("https://media.example.com/cat.jpg", "host_not_allowed"),
        ("file:///etc/passwd", "scheme_not_allowed"),
    ],
)
def test_a_blocked_media_url_is_not_fetched_and_the_message_is_kept(
    local_stack: DeployedStack, sender: MoSender, url: str, reason: str
) -> None:
    # The address guard itself (private, link-local, odd spellings, rebinding) is covered by
    # tests/unit/media/test_url_guard.py; here the deployed function must refuse and keep the MO.
    mo = MoMessage(mms_url=url, attachments_format="none")
    assert sender.send(mo).status_code == 200
    item = local_stack.transaction_item(mo.transaction_guid)
    assert item is not None
    (entry,) = media_of(item)
    assert entry["status"]["S"] == "failed"
    assert entry["error"]["S"] == reason
    assert "s3Key" not in entry


def test_a_media_host_failing_transiently_is_retried_until_stored(
    local_stack: DeployedStack, simulator: GatewaySimulator, sender: MoSender
) -> None:
    # Given a media host that answers 503 to the first request for the image
    body = images.png(24, 24)
    url = simulator.media.add("flaky.png", body, "image/png")
    mo = MoMessage(attachments=[simulator.media.url("flaky.png", fail_first=1)])
    assert url
    # When the MO arrives, it is stored at once with the attachment pending
    assert sender.send(mo).status_code == 200
    first = local_stack.transaction_item(mo.transaction_guid)
    assert first is not None
    assert media_of(first)[0]["status"]["S"] == "pending"
    # Then the retry worker copies it later (locally the first retry waits 2 s on the queue)
    item = eventually(
        lambda: (
            (i := local_stack.transaction_item(mo.transaction_guid)) and media_of(i)[0]["status"]["S"] == "stored" and i
        ),
        timeout=60,
    )
    assert media_of(item)[0]["sha256"]["S"] == hashlib.sha256(body).hexdigest()
