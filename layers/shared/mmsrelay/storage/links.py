"""Short media links' items: ``LINK#<token>`` / ``LINK``, expiring with their link (TTL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.media import MediaLink
from mmsrelay.storage.errors import StorageUnavailable
from mmsrelay.storage.items import link_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class LinkRepository:
    """Implements the media links' ``LinkStore``."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, token: str, link: MediaLink, created_at: datetime) -> None:
        """Stores a new link (a token is never reused: the write is conditional). Any failure is
        ``StorageUnavailable``: the job is retried with a new token."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **link_key(token),
                    "entity": {"S": "link"},
                    "bucket": {"S": link.bucket},
                    "key": {"S": link.key},
                    "contentType": {"S": link.content_type},
                    "messageId": {"S": link.message_id},
                    "createdAt": {"S": iso_time(created_at)},
                    "expiresAt": {"N": str(int(link.expires_at.timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageUnavailable("media link not stored") from error

    def find(self, token: str) -> MediaLink | None:
        try:
            item = self._client.get_item(TableName=self._table, Key=link_key(token)).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise StorageUnavailable("media link lookup failed") from error
        if item is None:
            return None
        return MediaLink(
            bucket=item["bucket"]["S"],
            key=item["key"]["S"],
            content_type=item["contentType"]["S"],
            message_id=item.get("messageId", {}).get("S", ""),
            expires_at=datetime.fromtimestamp(int(item["expiresAt"]["N"]), UTC),
        )
