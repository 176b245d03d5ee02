"""The read use cases: a message or a transaction by id, and a number's conversation page by page.

Answers are built attribute by attribute from the items ``mmsrelay.storage`` writes, so what an
item keeps for the relay alone never leaves it: an inbound message's ``raw`` fields, an invalid
job's ``rawBody``, the gateway's media URLs. Stored media is answered as presigned GET URLs.

Reads: an id costs one GetItem when found on the first try (an outbound message adds one
BatchGetItem for its recipients' ``TX#`` items); a conversation page is one Query on ``ByNumber``.
A conversation cursor is the page's last key (JSON, base64url). There is no secret to sign it, so
it is checked strictly instead: exactly the four key attributes, strings, in this number's
partition. A tampered cursor can only move within the number that the caller asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from mmsrelay.aws import error_code
from mmsrelay.domain.phone import mask
from mmsrelay.storage.errors import StorageUnavailable, dynamodb_call
from mmsrelay.storage.items import MEDIA_FAILED, MEDIA_STORED, plain, plain_item, transaction_key
from mmsrelay.storage.outbound import message_key
from mmsrelay.webhooks.errors import WebhookRequestError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
PRESIGNED_SECONDS = 300
BY_NUMBER_INDEX = "ByNumber"
CURSOR_KEYS = ("gsi1pk", "gsi1sk", "pk", "sk")
MAX_CURSOR_CHARS = 1024  # a real cursor is about 300; the bound also caps JSON nesting
MAX_KEY_CHARS = 512
BATCH_GET_LIMIT = 100  # DynamoDB's per call; a job has at most 10 recipients
BATCH_GET_ATTEMPTS = 4
BATCH_GET_BACKOFF_SECONDS = 0.05
# What a conversation entry needs: the keys (for the cursor) and the summary, never ``raw``.
CONVERSATION_ATTRIBUTES = (
    *CURSOR_KEYS,
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

Item = Mapping[str, Any]  # an item with its attribute values as plain Python values
Key = dict[str, str]
Document = dict[str, Any]


class QueryRequestError(WebhookRequestError):
    """The query cannot be answered as asked (a 4xx; the code names the parameter)."""


class InvalidIdentifier(QueryRequestError):
    default_code = "invalid_id"


class InvalidNumber(QueryRequestError):
    default_code = "invalid_number"


class InvalidLimit(QueryRequestError):
    default_code = "invalid_limit"


class InvalidCursor(QueryRequestError):
    default_code = "invalid_cursor"


@dataclass(frozen=True)
class Page:
    items: Sequence[Item]
    last_key: Key | None  # DynamoDB's LastEvaluatedKey: more may follow


class MessageStore(Protocol):
    def message(self, message_id: str) -> Item | None: ...

    def transaction(self, transaction_guid: str) -> Item | None: ...

    def transactions(self, transaction_guids: Sequence[str]) -> dict[str, Item]:
        """The ``TX#`` items found, by GUID: status, statusAt and history only."""
        ...

    def conversation(self, number: str, limit: int, start: Key | None) -> Page: ...


class MediaLinks(Protocol):
    def presigned_get(self, key: str) -> str: ...


def number_partition(number: str) -> str:
    """``ByNumber``'s partition key of a number's conversation."""
    return f"NUM#{number}"


# --- the use cases -----------------------------------------------------------------------------


class MessageQueries:
    def __init__(self, store: MessageStore, links: MediaLinks) -> None:
        self._store = store
        self._links = links

    def find(self, identifier: str) -> Document | None:
        """An outbound job (by messageId) or a transaction (by transactionGUID), or None.

        A GUID-shaped id is looked up as a transaction first (in upper case, the canonical form,
        then as given), then as a messageId (producers may use UUIDs); any other id the other
        way round (the HTTPS API's GUIDs are not always GUID-shaped).
        """
        as_message = ("message", self._message)
        as_transaction = ("transaction", self._transaction)
        lookups = (as_transaction, as_message) if GUID.fullmatch(identifier) else (as_message, as_transaction)
        for kind, lookup in lookups:
            document = lookup(identifier)
            if document is not None:
                logger.info("id looked up", extra={"found": kind})
                return document
        logger.info("id looked up", extra={"found": None})
        return None

    def conversation(self, number: str, limit: int, cursor: str | None) -> Document:
        """One page of ``number``'s messages, newest first, and the cursor of the next one.

        One more item than asked is read, so that the last page is known to be last (no empty
        page after it); the cursor is then built from the page's last item.
        """
        start = decode_cursor(cursor, number) if cursor is not None else None
        page = self._store.conversation(number, limit + 1, start)
        items = list(page.items[:limit])
        next_key = _cursor_key(items[-1]) if len(page.items) > limit else page.last_key
        logger.info(
            "conversation read",
            extra={
                "number": mask(number),
                "count": len(items),
                "more": next_key is not None,
                "from_cursor": bool(start),
            },
        )
        return {
            "number": number,
            "messages": [conversation_entry(item) for item in items],
            "nextCursor": encode_cursor(next_key) if next_key is not None else None,
        }

    def _message(self, message_id: str) -> Document | None:
        item = self._store.message(message_id)
        if item is None:
            return None
        guids = [
            str(entry["transactionGuid"])
            for entry in _maps(item.get("recipients"))
            if isinstance(entry.get("transactionGuid"), str)
        ]
        deliveries = self._store.transactions(list(dict.fromkeys(guids))) if guids else {}
        return message_document(item, deliveries)

    def _transaction(self, identifier: str) -> Document | None:
        candidates = [identifier.upper(), identifier] if GUID.fullmatch(identifier) else [identifier]
        for guid in dict.fromkeys(candidates):
            item = self._store.transaction(guid)
            if item is not None:
                return transaction_document(item, self._links)
        return None


# --- documents ---------------------------------------------------------------------------------


def message_document(item: Item, deliveries: Mapping[str, Item]) -> Document:
    """An outbound job as answered: the request as received, status, history, recipients."""
    document: Document = {
        "messageId": item.get("messageId") or str(item.get("pk", "")).removeprefix("MSG#"),
        "direction": "outbound",
        "status": item.get("status"),
        "statusAt": item.get("statusAt"),
        "transport": item.get("transport"),
        "sentOver": item.get("sentOver"),
        "createdAt": item.get("createdAt"),
        "sentAt": item.get("sentAt"),
        "attempts": item.get("attempts", 0),
        "lastError": _last_error(item.get("lastError")),
        "history": _history(item.get("history")),
        "request": _request(item.get("request")),
        "recipients": [_recipient(entry, deliveries) for entry in _maps(item.get("recipients"))],
    }
    if "validationErrors" in item:  # an unreadable job: what was wrong, never the body
        document["validationErrors"] = [str(error) for error in item.get("validationErrors") or []]
    return document


def _recipient(entry: Item, deliveries: Mapping[str, Item]) -> Document:
    guid = entry.get("transactionGuid")
    delivery = deliveries.get(guid) if isinstance(guid, str) else None
    return {
        "number": entry.get("number"),
        "status": entry.get("status"),  # the gateway's answer to the send: sent | refused
        "transactionGUID": guid,
        "code": entry.get("code"),
        "delivery": None
        if delivery is None
        else {
            "status": delivery.get("status"),
            "statusAt": delivery.get("statusAt"),
            "history": _history(delivery.get("history")),
        },
    }


def transaction_document(item: Item, links: MediaLinks) -> Document:
    """A ``TX#`` item as answered: an inbound message, or one recipient of an outbound one."""
    guid = item.get("transactionGuid") or str(item.get("pk", "")).removeprefix("TX#")
    if item.get("direction") == "inbound":
        return {
            "transactionGUID": guid,
            "direction": "inbound",
            "from": item.get("from"),
            "to": item.get("to"),
            "text": item.get("text"),
            "subject": item.get("subject"),
            "receivedAt": item.get("receivedAt"),
            "status": item.get("status"),
            "statusAt": item.get("statusAt"),
            "flags": [str(flag) for flag in item.get("flags") or []],
            "segment": item.get("segment") if isinstance(item.get("segment"), Mapping) else None,
            "media": [_media(entry, links) for entry in _maps(item.get("media"))],
        }
    # Outbound; or a receipt that arrived before the sender's write (no direction yet).
    return {
        "transactionGUID": guid,
        "direction": item.get("direction"),
        "messageId": item.get("messageId"),
        "from": item.get("from"),
        "to": item.get("to"),
        "recipients": [str(number) for number in item.get("recipients") or []],
        "transport": item.get("transport"),
        "sentAt": item.get("sentAt"),
        "status": item.get("status"),
        "statusRank": item.get("statusRank"),
        "statusAt": item.get("statusAt"),
        "history": _history(item.get("history")),
    }


def _media(entry: Item, links: MediaLinks) -> Document:
    status = entry.get("status")
    media: Document = {"index": entry.get("index"), "status": status}
    if status == MEDIA_STORED:
        key = entry.get("s3Key")
        media |= {
            "contentType": entry.get("contentType"),
            "size": entry.get("size"),
            "sha256": entry.get("sha256"),
            "storedAt": entry.get("storedAt"),
            "url": links.presigned_get(key) if isinstance(key, str) and key else None,
            "urlExpiresIn": PRESIGNED_SECONDS,
        }
    elif status == MEDIA_FAILED:
        media |= {"error": entry.get("error"), "attempts": entry.get("attempts"), "failedAt": entry.get("failedAt")}
    return media


def conversation_entry(item: Item) -> Document:
    inbound = item.get("direction") == "inbound"
    return {
        "transactionGUID": item.get("transactionGuid") or str(item.get("pk", "")).removeprefix("TX#"),
        "direction": item.get("direction"),
        "from": item.get("from"),
        "to": item.get("to"),
        "at": item.get("receivedAt") if inbound else item.get("sentAt"),
        "status": item.get("status"),
        "messageId": None if inbound else item.get("messageId"),
        # The handset's words: answered to IAM-authorised callers, never logged.
        "text": item.get("text") if inbound else None,
    }


def _history(value: Any) -> list[Document]:
    """Status events; a receipt's also say where they came from and, as received, their state."""
    events = []
    for event in _maps(value):
        entry: Document = {"status": event.get("status"), "at": event.get("at")}
        for optional in ("code", "state", "source", "occurredAt"):
            if event.get(optional) is not None:
                entry[optional] = event[optional]
        events.append(entry)
    return events


def _last_error(value: Any) -> Document | None:
    if not isinstance(value, Mapping):
        return None
    return {"code": value.get("code"), "detail": value.get("detail"), "at": value.get("at")}


def _request(value: Any) -> Any:
    """The job as received: the item keeps it as JSON text."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        logger.warning("stored request is not JSON")
        return None


def _maps(value: Any) -> Iterable[Item]:
    return [entry for entry in value if isinstance(entry, Mapping)] if isinstance(value, list) else []


# --- the cursor --------------------------------------------------------------------------------

_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")


def encode_cursor(key: Mapping[str, str]) -> str:
    text = json.dumps({name: key[name] for name in CURSOR_KEYS}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, number: str) -> Key:
    """The start key a cursor stands for, refused unless it is exactly a key of this conversation."""
    if len(token) > MAX_CURSOR_CHARS or not _CURSOR_TEXT.fullmatch(token):
        raise InvalidCursor("not base64url")
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_no_repeated_names)
    except (binascii.Error, ValueError, RecursionError) as error:
        raise InvalidCursor("not a cursor") from error
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != token:
        raise InvalidCursor("not canonical base64url")  # no second spelling of one cursor
    if not isinstance(document, dict) or sorted(document) != sorted(CURSOR_KEYS):
        raise InvalidCursor("not a key")
    if not all(isinstance(value, str) and 0 < len(value) <= MAX_KEY_CHARS for value in document.values()):
        raise InvalidCursor("not a key")
    if document["gsi1pk"] != number_partition(number):
        raise InvalidCursor("another conversation's cursor")
    if not document["gsi1sk"].endswith(f"#{document['pk']}"):
        raise InvalidCursor("inconsistent key")  # the layout: gsi1sk = <ISO time>#<pk>
    return {name: str(document[name]) for name in CURSOR_KEYS}


def _no_repeated_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("repeated name")
    return document


def _cursor_key(item: Item) -> Key:
    return {name: str(item[name]) for name in CURSOR_KEYS}


# --- adapters ----------------------------------------------------------------------------------


def _projection(attributes: Sequence[str]) -> dict[str, Any]:
    """A projection naming every attribute through a placeholder (several are reserved words)."""
    names = {f"#a{n}": name for n, name in enumerate(attributes)}
    return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}


class DynamoMessageStore:
    """The reads, one DynamoDB call each (eventually consistent: this is a view, not a decision)."""

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

    def message(self, message_id: str) -> Item | None:
        return self._get(message_key(message_id))

    def transaction(self, transaction_guid: str) -> Item | None:
        return self._get(transaction_key(transaction_guid))

    def transactions(self, transaction_guids: Sequence[str]) -> dict[str, Item]:
        """One BatchGetItem (per 100 keys); unprocessed keys retried a few times, then 503."""
        keys = [transaction_key(guid) for guid in dict.fromkeys(transaction_guids)]
        found: dict[str, Item] = {}
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
                    found[str(item["pk"]).removeprefix("TX#")] = item
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise StorageUnavailable("keys left unprocessed")
        return found

    def conversation(self, number: str, limit: int, start: Key | None) -> Page:
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
                raise InvalidCursor("refused as a start key") from error
            raise
        last = answer.get("LastEvaluatedKey")
        return Page(
            items=[plain_item(raw) for raw in answer.get("Items", [])],
            last_key={name: str(plain(value)) for name, value in last.items()} if last else None,
        )

    def _get(self, key: Mapping[str, Any]) -> Item | None:
        item = dynamodb_call(self._client.get_item, TableName=self._table, Key=key).get("Item")
        return plain_item(item) if item else None


class S3MediaLinks:
    """Presigned GET URLs to stored media (SigV4, signed locally: no call to S3)."""

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def presigned_get(self, key: str) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=PRESIGNED_SECONDS
        )
