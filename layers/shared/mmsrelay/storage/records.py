"""Items read back as the domain's records (``mmsrelay.domain.records``): the read side's one
way into the table, used by the query store and, through the events function's wiring, by the
events translator. Attribute names and key prefixes stay here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from mmsrelay.domain.history import StatusEvent
from mmsrelay.domain.records import (
    ConversationEntry,
    Delivery,
    InboundRecord,
    JobRecipient,
    JobRecord,
    LastError,
    MediaRecord,
    PageKey,
    StoredRecord,
    TransactionRecord,
)
from mmsrelay.storage.items import CONVERSATION_KEY, MESSAGE_PREFIX, TRANSACTION_PREFIX, plain_item

logger = logging.getLogger(__name__)

Item = Mapping[str, Any]  # an item with its attribute values as plain Python values


def read_image(image: Mapping[str, Any]) -> StoredRecord | None:
    """An item as DynamoDB JSON (a stream image) as its record; None for an item that is neither a
    transaction nor a job (a short link). Raises TypeError, ValueError, KeyError or AttributeError
    for a malformed attribute value."""
    return read_item(plain_item(image))


def read_item(item: Item) -> StoredRecord | None:
    """A plain item as its record (None for a short link or anything else)."""
    pk = item.get("pk")
    pk = pk if isinstance(pk, str) else ""
    if pk.startswith(TRANSACTION_PREFIX):
        return transaction_of(item)
    if pk.startswith(MESSAGE_PREFIX):
        return job_record(item)
    return None


def transaction_guid_of(item: Item) -> Any:
    return item.get("transactionGuid") or str(item.get("pk", "")).removeprefix(TRANSACTION_PREFIX)


def transaction_of(item: Item) -> InboundRecord | TransactionRecord:
    """A ``TX#`` item's record: an inbound message, or an outbound recipient's transaction."""
    return inbound_record(item) if item.get("direction") == "inbound" else transaction_record(item)


def inbound_record(item: Item) -> InboundRecord:
    return InboundRecord(
        transaction_guid=transaction_guid_of(item),
        sender=item.get("from"),
        recipient=item.get("to"),
        text=item.get("text"),
        subject=item.get("subject"),
        received_at=item.get("receivedAt"),
        status=item.get("status"),
        status_at=item.get("statusAt"),
        flags=item.get("flags"),
        segment=item.get("segment"),
        media=[_media(entry) for entry in _maps(item.get("media"))]
        if isinstance(item.get("media"), list)
        else item.get("media"),
    )


def transaction_record(item: Item) -> TransactionRecord:
    return TransactionRecord(
        transaction_guid=transaction_guid_of(item),
        direction=item.get("direction"),
        message_id=item.get("messageId"),
        sender=item.get("from"),
        recipient=item.get("to"),
        recipients=item.get("recipients"),
        transport=item.get("transport"),
        sent_at=item.get("sentAt"),
        status=item.get("status"),
        status_rank=item.get("statusRank"),
        status_at=item.get("statusAt"),
        history=history(item.get("history")),
    )


def job_record(item: Item) -> JobRecord:
    error = item.get("lastError")
    return JobRecord(
        message_id=item.get("messageId") or str(item.get("pk", "")).removeprefix(MESSAGE_PREFIX),
        status=item.get("status"),
        status_at=item.get("statusAt"),
        transport=item.get("transport"),
        sent_over=item.get("sentOver"),
        created_at=item.get("createdAt"),
        sent_at=item.get("sentAt"),
        attempts=item.get("attempts", 0),
        last_error=LastError(error.get("code"), error.get("detail"), error.get("at"))
        if isinstance(error, Mapping)
        else None,
        history=history(item.get("history")),
        request=_request(item.get("request")),
        recipients=tuple(
            JobRecipient(entry.get("number"), entry.get("status"), entry.get("transactionGuid"), entry.get("code"))
            for entry in _maps(item.get("recipients"))
        ),
        validation_errors=(item.get("validationErrors") or []) if "validationErrors" in item else None,
    )


def delivery(item: Item) -> Delivery:
    return Delivery(item.get("status"), item.get("statusAt"), history(item.get("history")))


def conversation_entry(item: Item) -> ConversationEntry:
    return ConversationEntry(
        key=page_key(item),
        transaction_guid=transaction_guid_of(item),
        direction=item.get("direction"),
        sender=item.get("from"),
        recipient=item.get("to"),
        received_at=item.get("receivedAt"),
        sent_at=item.get("sentAt"),
        status=item.get("status"),
        message_id=item.get("messageId"),
        text=item.get("text"),
    )


def page_key(item: Item) -> PageKey:
    """The key of an item's place in a conversation, its attributes always in one order."""
    return {name: str(item[name]) for name in CONVERSATION_KEY}


def history(value: Any) -> tuple[StatusEvent, ...]:
    """A stored history: one shape for every writer (``mmsrelay.domain.history``)."""
    return tuple(
        StatusEvent(
            status=event.get("status"),
            at=event.get("at"),
            source=event.get("source"),
            state=event.get("state"),
            code=event.get("code"),
            occurred_at=event.get("occurredAt"),
            detail=event.get("detail"),
        )
        for event in _maps(value)
    )


def _media(entry: Item) -> MediaRecord:
    return MediaRecord(
        index=entry.get("index"),
        status=entry.get("status"),
        s3_key=entry.get("s3Key"),
        content_type=entry.get("contentType"),
        size=entry.get("size"),
        sha256=entry.get("sha256"),
        stored_at=entry.get("storedAt"),
        error=entry.get("error"),
        attempts=entry.get("attempts"),
        failed_at=entry.get("failedAt"),
    )


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
