"""schemas/events/*.json against what the events function publishes (mmsrelay.events.translate).

Each schema describes the whole event a rule's target receives; the detail is the translator's,
for the sample stream (events/stream_records.json, whose events docs/events.md shows) and for the
edge cases a consumer meets: nulls before the sender wrote, refused recipients, invalid jobs,
shortened texts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mmsrelay.domain.events import MAX_ENTRY_BYTES, SOURCE, EventEntry
from mmsrelay.domain.status import RANK
from mmsrelay.events.translate import MMS_RECEIVED, MMS_SEND_FAILED, MMS_SENT, MMS_STATUS_CHANGED
from tests.event_schemas import FILES, SCHEMAS, validator
from tests.support import load_event
from tests.unit.events.test_translate import GUID, inbound, message, outbound_tx, stream_record, translate


def as_delivered(entry: EventEntry) -> dict[str, Any]:
    """The event as EventBridge hands it to a rule's target."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry.detail_type,
        "source": SOURCE,
        "account": "123456789012",
        "time": "2026-11-25T16:20:01Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry.detail_json),
    }


def published(record: dict[str, Any]) -> EventEntry:
    entry = translate(record)
    assert entry is not None
    return entry


def test_there_is_one_schema_per_event_the_relay_publishes_and_no_other() -> None:
    assert set(FILES) == {MMS_RECEIVED, MMS_SENT, MMS_SEND_FAILED, MMS_STATUS_CHANGED}
    assert sorted(path.name for path in SCHEMAS.glob("*.json")) == sorted(FILES.values())


@pytest.mark.parametrize("entry", [e for e in map(translate, load_event("stream_records.json")["Records"]) if e])
def test_the_sample_streams_events_match_their_schemas(entry: EventEntry) -> None:
    validator(entry.detail_type).validate(as_delivered(entry))


EDGE_CASES = {
    "received-without-subject-or-flags": stream_record("INSERT", inbound(subject=None, flags=[])),
    "received-with-flags-and-no-media": stream_record("INSERT", inbound(media=[], flags=["messageText:too_long"])),
    "received-shortened": stream_record("INSERT", inbound(text="é" * (MAX_ENTRY_BYTES // 2 + 1000))),
    "sent-with-a-refused-recipient": stream_record(
        "MODIFY",
        message(
            "sent",
            sentOver="mm4",
            recipients=[
                {"number": "+13105551212", "status": "sent", "transactionGuid": GUID},
                {"number": "+13105551313", "status": "refused", "code": "550"},
            ],
        ),
        message("sending"),
    ),
    "failed-for-good": stream_record(
        "MODIFY",
        message("failed", attempts=3, lastError={"code": "E100002", "detail": "invalid destination", "at": "x"}),
        message("sending", attempts=3),
    ),
    "failed-invalid-job": stream_record(
        "INSERT",
        {
            "pk": "MSG#invalid-9f86d081884c7d65",
            "sk": "MSG",
            "messageId": "invalid-9f86d081884c7d65",
            "status": "failed",
            "lastError": {"code": "invalid_job", "at": "2026-11-25T16:30:00.000Z"},
        },
    ),
    "status-before-the-sender-wrote": stream_record(
        "INSERT",
        {"pk": f"TX#{GUID}", "sk": "TX", "transactionGuid": GUID, "status": "undelivered", "statusAt": "t"},
    ),
    "status-with-an-error-code": stream_record(
        "MODIFY",
        outbound_tx("undelivered", {"status": "undelivered", "at": "t", "state": "UNDELIV", "code": "34"}),
        outbound_tx("sent", {"status": "sent", "at": "t"}),
    ),
    "no-receipt": stream_record("MODIFY", outbound_tx("no_receipt"), outbound_tx("sent")),
    "read": stream_record("MODIFY", outbound_tx("read"), outbound_tx("delivered")),
}


@pytest.mark.parametrize("record", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_every_kind_of_write_publishes_an_event_its_schema_accepts(record: dict[str, Any]) -> None:
    entry = published(record)
    validator(entry.detail_type).validate(as_delivered(entry))


def test_the_status_changed_schema_names_exactly_the_published_statuses() -> None:
    detail = json.loads((SCHEMAS / FILES[MMS_STATUS_CHANGED]).read_text())["properties"]["detail"]["properties"]
    assert set(detail["status"]["enum"]) == {status for status, rank in RANK.items() if rank >= RANK["enroute"]}
    assert set(detail["previousStatus"]["enum"]) == {*RANK, None}


@pytest.mark.parametrize(
    ("detail_type", "change"),
    [
        (MMS_RECEIVED, {"attachments": -1}),
        (MMS_SENT, {"sentOver": "smtp"}),
        (MMS_SEND_FAILED, {"error": {"code": "E1"}}),
        (MMS_STATUS_CHANGED, {"status": "sent"}),
        (MMS_STATUS_CHANGED, {"surprise": 1}),
    ],
)
def test_a_detail_the_relay_does_not_publish_is_refused(detail_type: str, change: dict[str, Any]) -> None:
    (entry,) = [
        e for e in map(translate, load_event("stream_records.json")["Records"]) if e and e.detail_type == detail_type
    ]
    event = as_delivered(entry)
    event["detail"] = {**event["detail"], **change}
    assert not validator(detail_type).is_valid(event)
