"""The query API's reads, one DynamoDB call each (eventually consistent: a view, not a decision).

Items come back as the domain's records (``mmsrelay.storage.records``). A conversation's start
key is accepted only when it is exactly a key of that number's conversation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mmsrelay.aws import error_code
from mmsrelay.domain.errors import PermanentError
from mmsrelay.domain.records import ConversationPage, Delivery, InboundRecord, JobRecord, PageKey, TransactionRecord
from mmsrelay.storage import records
from mmsrelay.storage.errors import StorageUnavailable, dynamodb_call
from mmsrelay.storage.items import (
    CONVERSATION_KEY,
    TRANSACTION_PREFIX,
    message_key,
    number_partition,
    plain,
    plain_item,
    transaction_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_NUMBER_INDEX = "ByNumber"
MAX_KEY_CHARS = 512
BATCH_GET_LIMIT = 100  # DynamoDB's per call; a job has at most 10 recipients
BATCH_GET_ATTEMPTS = 4
BATCH_GET_BACKOFF_SECONDS = 0.05
# What a conversation entry needs: the keys (for the cursor) and the summary, never ``raw``.
CONVERSATION_ATTRIBUTES = (
    *CONVERSATION_KEY,
    "transactionGuid",
    "direction",
    "from",
    "to",
    "receivedAt",
    "sentAt",
    "status",
    "messageId",
    "text",
)
DELIVERY_ATTRIBUTES = ("pk", "transactionGuid", "status", "statusAt", "history")


class StartKeyRefused(PermanentError):
    """DynamoDB refused a conversation's start key."""

    default_code = "start_key_refused"


def conversation_start_key(number: str, document: Mapping[str, object]) -> PageKey | None:
    """``document`` when it is exactly a key of ``number``'s conversation: the four key attributes,
    strings, in that number's partition, ``gsi1sk`` ending with ``#<pk>``; None otherwise."""
    if sorted(document) != sorted(CONVERSATION_KEY):
        return None
    values = {name: document[name] for name in CONVERSATION_KEY}
    if not all(isinstance(value, str) and 0 < len(value) <= MAX_KEY_CHARS for value in values.values()):
        return None
    key = {name: str(value) for name, value in values.items()}
    if key["gsi1pk"] != number_partition(number) or not key["gsi1sk"].endswith(f"#{key['pk']}"):
        return None
    return key


def _projection(attributes: Sequence[str]) -> dict[str, Any]:
    """A projection naming every attribute through a placeholder (several are reserved words)."""
    names = {f"#a{n}": name for n, name in enumerate(attributes)}
    return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}


class DynamoMessageStore:
    """Implements ``mmsrelay.query.ports.MessageStore`` on the messages table."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        sleep: Callable[[float], None] = time.sleep,
        batch_attempts: int = BATCH_GET_ATTEMPTS,
    ) -> None:
        self._client = client
        self._table = table_name
        self._sleep = sleep
        self._batch_attempts = batch_attempts

    def message(self, message_id: str) -> JobRecord | None:
        item = self._get(message_key(message_id))
        return records.job_record(item) if item is not None else None

    def transaction(self, transaction_guid: str) -> InboundRecord | TransactionRecord | None:
        item = self._get(transaction_key(transaction_guid))
        if item is None:
            return None
        return records.transaction_of(item)

    def transactions(self, transaction_guids: Sequence[str]) -> dict[str, Delivery]:
        """One BatchGetItem (per 100 keys); unprocessed keys retried a few times, then 503."""
        keys = [transaction_key(guid) for guid in dict.fromkeys(transaction_guids)]
        found: dict[str, Delivery] = {}
        for first in range(0, len(keys), BATCH_GET_LIMIT):
            pending: Mapping[str, Any] = {
                self._table: {"Keys": keys[first : first + BATCH_GET_LIMIT], **_projection(DELIVERY_ATTRIBUTES)}
            }
            for attempt in range(self._batch_attempts):
                if attempt:
                    self._sleep(BATCH_GET_BACKOFF_SECONDS * 2 ** (attempt - 1))
                answer = dynamodb_call(self._client.batch_get_item, RequestItems=pending)
                for raw in answer.get("Responses", {}).get(self._table, []):
                    item = plain_item(raw)
                    found[str(item["pk"]).removeprefix(TRANSACTION_PREFIX)] = records.delivery(item)
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise StorageUnavailable("keys left unprocessed")
        return found

    def conversation(self, number: str, limit: int, start: PageKey | None) -> ConversationPage:
        projection = _projection(CONVERSATION_ATTRIBUTES)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_NUMBER_INDEX,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {**projection["ExpressionAttributeNames"], "#pk": "gsi1pk"},
            "ExpressionAttributeValues": {":pk": {"S": number_partition(number)}},
            "ProjectionExpression": projection["ProjectionExpression"],
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            request["ExclusiveStartKey"] = {name: {"S": value} for name, value in start.items()}
        try:
            answer = dynamodb_call(self._client.query, **request)
        except ClientError as error:
            if start is not None and error_code(error) == "ValidationException":
                raise StartKeyRefused("refused as a start key") from error
            raise
        last = answer.get("LastEvaluatedKey")
        return ConversationPage(
            entries=tuple(records.conversation_entry(plain_item(raw)) for raw in answer.get("Items", [])),
            last_key=records.page_key({name: plain(value) for name, value in last.items()}) if last else None,
        )

    def start_key(self, number: str, document: Mapping[str, object]) -> PageKey | None:
        return conversation_start_key(number, document)

    def _get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        item = dynamodb_call(self._client.get_item, TableName=self._table, Key=key).get("Item")
        return plain_item(item) if item else None
