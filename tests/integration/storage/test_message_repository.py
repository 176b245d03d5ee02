"""The repository's conditional writes against DynamoDB (moto)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from mmsrelay.domain.inbound import AlreadyStored, InboundMessage, Inserted
from mmsrelay.domain.media import StoredMedia
from mmsrelay.inbound.payload import parse_inbound
from mmsrelay.storage.messages import MessageRepository
from mmsrelay.webhooks.http import WebhookRequest
from tests.integration.conftest import TABLE
from tests.support import load_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 11, 25, 16, 20, 1, 123000, tzinfo=UTC)
GUID = "8B3C4D5E-6F7A-4B8C-9DAE-1F2A3B4C5D6E"


def message() -> InboundMessage:
    fields = WebhookRequest.from_event(load_event("inbound_post_attachments_json.json")).fields(1_000_000)
    return parse_inbound(fields, NOW, "1")


def stored_item(dynamodb: DynamoDBClient) -> dict:  # type: ignore[type-arg]
    return dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"TX#{GUID}"}, "sk": {"S": "TX"}})["Item"]


def test_a_new_message_is_written_with_its_keys_index_and_expiry(dynamodb: DynamoDBClient) -> None:
    repository = MessageRepository(dynamodb, TABLE, timedelta(days=30))
    assert repository.add_inbound(message()) == Inserted()
    item = stored_item(dynamodb)
    assert item["direction"] == {"S": "inbound"}
    assert item["from"] == {"S": "+13105551212"}
    assert item["gsi1pk"] == {"S": "NUM#+13105551212"}
    assert item["gsi1sk"] == {"S": f"2026-11-25T16:20:01.123Z#TX#{GUID}"}
    assert int(item["expiresAt"]["N"]) == int((NOW + timedelta(days=30)).timestamp())
    assert [m["M"]["status"]["S"] for m in item["media"]["L"]] == ["pending"] * 3
    assert item["raw"]["M"]["sourceCountry"] == {"S": "United States"}
    # And the conversation index finds it
    found = dynamodb.query(
        TableName=TABLE,
        IndexName="ByNumber",
        KeyConditionExpression="gsi1pk = :n",
        ExpressionAttributeValues={":n": {"S": "NUM#+13105551212"}},
    )
    assert found["Count"] == 1


def test_a_repeat_returns_the_stored_item_and_changes_nothing(dynamodb: DynamoDBClient) -> None:
    repository = MessageRepository(dynamodb, TABLE, timedelta(days=30))
    repository.add_inbound(message())
    before = stored_item(dynamodb)
    changed = message()
    object.__setattr__(changed, "text", "a different text")
    outcome = repository.add_inbound(changed)
    assert isinstance(outcome, AlreadyStored)
    assert outcome.received_at == before["receivedAt"]["S"]
    assert [(a.index, a.source_url) for a in outcome.pending_media] == [
        (int(m["M"]["index"]["N"]), m["M"]["sourceUrl"]["S"]) for m in before["media"]["L"]
    ]
    assert stored_item(dynamodb) == before


@pytest.mark.usefixtures("atomic_items")
def test_concurrent_repeats_store_exactly_once(dynamodb: DynamoDBClient) -> None:
    repository = MessageRepository(dynamodb, TABLE, timedelta(days=30))
    start = threading.Barrier(8)
    outcomes: list[object] = []
    lock = threading.Lock()

    def post() -> None:
        start.wait(timeout=10)
        outcome = repository.add_inbound(message())
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(isinstance(o, Inserted) for o in outcomes) == 1
    assert sum(isinstance(o, AlreadyStored) for o in outcomes) == 7


def test_media_leaves_pending_once_and_only_once(dynamodb: DynamoDBClient) -> None:
    repository = MessageRepository(dynamodb, TABLE, timedelta(days=30))
    repository.add_inbound(message())
    media = StoredMedia("inbound/2026/11/25/x/1.png", "image/png", 42, "ab" * 32)
    assert repository.media_pending(GUID, 1)
    assert repository.record_media_stored(GUID, 1, media, NOW)
    assert not repository.media_pending(GUID, 1)
    # A late duplicate outcome for the same attachment is refused
    assert not repository.record_media_failed(GUID, 1, "timeout", 3, NOW)
    assert not repository.record_media_stored(GUID, 1, media, NOW)
    assert repository.record_media_failed(GUID, 2, "http_404", 1, NOW)
    entries = [m["M"] for m in stored_item(dynamodb)["media"]["L"]]
    assert entries[0]["status"] == {"S": "pending"}
    assert entries[1]["status"] == {"S": "stored"}
    assert entries[1]["sha256"] == {"S": "ab" * 32}
    assert entries[1]["size"] == {"N": "42"}
    assert entries[2]["status"] == {"S": "failed"}
    assert entries[2]["error"] == {"S": "http_404"}


def test_an_unknown_transaction_has_no_pending_media(dynamodb: DynamoDBClient) -> None:
    repository = MessageRepository(dynamodb, TABLE, timedelta(days=30))
    assert not repository.media_pending("00000000-0000-0000-0000-000000000000", 0)
