"""The inbound and media-retry handlers as Lambda runs them, on moto, with a real local media host.

These drive ``functions/*/app.py`` with the sample events, so the wiring (settings from the
environment, clients, Powertools) is exercised, not only the use cases.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from functions.inbound import app as inbound_app
from functions.media_retry import app as media_retry_app
from gatewaysim import images
from gatewaysim.media_host import MediaFaults, MediaHost
from mmsrelay import aws as clients
from mmsrelay.wiring import inbound as wiring
from tests.integration.conftest import REGION, cold_function, create_messages_table
from tests.support import EVENT_PASSWORD, EVENT_USERNAME, LambdaContextStub, load_event

BUCKET = "media"


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    with MediaHost() as host:
        yield host


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The resources the template creates, on moto, and the environment it gives the functions."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_messages_table(dynamodb)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="media-retry")["QueueUrl"]
    secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="webhook", SecretString=json.dumps({"username": EVENT_USERNAME, "password": EVENT_PASSWORD})
    )["ARN"]
    environment = {
        "POWERTOOLS_SERVICE_NAME": "mms-relay",
        "POWERTOOLS_METRICS_NAMESPACE": "MmsRelay",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "MESSAGES_TABLE_NAME": "messages",
        "MEDIA_BUCKET_NAME": BUCKET,
        "MEDIA_RETRY_QUEUE_URL": queue_url,
        "MEDIA_ALLOWED_HOSTS": "127.0.0.1",
        "ALLOW_INSECURE_MEDIA_FETCH": "true",
        "MAX_MEDIA_BYTES": str(1024 * 1024),
        "MEDIA_RETRY_MAX_ATTEMPTS": "3",
        "MEDIA_RETRY_FIRST_DELAY_SECONDS": "0",
        "MESSAGE_RETENTION_DAYS": "30",
        "DEFAULT_COUNTRY_CODE": "1",
        "WEBHOOK_CREDENTIALS_SECRET_ARN": secret_arn,
        "MAX_WEBHOOK_BODY_BYTES": "262144",
    }
    with cold_function(monkeypatch, environment, wiring.inbound_webhook, wiring.media_retry):
        yield {"dynamodb": dynamodb, "s3": s3, "sqs": sqs, "queue_url": queue_url}


def count_dynamodb_writes() -> Counter[str]:
    """Counts the DynamoDB operations the functions' own client makes from now on."""
    calls: Counter[str] = Counter()
    clients.dynamodb_client().meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )
    return calls


def mo_event(media_urls: list[str], guid: str = "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F") -> dict[str, Any]:
    event = load_event("inbound_post.json")
    event["body"] = urlencode(
        {
            "transactionGUID": guid,
            "source": "13105551212",
            "sourceCountryCode": "1",
            "destination": "12223334444",
            "messageText": "hello",
            "attachments": json.dumps(media_urls),
        }
    )
    return event


def item(deployed: dict[str, Any], guid: str = "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F") -> dict[str, Any]:
    found: dict[str, Any] = deployed["dynamodb"].get_item(
        TableName="messages", Key={"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}}
    )["Item"]
    return found


def test_an_mo_is_stored_with_its_media_in_one_write_per_change(
    deployed: dict[str, Any], media_host: MediaHost
) -> None:
    # Given two images on a local media host
    photo, logo = images.jpeg(40, 30), images.png(10, 10)
    urls = [media_host.add("p.jpg", photo, "image/jpeg"), media_host.add("l.png", logo, "image/png")]
    writes = count_dynamodb_writes()
    # When the gateway's post reaches the handler
    answer = inbound_app.lambda_handler(mo_event(urls), LambdaContextStub())
    # Then it answers 200, the item and both objects are stored, with exactly 1 + 2 writes, no read
    assert answer["statusCode"] == 200, answer["body"]
    assert writes == Counter({"PutItem": 1, "UpdateItem": 2})
    media = [entry["M"] for entry in item(deployed)["media"]["L"]]
    for entry, original in zip(media, (photo, logo), strict=True):
        assert entry["status"]["S"] == "stored"
        assert entry["sha256"]["S"] == hashlib.sha256(original).hexdigest()
        body = deployed["s3"].get_object(Bucket=BUCKET, Key=entry["s3Key"]["S"])["Body"].read()
        assert body == original


def test_the_sample_events_get_their_documented_answers(deployed: dict[str, Any]) -> None:
    expected = {
        "inbound_no_credentials.json": 401,
        "inbound_wrong_credentials.json": 401,
        "inbound_invalid.json": 400,
        "inbound_post_segment_unknown_fields.json": 200,
    }
    for name, status in expected.items():
        assert inbound_app.lambda_handler(load_event(name), LambdaContextStub())["statusCode"] == status, name


def test_a_flaky_media_host_is_retried_by_the_worker_until_stored(
    deployed: dict[str, Any], media_host: MediaHost
) -> None:
    # Given a media host that fails the first request with a 503
    body = images.gif()
    media_host.add("flaky.gif", body, "image/gif")
    url = media_host.url("flaky.gif", fail_first=1)
    # When the MO arrives, the message is stored with its attachment pending and a retry queued
    assert inbound_app.lambda_handler(mo_event([url]), LambdaContextStub())["statusCode"] == 200
    assert item(deployed)["media"]["L"][0]["M"]["status"]["S"] == "pending"
    messages = deployed["sqs"].receive_message(QueueUrl=deployed["queue_url"], MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["attempt"] == 2
    # Then the retry worker, fed that message, stores it
    sqs_event = load_event("media_retry_sqs.json")
    sqs_event["Records"][0]["body"] = messages[0]["Body"]
    outcome = media_retry_app.lambda_handler(sqs_event, LambdaContextStub())
    assert outcome == {"batchItemFailures": []}
    entry = item(deployed)["media"]["L"][0]["M"]
    assert entry["status"]["S"] == "stored"
    assert entry["sha256"]["S"] == hashlib.sha256(body).hexdigest()


def test_a_slow_media_host_does_not_hold_the_answer_and_its_media_is_stored_by_the_retry(
    deployed: dict[str, Any], media_host: MediaHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 300 ms media budget, a quick media host for one image and one that waits 20 s before answering
    monkeypatch.setenv("INLINE_MEDIA_BUDGET_MS", "300")
    wiring.inbound_webhook.cache_clear()
    quick, slow = images.jpeg(40, 30), images.png(10, 10)
    urls = [
        media_host.add("quick.jpg", quick, "image/jpeg"),
        media_host.add("slow.png", slow, "image/png", faults=MediaFaults(delay_ms=20_000)),
    ]
    # When the gateway's post reaches the handler
    answer = inbound_app.lambda_handler(mo_event(urls), LambdaContextStub())
    # Then the answer came while the slow host was still waiting: the message and the quick image are
    # stored, the slow one is pending with its retry queued
    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["status"] == "stored"
    media = [entry["M"] for entry in item(deployed)["media"]["L"]]
    assert [entry["status"]["S"] for entry in media] == ["stored", "pending"]
    messages = deployed["sqs"].receive_message(QueueUrl=deployed["queue_url"], MaxNumberOfMessages=10)["Messages"]
    assert [(json.loads(m["Body"])["index"], json.loads(m["Body"])["attempt"]) for m in messages] == [(1, 2)]
    # And once the host answers again, the retry worker fed that job stores the image
    media_host.add("slow.png", slow, "image/png")
    sqs_event = load_event("media_retry_sqs.json")
    sqs_event["Records"][0]["body"] = messages[0]["Body"]
    assert media_retry_app.lambda_handler(sqs_event, LambdaContextStub()) == {"batchItemFailures": []}
    entry = item(deployed)["media"]["L"][1]["M"]
    assert entry["status"]["S"] == "stored"
    assert entry["sha256"]["S"] == hashlib.sha256(slow).hexdigest()


def test_a_retry_for_media_already_stored_fetches_nothing(deployed: dict[str, Any], media_host: MediaHost) -> None:
    # Given an MO whose attachment the first post stored: answered 200, the message and its
    # attachment recorded, the object in the bucket, and no retry queued
    image = images.png()
    url = media_host.add("once.png", image, "image/png")
    assert inbound_app.lambda_handler(mo_event([url]), LambdaContextStub())["statusCode"] == 200
    first = item(deployed)
    (entry,) = [media["M"] for media in first["media"]["L"]]
    assert entry["status"]["S"] == "stored"
    assert deployed["s3"].get_object(Bucket=BUCKET, Key=entry["s3Key"]["S"])["Body"].read() == image
    assert "Messages" not in deployed["sqs"].receive_message(QueueUrl=deployed["queue_url"])
    fetched = len(media_host.requests)
    assert fetched == 1
    # When a retry for that attachment arrives anyway (a duplicate delivery of an old one)
    sqs_event = load_event("media_retry_sqs.json")
    sqs_event["Records"][0]["body"] = json.dumps(
        {
            "transaction_guid": "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F",
            "index": 0,
            "source_url": url,
            "received_at": "2026-11-25T16:20:01.123Z",
            "attempt": 2,
        }
    )
    assert media_retry_app.lambda_handler(sqs_event, LambdaContextStub()) == {"batchItemFailures": []}
    # Then nothing is fetched again and the stored item is unchanged
    assert len(media_host.requests) == fetched
    assert item(deployed) == first


def test_media_that_keeps_failing_is_marked_failed_after_the_last_attempt(
    deployed: dict[str, Any], media_host: MediaHost
) -> None:
    media_host.add("down.png", images.png(), "image/png")
    url = media_host.url("down.png", status=503)
    inbound_app.lambda_handler(mo_event([url]), LambdaContextStub())
    for _ in range(2):  # attempts 2 and 3 (MEDIA_RETRY_MAX_ATTEMPTS=3)
        (message,) = deployed["sqs"].receive_message(QueueUrl=deployed["queue_url"])["Messages"]
        deployed["sqs"].delete_message(QueueUrl=deployed["queue_url"], ReceiptHandle=message["ReceiptHandle"])
        sqs_event = load_event("media_retry_sqs.json")
        sqs_event["Records"][0]["body"] = message["Body"]
        media_retry_app.lambda_handler(sqs_event, LambdaContextStub())
    entry = item(deployed)["media"]["L"][0]["M"]
    assert entry["status"]["S"] == "failed"
    assert entry["attempts"]["N"] == "3"
    assert "after 3 attempts" in entry["error"]["S"]
    assert "Messages" not in deployed["sqs"].receive_message(QueueUrl=deployed["queue_url"])
