"""Outbound items on DynamoDB (moto): the job's statuses and one transaction item per recipient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mmsrelay.domain.outbound import OutboundMessage, RecipientResult, SendResult, TakenJob
from mmsrelay.domain.send_rate import Slot
from mmsrelay.gateway_protocol.mm4_ids import mm4_message_key
from mmsrelay.storage.outbound import OutboundRepository
from tests.integration.conftest import TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
GUIDS = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222")
MESSAGE = OutboundMessage("m-1", "+12223334444", ("+13105551212", "+13105551313", "+13105551414"), "hi", None, (), True)
# MESSAGE sent over MM4, its second recipient refused
GROUP_SENT = SendResult(
    "mm4",
    (
        RecipientResult("+13105551212", GUIDS[0]),
        RecipientResult("+13105551313", None, refused=True, code="smtp_550"),
        RecipientResult("+13105551414", GUIDS[1]),
    ),
)


def get(dynamodb: DynamoDBClient, pk: str, sk: str) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]
    return item


def test_a_job_moves_through_its_statuses_with_history_and_attempts(dynamodb: DynamoDBClient) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.job_queued("m-1", {"text": "hi"}, "auto", NOW)
    repository.job_sending("m-1", NOW)
    repository.job_will_retry("m-1", "http_503", "gateway unavailable", NOW)
    repository.job_queued("m-1", {"text": "changed?"}, "auto", NOW)
    item = get(dynamodb, "MSG#m-1", "MSG")
    assert item["status"] == {"S": "queued"}
    assert item["attempts"] == {"N": "2"}
    assert item["request"] == {"S": '{"text":"hi"}'}  # the request as first received
    assert [e["M"]["status"]["S"] for e in item["history"]["L"]] == ["queued", "sending", "queued", "queued"]
    assert item["lastError"]["M"]["code"] == {"S": "http_503"}


def test_a_job_waiting_for_its_send_slot_gets_it_back_on_its_next_delivery_once(dynamodb: DynamoDBClient) -> None:
    # Given a job that went back to the queue holding a send slot
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    assert repository.job_queued("m-1", {"text": "hi"}, "auto", NOW) == TakenJob()
    slot = Slot(1_795_000_012_345_678, 3)
    repository.job_waiting("m-1", slot, NOW)
    assert get(dynamodb, "MSG#m-1", "MSG")["sendSlotAt"] == {"N": "1795000012345678"}
    # When it is delivered again
    taken = repository.job_queued("m-1", {"text": "hi"}, "auto", NOW)
    # Then its slot comes back with it, and is gone from the item: a later delivery does not reuse it
    assert taken == TakenJob(held_slot=slot)
    assert "sendSlotAt" not in get(dynamodb, "MSG#m-1", "MSG")
    assert repository.job_queued("m-1", {"text": "hi"}, "auto", NOW) == TakenJob()


def test_a_job_throttled_by_the_gateway_keeps_its_error_and_its_slot_past_the_pause(dynamodb: DynamoDBClient) -> None:
    # Given a job the gateway answered 429
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.job_queued("m-1", {"text": "hi"}, "auto", NOW)
    slot = Slot(1_795_000_012_345_678, 4)
    # When it goes back to the queue holding a slot past the pause
    repository.job_will_retry("m-1", "http_429", "slow down", NOW, holding=slot)
    # Then the one write kept both its error and its slot, which its next delivery takes back
    item = get(dynamodb, "MSG#m-1", "MSG")
    assert item["status"] == {"S": "queued"}
    assert item["lastError"]["M"]["code"] == {"S": "http_429"}
    assert repository.job_queued("m-1", {"text": "hi"}, "auto", NOW) == TakenJob(held_slot=slot)


def test_sent_writes_the_job_and_one_item_per_transaction_together(dynamodb: DynamoDBClient) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.job_queued("m-1", {}, "mm4", NOW)
    result = GROUP_SENT
    repository.job_sent(MESSAGE, result, NOW)
    job = get(dynamodb, "MSG#m-1", "MSG")
    assert job["status"] == {"S": "sent"}
    assert job["sentOver"] == {"S": "mm4"}
    assert [r["M"]["status"]["S"] for r in job["recipients"]["L"]] == ["sent", "refused", "sent"]
    first = get(dynamodb, f"TX#{GUIDS[0]}", "TX")
    assert first["status"] == {"S": "sent"}
    assert first["statusRank"] == {"N": "2"}
    assert first["messageId"] == {"S": "m-1"}
    assert first["to"] == {"S": "+13105551212"}
    assert first["gsi1pk"] == {"S": "NUM#+13105551212"}
    assert get(dynamodb, f"TX#{GUIDS[1]}", "TX")["to"] == {"S": "+13105551414"}


def test_a_job_whose_send_was_recorded_is_not_queued_again_and_its_send_comes_back(
    dynamodb: DynamoDBClient,
) -> None:
    # Given a group sent and recorded (one recipient refused)
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    assert repository.job_queued("m-1", {}, "mm4", NOW) == TakenJob()
    result = GROUP_SENT
    repository.job_sent(MESSAGE, result, NOW)
    before = get(dynamodb, "MSG#m-1", "MSG")
    # When the job is taken from the queue again
    taken = repository.job_queued("m-1", {}, "mm4", NOW + timedelta(minutes=1))
    # Then the send comes back as recorded and the item is unchanged (still sent, one attempt)
    assert taken == TakenJob(sent=result)
    assert get(dynamodb, "MSG#m-1", "MSG") == before


def test_a_job_that_failed_or_waits_for_a_retry_is_queued_again(dynamodb: DynamoDBClient) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.job_queued("m-1", {}, "https", NOW)
    repository.job_failed("m-1", "media_not_found", "no such S3 object", NOW)
    assert repository.job_queued("m-1", {}, "https", NOW) == TakenJob()
    assert get(dynamodb, "MSG#m-1", "MSG")["status"] == {"S": "queued"}


def test_a_receipt_that_arrived_first_is_not_regressed_by_the_sender(dynamodb: DynamoDBClient) -> None:
    # Given a delivery receipt already recorded for the transaction (it raced ahead of the sender)
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"TX#{GUIDS[0]}"},
            "sk": {"S": "TX"},
            "status": {"S": "delivered"},
            "statusRank": {"N": "5"},
            "statusAt": {"S": "2026-11-25T17:00:01.000Z"},
            "history": {"L": [{"M": {"status": {"S": "delivered"}}}]},
        },
    )
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.job_queued("m-1", {}, "https", NOW)
    message = OutboundMessage("m-1", "+12223334444", ("+13105551212",), "hi", None, (), True)
    # When the sender records the send
    repository.job_sent(message, SendResult("https", (RecipientResult("+13105551212", GUIDS[0]),)), NOW)
    # Then the status stays delivered, and the sender's fields and event are added
    item = get(dynamodb, f"TX#{GUIDS[0]}", "TX")
    assert item["status"] == {"S": "delivered"}
    assert item["statusRank"] == {"N": "5"}
    assert item["messageId"] == {"S": "m-1"}
    assert [e["M"]["status"]["S"] for e in item["history"]["L"]] == ["delivered", "sent"]


def test_one_guid_for_a_whole_group_gives_one_item_naming_every_recipient(dynamodb: DynamoDBClient) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.job_queued("m-1", {}, "mm4", NOW)
    shared = SendResult("mm4", tuple(RecipientResult(number, GUIDS[0]) for number in MESSAGE.recipients))
    repository.job_sent(MESSAGE, shared, NOW)
    item = get(dynamodb, f"TX#{GUIDS[0]}", "TX")
    assert [n["S"] for n in item["recipients"]["L"]] == list(MESSAGE.recipients)


def test_an_unreadable_job_is_kept_with_its_body_and_errors(dynamodb: DynamoDBClient) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.record_invalid("invalid-abc", "{not json", ["body: Invalid JSON"], NOW)
    item = get(dynamodb, "MSG#invalid-abc", "MSG")
    assert item["status"] == {"S": "failed"}
    assert item["rawBody"] == {"S": "{not json"}
    assert item["validationErrors"] == {"L": [{"S": "body: Invalid JSON"}]}


def test_a_send_awaiting_a_receipt_is_listed_by_its_deadline_and_mm4_sends_by_message_id(
    dynamodb: DynamoDBClient,
) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.job_queued("m-1", {}, "mm4", NOW)
    result = SendResult("mm4", (RecipientResult("+13105551212", GUIDS[0]),))
    message = OutboundMessage("m-1", "+12223334444", ("+13105551212",), "hi", None, (), True)
    repository.job_sent(message, result, NOW)
    item = get(dynamodb, f"TX#{GUIDS[0]}", "TX")
    assert item["gsi2pk"] == {"S": "DUE#2026-11-28"}
    assert item["gsi2sk"]["S"].startswith("2026-11-28T17:00:00.000Z#TX#")
    assert item["mm4MessageId"] == {"S": mm4_message_key("m-1")}


def test_a_send_without_a_receipt_request_is_not_awaited(dynamodb: DynamoDBClient) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    repository.job_queued("m-2", {}, "https", NOW)
    message = OutboundMessage("m-2", "+12223334444", ("+13105551212",), "hi", None, (), False)
    repository.job_sent(message, SendResult("https", (RecipientResult("+13105551212", GUIDS[1]),)), NOW)
    item = get(dynamodb, f"TX#{GUIDS[1]}", "TX")
    assert "gsi2pk" not in item
    assert "mm4MessageId" not in item
