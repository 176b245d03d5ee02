"""Events on the deployed local stack: every kind reaches a rule's target queue, from the stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.stack import DeployedStack
from gatewaysim.mo import MoMessage
from gatewaysim.receipts import receipts_for_http
from gatewaysim.simulator import GatewaySimulator
from tests.event_schemas import check_event
from tests.system.conftest import eventually
from tests.system.test_outbound import put_job
from tests.system.test_receipts import https_send

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def subscription(local_stack: DeployedStack) -> Iterator[str]:
    """A rule on the relay's bus sending every relay event to a queue, as a subscriber would."""
    sqs, events = local_stack.client("sqs"), local_stack.client("events")
    queue_url = sqs.create_queue(QueueName=f"subscriber-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = local_stack.outputs["EventBusName"]
    rule = events.put_rule(Name="all-mms-events", EventBusName=bus, EventPattern=json.dumps({"source": ["mms-relay"]}))
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": queue_arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": rule["RuleArn"]}},
                        }
                    ],
                }
            )
        },
    )
    events.put_targets(Rule="all-mms-events", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    yield queue_url
    events.remove_targets(Rule="all-mms-events", EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name="all-mms-events", EventBusName=bus)


def received(stack: DeployedStack, queue_url: str, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = stack.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    for message in answer.get("Messages", []):
        seen.append(json.loads(message["Body"]))
        stack.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def test_each_kind_of_event_reaches_a_subscriber(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str], subscription: str
) -> None:
    # An inbound MMS, a sent job with receipts, and a job that cannot be read
    mo = MoMessage(message_text="for the event bus")
    with simulator.mo_sender(
        f"{local_stack.api_url}/inbound", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as sender:
        assert sender.send(mo).status_code == 200
    guid, sent = https_send(local_stack, simulator)
    with simulator.receipt_sender(
        f"{local_stack.api_url}/dlr", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as receipts:
        receipts.send_many(receipts_for_http(sent, ["ENROUTE", "DELIVRD"]))
    put_job(local_stack, {"from": "12223334444", "to": [], "text": "no recipient"})

    seen: list[dict[str, Any]] = []

    def all_arrived() -> bool:
        events = received(local_stack, subscription, seen)
        kinds = {
            (event["detail-type"], event["detail"].get("transactionGUID") or event["detail"].get("messageId"))
            for event in events
        }
        wanted_status = {("MMS Status Changed", guid)}
        return (
            ("MMS Received", mo.transaction_guid) in kinds
            and any(kind == "MMS Sent" for kind, _ in kinds)
            and any(kind == "MMS Send Failed" for kind, _ in kinds)
            and wanted_status <= kinds
            and sum(
                1 for e in events if e["detail-type"] == "MMS Status Changed" and e["detail"]["transactionGUID"] == guid
            )
            >= 2
        )

    eventually(all_arrived, timeout=90)
    statuses = [
        e["detail"]["status"]
        for e in seen
        if e["detail-type"] == "MMS Status Changed" and e["detail"]["transactionGUID"] == guid
    ]
    assert sorted(statuses) == ["delivered", "enroute"]
    assert all(event["source"] == "mms-relay" for event in seen)
    # And each event is the one its schema describes (schemas/events/)
    for event in seen:
        check_event(event)
