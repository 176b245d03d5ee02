"""Events on the deployed local stack: every kind reaches a rule's target queue, from the stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.stack import DeployedStack
from gatewaysim.mo import MoMessage
from gatewaysim.receipts import receipts_for_http
from gatewaysim.simulator import GatewaySimulator
from mmsrelay.outbound.job import derived_message_id
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


def transaction_message_id(stack: DeployedStack, guid: str) -> str:
    """The messageId of the job that sent transaction ``guid`` (its TX# item says)."""
    item = stack.transaction_item(guid)
    assert item is not None, f"no TX#{guid}"
    return str(item["messageId"]["S"])


@dataclass(frozen=True)
class Expected:
    """The events this test's own messages must cause (others' events on the bus are ignored)."""

    received_guid: str  # the inbound MMS
    sent_message_id: str  # the job sent over HTTPS
    sent_guid: str  # its transaction, which the receipts move
    failed_message_id: str  # the job that cannot be read


def ours(events: list[dict[str, Any]], expected: Expected) -> dict[str, list[dict[str, Any]]]:
    """The details of the events caused by this test's own messages, by kind."""
    found: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        kind, detail = event["detail-type"], event["detail"]
        mine = {
            "MMS Received": detail.get("transactionGUID") == expected.received_guid,
            "MMS Sent": detail.get("messageId") == expected.sent_message_id
            and expected.sent_guid in {r.get("transactionGUID") for r in detail.get("recipients", [])},
            "MMS Send Failed": detail.get("messageId") == expected.failed_message_id,
            "MMS Status Changed": detail.get("transactionGUID") == expected.sent_guid,
        }.get(kind, False)
        if mine:
            found.setdefault(kind, []).append(detail)
    return found


def all_arrived(found: dict[str, list[dict[str, Any]]]) -> bool:
    return (
        all(found.get(kind) for kind in ("MMS Received", "MMS Sent", "MMS Send Failed"))
        and len(found.get("MMS Status Changed", [])) >= 2
    )


def test_each_kind_of_event_reaches_a_subscriber(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str], subscription: str
) -> None:
    # An inbound MMS, a sent job with receipts, and a job that cannot be read (made unique, so its
    # derived messageId is this run's own)
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
    unreadable = {"from": "12223334444", "to": [], "text": f"no recipient {uuid.uuid4().hex}"}
    put_job(local_stack, unreadable)
    expected = Expected(
        received_guid=mo.transaction_guid,
        sent_message_id=transaction_message_id(local_stack, guid),
        sent_guid=guid,
        failed_message_id=derived_message_id(json.dumps(unreadable), prefix="invalid"),
    )

    # Each kind arrives, for this test's own messages
    seen: list[dict[str, Any]] = []
    eventually(lambda: all_arrived(ours(received(local_stack, subscription, seen), expected)), timeout=90)
    found = ours(seen, expected)
    assert sorted(detail["status"] for detail in found["MMS Status Changed"]) == ["delivered", "enroute"]
    assert [detail["sentOver"] for detail in found["MMS Sent"]] == ["https"]
    assert [detail["error"]["code"] for detail in found["MMS Send Failed"]] == ["invalid_job"]
    assert all(event["source"] == "mms-relay" for event in seen)
    # And each event is the one its schema describes (schemas/events/)
    for event in seen:
        check_event(event)
