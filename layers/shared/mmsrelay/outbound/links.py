"""Short, unguessable, expiring links to media in S3, for the gateway's 160-character ``mmsURL``.

``GET <api>/m/<token>`` answers a redirect to a presigned S3 URL made at that moment (valid a few
minutes). The token is 128 random bits (22 URL-safe characters); its item expires with the link.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.errors import PermanentSendError
from mmsrelay.domain.outbound import MMS_URL_LIMIT
from mmsrelay.storage.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
PRESIGNED_SECONDS = 300


def link_key(token: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"LINK#{token}"}, "sk": {"S": "LINK"}}


class MediaLinks:
    """Creates links (the outbound function)."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table_name: str,
        base_url: str,
        lifetime: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._base_url = base_url.rstrip("/")
        self._lifetime = lifetime
        self._clock = clock

    def create(self, bucket: str, key: str, content_type: str, message_id: str) -> str:
        """A new link to ``s3://bucket/key``; refused when the URL would not fit ``mmsURL``."""
        token = secrets.token_urlsafe(16)
        url = f"{self._base_url}/m/{token}"
        if len(url) > MMS_URL_LIMIT:
            raise PermanentSendError("link_too_long", f"media link is {len(url)} characters (limit {MMS_URL_LIMIT})")
        now = self._clock()
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    **link_key(token),
                    "entity": {"S": "link"},
                    "bucket": {"S": bucket},
                    "key": {"S": key},
                    "contentType": {"S": content_type},
                    "messageId": {"S": message_id},
                    "createdAt": {"S": iso_time(now)},
                    "expiresAt": {"N": str(int((now + self._lifetime).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageUnavailable("media link not stored") from error
        return url


class MediaLinkResolver:
    """Answers links (the ``GET /m/{token}`` function)."""

    def __init__(self, dynamodb: DynamoDBClient, s3: S3Client, table_name: str, clock: Callable[[], datetime]) -> None:
        self._dynamodb = dynamodb
        self._s3 = s3
        self._table = table_name
        self._clock = clock

    def resolve(self, token: str) -> str | None:
        """A presigned URL for a live link, or None for an unknown, malformed or expired one."""
        if not TOKEN.fullmatch(token):
            return None
        try:
            item = self._dynamodb.get_item(TableName=self._table, Key=link_key(token)).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise StorageUnavailable("media link lookup failed") from error
        if item is None or int(item["expiresAt"]["N"]) <= int(self._clock().timestamp()):
            return None
        return self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": item["bucket"]["S"],
                "Key": item["key"]["S"],
                "ResponseContentType": item["contentType"]["S"],
            },
            ExpiresIn=PRESIGNED_SECONDS,
        )
