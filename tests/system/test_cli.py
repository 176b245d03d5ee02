"""The ``mmsrelay`` command line against the deployed local stack: every command, as a user runs it.

The stack is described to the command line by a state file of the test's own (as ``make up``
writes one), and the gateway simulator posts delivery receipts for what it accepts while this
module runs (as it does under ``make up``).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.receipts import ReceiptPoster
from devstack.sam import RepoPaths
from devstack.stack import STACK_NAME, DeployedStack
from devstack.stack_state import StackState, published
from gatewaysim import images
from gatewaysim.http_api import HttpFault
from gatewaysim.simulator import GatewaySimulator
from mmsrelay_cli.errors import ExitCode
from mmsrelay_cli.main import main
from tests.support import EVENTS, load_event
from tests.system.conftest import eventually

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def state_file(local_stack: DeployedStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The stack described as ``make up`` describes it, in a file of this module's own."""
    path = tmp_path_factory.mktemp("cli") / "stack.json"
    state = StackState(
        local_stack.endpoint,
        local_stack.ca_file,
        STACK_NAME,
        local_stack.outputs,
        RepoPaths.discover().build_dir,
        os.getpid(),
    )
    with published(path, state):
        yield path


@pytest.fixture(scope="module")
def receipts(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]
) -> Iterator[ReceiptPoster]:
    with ReceiptPoster(simulator, local_stack, credentials) as poster:
        yield poster


class Cli:
    def __init__(self, state_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self._state_file = state_file
        self._capsys = capsys

    def __call__(self, *arguments: str) -> tuple[int, Any, str]:
        """``mmsrelay <arguments> --json``: the exit code, the JSON printed, what went to stderr."""
        self._capsys.readouterr()
        code = main([*arguments, "--json", "--state-file", str(self._state_file)])
        out, err = self._capsys.readouterr()
        return code, json.loads(out) if out.strip() else None, err


@pytest.fixture
def cli(state_file: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(state_file, capsys)


def unique_number() -> str:
    return f"+1310{uuid.uuid4().int % 10_000_000:07d}"


def test_stack_info_names_the_stacks_urls_queues_secrets_and_portal_routes(
    cli: Cli, local_stack: DeployedStack
) -> None:
    code, info, _ = cli("stack", "info")
    assert code == ExitCode.OK
    outputs = local_stack.outputs
    assert info["stack"] == STACK_NAME
    assert info["apiUrlFromHere"] == local_stack.api_url
    assert info["portal"]["moRoute"]["url"] == f"{outputs['ApiUrl']}/inbound"
    assert info["portal"]["deliveryReceiptRoute"]["url"] == f"{outputs['ApiUrl']}/dlr"
    assert info["outboundQueueUrl"] == outputs["OutboundQueueUrl"]
    assert set(info["failureQueues"]) == {"outbound", "media-retry", "events", "mm4-reports"}
    assert info["secrets"]["webhook"]["name"]
    assert info["mediaBucket"] == outputs["MediaBucketName"]


@pytest.mark.usefixtures("receipts")
def test_send_waits_for_the_message_to_be_sent_and_delivered(cli: Cli, simulator: GatewaySimulator) -> None:
    # Given a job to one number with one image by URL, asking for delivery reports
    number = unique_number()
    # When it is sent and followed
    code, sent, progress = cli(
        "send", "--from", "12223334444", "--to", number, "--text", "hello from the cli",
        "--media", "https://cdn.example.com/cli.jpg", "--delivery-report", "--wait", "--timeout", "90",
    )  # fmt: skip
    # Then it went over HTTPS to the gateway and its receipt says delivered
    assert code == ExitCode.OK, progress
    outcome = sent["outcome"]
    assert outcome["status"] == "sent"
    assert outcome["sentOver"] == "https"
    assert [r["delivery"]["status"] for r in outcome["recipients"]] == ["delivered"]
    assert [m.fields["messageText"] for m in simulator.http_api.sent if m.destination == number[1:]] == [
        "hello from the cli"
    ]
    # And the progress line told each new state on stderr
    assert f"{sent['messageId']}: sent over https" in progress


@pytest.mark.usefixtures("receipts")
def test_a_group_with_a_local_image_is_uploaded_and_sent_over_mm4(
    cli: Cli, simulator: GatewaySimulator, tmp_path: Path, local_stack: DeployedStack
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(images.jpeg(40, 30))
    first, second = unique_number(), unique_number()
    code, sent, progress = cli(
        "send", "--from", "12223334444", "--to", f"{first},{second}", "--text", "a group", "--media", str(photo),
        "--delivery-report", "--wait", "--timeout", "90",
    )  # fmt: skip
    assert code == ExitCode.OK, progress
    (upload,) = sent["uploads"]
    bucket = local_stack.outputs["MediaBucketName"]
    assert upload.startswith(f"s3://{bucket}/outbound/cli/")
    assert sent["outcome"]["sentOver"] == "mm4"
    assert {r["delivery"]["status"] for r in sent["outcome"]["recipients"]} == {"delivered"}
    (transaction,) = [t for t in simulator.mm4.transactions if f"{first}@" in " ".join(t.recipients)]
    assert [part.data for part in transaction.parts if part.content_type == "image/jpeg"] == [photo.read_bytes()]


def test_a_job_the_relay_would_refuse_is_not_sent(cli: Cli, local_stack: DeployedStack) -> None:
    before = _queued(local_stack)
    code, _, error = cli("send", "--from", "12223334444", "--to", "5551212", "--to", "+1310555", "--text", "x")
    assert code == ExitCode.USAGE
    assert "to[0]: '5551212' is refused: a local number: add its area code" in error
    assert _queued(local_stack) == before


def test_status_and_conversation_read_the_query_api(cli: Cli, simulator: GatewaySimulator) -> None:
    number = unique_number()
    code, sent, _ = cli("send", "--from", "12223334444", "--to", number, "--text", "hi", "--wait", "--timeout", "90")
    assert code == ExitCode.OK
    guid = sent["outcome"]["recipients"][0]["transactionGUID"]
    # the job by its messageId, the transaction by its GUID
    code, job, _ = cli("status", sent["messageId"])
    assert (code, job["messageId"], job["status"]) == (ExitCode.OK, sent["messageId"], "sent")
    code, transaction, _ = cli("status", guid)
    assert (code, transaction["transactionGUID"], transaction["to"]) == (ExitCode.OK, guid, number)
    # the number's conversation, written nationally
    code, conversation, _ = cli("conversation", number.removeprefix("+1"))
    assert code == ExitCode.OK
    assert conversation["number"] == number
    assert [entry["transactionGUID"] for entry in conversation["messages"]] == [guid]
    # an id that is nothing
    assert cli("status", "no-such-message")[0] == ExitCode.NOT_FOUND


def test_inbound_simulate_posts_an_mo_whose_image_the_relay_copies(cli: Cli, tmp_path: Path) -> None:
    photo = tmp_path / "reply.png"
    photo.write_bytes(images.png(20, 20))
    handset = unique_number()
    code, answer, error = cli(
        "inbound", "simulate", "--from", handset.lstrip("+"), "--to", "12223334444", "--text", "a reply",
        "--media", str(photo),
    )  # fmt: skip
    assert code == ExitCode.OK, error
    assert answer["webhook"]["status"] == 200
    stored = answer["message"]
    assert (stored["from"], stored["text"]) == (handset, "a reply")
    assert [(m["status"], m["contentType"], m["size"]) for m in stored["media"]] == [
        ("stored", "image/png", len(photo.read_bytes()))
    ]


def test_a_job_that_kept_failing_is_listed_with_its_error_and_redriven(
    cli: Cli, simulator: GatewaySimulator, local_stack: DeployedStack
) -> None:
    # Given a job the gateway refuses with 503 until it lands in the dead-letter queue
    message_id = f"cli-dlq-{uuid.uuid4().hex[:8]}"
    simulator.http_api.inject(*[HttpFault.http_status(503)] * 3)
    try:
        code, _, _ = cli(
            "send", "--from", "12223334444", "--to", unique_number(), "--text", "doomed at first",
            "--media", "https://cdn.example.com/d.jpg", "--message-id", message_id,
        )  # fmt: skip
        assert code == ExitCode.OK
        entry = eventually(lambda: _entry_of(cli, message_id), timeout=90)
    finally:
        simulator.http_api.clear_faults()
    # When the dead letters are listed, Then the job is there with its last error
    assert "http_503" in entry["why"]
    code, shown, _ = cli("dlq", "show", "outbound", entry["id"])
    assert (code, shown["body"]["messageId"]) == (ExitCode.OK, message_id)
    # When a dry run is made, Then nothing moves
    code, dry, _ = cli("dlq", "redrive", "outbound", "--dry-run")
    assert code == ExitCode.OK
    assert not any(e["moved"] for e in dry["entries"])
    assert _entry_of(cli, message_id) is not None
    # When it is redriven (the gateway answers again), Then it leaves the queue and is sent
    code, moved, _ = cli("dlq", "redrive", "outbound")
    assert code == ExitCode.OK
    assert [e["moved"] for e in moved["entries"] if e["subject"] == message_id] == [True]
    assert _entry_of(cli, message_id) is None
    sent = eventually(lambda: _status_is(cli, message_id, "sent"), timeout=60)
    assert sent["sentOver"] == "https"


def test_a_stream_batch_whose_events_failed_is_published_again(cli: Cli, local_stack: DeployedStack) -> None:
    # Given an on-failure record naming real records of the table's stream (as Lambda writes one)
    record = _stream_failure_record(local_stack)
    _put(local_stack, "EventsFailureQueueUrl", record)
    code, listed, _ = cli("dlq", "list", "events")
    assert code == ExitCode.OK
    last = record["DDBStreamBatchInfo"]["endSequenceNumber"]
    (entry,) = [e for e in listed["queues"][0]["entries"] if last in e["what"]]
    assert entry["why"] == "RetryAttemptsExhausted after 11 invocation(s), function error Unhandled"
    # When it is redriven, Then EventsFunction handled the records again and the entry is gone
    code, moved, _ = cli("dlq", "redrive", "events")
    assert code == ExitCode.OK
    assert [e["result"] for e in moved["entries"] if e["id"] == entry["id"]] == ["applied again by EventsFunction"]
    assert cli("dlq", "list", "events")[1]["queues"][0]["entries"] == []


def test_a_stored_report_that_failed_is_applied_again(cli: Cli, local_stack: DeployedStack) -> None:
    # Given a stored MM4 report whose invocation failed (the record Lambda's on-failure destination gets)
    key = f"mm4-reports/cli-{uuid.uuid4().hex}"
    bucket = local_stack.outputs["MediaBucketName"]
    local_stack.client("s3").put_object(Bucket=bucket, Key=key, Body=(EVENTS / "mm4_report_stored.eml").read_bytes())
    payload = load_event("mm4_report_s3.json")
    payload["Records"][0]["s3"]["bucket"]["name"] = bucket
    payload["Records"][0]["s3"]["object"]["key"] = key
    failed = {
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "StorageUnavailable", "errorMessage": "throttled"},
    }
    _put(local_stack, "Mm4ReportsFailureQueueUrl", failed)
    code, listed, _ = cli("dlq", "list", "mm4-reports")
    (entry,) = [e for e in listed["queues"][0]["entries"] if key in e["what"]]
    assert entry["why"].endswith("StorageUnavailable: throttled")
    # When it is redriven, Then Mm4ReportFunction applied it and the entry is gone
    code, moved, _ = cli("dlq", "redrive", "mm4-reports")
    assert code == ExitCode.OK
    assert [e["result"] for e in moved["entries"] if e["id"] == entry["id"]] == ["applied again by Mm4ReportFunction"]


def _entry_of(cli: Cli, message_id: str) -> dict[str, Any] | None:
    code, listed, _ = cli("dlq", "list", "outbound", "--max", "50")
    assert code == ExitCode.OK
    found = [e for e in listed["queues"][0]["entries"] if e["subject"] == message_id]
    return found[0] if found else None


def _status_is(cli: Cli, message_id: str, status: str) -> dict[str, Any] | None:
    code, document, _ = cli("status", message_id)
    return document if code == ExitCode.OK and document["status"] == status else None


def _queued(stack: DeployedStack) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["OutboundQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _put(stack: DeployedStack, queue_output: str, record: dict[str, Any]) -> None:
    stack.client("sqs").send_message(QueueUrl=stack.outputs[queue_output], MessageBody=json.dumps(record))


def _stream_failure_record(stack: DeployedStack) -> dict[str, Any]:
    table = stack.client("dynamodb").describe_table(TableName=stack.outputs["MessagesTableName"])["Table"]
    streams = stack.client("dynamodbstreams")
    stream_arn = table["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=3)["Records"]
    return {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": "2026-11-25T16:20:01Z",
            "approximateArrivalOfLastRecord": "2026-11-25T16:20:02Z",
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
