"""What the runs read and write on the deployed stack: items, queues, the function's resources.

Everything here goes to the emulator directly (``DeployedStack.client``), never through the AWS
fault proxy: a run observes the truth while the functions see faults.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from devstack.stack import DeployedStack

POLL_SECONDS = 1.0
BATCH_GET = 100


def progress(message: str) -> None:
    """A progress line on stderr (figures go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = POLL_SECONDS) -> bool:
    """Polls ``check`` until it is true or ``timeout`` seconds passed; False on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            progress(f"gave up waiting for {what} after {timeout:.0f}s")
            return False
        time.sleep(every)


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def get_items(stack: DeployedStack, keys: Iterable[str], sort_key: str) -> dict[str, dict[str, Any]]:
    """The items ``<pk>`` / ``sort_key`` of the messages table that exist, by pk (consistent reads)."""
    dynamodb = stack.client("dynamodb")
    table = stack.outputs["MessagesTableName"]
    found: dict[str, dict[str, Any]] = {}
    for group in chunks(sorted(set(keys)), BATCH_GET):
        request: dict[str, Any] = {
            table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sort_key}} for pk in group], "ConsistentRead": True}
        }
        for _ in range(20):  # unprocessed keys come back; the emulator seldom leaves any
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                found[item["pk"]["S"]] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
    return found


def message_items(stack: DeployedStack, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``MSG#<messageId>`` items by messageId."""
    items = get_items(stack, (f"MSG#{message_id}" for message_id in message_ids), "MSG")
    return {pk.removeprefix("MSG#"): item for pk, item in items.items()}


def transaction_items(stack: DeployedStack, guids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``TX#<guid>`` items by GUID."""
    items = get_items(stack, (f"TX#{guid}" for guid in guids), "TX")
    return {pk.removeprefix("TX#"): item for pk, item in items.items()}


def put_jobs(stack: DeployedStack, bodies: Iterable[dict[str, Any]]) -> int:
    """Puts each job on the outbound queue (ten per call); returns how many were put."""
    sqs = stack.client("sqs")
    url = stack.outputs["OutboundQueueUrl"]
    put = 0
    for group in chunks(list(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": json.dumps(body)} for n, body in enumerate(group)]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"the queue refused jobs: {answer['Failed']}")
        put += len(group)
    return put


def queue_depth(stack: DeployedStack, output: str) -> int:
    """Messages in the queue named by ``output``: visible, in flight and delayed."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs[output],
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


class DeadLetters:
    """The outbound dead-letter queue's messages that belong to a run (by ``messageId``), taken off
    the queue as they are found; other messages are made visible again at once."""

    def __init__(self, stack: DeployedStack, message_ids: Iterable[str]) -> None:
        self._stack = stack
        self._ours = set(message_ids)
        self.found: dict[str, dict[str, Any]] = {}

    def add(self, message_ids: Iterable[str]) -> None:
        self._ours.update(message_ids)

    def collect(self, max_rounds: int = 20) -> None:
        sqs = self._stack.client("sqs")
        url = self._stack.outputs["OutboundDeadLetterQueueUrl"]
        for _ in range(max_rounds):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return
            for message in messages:
                try:
                    body = json.loads(message["Body"])
                except json.JSONDecodeError:
                    body = {}
                message_id = str(body.get("messageId", "")) if isinstance(body, dict) else ""
                if message_id in self._ours:
                    self.found[message_id] = body
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                else:
                    sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )


def physical_id(stack: DeployedStack, logical_id: str) -> str:
    """The deployed name of the template's resource ``logical_id`` (a function's name, ...)."""
    answer = stack.client("cloudformation").describe_stack_resource(
        StackName="mms-relay-local", LogicalResourceId=logical_id
    )
    return str(answer["StackResourceDetail"]["PhysicalResourceId"])


def invoke(stack: DeployedStack, logical_id: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Invokes the deployed function ``logical_id`` once, synchronously; its answer (JSON)."""
    answer = stack.client("lambda").invoke(
        FunctionName=physical_id(stack, logical_id), Payload=json.dumps(event or {}).encode()
    )
    payload = answer["Payload"].read()
    if answer.get("FunctionError"):
        raise RuntimeError(f"{logical_id} failed: {payload[:500]!r}")
    result: dict[str, Any] = json.loads(payload or b"{}")
    return result


def text(item: dict[str, Any] | None, name: str) -> str | None:
    """A string attribute of a low-level item, or None."""
    if item is None or name not in item:
        return None
    value = item[name]
    return str(value.get("S")) if "S" in value else None
