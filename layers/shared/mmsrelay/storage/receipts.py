"""Delivery status on ``TX#<transactionGUID>`` items: forward-only, by rank, no read first.

A receipt is one conditional update: it applies only when its status ranks above the stored one
(or none is stored: a receipt that arrives before the sender creates the item, and the sender's
later write keeps it, setting its own status fields only ``if_not_exists``). A receipt that does
not move the status forward (a duplicate, a late one, an unknown state) is still kept: its event
is appended to the history in a second, unconditional update. The history keeps the newest
``HISTORY_LIMIT`` events: when it grows past ``HISTORY_TRIM_ABOVE`` the oldest are removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.history import StatusEvent
from mmsrelay.domain.status import FINAL_RANK, RANK
from mmsrelay.storage.errors import ConditionFailed, dynamodb_call
from mmsrelay.storage.items import TRANSACTION_PREFIX, history_entry, receipt_due_partition, transaction_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HISTORY_LIMIT = 20
HISTORY_TRIM_ABOVE = 25
MM4_INDEX = "ByMm4MessageId"
RECEIPT_DUE_INDEX = "ByReceiptDue"

Outcome = Literal["advanced", "kept_in_history"]


class ReceiptRepository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def apply(self, guid: str, event: StatusEvent) -> Outcome:
        """Moves the transaction's status forward if ``event`` ranks higher; keeps the event either way."""
        if event.status is None:
            self._append(guid, event)
            return "kept_in_history"
        rank = RANK[event.status]
        expression = (
            "SET entity = if_not_exists(entity, :tx), transactionGuid = if_not_exists(transactionGuid, :guid),"
            " #status = :status, statusRank = :rank, statusAt = :at,"
            " history = list_append(if_not_exists(history, :empty), :event)"
        )
        if rank >= FINAL_RANK:
            expression += " REMOVE gsi2pk, gsi2sk"  # no longer awaiting a receipt
        try:
            answer = dynamodb_call(
                self._client.update_item,
                TableName=self._table,
                Key=transaction_key(guid),
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(statusRank) OR statusRank < :rank",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":tx": {"S": "transaction"},
                    ":guid": {"S": guid},
                    ":status": {"S": event.status},
                    ":rank": {"N": str(rank)},
                    ":at": {"S": event.at or ""},
                    ":empty": {"L": []},
                    ":event": {"L": [history_entry(event)]},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ConditionFailed:
            self._append(guid, event)
            return "kept_in_history"
        self._trim(guid, answer.get("Attributes", {}))
        return "advanced"

    def _append(self, guid: str, event: StatusEvent) -> None:
        answer = dynamodb_call(
            self._client.update_item,
            TableName=self._table,
            Key=transaction_key(guid),
            UpdateExpression=(
                "SET entity = if_not_exists(entity, :tx), transactionGuid = if_not_exists(transactionGuid, :guid),"
                " history = list_append(if_not_exists(history, :empty), :event)"
            ),
            ExpressionAttributeValues={
                ":tx": {"S": "transaction"},
                ":guid": {"S": guid},
                ":empty": {"L": []},
                ":event": {"L": [history_entry(event)]},
            },
            ReturnValues="UPDATED_NEW",
        )
        self._trim(guid, answer.get("Attributes", {}))

    def _trim(self, guid: str, attributes: Mapping[str, Any]) -> None:
        size = len(attributes.get("history", {}).get("L", []))
        if size <= HISTORY_TRIM_ABOVE:
            return
        oldest = ", ".join(f"history[{index}]" for index in range(size - HISTORY_LIMIT))
        with contextlib.suppress(ConditionFailed):  # only if nobody appended meanwhile (indexes would move)
            dynamodb_call(
                self._client.update_item,
                TableName=self._table,
                Key=transaction_key(guid),
                UpdateExpression=f"REMOVE {oldest}",
                ConditionExpression="size(history) = :size",
                ExpressionAttributeValues={":size": {"N": str(size)}},
            )

    def guid_for_mm4_report(self, mm4_message_key: str, recipient: str | None) -> str | None:
        """The transaction GUID an MM4 report is about: its message and, for a group, its recipient."""
        answer = dynamodb_call(
            self._client.query,
            TableName=self._table,
            IndexName=MM4_INDEX,
            KeyConditionExpression="mm4MessageId = :key",
            ExpressionAttributeValues={":key": {"S": mm4_message_key}},
            Limit=20,
        )
        items = answer.get("Items", [])
        for item in items:
            numbers = {n["S"] for n in item.get("recipients", {}).get("L", [])} | {item.get("to", {}).get("S", "")}
            if recipient is None or recipient in numbers:
                return str(item["pk"]["S"]).removeprefix(TRANSACTION_PREFIX)
        return None

    def due_receipts(self, day: datetime, now: datetime, limit: int) -> Iterator[str]:
        """GUIDs of the transactions whose receipt deadline fell on ``day`` (its UTC day's ByReceiptDue
        partition) and has passed, oldest first."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": RECEIPT_DUE_INDEX,
            "KeyConditionExpression": "gsi2pk = :day AND gsi2sk <= :now",
            "ExpressionAttributeValues": {
                ":day": {"S": receipt_due_partition(day)},
                ":now": {"S": f"{iso_time(now)}#~"},
            },
        }
        seen = 0
        while seen < limit:
            request["Limit"] = min(limit - seen, 100)  # a page never takes the run past its limit
            answer = dynamodb_call(self._client.query, **request)
            for item in answer.get("Items", []):
                seen += 1
                yield str(item["pk"]["S"]).removeprefix(TRANSACTION_PREFIX)
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def mark_no_receipt(self, guid: str, at: datetime) -> bool:
        """no_receipt when nothing ranked higher arrived; either way it leaves the due index."""
        event = StatusEvent("no_receipt", iso_time(at), "no_receipt")
        try:
            dynamodb_call(
                self._client.update_item,
                TableName=self._table,
                Key=transaction_key(guid),
                UpdateExpression=(
                    "SET #status = :status, statusRank = :rank, statusAt = :at,"
                    " history = list_append(if_not_exists(history, :empty), :event) REMOVE gsi2pk, gsi2sk"
                ),
                ConditionExpression="attribute_exists(pk) AND statusRank < :rank",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": "no_receipt"},
                    ":rank": {"N": str(RANK["no_receipt"])},
                    ":at": {"S": iso_time(at)},
                    ":empty": {"L": []},
                    ":event": {"L": [history_entry(event)]},
                },
            )
        except ConditionFailed:
            self._leave_due_index(guid)
            return False
        return True

    def _leave_due_index(self, guid: str) -> None:
        with contextlib.suppress(ConditionFailed):  # the item is gone: nothing to leave
            dynamodb_call(
                self._client.update_item,
                TableName=self._table,
                Key=transaction_key(guid),
                UpdateExpression="REMOVE gsi2pk, gsi2sk",
                ConditionExpression="attribute_exists(pk)",
            )
