"""Forward-only status on DynamoDB (moto): any order and duplication ends at the highest rank."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.history import StatusEvent
from mmsrelay.domain.outbound import OutboundMessage, RecipientResult, SendResult
from mmsrelay.domain.status import RANK
from mmsrelay.storage.errors import StorageUnavailable
from mmsrelay.storage.outbound import OutboundRepository
from mmsrelay.storage.receipts import HISTORY_LIMIT, HISTORY_TRIM_ABOVE, ReceiptRepository
from tests.integration.conftest import REGION, TABLE, create_messages_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
AT = iso_time(NOW)
# The UTC day a send at NOW awaits its receipt until (the timeout is 72 hours): DUE#2026-11-28.
DUE_DAY = datetime(2026, 11, 28, tzinfo=UTC)
GUID = "11111111-1111-4111-8111-111111111111"
STATUSES = sorted(status for status in RANK if status not in ("queued", "sending"))


def item(dynamodb: DynamoDBClient, guid: str = GUID) -> dict[str, Any]:
    found: dict[str, Any] = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}})[
        "Item"
    ]
    return found


def send(dynamodb: DynamoDBClient, guid: str = GUID, at: datetime = NOW, delivery_report: bool = True) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    message = OutboundMessage("m-1", "+12223334444", ("+13105551212",), "hi", None, (), delivery_report)
    repository.job_queued("m-1", {}, "https", at)
    repository.job_sent(message, SendResult("https", (RecipientResult("+13105551212", guid),)), at)


@pytest.fixture
def table(aws: None) -> DynamoDBClient:
    client = boto3.client("dynamodb", region_name=REGION)
    create_messages_table(client)
    return client


def test_a_receipt_moves_the_status_forward_and_stops_awaiting(table: DynamoDBClient) -> None:
    send(table)
    assert "gsi2pk" in item(table)
    repository = ReceiptRepository(table, TABLE)
    assert repository.apply(GUID, StatusEvent("enroute", AT, "http", "ENROUTE")) == "advanced"
    assert "gsi2pk" in item(table)  # not final yet: still awaited
    assert repository.apply(GUID, StatusEvent("delivered", AT, "http", "DELIVRD")) == "advanced"
    stored = item(table)
    assert (stored["status"]["S"], stored["statusRank"]["N"]) == ("delivered", "5")
    assert "gsi2pk" not in stored
    assert [e["M"].get("status", {}).get("S") for e in stored["history"]["L"]] == ["sent", "enroute", "delivered"]


def test_a_late_or_duplicate_receipt_is_only_kept_in_the_history(table: DynamoDBClient) -> None:
    send(table)
    repository = ReceiptRepository(table, TABLE)
    repository.apply(GUID, StatusEvent("delivered", AT, "http", "DELIVRD"))
    assert repository.apply(GUID, StatusEvent("enroute", AT, "http", "ENROUTE")) == "kept_in_history"
    assert repository.apply(GUID, StatusEvent("delivered", AT, "http", "DELIVRD")) == "kept_in_history"
    stored = item(table)
    assert stored["status"] == {"S": "delivered"}
    assert len(stored["history"]["L"]) == 4


def test_an_unknown_state_is_kept_and_changes_no_status(table: DynamoDBClient) -> None:
    send(table)
    assert ReceiptRepository(table, TABLE).apply(GUID, StatusEvent(None, AT, "http", "UNKNOWN")) == "kept_in_history"
    stored = item(table)
    assert stored["status"] == {"S": "sent"}
    assert stored["history"]["L"][-1]["M"]["state"] == {"S": "UNKNOWN"}


def test_an_early_receipt_creates_the_item_and_the_sender_does_not_regress_it(table: DynamoDBClient) -> None:
    ReceiptRepository(table, TABLE).apply(GUID, StatusEvent("delivered", AT, "http", "DELIVRD"))
    send(table, at=NOW + timedelta(seconds=1))
    stored = item(table)
    assert stored["status"] == {"S": "delivered"}
    assert stored["messageId"] == {"S": "m-1"}
    assert stored["direction"] == {"S": "outbound"}


def test_the_history_keeps_the_newest_events(table: DynamoDBClient) -> None:
    send(table)
    repository = ReceiptRepository(table, TABLE)
    for number in range(HISTORY_TRIM_ABOVE + 3):
        repository.apply(GUID, StatusEvent(None, AT, "http", f"STATE{number}"))
    history = item(table)["history"]["L"]
    assert HISTORY_LIMIT <= len(history) <= HISTORY_TRIM_ABOVE
    assert history[-1]["M"]["state"] == {"S": f"STATE{HISTORY_TRIM_ABOVE + 2}"}


def test_overdue_receipts_become_no_receipt_and_a_late_real_one_still_wins(table: DynamoDBClient) -> None:
    send(table, at=NOW)
    repository = ReceiptRepository(table, TABLE)
    due = list(repository.due_receipts(DUE_DAY, NOW + timedelta(hours=73), 10))
    assert due == [GUID]
    assert repository.mark_no_receipt(GUID, NOW + timedelta(hours=73))
    assert item(table)["status"] == {"S": "no_receipt"}
    assert list(repository.due_receipts(DUE_DAY, NOW + timedelta(hours=74), 10)) == []
    assert repository.apply(GUID, StatusEvent("delivered", AT, "http", "DELIVRD")) == "advanced"
    assert item(table)["status"] == {"S": "delivered"}


def test_nothing_is_due_before_its_deadline(table: DynamoDBClient) -> None:
    send(table, at=NOW)
    repository = ReceiptRepository(table, TABLE)
    assert list(repository.due_receipts(DUE_DAY, NOW + timedelta(hours=71), 10)) == []


def test_a_final_receipt_that_came_before_the_sender_is_cleared_from_the_due_index(table: DynamoDBClient) -> None:
    repository = ReceiptRepository(table, TABLE)
    repository.apply(GUID, StatusEvent("delivered", AT, "http", "DELIVRD"))
    send(table, at=NOW)  # lists it as awaited (it cannot know a receipt came first)
    assert not repository.mark_no_receipt(GUID, NOW + timedelta(hours=73))
    stored = item(table)
    assert stored["status"] == {"S": "delivered"}
    assert "gsi2pk" not in stored


def test_due_receipts_stop_at_their_limit_across_pages(table: DynamoDBClient) -> None:
    # Given more overdue transactions than a page of 100 holds, all due the same day
    for number in range(130):
        send(table, guid=f"11111111-1111-4111-8111-{number:012d}")
    repository = ReceiptRepository(table, TABLE)

    # When a sweep asks for at most 110 of them
    due = list(repository.due_receipts(DUE_DAY, NOW + timedelta(hours=73), 110))

    # Then it gets 110: the second page is asked for only what is left of the limit
    assert len(due) == 110


def unreachable_for_removals(dynamodb: DynamoDBClient) -> None:
    """From now on, DynamoDB gives no answer to an update that only removes attributes."""

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if str(params.get("UpdateExpression", "")).startswith("REMOVE"):
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", refuse)


def test_no_answer_while_trimming_the_history_is_a_retryable_storage_error(table: DynamoDBClient) -> None:
    # Given a history at the trimming threshold, and DynamoDB unreachable for the trim
    send(table)
    repository = ReceiptRepository(table, TABLE)
    for number in range(HISTORY_TRIM_ABOVE - 1):
        repository.apply(GUID, StatusEvent(None, AT, "http", f"STATE{number}"))
    unreachable_for_removals(table)

    # When one more receipt makes the history long enough to trim
    # Then the failure is the storage's retryable error, as for every other call
    with pytest.raises(StorageUnavailable):
        repository.apply(GUID, StatusEvent(None, AT, "http", "ONE-MORE"))


def test_no_answer_while_leaving_the_due_index_is_a_retryable_storage_error(table: DynamoDBClient) -> None:
    # Given a transaction whose final receipt came before the sender listed it as awaited
    repository = ReceiptRepository(table, TABLE)
    repository.apply(GUID, StatusEvent("delivered", AT, "http", "DELIVRD"))
    send(table, at=NOW)
    unreachable_for_removals(table)

    # When the sweep finds it and DynamoDB does not answer the clean-up
    # Then the failure is the storage's retryable error
    with pytest.raises(StorageUnavailable):
        repository.mark_no_receipt(GUID, NOW + timedelta(hours=73))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(st.sampled_from([*STATUSES, None]), min_size=1, max_size=8),
    duplicates=st.lists(st.integers(min_value=0, max_value=7), max_size=4),
    sender_position=st.integers(min_value=0, max_value=8),
)
def test_any_order_and_duplication_ends_at_the_highest_rank(
    events: list[str | None], duplicates: list[int], sender_position: int
) -> None:
    # Given receipts in any order, some duplicated, and the sender's write anywhere among them
    sequence = events + [events[index % len(events)] for index in duplicates]
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_messages_table(dynamodb)
        repository = ReceiptRepository(dynamodb, TABLE)
        for position, status in enumerate(sequence):
            if position == sender_position:
                send(dynamodb)
            repository.apply(GUID, StatusEvent(status, AT, "http", str(status)))
        if sender_position >= len(sequence):
            send(dynamodb)
        # Then the status is the highest-ranked one received (or sent, if no receipt ranked higher)
        known = [status for status in sequence if status is not None] + ["sent"]
        highest = max(RANK[status] for status in known)
        stored = item(dynamodb)
        assert int(stored["statusRank"]["N"]) == highest
        assert RANK[stored["status"]["S"]] == highest
        # And every receipt and the send are in the history (nothing lost)
        assert len(stored["history"]["L"]) == len(sequence) + 1
