"""The events function as Lambda runs it: the sample stream batch published to an EventBridge bus
(moto), a rule delivering to SQS; PutEvents failures through a botocore Stubber and a fake bus."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import ANY, Stubber

from functions.events import app as events_app
from mmsrelay import aws as clients
from mmsrelay.domain.errors import MmsRelayError
from mmsrelay.domain.events import MAX_ENTRY_BYTES, EventEntry
from mmsrelay.eventbus.eventbridge import EventBridgeBus, EventRefused, EventsUnavailable
from mmsrelay.events.publisher import Failed, NoEvent, Published, PublishStreamEvents
from mmsrelay.events.settings import EventSettings
from mmsrelay.events.translate import StreamTranslator, event_id_of
from mmsrelay.settings import SettingsError
from mmsrelay.storage.records import read_image
from mmsrelay.wiring import events as wiring
from tests.event_schemas import check_event
from tests.integration.conftest import REGION, cold_function
from tests.support import LambdaContextStub, MetricsRecorder, load_event

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

BUS = "mms-relay-events"
SAMPLE = "stream_records.json"
EVENT_TYPES = ["MMS Received", "MMS Sent", "MMS Send Failed", "MMS Status Changed"]


@pytest.fixture
def caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with cold_function(monkeypatch, {}, wiring.stream_events):
        yield


@pytest.fixture
def bus(aws: None, caches: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A bus with two rules: everything from the relay to one queue, status changes to another
    (the subscription docs/events.md shows)."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=BUS)
    queues = {}
    for name, pattern in {
        "all": {"source": ["mms-relay"]},
        "status": {"source": ["mms-relay"], "detail-type": ["MMS Status Changed"]},
    }.items():
        url = sqs.create_queue(QueueName=f"events-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "queue", "Arn": arn}])
        queues[name] = url
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    return {"sqs": sqs, "queues": queues}


def received(sqs: SQSClient, url: str) -> list[dict[str, Any]]:
    """Every EventBridge envelope waiting on the queue."""
    envelopes: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return envelopes
        envelopes += [json.loads(message["Body"]) for message in messages]
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def sequence_number(event: dict[str, Any], index: int) -> str:
    return str(event["Records"][index]["dynamodb"]["SequenceNumber"])


# --- the handler on moto ------------------------------------------------------------------


def test_the_sample_batch_publishes_one_event_per_meaningful_change(bus: dict[str, Any]) -> None:
    # Given the sample stream batch: four changes that are events, a short link and an expiry
    event = load_event(SAMPLE)
    # When the events function handles it
    answer = events_app.lambda_handler(event, LambdaContextStub())
    # Then every record succeeded
    assert answer == {"batchItemFailures": []}
    # And the four events reached the bus's subscriber, from the relay, with their details
    envelopes = received(bus["sqs"], bus["queues"]["all"])
    by_type = {envelope["detail-type"]: envelope for envelope in envelopes}
    assert sorted(by_type) == sorted(EVENT_TYPES)
    assert len(envelopes) == 4
    assert {envelope["source"] for envelope in envelopes} == {"mms-relay"}
    # And each is the event its schema describes (schemas/events/)
    for envelope in envelopes:
        check_event(envelope)
    # And each is dated when its write happened (the record's ApproximateCreationDateTime)
    assert by_type["MMS Received"]["time"] == "2026-11-25T16:20:01Z"
    ids = [record["eventID"] for record in event["Records"]]
    assert by_type["MMS Received"]["detail"] == {
        "eventId": event_id_of(ids[0]),
        "transactionGUID": "8B3C4D5E-6F7A-4B8C-9DAE-1F2A3B4C5D6E",
        "from": "+13105551212",
        "to": "+12223334444",
        "receivedAt": "2026-11-25T16:20:01.123Z",
        "text": "Here is the photo of the parcel",
        "subject": "Parcel",
        "attachments": 2,
        "flags": [],
    }
    assert by_type["MMS Sent"]["detail"] == {
        "eventId": event_id_of(ids[1]),
        "messageId": "order-1234-shipped",
        "sentOver": "https",
        "sentAt": "2026-11-25T16:25:00.612Z",
        "recipients": [
            {"number": "+13105551212", "status": "sent", "transactionGUID": "3F2504E0-4F89-41D3-9A0C-0305E82C3301"}
        ],
    }
    assert by_type["MMS Send Failed"]["detail"] == {
        "eventId": event_id_of(ids[2]),
        "messageId": "team-dinner-photos",
        "error": {"code": "E100002", "detail": "invalid destination"},
        "attempts": 2,
        "at": "2026-11-25T16:26:32.004Z",
    }
    assert by_type["MMS Status Changed"]["detail"] == {
        "eventId": event_id_of(ids[3]),
        "transactionGUID": "3F2504E0-4F89-41D3-9A0C-0305E82C3301",
        "messageId": "order-1234-shipped",
        "to": "+13105551212",
        "status": "delivered",
        "previousStatus": "sent",
        "statusAt": "2026-11-25T16:25:04.000Z",
        "state": "DELIVRD",
        "errorCode": None,
    }
    # And the status-change subscription got that event only
    (status_change,) = received(bus["sqs"], bus["queues"]["status"])
    assert status_change["detail-type"] == "MMS Status Changed"
    assert status_change["detail"]["eventId"] == event_id_of(ids[3])


def test_a_redelivered_batch_repeats_its_event_ids(bus: dict[str, Any]) -> None:
    # Given the batch handled once
    events_app.lambda_handler(load_event(SAMPLE), LambdaContextStub())
    first = {envelope["detail"]["eventId"] for envelope in received(bus["sqs"], bus["queues"]["all"])}
    # When the stream delivers it again
    events_app.lambda_handler(load_event(SAMPLE), LambdaContextStub())
    second = {envelope["detail"]["eventId"] for envelope in received(bus["sqs"], bus["queues"]["all"])}
    # Then the repeated events carry the same ids, for consumers to drop
    assert len(first) == 4
    assert second == first


def test_a_batch_without_events_publishes_nothing(bus: dict[str, Any]) -> None:
    event = load_event(SAMPLE)
    event["Records"] = event["Records"][4:]  # the short link and the expiry
    assert events_app.lambda_handler(event, LambdaContextStub()) == {"batchItemFailures": []}
    assert received(bus["sqs"], bus["queues"]["all"]) == []


def test_a_missing_bus_fails_every_record_that_has_an_event(
    bus: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function pointed at a bus that does not exist
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    event = load_event(SAMPLE)
    # When it handles the batch
    answer = events_app.lambda_handler(event, LambdaContextStub())
    # Then the four records with events fail (the stream retries them); the other two succeed
    failed = [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]
    assert failed == [sequence_number(event, index) for index in range(4)]


# --- PutEvents failures through a botocore Stubber ----------------------------------------


@pytest.fixture
def stubbed(aws: None, caches: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The function's EventBridge client, answering what the test queues."""
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    client = boto3.client("events", region_name=REGION)
    # Undone before ``caches`` clears the factories' caches.
    with patch.object(clients, "events_client", lambda: client), Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_an_entry_eventbridge_refuses_fails_only_its_record(stubbed: Stubber) -> None:
    # Given EventBridge taking three of the batch's four entries and failing the second
    stubbed.add_response(
        "put_events",
        {
            "FailedEntryCount": 1,
            "Entries": [
                {"EventId": "e-1"},
                {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error"},
                {"EventId": "e-3"},
                {"EventId": "e-4"},
            ],
        },
        {"Entries": ANY},
    )
    event = load_event(SAMPLE)
    # When the function handles the batch
    answer = events_app.lambda_handler(event, LambdaContextStub())
    # Then only the record behind that entry (the job sent) is reported, for the stream to retry
    assert answer == {"batchItemFailures": [{"itemIdentifier": sequence_number(event, 1)}]}


def test_entries_are_sent_to_the_configured_bus_in_record_order(stubbed: Stubber) -> None:
    event = load_event(SAMPLE)
    expected = [
        {"Source": "mms-relay", "DetailType": detail_type, "Detail": ANY, "EventBusName": BUS, "Time": ANY}
        for detail_type in EVENT_TYPES
    ]
    ok = {"FailedEntryCount": 0, "Entries": [{"EventId": f"e-{n}"} for n in range(4)]}
    stubbed.add_response("put_events", ok, {"Entries": expected})
    assert events_app.lambda_handler(event, LambdaContextStub()) == {"batchItemFailures": []}


def test_a_batch_whose_every_event_fails_is_failed_whole(stubbed: Stubber) -> None:
    # Given EventBridge throttling the call, and a batch of event records only
    stubbed.add_client_error("put_events", service_error_code="ThrottlingException", http_status_code=400)
    event = load_event(SAMPLE)
    event["Records"] = event["Records"][:4]
    # When the function handles it, Then the invocation fails and the stream retries the batch
    with pytest.raises(BatchProcessingError):
        events_app.lambda_handler(event, LambdaContextStub())


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, EventsUnavailable),
        ("InternalException", 500, EventsUnavailable),
        ("SomethingNew", 503, EventsUnavailable),
        ("AccessDeniedException", 400, EventRefused),
        ("ResourceNotFoundException", 400, EventRefused),
    ],
)
def test_the_adapter_translates_call_errors(aws: None, code: str, status: int, expected: type[MmsRelayError]) -> None:
    client = boto3.client("events", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_client_error("put_events", service_error_code=code, http_status_code=status)
        with pytest.raises(expected) as caught:
            EventBridgeBus(client, BUS).put([entry("r-1")])
    assert isinstance(caught.value.__cause__, ClientError)


def test_an_unreachable_eventbridge_is_transient(aws: None) -> None:
    class Unreachable:
        def put_events(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://events.us-east-1.amazonaws.com")

    bus = EventBridgeBus(Unreachable(), BUS)  # type: ignore[arg-type]
    with pytest.raises(EventsUnavailable):
        bus.put([entry("r-1")])


def test_the_adapter_reports_each_entry_in_order(aws: None) -> None:
    client: EventBridgeClient = boto3.client("events", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_response(
            "put_events",
            {
                "FailedEntryCount": 2,
                "Entries": [
                    {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                    {"EventId": "e-2"},
                    {"ErrorCode": "MalformedDetail", "ErrorMessage": "bad"},
                ],
            },
        )
        errors = EventBridgeBus(client, BUS).put([entry("r-1"), entry("r-2"), entry("r-3")])
    assert [type(error) for error in errors] == [EventsUnavailable, type(None), EventRefused]


# --- the use case with a fake bus ---------------------------------------------------------


class FakeBus:
    """Records each call; fails the entries (or calls) it is told to."""

    def __init__(self, failing: dict[str, MmsRelayError] | None = None, call_error: MmsRelayError | None = None):
        self.calls: list[list[EventEntry]] = []
        self.failing = failing or {}
        self.call_error = call_error

    def put(self, entries: Sequence[EventEntry]) -> list[MmsRelayError | None]:
        self.calls.append(list(entries))
        if self.call_error is not None:
            raise self.call_error
        return [self.failing.get(entry.record_id) for entry in entries]


def entry(record_id: str, detail_bytes: int = 10) -> EventEntry:
    detail = {"eventId": event_id_of(record_id), "text": "x" * detail_bytes}
    return EventEntry(record_id, "MMS Received", detail)


def translating(entries: dict[str, EventEntry | None]) -> Any:
    return lambda record: entries[record["eventID"]]


def records(*ids: str) -> list[dict[str, Any]]:
    return [{"eventID": record_id} for record_id in ids]


def test_entries_go_ten_to_a_call() -> None:
    # Given 23 records that are events
    ids = [f"r-{n}" for n in range(23)]
    fake = FakeBus()
    metrics = MetricsRecorder()
    use_case = PublishStreamEvents(fake, metrics, translating({i: entry(i) for i in ids}))
    # When the batch is published
    batch = use_case.publish(records(*ids))
    # Then three calls carry them, in order, and every record is published
    assert [len(call) for call in fake.calls] == [10, 10, 3]
    assert [e.record_id for call in fake.calls for e in call] == ids
    assert all(isinstance(outcome, Published) for outcome in batch.outcomes.values())
    assert metrics.counts["EventsPublished"] == 23


def test_entries_go_within_256_kb_to_a_call() -> None:
    # Given five events of about 100 KB each
    ids = [f"r-{n}" for n in range(5)]
    fake = FakeBus()
    use_case = PublishStreamEvents(fake, MetricsRecorder(), translating({i: entry(i, 100_000) for i in ids}))
    # When published, Then no call exceeds EventBridge's 256 KB
    use_case.publish(records(*ids))
    assert [len(call) for call in fake.calls] == [2, 2, 1]
    assert all(sum(e.size for e in call) <= MAX_ENTRY_BYTES for call in fake.calls)


def test_a_failed_entry_fails_its_record_only() -> None:
    # Given three records, one of no event, and EventBridge refusing the entry of "r-3"
    fake = FakeBus(failing={"r-3": EventRefused("MalformedDetail")})
    metrics = MetricsRecorder()
    use_case = PublishStreamEvents(fake, metrics, translating({"r-1": entry("r-1"), "r-2": None, "r-3": entry("r-3")}))
    # When published
    batch = use_case.publish(records("r-1", "r-2", "r-3"))
    # Then the batch processor is told: r-1 published, r-2 nothing to publish, r-3 failed
    assert batch.confirm(Ref("r-1")) == event_id_of("r-1")
    assert batch.confirm(Ref("r-2")) == "no_event"
    with pytest.raises(EventRefused):
        batch.confirm(Ref("r-3"))
    assert (metrics.counts["EventsPublished"], metrics.counts["EventPublishFailed"]) == (1, 1)


def test_after_eventbridge_throttles_a_call_the_rest_of_the_batch_waits() -> None:
    # Given 15 events (two calls) and EventBridge throttling the first call
    ids = [f"r-{n}" for n in range(15)]
    fake = FakeBus(call_error=EventsUnavailable("ThrottlingException"))
    use_case = PublishStreamEvents(fake, MetricsRecorder(), translating({i: entry(i) for i in ids}))
    # When published
    batch = use_case.publish(records(*ids))
    # Then one call was made, and every record failed: the stream retries them all
    assert len(fake.calls) == 1
    assert all(isinstance(outcome, Failed) for outcome in batch.outcomes.values())
    assert len(batch.outcomes) == 15


def test_an_event_too_large_to_publish_fails_its_record_without_a_call() -> None:
    fake = FakeBus()
    use_case = PublishStreamEvents(fake, MetricsRecorder(), translating({"big": entry("big", MAX_ENTRY_BYTES)}))
    batch = use_case.publish(records("big"))
    assert fake.calls == []
    assert isinstance(batch.outcomes["big"], Failed)


def test_a_record_that_is_not_a_stream_record_fails() -> None:
    # Given a record without its dynamodb change, beside one without events
    use_case = PublishStreamEvents(FakeBus(), MetricsRecorder(), StreamTranslator(read_image))
    link = load_event(SAMPLE)["Records"][4]
    batch = use_case.publish([{"eventID": "broken", "eventName": "INSERT"}, link])
    # Then the broken one fails and the other does not
    assert isinstance(batch.outcomes["broken"], Failed)
    assert isinstance(batch.outcomes[link["eventID"]], NoEvent)
    with pytest.raises(MmsRelayError):
        batch.confirm(Ref(None))


class Ref:
    def __init__(self, event_id: str | None) -> None:
        self.event_id = event_id


# --- settings -----------------------------------------------------------------------------


def test_the_bus_is_named_by_the_environment() -> None:
    assert EventSettings.from_environ({"EVENT_BUS_NAME": BUS}).event_bus_name == BUS
    arn = f"arn:aws:events:{REGION}:123456789012:event-bus/{BUS}"
    assert EventSettings.from_environ({"EVENT_BUS_NAME": arn}).event_bus_name == arn


@pytest.mark.parametrize("environ", [{}, {"EVENT_BUS_NAME": " "}, {"EVENT_BUS_NAME": "a bus"}])
def test_a_missing_or_malformed_bus_name_fails_the_settings(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="EVENT_BUS_NAME"):
        EventSettings.from_environ(environ)
