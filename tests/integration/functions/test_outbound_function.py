"""The outbound and media-link handlers as Lambda runs them: moto for AWS, the gateway simulator
(HTTPS API and MM4 over TLS, on 127.0.0.1) for the gateway."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.media_link import app as media_link_app
from functions.outbound import app as outbound_app
from gatewaysim import images
from gatewaysim.http_api import HttpFault
from gatewaysim.simulator import GatewaySimulator
from mmsrelay.wiring import media_link as link_wiring
from mmsrelay.wiring import outbound as wiring
from tests.integration.conftest import REGION, TABLE, cold_function, create_messages_table
from tests.support import LambdaContextStub, load_event

BUCKET = "media"
LINK_BASE = "https://relay.example.com/v1"
PACED_CODE = "15550000002"  # 2 messages per second (SEND_RATE_OVERRIDES)


@pytest.fixture(scope="module")
def simulator() -> Iterator[GatewaySimulator]:
    with GatewaySimulator() as running:
        yield running


@pytest.fixture
def deployed(
    aws: None, atomic_items: None, simulator: GatewaySimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    # atomic_items: a batch's threads race for their code's schedule and their records, as on DynamoDB.
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_messages_table(dynamodb)
    dynamodb.create_table(
        TableName="idempotency",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="outbound")["QueueUrl"]
    secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="gateway",
        SecretString=json.dumps({"apiKey": simulator.api_key, "apiSecret": simulator.api_secret}),
    )["ARN"]
    bundle = b"".join(Path(str(p)).read_bytes() for p in (simulator.http_api.ca_file, simulator.mm4.ca_file))
    environment = {
        "MESSAGES_TABLE_NAME": TABLE,
        "MEDIA_BUCKET_NAME": BUCKET,
        "GATEWAY_CREDENTIALS_SECRET_ARN": secret_arn,
        "GATEWAY_BASE_URL": simulator.http_api.base_url,
        "GATEWAY_CA_CERTIFICATE": base64.b64encode(bundle).decode(),
        "MM4_HOST": "127.0.0.1",
        "MM4_PORT": str(simulator.mm4.port),
        "MM4_TLS_MODE": "implicit",
        "MM4_DOMAIN": simulator.mm4.domain,
        "MM4_ORIGINATOR_SYSTEM": "system-user@mm4.example.com",
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
        "IDEMPOTENCY_EXPIRY_HOURS": "72",
        "OUTBOUND_QUEUE_URL": queue_url,
        "OUTBOUND_RETRY_BASE_DELAY_SECONDS": "30",
        "SEND_RATE_PER_SECOND": "10",
        "SEND_RATE_OVERRIDES": f"{PACED_CODE}=2",
        "OUTBOUND_MEDIA_ALLOWED_HOSTS": "*",
        "ALLOW_INSECURE_MEDIA_FETCH": "true",
        "MAX_OUTBOUND_MESSAGE_BYTES": "1048576",
        "MEDIA_LINK_BASE_URL": LINK_BASE,
        "MEDIA_LINK_TTL_HOURS": "72",
        "DEFAULT_COUNTRY_CODE": "1",
        "RECEIPT_TIMEOUT_HOURS": "72",
        "MESSAGE_RETENTION_DAYS": "30",
    }
    simulator.http_api.clear()
    simulator.mm4.clear()
    with cold_function(monkeypatch, environment, wiring.outbound_relay, link_wiring.link_resolver):
        yield {"dynamodb": dynamodb, "s3": s3}


def sqs_event(*jobs: dict[str, Any]) -> dict[str, Any]:
    template = load_event("outbound_sqs_batch.json")["Records"][0]
    records = []
    for number, job in enumerate(jobs):
        record = json.loads(json.dumps(template))
        record["messageId"], record["body"] = f"sqs-{number}", json.dumps(job)
        records.append(record)
    return {"Records": records}


def message_item(deployed: dict[str, Any], message_id: str) -> dict[str, Any]:
    item: dict[str, Any] = deployed["dynamodb"].get_item(
        TableName=TABLE, Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}}
    )["Item"]
    return item


def test_one_image_from_s3_goes_over_https_as_a_short_link(
    deployed: dict[str, Any], simulator: GatewaySimulator
) -> None:
    # Given a producer's image in the media bucket
    image = images.png(20, 20)
    deployed["s3"].put_object(Bucket=BUCKET, Key="outbound/labels/1.png", Body=image, ContentType="image/png")
    job = {
        "messageId": "https-1",
        "from": "12223334444",
        "to": ["+13105551212"],
        "text": "Your label",
        "media": [{"s3": f"s3://{BUCKET}/outbound/labels/1.png"}],
        "deliveryReport": True,
    }
    # When the outbound function handles the job
    answer = outbound_app.lambda_handler(sqs_event(job), LambdaContextStub())
    # Then the gateway got one form post whose mmsURL is a short link to that image
    assert answer == {"batchItemFailures": []}
    (sent,) = simulator.http_api.sent
    assert sent.fields["destination"] == "13105551212"
    assert sent.fields["registeredDelivery"] == "1"
    link = sent.mms_url
    assert link.startswith(f"{LINK_BASE}/m/")
    assert len(link) <= 160
    # And the link redirects to the object
    token = link.rsplit("/", 1)[1]
    redirect = media_link_app.lambda_handler(
        {"httpMethod": "GET", "path": f"/m/{token}", "pathParameters": {"token": token}, "headers": {}},
        LambdaContextStub(),  # type: ignore[arg-type]
    )
    assert redirect["statusCode"] == 302
    assert "outbound/labels/1.png" in redirect["headers"]["Location"]
    # And the job and its transaction are recorded
    item = message_item(deployed, "https-1")
    assert item["status"] == {"S": "sent"}
    guid = item["recipients"]["L"][0]["M"]["transactionGuid"]["S"]
    assert guid == sent.transaction_guid


def test_a_group_with_two_attachments_goes_over_mm4_in_one_transaction(
    deployed: dict[str, Any], simulator: GatewaySimulator
) -> None:
    photo = images.jpeg(32, 32)
    deployed["s3"].put_object(Bucket=BUCKET, Key="outbound/a.jpg", Body=photo, ContentType="image/jpeg")
    deployed["s3"].put_object(Bucket=BUCKET, Key="outbound/b.gif", Body=images.gif(), ContentType="image/gif")
    job = {
        "messageId": "group-1",
        "from": "+12223334444",
        "to": ["+13105551212", "+13105551313", "+13105551414"],
        "text": "Dinner photos",
        "subject": "Dinner",
        "media": [{"s3": f"s3://{BUCKET}/outbound/a.jpg"}, {"s3": f"s3://{BUCKET}/outbound/b.gif"}],
        "deliveryReport": True,
    }
    answer = outbound_app.lambda_handler(sqs_event(job), LambdaContextStub())
    assert answer == {"batchItemFailures": []}
    (transaction,) = simulator.mm4.transactions
    assert len(transaction.recipients) == 3
    # The forward names where the gateway should mail its reports (the stack's MM4 reports domain)
    assert transaction.header("X-Mms-Originator-System") == "system-user@mm4.example.com"
    item = message_item(deployed, "group-1")
    assert item["status"] == {"S": "sent"}
    assert len({r["M"]["transactionGuid"]["S"] for r in item["recipients"]["L"]}) == 3


def test_a_job_with_every_field_at_its_limit_goes_over_mm4_intact(
    deployed: dict[str, Any], simulator: GatewaySimulator
) -> None:
    # Given a job at every limit of its schema: a 128-character messageId, 22-character numbers
    # (separators included), 10 recipients, a 100-character subject and 5,000 characters of text
    # (neither ASCII), 10 attachments, one under an S3 key of 1,024 bytes (S3's own limit)
    long_key = "outbound/" + "k" * (1024 - len("outbound/") - len(".png")) + ".png"
    keys = [long_key] + [f"outbound/{n}.png" for n in range(1, 10)]
    for key in keys:
        deployed["s3"].put_object(Bucket=BUCKET, Key=key, Body=images.png(8, 8), ContentType="image/png")
    recipients = [f"+1 ( 310 ) 555 - {n:02d} 00" for n in range(10)]
    subject, text = ("Dîner ✓ " * 13)[:100], ("Bon appétit 😀 " * 358)[:5000]
    assert (len(subject), len(text), max(map(len, recipients))) == (100, 5000, 22)
    job = {
        "messageId": "m" * 128,
        "from": "+1 ( 222 ) 333 - 44 44",
        "to": recipients,
        "subject": subject,
        "text": text,
        "media": [{"s3": f"s3://{BUCKET}/{key}"} for key in keys],
        "deliveryReport": True,
    }
    # When the outbound function handles it
    answer = outbound_app.lambda_handler(sqs_event(job), LambdaContextStub())
    # Then one MM4 transaction carries every value whole
    assert answer == {"batchItemFailures": []}
    (transaction,) = simulator.mm4.transactions
    assert [r.split("@")[0].split("/")[0] for r in transaction.recipients] == [f"+1310555{n:02d}00" for n in range(10)]
    assert transaction.header("From") is not None
    assert transaction.header("From").startswith("+12223334444@")  # type: ignore[union-attr]
    assert transaction.header("Subject") == subject
    (text_part,) = [part for part in transaction.parts if part.content_type == "text/plain"]
    # (the MIME text part ends its last line, as email's set_content does)
    assert text_part.data.decode("utf-8").replace("\r\n", "\n").removesuffix("\n") == text
    assert len([part for part in transaction.parts if part.content_type == "image/png"]) == 10
    assert message_item(deployed, "m" * 128)["status"] == {"S": "sent"}


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "Dinner\r\nBcc: +13105559999"},
        {"subject": "Dinner\rX-Mms-Message-Type: MM4_delivery_report.REQ"},
        {"to": ["+13105551212\r\nRCPT TO:<+13105559999@mmsc.example>"]},
        {"from": "12223334444\nX-Injected: 1"},
        {"subject": "s" * 101},
        {"to": [f"+1310555{n:04d}" for n in range(11)]},
    ],
    ids=["subject-crlf", "subject-cr", "to-crlf", "from-lf", "subject-too-long", "eleven-recipients"],
)
def test_a_job_past_a_limit_or_breaking_a_header_is_kept_as_invalid_and_nothing_is_sent(
    deployed: dict[str, Any], simulator: GatewaySimulator, change: dict[str, Any]
) -> None:
    # Given a job whose field breaks a limit or holds a line break
    job = {"messageId": "hostile-1", "from": "12223334444", "to": ["+13105551212"], "text": "hi"} | change
    # When the outbound function handles it
    answer = outbound_app.lambda_handler(sqs_event(job), LambdaContextStub())
    # Then it is not retried, nothing reaches the gateway, and it is kept failed as an invalid job
    assert answer == {"batchItemFailures": []}
    assert simulator.mm4.transactions == []
    assert simulator.http_api.sent == []
    items = deployed["dynamodb"].scan(TableName=TABLE)["Items"]
    assert [(item["pk"]["S"].startswith("MSG#invalid-"), item["status"]["S"]) for item in items] == [(True, "failed")]


def test_a_gateway_outage_fails_only_that_record_and_nothing_is_sent_twice(
    deployed: dict[str, Any], simulator: GatewaySimulator
) -> None:
    simulator.http_api.inject(HttpFault.http_status(503))
    jobs = [
        {
            "messageId": f"batch-{n}",
            "from": "12223334444",
            "to": [f"+1310555{n:04d}"],
            "text": "hi",
            "media": [{"url": "https://cdn.example.com/a.jpg"}],
        }
        for n in range(3)
    ]
    answer = outbound_app.lambda_handler(sqs_event(*jobs), LambdaContextStub())
    assert len(answer["batchItemFailures"]) == 1
    assert len(simulator.http_api.sent) == 2
    # The same batch delivered again sends only the one that failed
    again = outbound_app.lambda_handler(sqs_event(*jobs), LambdaContextStub())
    assert again == {"batchItemFailures": []}
    assert sorted(m.destination for m in simulator.http_api.sent) == [f"1310555{n:04d}" for n in range(3)]


# A burst whose last slots are well over 2 s away at 2 per second, however slowly it is claimed.
JOBS_IN_BURST = 8


def test_a_burst_of_one_code_is_paced_so_a_gateway_enforcing_its_rate_never_throttles_it(
    deployed: dict[str, Any], simulator: GatewaySimulator
) -> None:
    # Given a gateway that allows the code its configured 2 messages per second (two at once at most)
    simulator.http_api.limit_rates({PACED_CODE: 2.0})
    jobs: dict[str, dict[str, Any]] = {
        f"sqs-{n}": {
            "messageId": f"paced-{n}",
            "from": PACED_CODE,
            "to": [f"+1310555{n:04d}"],
            "text": "hi",
            "media": [{"url": "https://cdn.example.com/a.jpg"}],
        }
        for n in range(JOBS_IN_BURST)
    }
    try:
        # When eight of its jobs arrive in one batch, and what goes back to wait is delivered again
        answer = outbound_app.lambda_handler(sqs_event(*jobs.values()), LambdaContextStub())
        waited = [jobs[failure["itemIdentifier"]] for failure in answer["batchItemFailures"]]
        again = outbound_app.lambda_handler(sqs_event(*waited), LambdaContextStub())
    finally:
        simulator.http_api.limit_rates(None)
    # Then all eight reach the gateway and it refused none (sent at once, six would have been refused)
    assert again == {"batchItemFailures": []}
    assert sorted(m.destination for m in simulator.http_api.sent) == [f"1310555{n:04d}" for n in range(JOBS_IN_BURST)]
    assert simulator.http_api.rate_limited == []
    # And the jobs whose slot was more than 2 s away waited in the queue, the others in the invocation
    # (slots 0.5 s apart: those at 2.5, 3 and 3.5 s, and 2 s when claimed at once; the last one
    # still waits when a busy machine spreads the eight claims over up to 1.5 s)
    assert 1 <= len(waited) <= 4
    assert all(message_item(deployed, job["messageId"])["attempts"] == {"N": "2"} for job in waited)


def test_media_links_are_presigned_with_sigv4(deployed: dict[str, Any]) -> None:
    # S3 refuses SigV2 signatures on buckets created since 2020: a SigV2 link would never load.
    deployed["s3"].put_object(Bucket=BUCKET, Key="outbound/v4.png", Body=images.png(), ContentType="image/png")
    deployed["dynamodb"].put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "LINK#AAAAAAAAAAAAAAAAAAAAAA"},
            "sk": {"S": "LINK"},
            "bucket": {"S": BUCKET},
            "key": {"S": "outbound/v4.png"},
            "contentType": {"S": "image/png"},
            "expiresAt": {"N": "9999999999"},
        },
    )
    location = link_wiring.link_resolver().resolve("AAAAAAAAAAAAAAAAAAAAAA")
    assert location is not None
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in location
    assert "AWSAccessKeyId=" not in location


def get_link(token: str) -> dict[str, Any]:
    event = {"httpMethod": "GET", "path": f"/m/{token}", "pathParameters": {"token": token}, "headers": {}}
    answer: dict[str, Any] = media_link_app.lambda_handler(event, LambdaContextStub())  # type: ignore[arg-type]
    return answer


def stored_link(deployed: dict[str, Any], token: str, expires_at: int) -> None:
    deployed["s3"].put_object(Bucket=BUCKET, Key=f"outbound/{token}.png", Body=images.png(), ContentType="image/png")
    deployed["dynamodb"].put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"LINK#{token}"},
            "sk": {"S": "LINK"},
            "bucket": {"S": BUCKET},
            "key": {"S": f"outbound/{token}.png"},
            "contentType": {"S": "image/png"},
            "expiresAt": {"N": str(expires_at)},
        },
    )


def test_guessed_tampered_and_expired_links_get_the_unknown_tokens_answer(deployed: dict[str, Any]) -> None:
    # Given a live link, and a link past its expiry that DynamoDB's TTL has not removed yet
    live, expired = "Q7Zk3pX9aB2cD4eFg5Hi6J", "Z9yX8wV7uT6sR5qP4oN3mL"
    stored_link(deployed, live, 9_999_999_999)
    stored_link(deployed, expired, 1_700_000_000)
    assert get_link(live)["statusCode"] == 302
    # When a guess, tampered forms of the live token and the expired one are asked for
    unknown = get_link("AAAAAAAAAAAAAAAAAAAAAA")
    others = [get_link(token) for token in (live.lower(), live[:-1] + "K", live[:-1], live + "A", f"LINK#{live}")]
    others.append(get_link(expired))
    # Then each gets the unknown token's 404, headers and body included
    assert unknown["statusCode"] == 404
    assert all(answer == unknown for answer in others)
    assert set(unknown["headers"]) == {"Content-Type", "Cache-Control"}
