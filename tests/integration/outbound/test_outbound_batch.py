"""A batch of outbound records over real idempotency and repository (moto), with a fake gateway."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from moto.core import utils as moto_utils
from moto.core.botocore_stubber import BotocoreStubber

from mmsrelay.domain.clock import utc_now
from mmsrelay.domain.errors import GatewayThrottled, PermanentSendError, TransientSendError
from mmsrelay.domain.outbound import OutboundMessage, RecipientResult, SendResult, Transport
from mmsrelay.domain.send_rate import micros
from mmsrelay.outbound.idempotency import IdempotentJobs
from mmsrelay.outbound.pace import MAX_SLEEP_SECONDS, SendPace, SendRatePlan
from mmsrelay.outbound.records import OutboundRecords, process_batch
from mmsrelay.outbound.send import SendOutboundJob
from mmsrelay.queues.visibility import QueueVisibility
from mmsrelay.storage.outbound import OutboundRepository
from mmsrelay.storage.send_rates import SendRateRepository
from tests.integration.conftest import REGION, TABLE
from tests.support import EVENTS, LambdaContextStub, MetricsRecorder, load_event
from tests.unit.outbound.fakes import FakeMedia, ManualClock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


class ScriptedGateway:
    """Answers by the message's text: "transient", "throttled", "permanent", or accepts it."""

    def __init__(self, latency: float = 0.0, together: threading.Barrier | None = None) -> None:
        self.sent: list[str] = []
        self.latency = latency
        self.together = together
        self._lock = threading.Lock()

    def __call__(self, transport: Transport, message: OutboundMessage) -> SendResult:
        time.sleep(self.latency)
        if self.together is not None:
            try:
                self.together.wait()
            except threading.BrokenBarrierError:
                raise TransientSendError("timeout", "the other sends never came") from None
        if message.text == "transient":
            raise TransientSendError("http_503", "unavailable")
        if message.text == "throttled":
            raise GatewayThrottled("http_429", "slow down", retry_after=120)
        if message.text == "permanent":
            raise PermanentSendError("E200002", "invalid source")
        with self._lock:
            self.sent.append(message.message_id)
        return SendResult(transport, (RecipientResult(message.recipients[0], f"GUID-{message.message_id}"),))


@pytest.fixture
def outbound(dynamodb: DynamoDBClient, atomic_items: None) -> dict[str, Any]:
    # atomic_items: a batch's threads race for their code's schedule and their records, as on DynamoDB.
    dynamodb.create_table(
        TableName="idempotency",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="outbound")["QueueUrl"]
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    metrics = MetricsRecorder()
    config = IdempotencyConfig(
        event_key_jmespath="messageId",
        payload_validation_jmespath="bodyHash",
        raise_on_no_idempotency_key=True,
        use_local_cache=False,
    )
    persistence = DynamoDBPersistenceLayer(table_name="idempotency", boto3_client=dynamodb)
    pace = SendPace(SendRateRepository(dynamodb, TABLE), SendRatePlan(1000.0, {}), utc_now, time.sleep)
    jobs = IdempotentJobs(
        SendOutboundJob(repository, FakeMedia(), pace, metrics, "1", lambda: NOW), persistence, config
    )
    records = OutboundRecords(jobs, repository, QueueVisibility(lambda: sqs, queue_url, 30), metrics, lambda: NOW)
    return {
        "records": records,
        "jobs": jobs,
        "config": config,
        "metrics": metrics,
        "sqs": sqs,
        "queue_url": queue_url,
        "persistence": persistence,
    }


def batch(bodies: list[dict[str, Any] | str], receipt_handles: list[str] | None = None) -> dict[str, Any]:
    template = load_event("outbound_sqs_batch.json")["Records"][0]
    records = []
    for number, body in enumerate(bodies):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"sqs-{number}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        if receipt_handles:
            record["receiptHandle"] = receipt_handles[number]
        records.append(record)
    return {"Records": records}


def job(message_id: str, text: str = "hello") -> dict[str, Any]:
    return {"messageId": message_id, "from": "12223334444", "to": ["+13105551212"], "text": text}


def run(outbound: dict[str, Any], event: dict[str, Any], gateway: Any) -> Any:
    outbound["config"].register_lambda_context(LambdaContextStub())
    return process_batch(event, lambda record: outbound["records"].handle(record, gateway), max_workers=10)


def status(dynamodb: DynamoDBClient, message_id: str) -> str:
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}})["Item"]
    return str(item["status"]["S"])


def test_only_the_transient_record_fails_and_the_permanent_one_is_recorded(
    outbound: dict[str, Any], dynamodb: DynamoDBClient
) -> None:
    gateway = ScriptedGateway()
    answer = run(outbound, batch([job("ok-1"), job("t-1", "transient"), job("p-1", "permanent")]), gateway)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "sqs-1"}]}
    assert gateway.sent == ["ok-1"]
    assert (status(dynamodb, "ok-1"), status(dynamodb, "t-1"), status(dynamodb, "p-1")) == (
        "sent",
        "queued",
        "failed",
    )
    assert outbound["metrics"].counts == {
        "MessagesSent": 1,
        "MessagesSentOverMm4": 1,
        "SendFailedTransient": 1,
        "SendFailedPermanent": 1,
    }


def test_a_redelivered_job_is_not_sent_again(outbound: dict[str, Any]) -> None:
    gateway = ScriptedGateway()
    run(outbound, batch([job("once")]), gateway)
    answer = run(outbound, batch([job("once")]), gateway)
    assert answer == {"batchItemFailures": []}
    assert gateway.sent == ["once"]


def test_the_same_message_id_put_twice_in_one_batch_is_sent_once(outbound: dict[str, Any]) -> None:
    gateway = ScriptedGateway(latency=0.2)
    answer = run(outbound, batch([job("twice"), job("twice")]), gateway)
    assert gateway.sent == ["twice"]
    # the copy that found the first one in progress is retried later (and then returns its outcome)
    assert len(answer["batchItemFailures"]) <= 1


class RecordedVisibility:
    """Stands in for the queue's visibility: records each delay asked for (``delayed`` set then)."""

    base_delay_seconds = 30

    def __init__(self) -> None:
        self.delays: list[tuple[str, float]] = []
        self.delayed = threading.Event()

    def delay(self, receipt_handle: str, seconds: float) -> None:
        self.delays.append((receipt_handle, seconds))
        self.delayed.set()


class GatewayHeldUntil(ScriptedGateway):
    """Accepts a message only once ``released`` is set: a send still in flight, for as long as needed."""

    def __init__(self, released: threading.Event) -> None:
        super().__init__()
        self._released = released

    def __call__(self, transport: Transport, message: OutboundMessage) -> SendResult:
        assert self._released.wait(timeout=30), "the other copy was never handled"
        return super().__call__(transport, message)


def test_the_copy_that_finds_its_job_in_progress_is_looked_at_again_after_the_back_off(
    outbound: dict[str, Any], dynamodb: DynamoDBClient
) -> None:
    # Given the same job twice in one batch, the first copy still sending when the second arrives
    visibility = RecordedVisibility()
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    records = OutboundRecords(outbound["jobs"], repository, visibility, outbound["metrics"], lambda: NOW)
    # (the gateway holds the first send until the second copy has been handled: always in progress)
    gateway = GatewayHeldUntil(visibility.delayed)
    outbound["config"].register_lambda_context(LambdaContextStub())
    event = batch([job("in-progress"), job("in-progress")], receipt_handles=["first", "second"])
    # When the batch is handled
    answer = process_batch(event, lambda record: records.handle(record, gateway), max_workers=10)
    # Then the job is sent once, and the copy that found it in progress fails with a short delay
    # (the back-off), not the queue's visibility timeout of minutes
    assert gateway.sent == ["in-progress"]
    (failed,) = answer["batchItemFailures"]
    handle = {"sqs-0": "first", "sqs-1": "second"}[failed["itemIdentifier"]]
    assert visibility.delays == [(handle, 30)]


def test_a_transiently_failed_job_is_sent_on_its_retry(outbound: dict[str, Any], dynamodb: DynamoDBClient) -> None:
    # Given a gateway that is down for the first delivery of the job
    down, up = ScriptedGateway(), ScriptedGateway()
    first = run(outbound, batch([job("retry-me", "transient")]), down)
    assert first == {"batchItemFailures": [{"itemIdentifier": "sqs-0"}]}
    # When SQS delivers the same job again and the gateway accepts it
    up.sent.clear()
    second = run(outbound, batch([job("retry-me", "transient")]), _accepting(up))
    # Then it is sent then, once, and recorded as sent
    assert second == {"batchItemFailures": []}
    assert up.sent == ["retry-me"]
    assert status(dynamodb, "retry-me") == "sent"


def _accepting(gateway: ScriptedGateway) -> Any:
    def send(transport: Transport, message: OutboundMessage) -> SendResult:
        gateway.sent.append(message.message_id)
        return SendResult(transport, (RecipientResult(message.recipients[0], "GUID"),))

    return send


def test_a_message_id_reused_for_another_body_is_refused(outbound: dict[str, Any]) -> None:
    gateway = ScriptedGateway()
    run(outbound, batch([job("reuse", "first")]), gateway)
    answer = run(outbound, batch([job("reuse", "second")]), gateway)
    assert answer == {"batchItemFailures": []}
    assert gateway.sent == ["reuse"]
    assert outbound["metrics"].counts["SendFailedPermanent"] == 1


def test_an_unreadable_body_is_recorded_failed_and_not_retried(
    outbound: dict[str, Any], dynamodb: DynamoDBClient
) -> None:
    answer = run(outbound, batch(["{not json", (EVENTS / "outbound_invalid.json").read_text()]), ScriptedGateway())
    assert answer == {"batchItemFailures": []}
    stored = dynamodb.scan(TableName=TABLE)["Items"]
    assert sorted(item["status"]["S"] for item in stored) == ["failed", "failed"]
    assert all(item["pk"]["S"].startswith("MSG#invalid-") for item in stored)


class QueueClock:
    """The emulated queue's clock (moto reads moto.core.utils.utcnow), moved forward by the test:
    a message's visibility is observed at the seconds that matter, without waiting for them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        real = moto_utils.utcnow
        monkeypatch.setattr(moto_utils, "utcnow", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def visible_bodies(sqs: Any, queue_url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [message["Body"] for message in messages.get("Messages", [])]


def slot_of(dynamodb: DynamoDBClient, message_id: str) -> str:
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}})["Item"]
    return str(item["sendSlotAt"]["N"])


def test_a_throttled_job_comes_back_after_the_gateways_retry_after(
    outbound: dict[str, Any], dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, queue_url = outbound["sqs"], outbound["queue_url"]
    clock = QueueClock(monkeypatch)
    # Given a job received with a 5 s visibility, whose send the gateway throttles asking for 120 s
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(job("slow", "throttled")))
    received = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=5)["Messages"][0]
    # When the batch handles it
    answer = run(outbound, batch([received["Body"]], [received["ReceiptHandle"]]), ScriptedGateway())
    # Then the record fails, and the queue hides it for the 120 s asked, less the 2 s a job due
    # within them sleeps in its invocation (outbound/pace.py): not after its own 5 s, nor after the
    # 30 s back-off used when the gateway names no delay...
    assert answer == {"batchItemFailures": [{"itemIdentifier": "sqs-0"}]}
    clock.advance(120 - MAX_SLEEP_SECONDS - 1)
    assert visible_bodies(sqs, queue_url) == []
    # ...and it comes back just after, holding a send slot no earlier than the 120 s
    clock.advance(2)
    assert visible_bodies(sqs, queue_url) == [received["Body"]]
    assert int(slot_of(dynamodb, "slow")) >= micros((NOW + timedelta(seconds=120)).timestamp())


@pytest.fixture
def one_request_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's in-process backends are not thread-safe (a transaction copies the table while
    another thread writes to it); AWS serves concurrent requests, so the emulated ones are taken
    one at a time here. The sends under test run concurrently all the same."""
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def serialised(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialised)


@pytest.mark.usefixtures("one_request_at_a_time")
def test_ten_slow_sends_are_in_flight_at_once(outbound: dict[str, Any]) -> None:
    # Given a gateway whose every send waits until ten sends are in flight together (a send made
    # while fewer are in flight waits out the barrier's timeout and fails)
    gateway = ScriptedGateway(together=threading.Barrier(10, timeout=5.0))
    # When a batch of ten jobs is handled
    answer = run(outbound, batch([job(f"fast-{n}") for n in range(10)]), gateway)
    # Then all ten were sent: the batch sent them concurrently, not one after the other
    assert answer == {"batchItemFailures": []}
    assert sorted(gateway.sent) == sorted(f"fast-{n}" for n in range(10))


class StillClock(ManualClock):
    """Time moves only when the test says: a sleep is recorded, as if the thread slept while others worked."""

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_jobs_over_the_rate_wait_in_the_queue_once_holding_their_slot(
    outbound: dict[str, Any], dynamodb: DynamoDBClient
) -> None:
    # Given a code paced at 1 message per second, over moto's table and queue
    clock = StillClock(NOW)
    metrics = MetricsRecorder()
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    pace = SendPace(SendRateRepository(dynamodb, TABLE), SendRatePlan(1.0, {}), clock, clock.sleep)
    jobs = IdempotentJobs(
        SendOutboundJob(repository, FakeMedia(), pace, metrics, "1", clock),
        outbound["persistence"],
        outbound["config"],
    )
    sqs, queue_url = outbound["sqs"], outbound["queue_url"]
    records = OutboundRecords(jobs, repository, QueueVisibility(lambda: sqs, queue_url, 30), metrics, clock)
    for number in range(5):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(job(f"paced-{number}")))
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    received.sort(key=lambda message: json.loads(message["Body"])["messageId"])
    gateway = ScriptedGateway()
    outbound["config"].register_lambda_context(LambdaContextStub())

    def deliver(messages: list[dict[str, Any]]) -> Any:
        event = batch([m["Body"] for m in messages], [m["ReceiptHandle"] for m in messages])
        return process_batch(event, lambda record: records.handle(record, gateway), max_workers=1)

    # When the five jobs arrive in one batch
    answer = deliver(received)
    # Then the three due within a sleep are sent (after 0, 1 and 2 s), the other two go back to the queue
    assert gateway.sent == ["paced-0", "paced-1", "paced-2"]
    assert clock.slept == [1.0, 2.0]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "sqs-3"}, {"itemIdentifier": "sqs-4"}]}
    assert metrics.counts["SendsDeferred"] == 2
    # And they hold their slots (3 and 4 s from now) and are invisible until shortly before them
    items = [
        dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"MSG#paced-{n}"}, "sk": {"S": "MSG"}})["Item"]
        for n in (3, 4)
    ]
    assert [int(item["sendSlotAt"]["N"]) - micros(NOW.timestamp()) for item in items] == [3_000_000, 4_000_000]
    assert sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=30).get("Messages", []) == []
    # When each is delivered again after the delay it was given (1 s and 2 s: 2 s before its slot)
    clock.advance(1.0)
    clock.slept.clear()
    third = deliver(received[3:4])
    clock.advance(1.0)
    fourth = deliver(received[4:5])
    # Then each is sent at its own slot without taking another: no third delivery for either
    assert third == fourth == {"batchItemFailures": []}
    assert gateway.sent[3:] == ["paced-3", "paced-4"]
    assert clock.slept == [MAX_SLEEP_SECONDS, MAX_SLEEP_SECONDS]
