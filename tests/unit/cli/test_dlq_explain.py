"""``mmsrelay dlq``: what each failure queue's entry is and why it failed, in a line each."""

from __future__ import annotations

import json

from mmsrelay.outbound.job import derived_message_id
from mmsrelay_cli.dlq.explain import explain
from mmsrelay_cli.dlq.queues import Entry, Kind
from tests.support import load_event
from tests.unit.cli.fakes import FakeQueryApi, job_document

JOB = {"from": "12223334444", "to": ["+13105551212"], "text": "hi", "media": [{"url": "https://cdn.example/a.jpg"}]}


def entry(kind: Kind, body: object) -> Entry:
    text = body if isinstance(body, str) else json.dumps(body)
    return Entry(kind, "id-1", text, "handle", {"SentTimestamp": "1764087960000", "ApproximateReceiveCount": "2"})


def test_an_outbound_job_is_explained_by_its_last_error_read_through_the_query_api() -> None:
    # Given a job without a messageId whose last attempt failed with a gateway error
    body = json.dumps(JOB)
    message_id = derived_message_id(body)
    failed = {**job_document("queued"), "attempts": 5, "lastError": {"code": "http_503", "detail": "unavailable"}}
    api = FakeQueryApi({message_id: failed})
    # When its dead letter is explained
    explanation = explain(entry("outbound", body), api)
    # Then it is found by the id the relay derives, and the reason is the job's last error
    assert api.asked == [message_id]
    assert explanation.what == f"job {message_id}: 1 recipient(s), 1 attachment(s)"
    assert explanation.why == "http_503: unavailable (status queued, 5 attempt(s))"
    assert explanation.subject == message_id


def test_a_job_the_relay_never_recorded_says_so() -> None:
    explanation = explain(entry("outbound", {**JOB, "messageId": "m-9"}), FakeQueryApi())
    assert explanation.why.startswith("never recorded")


def test_a_media_retry_names_the_attachment_without_its_query_string() -> None:
    guid = "8B3C4D5E-6F7A-4B8C-9DAE-1F2A3B4C5D6E"
    job = {"transaction_guid": guid, "index": 1, "source_url": "https://media.example/a.jpg?sig=secret", "attempt": 3}
    inbound = {"transactionGUID": guid, "direction": "inbound", "media": [{"index": 1, "status": "pending"}]}
    explanation = explain(entry("media-retry", job), FakeQueryApi({guid: inbound}))
    assert explanation.what == f"attachment 1 of {guid} from https://media.example/a.jpg"
    assert explanation.why.endswith("the attachment is pending")
    assert "secret" not in explanation.what + explanation.why


def test_a_stream_batch_record_names_its_range_and_condition() -> None:
    record = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
        "responseContext": {"functionError": "Unhandled"},
        "DDBStreamBatchInfo": {
            "startSequenceNumber": "100",
            "endSequenceNumber": "102",
            "batchSize": 3,
            "approximateArrivalOfFirstRecord": "2026-11-25T16:20:01Z",
            "approximateArrivalOfLastRecord": "2026-11-25T16:20:02Z",
        },
    }
    explanation = explain(entry("events", record), FakeQueryApi())
    assert (
        explanation.what
        == "3 stream record(s), sequence 100 to 102, written 2026-11-25T16:20:01Z to 2026-11-25T16:20:02Z"
    )
    assert explanation.why == "RetryAttemptsExhausted after 11 invocation(s), function error Unhandled"


def test_a_stored_report_record_names_its_object_and_the_functions_error() -> None:
    record = {
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": load_event("mm4_report_s3.json"),
        "responseContext": {"functionError": "Unhandled"},
        "responsePayload": {"errorType": "StorageUnavailable", "errorMessage": "throttled"},
    }
    explanation = explain(entry("mm4-reports", record), FakeQueryApi())
    assert explanation.what.startswith("MM4 report s3://mms-relay-dev-mediabucket-example/mm4-reports/")
    assert explanation.why.endswith("function error Unhandled; StorageUnavailable: throttled")


def test_an_entry_that_is_not_json_is_said_to_be_unreadable() -> None:
    assert explain(entry("events", "not json"), FakeQueryApi()).what == "an entry that is not JSON"


def test_an_entry_knows_when_it_failed() -> None:
    assert entry("outbound", JOB).failed_at == "2025-11-25T16:26:00Z"
