"""``mmsrelay dlq``'s queue work on SQS (moto): listing takes nothing; a redrive sends, then
deletes, so an interrupted one loses no entry (what it sent twice, the relay applies once)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest

from mmsrelay_cli.dlq import commands
from mmsrelay_cli.dlq.queues import QueueReader, queue_named
from mmsrelay_cli.errors import Failed
from mmsrelay_cli.render import Output, Progress
from mmsrelay_cli.stack import Stack
from tests.unit.cli.fakes import FakeQueryApi

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def stack() -> Stack:
    sqs = boto3.client("sqs", region_name="us-east-1")
    outputs = {
        "OutboundQueueUrl": sqs.create_queue(QueueName="outbound")["QueueUrl"],
        "OutboundDeadLetterQueueUrl": sqs.create_queue(QueueName="outbound-dlq")["QueueUrl"],
    }
    return Stack("mms-relay-test", outputs, {}, boto3.Session(region_name="us-east-1"), api_url="")


def jobs_in(stack: Stack, *message_ids: str) -> list[str]:
    bodies = [json.dumps({"messageId": m, "from": "12345", "to": ["+13105551212"], "text": m}) for m in message_ids]
    for body in bodies:
        stack.client("sqs").send_message(QueueUrl=stack.outputs["OutboundDeadLetterQueueUrl"], MessageBody=body)
    return bodies


def bodies_on(stack: Stack, output: str) -> list[str]:
    sqs, found = stack.client("sqs"), list[str]()
    while True:
        answer = sqs.receive_message(QueueUrl=stack.outputs[output], MaxNumberOfMessages=10, VisibilityTimeout=300)
        if not answer.get("Messages"):
            return sorted(found)
        found += [message["Body"] for message in answer["Messages"]]


def redrive(stack: Stack, limit: int | None = None, dry_run: bool = False) -> dict[str, Any]:
    stream = io.StringIO()
    commands.redrive(stack, FakeQueryApi(), "outbound", limit, dry_run, Output(True, stream), Progress(False))
    document: dict[str, Any] = json.loads(stream.getvalue())
    return document


def test_listing_takes_nothing_from_the_queue(stack: Stack) -> None:
    # Given three dead letters
    jobs_in(stack, "m-1", "m-2", "m-3")
    reader = QueueReader(stack, queue_named("outbound"))
    # When they are listed twice
    first, second = reader.peek(20), reader.peek(20)
    # Then both listings hold all three: a listing hides nothing afterwards
    assert len(first) == len(second) == 3
    assert reader.depth() == 3


def test_a_redrive_moves_each_entry_to_its_source_queue_then_deletes_it(stack: Stack) -> None:
    bodies = jobs_in(stack, "m-1", "m-2", "m-3")
    # When two are redriven, then the rest
    assert redrive(stack, limit=2)["moved"] == 2
    assert redrive(stack)["moved"] == 1
    # Then every job is on the outbound queue once, as it was, and the dead-letter queue is empty
    assert bodies_on(stack, "OutboundQueueUrl") == sorted(bodies)
    assert bodies_on(stack, "OutboundDeadLetterQueueUrl") == []


def test_a_dry_run_moves_nothing_and_leaves_every_entry_visible(stack: Stack) -> None:
    jobs_in(stack, "m-1", "m-2")
    document = redrive(stack, dry_run=True)
    assert [entry["moved"] for entry in document["entries"]] == [False, False]
    assert bodies_on(stack, "OutboundQueueUrl") == []
    assert QueueReader(stack, queue_named("outbound")).depth() == 2


def test_a_redrive_interrupted_between_send_and_delete_loses_nothing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one dead letter, and a redrive that dies right after sending it back (before the delete)
    (body,) = jobs_in(stack, "m-1")

    def dies(self: QueueReader, entry: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(QueueReader, "delete", dies)
        with pytest.raises(KeyboardInterrupt):
            redrive(stack)
    # Then the entry is still in the dead-letter queue (visible again at once) and its copy is sent
    assert QueueReader(stack, queue_named("outbound")).depth() == 1
    # When the redrive is run again
    assert redrive(stack)["moved"] == 1
    # Then the dead-letter queue is empty and the job reached its queue twice with the same body, and
    # so the same messageId: the outbound function's idempotency record sends it once
    assert bodies_on(stack, "OutboundDeadLetterQueueUrl") == []
    assert bodies_on(stack, "OutboundQueueUrl") == [body, body]


def test_an_entry_that_cannot_be_sent_back_stays_and_the_redrive_fails(stack: Stack) -> None:
    jobs_in(stack, "m-1")
    stack.outputs["OutboundQueueUrl"] = stack.outputs["OutboundQueueUrl"] + "-gone"
    with pytest.raises(Failed, match="1 entry could not be moved back"):
        redrive(stack)
    assert QueueReader(stack, queue_named("outbound")).depth() == 1
