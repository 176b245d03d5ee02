"""The query API's answers, built field by field from the table's records.

What a record keeps for the relay alone never leaves it: an inbound message's raw fields, an
invalid job's body and the gateway's media URLs are not even read. Stored media is answered as
presigned GET URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    TransactionRecord,
)
from mmsrelay.query.ports import MediaLinks

Document = dict[str, Any]

MEDIA_STORED = "stored"
MEDIA_FAILED = "failed"


def message_document(job: JobRecord, deliveries: Mapping[str, Delivery]) -> Document:
    """An outbound job as answered: the request as received, status, history, recipients."""
    document: Document = {
        "messageId": job.message_id,
        "direction": "outbound",
        "status": job.status,
        "statusAt": job.status_at,
        "transport": job.transport,
        "sentOver": job.sent_over,
        "createdAt": job.created_at,
        "sentAt": job.sent_at,
        "attempts": job.attempts,
        "lastError": _last_error(job.last_error),
        "history": _history(job.history),
        "request": job.request,
        "recipients": [_recipient(entry, deliveries) for entry in job.recipients],
    }
    if job.validation_errors is not None:  # an unreadable job: what was wrong, never the body
        document["validationErrors"] = [str(error) for error in job.validation_errors]
    return document


def _recipient(entry: JobRecipient, deliveries: Mapping[str, Delivery]) -> Document:
    guid = entry.transaction_guid
    delivery = deliveries.get(guid) if isinstance(guid, str) else None
    return {
        "number": entry.number,
        "status": entry.status,  # the gateway's answer to the send: sent | refused
        "transactionGUID": guid,
        "code": entry.code,
        "delivery": None
        if delivery is None
        else {"status": delivery.status, "statusAt": delivery.status_at, "history": _history(delivery.history)},
    }


def transaction_document(record: InboundRecord | TransactionRecord, links: MediaLinks) -> Document:
    """A transaction as answered: an inbound message, or one recipient of an outbound one."""
    if isinstance(record, InboundRecord):
        return {
            "transactionGUID": record.transaction_guid,
            "direction": "inbound",
            "from": record.sender,
            "to": record.recipient,
            "text": record.text,
            "subject": record.subject,
            "receivedAt": record.received_at,
            "status": record.status,
            "statusAt": record.status_at,
            "flags": [str(flag) for flag in record.flags or []],
            "segment": record.segment if isinstance(record.segment, Mapping) else None,
            "media": [_media(entry, links) for entry in record.media] if isinstance(record.media, list) else [],
        }
    # Outbound; or a receipt that arrived before the sender's write (no direction yet).
    return {
        "transactionGUID": record.transaction_guid,
        "direction": record.direction,
        "messageId": record.message_id,
        "from": record.sender,
        "to": record.recipient,
        "recipients": [str(number) for number in record.recipients or []],
        "transport": record.transport,
        "sentAt": record.sent_at,
        "status": record.status,
        "statusRank": record.status_rank,
        "statusAt": record.status_at,
        "history": _history(record.history),
    }


def _media(entry: MediaRecord, links: MediaLinks) -> Document:
    media: Document = {"index": entry.index, "status": entry.status}
    if entry.status == MEDIA_STORED:
        key = entry.s3_key
        media |= {
            "contentType": entry.content_type,
            "size": entry.size,
            "sha256": entry.sha256,
            "storedAt": entry.stored_at,
            "url": links.presigned_get(key) if isinstance(key, str) and key else None,
            "urlExpiresIn": links.expires_in,
        }
    elif entry.status == MEDIA_FAILED:
        media |= {"error": entry.error, "attempts": entry.attempts, "failedAt": entry.failed_at}
    return media


def conversation_entry(entry: ConversationEntry) -> Document:
    inbound = entry.direction == "inbound"
    return {
        "transactionGUID": entry.transaction_guid,
        "direction": entry.direction,
        "from": entry.sender,
        "to": entry.recipient,
        "at": entry.received_at if inbound else entry.sent_at,
        "status": entry.status,
        "messageId": None if inbound else entry.message_id,
        # The handset's words: answered to IAM-authorised callers, never logged.
        "text": entry.text if inbound else None,
    }


def _history(events: tuple[StatusEvent, ...]) -> list[Document]:
    """Status events; a receipt's also say where they came from and, as received, their state."""
    answered = []
    for event in events:
        entry: Document = {"status": event.status, "at": event.at}
        for name, value in (
            ("code", event.code),
            ("state", event.state),
            ("source", event.source),
            ("occurredAt", event.occurred_at),
            ("detail", event.detail),
        ):
            if value is not None:
                entry[name] = value
        answered.append(entry)
    return answered


def _last_error(error: LastError | None) -> Document | None:
    if error is None:
        return None
    return {"code": error.code, "detail": error.detail, "at": error.at}
