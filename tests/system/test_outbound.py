"""Outbound MMS on the deployed local stack: jobs put on the queue reach the simulated gateway."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from typing import Any

import pytest
import requests

from devstack.stack import DeployedStack
from gatewaysim import images
from gatewaysim.http_api import ErrorRate, HttpFault
from gatewaysim.simulator import GatewaySimulator
from tests.system.conftest import PACED_CODE, eventually

pytestmark = pytest.mark.system


def put_job(stack: DeployedStack, job: dict[str, Any]) -> None:
    stack.client("sqs").send_message(QueueUrl=stack.outputs["OutboundQueueUrl"], MessageBody=json.dumps(job))


def message_item(stack: DeployedStack, message_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        stack.client("dynamodb")
        .get_item(
            TableName=stack.outputs["MessagesTableName"],
            Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item


def finished(stack: DeployedStack, message_id: str) -> dict[str, Any] | None:
    item = message_item(stack, message_id)
    if item is not None and item["status"]["S"] in ("sent", "failed"):
        return item
    return None


def unique_number() -> str:
    return f"+1310{uuid.uuid4().int % 10_000_000:07d}"


def test_one_image_from_s3_is_sent_over_https_through_a_short_link(
    local_stack: DeployedStack, simulator: GatewaySimulator
) -> None:
    # Given an image a producer stored in the media bucket
    image = images.png(40, 30)
    bucket = local_stack.outputs["MediaBucketName"]
    local_stack.client("s3").put_object(
        Bucket=bucket, Key="outbound/system/label.png", Body=image, ContentType="image/png"
    )
    number = unique_number()
    message_id = f"sys-https-{uuid.uuid4().hex[:8]}"
    # When a job for it is put on the outbound queue
    put_job(
        local_stack,
        {
            "messageId": message_id,
            "from": "12223334444",
            "to": [number],
            "text": "Your label",
            "media": [{"s3": f"s3://{bucket}/outbound/system/label.png"}],
            "deliveryReport": True,
        },
    )
    # Then the gateway receives one HTTPS submission whose mmsURL fits 160 characters
    item = eventually(lambda: finished(local_stack, message_id), timeout=60)
    assert item["status"]["S"] == "sent", item.get("lastError")
    (sent,) = [m for m in simulator.http_api.sent if m.destination == number.lstrip("+")]
    assert len(sent.mms_url) <= 160
    # And the link serves the image (through the deployed GET /m/{token} and a presigned URL)
    answer = requests.get(local_stack.local_url(sent.mms_url), timeout=30, verify=str(local_stack.ca_file))
    assert answer.status_code == 200
    assert hashlib.sha256(answer.content).hexdigest() == hashlib.sha256(image).hexdigest()
    # And the transaction item carries the gateway's GUID
    guid = item["recipients"]["L"][0]["M"]["transactionGuid"]["S"]
    assert guid == sent.transaction_guid
    transaction = local_stack.transaction_item(guid)
    assert transaction is not None
    assert transaction["status"] == {"S": "sent"}
    assert transaction["messageId"] == {"S": message_id}


def test_a_group_mms_with_two_attachments_goes_over_mm4_in_one_transaction(
    local_stack: DeployedStack, simulator: GatewaySimulator
) -> None:
    bucket = local_stack.outputs["MediaBucketName"]
    photo = images.jpeg(48, 32)
    local_stack.client("s3").put_object(
        Bucket=bucket, Key="outbound/system/photo.jpg", Body=photo, ContentType="image/jpeg"
    )
    logo = images.gif()
    local_stack.client("s3").put_object(
        Bucket=bucket, Key="outbound/system/logo.gif", Body=logo, ContentType="image/gif"
    )
    numbers = [unique_number() for _ in range(3)]
    message_id = f"sys-group-{uuid.uuid4().hex[:8]}"
    put_job(
        local_stack,
        {
            "messageId": message_id,
            "from": "+12223334444",
            "to": numbers,
            "text": "Group photo",
            "subject": "Team",
            "media": [
                {"s3": f"s3://{bucket}/outbound/system/photo.jpg"},
                {"s3": f"s3://{bucket}/outbound/system/logo.gif"},
            ],
        },
    )
    item = eventually(lambda: finished(local_stack, message_id), timeout=60)
    assert item["status"]["S"] == "sent", item.get("lastError")
    (transaction,) = [t for t in simulator.mm4.transactions if numbers[0].lstrip("+") in " ".join(t.recipients)]
    assert len(transaction.recipients) == 3
    contents = sorted(part.data for part in transaction.parts if part.content_type in ("image/jpeg", "image/gif"))
    assert contents == sorted([photo, logo])
    guids = [r["M"]["transactionGuid"]["S"] for r in item["recipients"]["L"]]
    assert len(set(guids)) == 3


def test_a_job_put_twice_reaches_the_gateway_once(local_stack: DeployedStack, simulator: GatewaySimulator) -> None:
    number = unique_number()
    message_id = f"sys-twice-{uuid.uuid4().hex[:8]}"
    job = {
        "messageId": message_id,
        "from": "12223334444",
        "to": [number],
        "text": "once",
        "media": [{"url": "https://cdn.example.com/once.jpg"}],
    }
    put_job(local_stack, job)
    put_job(local_stack, job)
    eventually(lambda: finished(local_stack, message_id), timeout=60)
    # Give the second copy time to be handled too, then count what the gateway saw
    eventually(lambda: not _in_flight(local_stack), timeout=60)
    assert len([m for m in simulator.http_api.sent if m.destination == number.lstrip("+")]) == 1


def test_a_job_that_keeps_failing_ends_in_the_dead_letter_queue(
    local_stack: DeployedStack, simulator: GatewaySimulator
) -> None:
    simulator.http_api.error_rate = ErrorRate(1.0, HttpFault.http_status(503), seed=7)
    message_id = f"sys-dlq-{uuid.uuid4().hex[:8]}"
    try:
        put_job(
            local_stack,
            {
                "messageId": message_id,
                "from": "12223334444",
                "to": [unique_number()],
                "text": "doomed",
                "media": [{"url": "https://cdn.example.com/doomed.jpg"}],
            },
        )
        sqs = local_stack.client("sqs")
        dead = eventually(
            lambda: sqs.receive_message(
                QueueUrl=local_stack.outputs["OutboundDeadLetterQueueUrl"], WaitTimeSeconds=1
            ).get("Messages"),
            timeout=90,
        )
    finally:
        simulator.http_api.error_rate = None
    assert json.loads(dead[0]["Body"])["messageId"] == message_id
    item = message_item(local_stack, message_id)
    assert item is not None
    assert item["lastError"]["M"]["code"] == {"S": "http_503"}
    assert int(item["attempts"]["N"]) >= 2


def _in_flight(stack: DeployedStack) -> bool:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["OutboundQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return any(int(value) for value in attributes.values())


def test_a_burst_of_one_code_is_paced_so_a_gateway_enforcing_its_rate_never_throttles_it(
    local_stack: DeployedStack, simulator: GatewaySimulator
) -> None:
    # Given a gateway that allows the code its configured 2 messages per second (two at once at most)
    simulator.http_api.limit_rates({PACED_CODE: 2.0})
    run = uuid.uuid4().hex[:8]
    message_ids = [f"sys-paced-{run}-{n}" for n in range(5)]
    try:
        # When five of its jobs are put on the queue at once
        for message_id in message_ids:
            put_job(
                local_stack,
                {
                    "messageId": message_id,
                    "from": PACED_CODE,
                    "to": [unique_number()],
                    "text": "paced",
                    "media": [{"url": "https://cdn.example.com/a.jpg"}],
                },
            )
        # Then all five are sent (the last ones after waiting for their slots)
        items = [eventually(functools.partial(finished, local_stack, m), timeout=60) for m in message_ids]
    finally:
        simulator.http_api.limit_rates(None)
    assert [item["status"]["S"] for item in items] == ["sent"] * 5
    # And the gateway refused none of them (sent at once, three would have been refused)
    assert [r for r in simulator.http_api.rate_limited if dict(r.form).get("source") == PACED_CODE] == []
    assert len([m for m in simulator.http_api.sent if m.source == PACED_CODE]) == 5
