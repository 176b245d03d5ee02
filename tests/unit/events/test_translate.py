"""Stream records of the messages table → domain events (mmsrelay.events.translate)."""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from mmsrelay.domain.events import MAX_ENTRY_BYTES, EventEntry
from mmsrelay.events.translate import (
    MMS_RECEIVED,
    MMS_SEND_FAILED,
    MMS_SENT,
    MMS_STATUS_CHANGED,
    MalformedStreamRecord,
    StreamTranslator,
    event_id_of,
)
from mmsrelay.storage.records import read_image
from tests.support import EVENTS, load_event

GUID = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
# The events function's translator: stream images read through storage, as its wiring builds it.
translate = StreamTranslator(read_image)
_SERIALIZER = TypeSerializer()


def image(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in item.items()}


def stream_record(
    name: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None, event_id: str = "e-1"
) -> dict[str, Any]:
    some = new if new is not None else old
    assert some is not None
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795623601,
        "Keys": image({"pk": some["pk"], "sk": some["sk"]}),
        "SequenceNumber": "100",
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = image(new)
    if old is not None:
        change["OldImage"] = image(old)
    return {"eventID": event_id, "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": change}


def inbound(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"TX#{GUID}",
        "sk": "TX",
        "direction": "inbound",
        "transactionGuid": GUID,
        "from": "+13105551212",
        "to": "+12223334444",
        "text": "hello",
        "status": "received",
        "receivedAt": "2026-11-25T16:20:01.123Z",
        "media": [{"index": 0, "sourceUrl": "https://mms.example.com/1.jpg", "status": "pending"}],
    }
    return {**item, **changes}


def message(status: str, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": "MSG#order-1",
        "sk": "MSG",
        "messageId": "order-1",
        "status": status,
        "statusAt": "2026-11-25T16:25:00.612Z",
        "attempts": 1,
        "history": [{"status": status, "at": "2026-11-25T16:25:00.612Z"}],
    }
    return {**item, **changes}


def outbound_tx(status: str | None, *history: dict[str, Any], **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"TX#{GUID}",
        "sk": "TX",
        "direction": "outbound",
        "transactionGuid": GUID,
        "messageId": "order-1",
        "from": "+12223334444",
        "to": "+13105551212",
        "statusAt": "2026-11-25T16:25:04.000Z",
        "history": list(history),
    }
    if status is not None:
        item["status"] = status
    return {**item, **changes}


def detail_of(entry: EventEntry | None) -> dict[str, Any]:
    assert entry is not None
    decoded: dict[str, Any] = json.loads(entry.detail_json)
    return decoded


# --- MMS Received -------------------------------------------------------------------------


def test_an_inbound_message_stored_is_received() -> None:
    # Given the webhook's first write of an inbound message, with a subject, two attachments and a flag
    item = inbound(
        subject="Parcel",
        media=[{"index": 0, "status": "pending"}, {"index": 1, "status": "pending"}],
        flags=["messageText:too_long"],
    )
    # When its stream record is translated
    entry = translate(stream_record("INSERT", item, event_id="rec-7"))
    # Then it is an "MMS Received" event with every documented field
    assert entry is not None
    assert entry.detail_type == MMS_RECEIVED
    assert entry.record_id == "rec-7"
    assert detail_of(entry) == {
        "eventId": event_id_of("rec-7"),
        "transactionGUID": GUID,
        "from": "+13105551212",
        "to": "+12223334444",
        "receivedAt": "2026-11-25T16:20:01.123Z",
        "text": "hello",
        "subject": "Parcel",
        "attachments": 2,
        "flags": ["messageText:too_long"],
    }
    # And the event is dated when the write happened
    assert entry.time == datetime(2026, 11, 25, 16, 20, 1, tzinfo=UTC)


def test_an_inbound_message_without_subject_or_flags_says_so_plainly() -> None:
    entry = translate(stream_record("INSERT", inbound(media=[])))
    detail = detail_of(entry)
    assert detail["subject"] is None
    assert detail["flags"] == []
    assert detail["attachments"] == 0


def test_a_media_update_of_an_inbound_message_is_not_received_again() -> None:
    # Given an attachment moving from pending to stored (a MODIFY of the inbound item)
    before = inbound()
    after = inbound(media=[{"index": 0, "status": "stored", "s3Key": "inbound/1.jpg"}])
    # When translated, Then there is no event
    assert translate(stream_record("MODIFY", after, before)) is None


def test_a_text_too_long_for_eventbridge_is_shortened_and_marked() -> None:
    # Given an inbound message whose text alone is larger than an event may be
    text = "é" * (MAX_ENTRY_BYTES // 2 + 1000)  # two bytes each in UTF-8
    # When translated
    entry = translate(stream_record("INSERT", inbound(text=text)))
    # Then the event fits EventBridge's limit, the text is a prefix of the original (most of
    # what fits), and the event says it was shortened
    assert entry is not None
    assert entry.size <= MAX_ENTRY_BYTES
    detail = detail_of(entry)
    assert detail["truncated"] is True
    assert text.startswith(detail["text"])
    assert len(detail["text"].encode()) > MAX_ENTRY_BYTES - 8 * 1024


def test_a_message_that_fits_is_not_marked_truncated() -> None:
    assert "truncated" not in detail_of(translate(stream_record("INSERT", inbound(text="x" * 100_000))))


# --- MMS Sent / MMS Send Failed -----------------------------------------------------------


def test_a_job_that_became_sent_is_sent() -> None:
    # Given the sender's transaction: the job from sending to sent, a GUID for one recipient, one refused
    before = message("sending")
    after = message(
        "sent",
        sentOver="mm4",
        sentAt="2026-11-25T16:25:00.612Z",
        recipients=[
            {"number": "+13105551212", "status": "sent", "transactionGuid": GUID},
            {"number": "+13105551313", "status": "refused", "code": "550"},
        ],
    )
    # When translated
    entry = translate(stream_record("MODIFY", after, before, event_id="rec-2"))
    # Then it is "MMS Sent" naming each recipient, with a null GUID for the refused one
    assert entry is not None
    assert entry.detail_type == MMS_SENT
    assert detail_of(entry) == {
        "eventId": event_id_of("rec-2"),
        "messageId": "order-1",
        "sentOver": "mm4",
        "sentAt": "2026-11-25T16:25:00.612Z",
        "recipients": [
            {"number": "+13105551212", "status": "sent", "transactionGUID": GUID},
            {"number": "+13105551313", "status": "refused", "transactionGUID": None},
        ],
    }


def test_a_sent_job_written_again_is_not_sent_again() -> None:
    # Given a MODIFY of a job that was already sent (its status unchanged)
    before = message("sent", sentOver="https")
    after = message("sent", sentOver="https", note="touched")
    # Then there is no event
    assert translate(stream_record("MODIFY", after, before)) is None


def test_a_job_that_failed_is_a_send_failure_with_its_error_and_attempts() -> None:
    # Given a job refused by the gateway on its third attempt
    before = message("sending", attempts=3)
    after = message(
        "failed",
        attempts=3,
        statusAt="2026-11-25T16:26:32.004Z",
        lastError={"code": "E100002", "detail": "invalid destination", "at": "2026-11-25T16:26:32.004Z"},
    )
    # When translated
    entry = translate(stream_record("MODIFY", after, before, event_id="rec-3"))
    # Then it is "MMS Send Failed" with the error, the attempts and the time
    assert entry is not None
    assert entry.detail_type == MMS_SEND_FAILED
    assert detail_of(entry) == {
        "eventId": event_id_of("rec-3"),
        "messageId": "order-1",
        "error": {"code": "E100002", "detail": "invalid destination"},
        "attempts": 3,
        "at": "2026-11-25T16:26:32.004Z",
    }


def test_an_invalid_job_is_a_send_failure_when_first_written() -> None:
    # Given the item an unreadable job leaves: created failed, no attempts, an error without detail
    item = {
        "pk": "MSG#invalid-9f86d081884c7d65",
        "sk": "MSG",
        "messageId": "invalid-9f86d081884c7d65",
        "status": "failed",
        "statusAt": "2026-11-25T16:30:00.000Z",
        "rawBody": "{not json",
        "lastError": {"code": "invalid_job", "at": "2026-11-25T16:30:00.000Z"},
    }
    # When its INSERT is translated
    detail = detail_of(translate(stream_record("INSERT", item)))
    # Then the failure names the invalid job
    assert detail["messageId"] == "invalid-9f86d081884c7d65"
    assert detail["error"] == {"code": "invalid_job", "detail": None}
    assert detail["attempts"] == 0
    assert detail["at"] == "2026-11-25T16:30:00.000Z"


def test_an_invalid_job_delivered_again_is_not_a_second_failure() -> None:
    item = message("failed", lastError={"code": "invalid_job", "at": "2026-11-25T16:30:00.000Z"})
    assert translate(stream_record("MODIFY", item, copy.deepcopy(item))) is None


@pytest.mark.parametrize(("before", "after"), [(None, "queued"), ("queued", "sending"), ("sending", "queued")])
def test_a_job_moving_between_other_statuses_is_no_event(before: str | None, after: str) -> None:
    old = message(before) if before else None
    assert translate(stream_record("MODIFY" if old else "INSERT", message(after), old)) is None


# --- MMS Status Changed -------------------------------------------------------------------


def test_a_delivery_receipt_is_a_status_change_from_sent() -> None:
    # Given the sender's item, sent, then a receipt moving it to delivered (raw state DELIVRD)
    sent = {"status": "sent", "at": "2026-11-25T16:25:00.612Z"}
    delivered = {"status": "delivered", "at": "2026-11-25T16:25:04.000Z", "state": "DELIVRD"}
    before = outbound_tx("sent", sent, statusRank=2)
    after = outbound_tx("delivered", sent, delivered, statusRank=5)
    # When translated
    entry = translate(stream_record("MODIFY", after, before, event_id="rec-4"))
    # Then it is "MMS Status Changed" from sent to delivered, with the receipt's state
    assert entry is not None
    assert entry.detail_type == MMS_STATUS_CHANGED
    assert detail_of(entry) == {
        "eventId": event_id_of("rec-4"),
        "transactionGUID": GUID,
        "messageId": "order-1",
        "to": "+13105551212",
        "status": "delivered",
        "previousStatus": "sent",
        "statusAt": "2026-11-25T16:25:04.000Z",
        "state": "DELIVRD",
        "errorCode": None,
    }


def test_a_receipt_that_arrives_before_the_sender_has_no_previous_status() -> None:
    # Given a receipt that created the TX# item: no direction, no messageId, no number yet
    item = {
        "pk": f"TX#{GUID}",
        "sk": "TX",
        "transactionGuid": GUID,
        "status": "undelivered",
        "statusAt": "2026-11-25T16:25:04.000Z",
        "history": [{"status": "undelivered", "at": "2026-11-25T16:25:04.000Z", "state": "UNDELIV", "code": "001"}],
    }
    # When its INSERT is translated
    entry = translate(stream_record("INSERT", item))
    # Then the change is published with what is known, the previous status null
    detail = detail_of(entry)
    assert detail["status"] == "undelivered"
    assert detail["previousStatus"] is None
    assert detail["messageId"] is None
    assert detail["to"] is None
    assert (detail["state"], detail["errorCode"]) == ("UNDELIV", "001")


def test_the_sender_arriving_after_the_receipt_is_no_status_change() -> None:
    # Given a receipt's item (delivered); the sender's upsert adds its fields, keeps the status
    receipt = {"status": "delivered", "at": "2026-11-25T16:25:04.000Z", "state": "DELIVRD"}
    sent = {"status": "sent", "at": "2026-11-25T16:25:05.000Z"}
    before = {"pk": f"TX#{GUID}", "sk": "TX", "status": "delivered", "history": [receipt]}
    after = outbound_tx("delivered", receipt, sent)
    # Then there is no event
    assert translate(stream_record("MODIFY", after, before)) is None


@pytest.mark.parametrize(
    ("status", "published"),
    [
        ("queued", False),
        ("sending", False),
        ("sent", False),
        ("enroute", True),
        ("accepted", True),
        ("no_receipt", True),
        ("delivered", True),
        ("undelivered", True),
        ("expired", True),
        ("rejected", True),
        ("failed", True),
        ("read", True),
        ("something_new", False),
    ],
)
def test_only_statuses_from_enroute_on_are_published(status: str, published: bool) -> None:
    # Given an outbound transaction created with the status (the old image absent counts as a change)
    entry = translate(stream_record("INSERT", outbound_tx(status, {"status": status, "at": "t"})))
    # Then it is published exactly when the status ranks from enroute up
    assert (entry is not None) is published
    if entry is not None:
        assert detail_of(entry)["status"] == status


def test_a_later_status_records_the_one_it_replaced() -> None:
    before = outbound_tx("delivered", {"status": "delivered", "at": "t1"})
    after = outbound_tx("read", {"status": "delivered", "at": "t1"}, {"status": "read", "at": "t2"})
    detail = detail_of(translate(stream_record("MODIFY", after, before)))
    assert (detail["previousStatus"], detail["status"]) == ("delivered", "read")
    assert detail["state"] is None


def test_a_receipt_that_leaves_the_status_alone_is_no_event() -> None:
    # Given a late "enroute" receipt recorded in the history of a delivered transaction
    before = outbound_tx("delivered", {"status": "delivered", "at": "t1"})
    after = outbound_tx("delivered", {"status": "delivered", "at": "t1"}, {"status": "enroute", "at": "t0"})
    # Then there is no event
    assert translate(stream_record("MODIFY", after, before)) is None


def test_state_and_error_code_come_only_from_the_changes_own_history_entry() -> None:
    # Given a status change whose newest history entry is about another status
    before = outbound_tx("sent", {"status": "sent", "at": "t0"})
    after = outbound_tx("failed", {"status": "sent", "at": "t0"}, {"status": "enroute", "at": "t1", "state": "ENROUTE"})
    # Then the event does not borrow that entry's state
    detail = detail_of(translate(stream_record("MODIFY", after, before)))
    assert (detail["state"], detail["errorCode"]) == (None, None)


def test_the_error_code_of_a_failed_delivery_is_carried() -> None:
    failed = {"status": "failed", "at": "t1", "state": "30003", "code": "E300003"}
    after = outbound_tx("failed", {"status": "sent", "at": "t0"}, failed)
    detail = detail_of(translate(stream_record("MODIFY", after, outbound_tx("sent", {"status": "sent", "at": "t0"}))))
    assert (detail["state"], detail["errorCode"]) == ("30003", "E300003")


def test_an_inbound_message_is_never_a_status_change() -> None:
    assert translate(stream_record("MODIFY", inbound(status="delivered"), inbound())) is None


# --- no event -----------------------------------------------------------------------------


def test_a_short_link_is_no_event() -> None:
    link = {"pk": "LINK#q7Zk3pX9", "sk": "LINK", "bucket": "media", "key": "a.png", "status": "delivered"}
    assert translate(stream_record("INSERT", link)) is None


@pytest.mark.parametrize("item", [inbound(), message("sent"), outbound_tx("delivered")])
def test_a_removed_item_is_no_event(item: dict[str, Any]) -> None:
    # Given TTL expiring an item (a REMOVE: only the old image)
    record = stream_record("REMOVE", None, item)
    record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    # Then there is no event
    assert translate(record) is None


def test_the_sample_stream_event_holds_one_record_of_each_kind() -> None:
    # Given the sample event sam local invoke uses
    records = load_event("stream_records.json")["Records"]
    # When each record is translated
    kinds = [entry.detail_type if entry else None for entry in map(translate, records)]
    # Then four records are the four events and the link and the expiry are none
    assert kinds == [MMS_RECEIVED, MMS_SENT, MMS_SEND_FAILED, MMS_STATUS_CHANGED, None, None]


def test_the_documented_examples_are_what_the_sample_publishes() -> None:
    # Given the example detail of each event in docs/events.md
    docs = (EVENTS.parent / "docs" / "events.md").read_text()
    examples = {
        kind: json.loads(body) for kind, body in re.findall(r"## `(MMS [^`]+)`\n\n```json\n(.*?)\n```", docs, re.S)
    }
    # When the sample stream event is translated
    entries = [entry for entry in map(translate, load_event("stream_records.json")["Records"]) if entry]
    # Then each documented example is exactly the detail published
    assert examples == {entry.detail_type: detail_of(entry) for entry in entries}


# --- event ids and malformed records ------------------------------------------------------


def test_a_redelivered_record_keeps_its_event_id() -> None:
    # Given the same stream record delivered twice
    record = stream_record("INSERT", inbound(), event_id="c81e728d9d4c2f636f067f89cc148621")
    # When both deliveries are translated
    first, second = translate(record), translate(copy.deepcopy(record))
    # Then both events carry the same id, a UUID derived from the record's eventID
    assert first is not None
    assert second is not None
    assert first.event_id == second.event_id == detail_of(first)["eventId"]
    assert uuid.UUID(first.event_id).version == 5


def test_different_records_have_different_event_ids() -> None:
    first = translate(stream_record("INSERT", inbound(), event_id="rec-a"))
    second = translate(stream_record("INSERT", inbound(), event_id="rec-b"))
    assert first is not None
    assert second is not None
    assert first.event_id != second.event_id


def test_a_record_without_an_event_id_is_malformed() -> None:
    record = stream_record("INSERT", inbound())
    del record["eventID"]
    with pytest.raises(MalformedStreamRecord, match="eventID"):
        translate(record)


def test_a_stream_without_new_images_is_malformed() -> None:
    # Given a record from a KEYS_ONLY stream (no images)
    record = stream_record("MODIFY", message("sent"), message("sending"))
    del record["dynamodb"]["NewImage"], record["dynamodb"]["OldImage"]
    # Then it is refused rather than silently dropped
    with pytest.raises(MalformedStreamRecord, match="new image"):
        translate(record)


def test_an_unreadable_attribute_value_is_malformed() -> None:
    record = stream_record("INSERT", inbound())
    record["dynamodb"]["NewImage"]["text"] = {"Q": "what"}
    with pytest.raises(MalformedStreamRecord):
        translate(record)


def test_a_record_without_a_creation_time_is_dated_by_eventbridge() -> None:
    record = stream_record("INSERT", inbound())
    del record["dynamodb"]["ApproximateCreationDateTime"]
    entry = translate(record)
    assert entry is not None
    assert entry.time is None
