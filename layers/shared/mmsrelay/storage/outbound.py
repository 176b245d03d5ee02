"""Outbound items: ``MSG#<messageId>`` (the job) and ``TX#<transactionGUID>`` (one per recipient).

Every write is one call; the job's final outcome and its recipients' transactions are written in
one transaction. A recipient's ``TX#`` item is an upsert whose status fields are set only
``if_not_exists``: a delivery receipt that arrived first (and created the item) keeps its status.
A job waiting in the queue for its send slot keeps the slot on its ``MSG#`` item until its next
delivery takes it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.history import StatusEvent
from mmsrelay.domain.outbound import OutboundMessage, RecipientResult, SendResult, TakenJob, Transport
from mmsrelay.domain.send_rate import Slot
from mmsrelay.domain.status import RANK
from mmsrelay.gateway_protocol.mm4_ids import mm4_message_key
from mmsrelay.storage.errors import ConditionFailed, dynamodb_call
from mmsrelay.storage.items import (
    history_entry,
    message_key,
    number_partition,
    receipt_due_partition,
    transaction_key,
    transaction_pk,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

MAX_RAW_BODY = 200_000  # characters of an invalid body kept (an item may hold 400 KB)


def _event(status: str, at: datetime, code: str | None = None) -> dict[str, Any]:
    """The job's own step (or the sender's ``sent`` on a transaction): a history entry without a source."""
    return history_entry(StatusEvent(status, iso_time(at), code=code))


class OutboundRepository:
    def __init__(
        self, client: DynamoDBClient, table_name: str, retention: timedelta, receipt_timeout: timedelta
    ) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention
        self._receipt_timeout = receipt_timeout

    def record_invalid(self, message_id: str, raw_body: str, errors: Sequence[str], at: datetime) -> None:
        """Keeps a job that could not be read, failed, with its body and what was wrong."""
        dynamodb_call(
            self._client.update_item,
            TableName=self._table,
            Key=message_key(message_id),
            UpdateExpression=(
                "SET entity = :message, direction = :outbound, messageId = :id, rawBody = :raw,"
                " validationErrors = :errors, #status = :failed, statusAt = :at,"
                " createdAt = if_not_exists(createdAt, :at), expiresAt = :expires,"
                " lastError = :error"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":message": {"S": "message"},
                ":outbound": {"S": "outbound"},
                ":id": {"S": message_id},
                ":raw": {"S": raw_body[:MAX_RAW_BODY]},
                ":errors": {"L": [{"S": error} for error in errors[:50]]},
                ":failed": {"S": "failed"},
                ":at": {"S": iso_time(at)},
                ":expires": {"N": self._expires(at)},
                ":error": {"M": {"code": {"S": "invalid_job"}, "at": {"S": iso_time(at)}}},
            },
        )

    def job_queued(self, message_id: str, request: Mapping[str, Any], transport: str, at: datetime) -> TakenJob:
        """The job was taken from the queue (again, on a retry: attempts counts them).

        ``transport`` is the one the job asked for, ``auto`` included. When the item says the job
        was sent already (its process died after recording the send, before the delivery could be
        completed), nothing is written and the send as recorded comes back, in the same call.
        Otherwise the send slot the job held from an earlier delivery (``job_waiting``) comes back,
        removed in the same write: the job uses it now or not at all.
        """
        try:
            answer = dynamodb_call(
                self._client.update_item,
                TableName=self._table,
                Key=message_key(message_id),
                UpdateExpression=(
                    "SET entity = :message, direction = :outbound, messageId = :id,"
                    " #request = if_not_exists(#request, :request), transport = :transport,"
                    " #status = :queued, statusAt = :at, createdAt = if_not_exists(createdAt, :at),"
                    " expiresAt = :expires, history = list_append(if_not_exists(history, :empty), :event)"
                    " ADD attempts :one REMOVE sendSlotAt, sendSlotVersion"
                ),
                ConditionExpression="attribute_not_exists(#status) OR #status <> :sent",
                ExpressionAttributeNames={"#status": "status", "#request": "request"},
                ExpressionAttributeValues={
                    ":message": {"S": "message"},
                    ":outbound": {"S": "outbound"},
                    ":id": {"S": message_id},
                    ":request": {"S": json.dumps(request, separators=(",", ":"), sort_keys=True)},
                    ":transport": {"S": transport},
                    ":queued": {"S": "queued"},
                    ":at": {"S": iso_time(at)},
                    ":expires": {"N": self._expires(at)},
                    ":empty": {"L": []},
                    ":event": {"L": [_event("queued", at)]},
                    ":one": {"N": "1"},
                    ":sent": {"S": "sent"},
                },
                ReturnValues="UPDATED_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as refused:
            return TakenJob(sent=recorded_send(refused.item))
        return TakenJob(held_slot=held_slot(answer.get("Attributes", {})))

    def job_waiting(self, message_id: str, slot: Slot, at: datetime) -> None:
        """The job goes back to the queue until ``slot``, which it keeps (``sendSlotAt``, ``sendSlotVersion``)."""
        dynamodb_call(
            self._client.update_item,
            TableName=self._table,
            Key=message_key(message_id),
            UpdateExpression="SET " + SLOT_ASSIGNMENTS,
            ExpressionAttributeValues=slot_values(slot),
        )

    def job_sending(self, message_id: str, at: datetime) -> None:
        self._set_status(message_id, "sending", at)

    def job_will_retry(
        self, message_id: str, code: str, detail: str, at: datetime, holding: Slot | None = None
    ) -> None:
        """A transient failure: the job goes back to the queue; the error is kept, and the send slot
        it waits for there (``holding``, after a 429) in the same write."""
        self._set_status(message_id, "queued", at, code, detail, holding)

    def job_failed(self, message_id: str, code: str, detail: str, at: datetime) -> None:
        self._set_status(message_id, "failed", at, code, detail)

    def job_sent(self, message: OutboundMessage, result: SendResult, at: datetime) -> None:
        """The gateway accepted the message: the job and one item per recipient, in one transaction."""
        recipients = [
            {
                "M": {
                    "number": {"S": outcome.recipient},
                    "status": {"S": "refused" if outcome.refused else "sent"},
                    **({"transactionGuid": {"S": outcome.transaction_guid}} if outcome.transaction_guid else {}),
                    **({"code": {"S": outcome.code}} if outcome.code else {}),
                }
            }
            for outcome in result.recipients
        ]
        items: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": message_key(message.message_id),
                    "UpdateExpression": (
                        "SET #status = :sent, statusAt = :at, sentAt = :at, sentOver = :transport,"
                        " recipients = :recipients,"
                        " history = list_append(if_not_exists(history, :empty), :event) REMOVE lastError"
                    ),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":sent": {"S": "sent"},
                        ":at": {"S": iso_time(at)},
                        ":transport": {"S": result.transport},
                        ":recipients": {"L": recipients},
                        ":empty": {"L": []},
                        ":event": {"L": [_event("sent", at)]},
                    },
                }
            }
        ]
        # One item per transaction GUID. A gateway that gives a whole group one GUID gets one
        # item for it, naming every recipient it covers.
        by_guid: dict[str, list[str]] = {}
        for outcome in result.recipients:
            if outcome.transaction_guid and not outcome.refused:
                by_guid.setdefault(outcome.transaction_guid, []).append(outcome.recipient)
        items += [
            self._transaction_upsert(message, result.transport, guid, numbers, at) for guid, numbers in by_guid.items()
        ]
        dynamodb_call(self._client.transact_write_items, TransactItems=items)

    def _transaction_upsert(
        self, message: OutboundMessage, transport: Transport, guid: str, numbers: list[str], at: datetime
    ) -> TransactWriteItemTypeDef:
        pk = transaction_pk(guid)
        recipient = numbers[0]
        assignments = [
            "entity = :tx",
            "direction = :outbound",
            "transactionGuid = :guid",
            "messageId = :id",
            "#from = :from",
            "#to = :to",
            "transport = :transport",
            "sentAt = :at",
            "recipients = :numbers",
            "gsi1pk = :number",
            "gsi1sk = :sort",
            "expiresAt = :expires",
            # Set only if no receipt came first: a receipt's status is never regressed.
            "#status = if_not_exists(#status, :sent)",
            "statusRank = if_not_exists(statusRank, :rank)",
            "statusAt = if_not_exists(statusAt, :at)",
            "history = list_append(if_not_exists(history, :empty), :event)",
        ]
        values: dict[str, Any] = {
            ":tx": {"S": "transaction"},
            ":outbound": {"S": "outbound"},
            ":guid": {"S": guid},
            ":id": {"S": message.message_id},
            ":from": {"S": message.sender},
            ":to": {"S": recipient},
            ":transport": {"S": transport},
            ":at": {"S": iso_time(at)},
            ":numbers": {"L": [{"S": number} for number in numbers]},
            ":number": {"S": number_partition(recipient)},
            ":sort": {"S": f"{iso_time(at)}#{pk}"},
            ":expires": {"N": self._expires(at)},
            ":sent": {"S": "sent"},
            ":rank": {"N": str(RANK["sent"])},
            ":empty": {"L": []},
            ":event": {"L": [_event("sent", at)]},
        }
        if transport == "mm4":
            # MM4 delivery reports name the original message, not the GUID: index it (ByMm4MessageId).
            assignments.append("mm4MessageId = :mm4")
            values[":mm4"] = {"S": mm4_message_key(message.message_id)}
        if message.delivery_report:
            # Awaiting a final receipt: listed in the sparse ByReceiptDue index until one arrives or
            # the deadline passes (then no_receipt). A final receipt that came first removed nothing
            # yet: the no-receipt sweep clears such entries when it finds them final.
            due = at + self._receipt_timeout
            assignments += ["gsi2pk = if_not_exists(gsi2pk, :due_day)", "gsi2sk = if_not_exists(gsi2sk, :due)"]
            values[":due_day"] = {"S": receipt_due_partition(due)}
            values[":due"] = {"S": f"{iso_time(due)}#{pk}"}
        return {
            "Update": {
                "TableName": self._table,
                "Key": transaction_key(guid),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ExpressionAttributeNames": {"#status": "status", "#from": "from", "#to": "to"},
                "ExpressionAttributeValues": values,
            }
        }

    def _set_status(
        self,
        message_id: str,
        status: str,
        at: datetime,
        code: str | None = None,
        detail: str = "",
        holding: Slot | None = None,
    ) -> None:
        expression = (
            "SET #status = :status, statusAt = :at, history = list_append(if_not_exists(history, :empty), :event)"
        )
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":at": {"S": iso_time(at)},
            ":empty": {"L": []},
            ":event": {"L": [_event(status, at, code)]},
        }
        if code:
            expression += ", lastError = :error"
            values[":error"] = {"M": {"code": {"S": code}, "detail": {"S": detail[:500]}, "at": {"S": iso_time(at)}}}
        if holding is not None:
            expression += ", " + SLOT_ASSIGNMENTS
            values |= slot_values(holding)
        dynamodb_call(
            self._client.update_item,
            TableName=self._table,
            Key=message_key(message_id),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def _expires(self, at: datetime) -> str:
        return str(int((at + self._retention).timestamp()))


# A job's held send slot: written by ``job_waiting`` (and a 429's retry), read back by ``held_slot``.
SLOT_ASSIGNMENTS: Final = "sendSlotAt = :slot_at, sendSlotVersion = :slot_version"


def slot_values(slot: Slot) -> dict[str, Any]:
    return {":slot_at": {"N": str(slot.at_us)}, ":slot_version": {"N": str(slot.version)}}


def held_slot(attributes: Mapping[str, Any]) -> Slot | None:
    """The send slot a job's item held (``job_waiting``), from its attributes as they were."""
    at, version = attributes.get("sendSlotAt", {}).get("N"), attributes.get("sendSlotVersion", {}).get("N")
    if at is None or version is None:
        return None
    return Slot(int(at), int(version))


def recorded_send(item: Mapping[str, Any]) -> SendResult:
    """The send a ``MSG#`` item recorded: its transport and each recipient's GUID or refusal."""
    transport: Transport = "mm4" if item.get("sentOver", {}).get("S") == "mm4" else "https"
    recipients = []
    for entry in item.get("recipients", {}).get("L", []):
        recipient = entry.get("M", {})
        recipients.append(
            RecipientResult(
                recipient=recipient.get("number", {}).get("S", ""),
                transaction_guid=recipient.get("transactionGuid", {}).get("S"),
                refused=recipient.get("status", {}).get("S") == "refused",
                code=recipient.get("code", {}).get("S"),
            )
        )
    return SendResult(transport, tuple(recipients))
