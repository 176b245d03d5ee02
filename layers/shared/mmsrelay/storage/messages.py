"""The message repository: every DynamoDB write the relay makes, each one conditional.

No read before a write: the first write of a transaction is a conditional put that, when the
item exists already, returns the stored item in the same call (``ALL_OLD`` on the failed
condition); media outcomes are conditional updates that only move an attachment out of pending.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.inbound import AlreadyStored, Attachment, InboundMessage, Inserted
from mmsrelay.domain.media import StoredMedia
from mmsrelay.storage import items
from mmsrelay.storage.errors import ConditionFailed, dynamodb_call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class MessageRepository:
    def __init__(self, client: DynamoDBClient, table_name: str, retention: timedelta) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention

    def add_inbound(self, message: InboundMessage) -> Inserted | AlreadyStored:
        """Stores a new inbound message once: a repeat of the same transaction changes nothing."""
        try:
            dynamodb_call(
                self._client.put_item,
                TableName=self._table,
                Item=items.inbound_item(message, self._retention),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as refused:
            return already_stored(refused.item)
        return Inserted()

    def record_media_stored(self, transaction_guid: str, index: int, media: StoredMedia, at: datetime) -> bool:
        """Marks one attachment stored; False when it had already left ``pending``."""
        return self._update_media(
            transaction_guid,
            index,
            {
                "status": {"S": items.MEDIA_STORED},
                "s3Key": {"S": media.key},
                "contentType": {"S": media.content_type},
                "size": {"N": str(media.size)},
                "sha256": {"S": media.sha256},
                "storedAt": {"S": iso_time(at)},
            },
        )

    def record_media_failed(self, transaction_guid: str, index: int, reason: str, attempts: int, at: datetime) -> bool:
        """Marks one attachment failed for good; False when it had already left ``pending``."""
        return self._update_media(
            transaction_guid,
            index,
            {
                "status": {"S": items.MEDIA_FAILED},
                "error": {"S": reason},
                "attempts": {"N": str(attempts)},
                "failedAt": {"S": iso_time(at)},
            },
        )

    def media_pending(self, transaction_guid: str, index: int) -> bool:
        """Whether attachment ``index`` still waits for its copy (a consistent read).

        Read only by the retry worker, so that a job made redundant by a later success does not
        fetch the media again; the webhook's path never reads before it writes.
        """
        answer = dynamodb_call(
            self._client.get_item,
            TableName=self._table,
            Key=items.transaction_key(transaction_guid),
            ProjectionExpression=f"media[{int(index)}].#status",
            ExpressionAttributeNames={"#status": "status"},
            ConsistentRead=True,
        )
        # The projection leaves a one-element list holding only that attachment's status.
        projected = answer.get("Item", {}).get("media", {}).get("L", [])
        return any(entry.get("M", {}).get("status", {}).get("S") == items.MEDIA_PENDING for entry in projected)

    def _update_media(self, transaction_guid: str, index: int, values: Mapping[str, Any]) -> bool:
        """SETs ``values`` on attachment ``index``, only while its status is still pending."""
        path = f"media[{int(index)}]"
        names = {"#status": "status"} | {f"#f{n}": name for n, name in enumerate(values)}
        assignments = ", ".join(f"{path}.#f{n} = :v{n}" for n in range(len(values)))
        attribute_values = {f":v{n}": value for n, value in enumerate(values.values())}
        attribute_values[":pending"] = {"S": items.MEDIA_PENDING}
        try:
            dynamodb_call(
                self._client.update_item,
                TableName=self._table,
                Key=items.transaction_key(transaction_guid),
                UpdateExpression=f"SET {assignments}",
                ConditionExpression=f"{path}.#status = :pending",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attribute_values,
            )
        except ConditionFailed:
            return False
        return True


def already_stored(item: Mapping[str, Any]) -> AlreadyStored:
    """What a repeated post needs of the stored item (DynamoDB JSON): its time, its pending media."""
    return AlreadyStored(
        received_at=items.received_at_of(item),
        pending_media=tuple(Attachment(index, url) for index, url in items.pending_media_indexes(item)),
    )
