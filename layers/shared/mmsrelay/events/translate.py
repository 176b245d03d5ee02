"""One stream record of the messages table → at most one domain event (pure; docs/events.md).

The stream carries every write (``NEW_AND_OLD_IMAGES``), so an event exists if and only if its
write happened. What each change means:

- ``TX#`` inbound, INSERT: ``MMS Received`` (later MODIFYs, media updates, say nothing new).
- ``MSG#`` whose status became ``sent`` / ``failed``: ``MMS Sent`` / ``MMS Send Failed``.
- ``TX#`` not inbound (outbound, or created by a receipt before the sender wrote it) whose status
  changed to one of rank >= 3 (enroute and beyond): ``MMS Status Changed``. Queued, sending and
  sent are the job's news, told by the ``MSG#`` events.
- Nothing for ``LINK#`` items, REMOVEs (TTL expiry) or changes that leave the status alone.

Each event carries ``eventId``, derived from the record's ``eventID``: a redelivered record gives
the same id, so consumers can drop duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from mmsrelay.domain.errors import PermanentError
from mmsrelay.domain.events import MAX_ENTRY_BYTES, EventEntry
from mmsrelay.domain.records import InboundRecord, JobRecord, StoredRecord, TransactionRecord
from mmsrelay.domain.status import RANK

MMS_RECEIVED: Final = "MMS Received"
MMS_SENT: Final = "MMS Sent"
MMS_SEND_FAILED: Final = "MMS Send Failed"
MMS_STATUS_CHANGED: Final = "MMS Status Changed"

# Statuses below this rank (queued 0, sending 1, sent 2) are covered by the job's events.
MIN_PUBLISHED_RANK: Final = RANK["enroute"]
# Reads a stream image (DynamoDB JSON) as the record it holds; None for anything but a
# transaction or a job (``mmsrelay.storage.records.read_image``).
ImageReader = Callable[[Mapping[str, Any]], StoredRecord | None]
# Event ids are UUIDs derived from the stream record's eventID under this namespace.
_EVENT_ID_NAMESPACE: Final = uuid.UUID("5d6c7a3e-2f41-5b8e-9a0c-6e1f2d3b4a59")


class MalformedStreamRecord(PermanentError):
    """The record is not a DynamoDB stream record of the expected shape (no id, no image, bad types)."""


def event_id_of(record_id: str) -> str:
    """The event id for a stream record: stable across redeliveries of that record."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, record_id))


class StreamTranslator:
    """Translates stream records, reading their images through ``read_image`` (storage's reader:
    only storage knows keys and attribute names)."""

    def __init__(self, read_image: ImageReader) -> None:
        self._read = read_image

    def __call__(self, record: Mapping[str, Any]) -> EventEntry | None:
        """The event a stream record means, or None when it means none."""
        record_id = record.get("eventID")
        change = record.get("dynamodb")
        if not isinstance(record_id, str) or not record_id:
            raise MalformedStreamRecord("the record has no eventID")
        if not isinstance(change, Mapping):
            raise MalformedStreamRecord("the record has no dynamodb change")
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            return None  # REMOVE: a TTL expiry or a deletion, not news
        if change.get("NewImage") is None:
            raise MalformedStreamRecord("the record has no new image (the stream must be NEW_AND_OLD_IMAGES)")
        new = self._image(change.get("NewImage"))
        old = self._image(change.get("OldImage")) if change.get("OldImage") is not None else None
        event_id = event_id_of(record_id)
        found: tuple[str, dict[str, Any]] | None = None
        if isinstance(new, InboundRecord | TransactionRecord):
            found = _transaction_event(record.get("eventName") == "INSERT", new, old, event_id)
        elif isinstance(new, JobRecord):
            found = _message_event(new, old, event_id)
        if found is None:
            return None
        detail_type, detail = found
        return _fitted(EventEntry(record_id, detail_type, detail, _written_at(change)))

    def _image(self, image: object) -> StoredRecord | None:
        if not isinstance(image, Mapping):
            raise MalformedStreamRecord("an image is not a map")
        try:
            return self._read(image)
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            raise MalformedStreamRecord("an image holds a malformed attribute value") from error


def _transaction_event(
    inserted: bool, new: InboundRecord | TransactionRecord, old: StoredRecord | None, event_id: str
) -> tuple[str, dict[str, Any]] | None:
    if isinstance(new, InboundRecord):
        return (MMS_RECEIVED, _received(new, event_id)) if inserted else None
    status = _text(new.status)
    previous = _text(old.status) if old is not None else None
    if status is None or status == previous or RANK.get(status, -1) < MIN_PUBLISHED_RANK:
        return None
    return MMS_STATUS_CHANGED, _status_changed(new, status, previous, event_id)


def _message_event(new: JobRecord, old: StoredRecord | None, event_id: str) -> tuple[str, dict[str, Any]] | None:
    status = _text(new.status)
    if old is not None and _text(old.status) == status:
        return None
    if status == "sent":
        return MMS_SENT, _sent(new, event_id)
    if status == "failed":
        return MMS_SEND_FAILED, _send_failed(new, event_id)
    return None


def _received(message: InboundRecord, event_id: str) -> dict[str, Any]:
    flags = message.flags
    return {
        "eventId": event_id,
        "transactionGUID": _text(message.transaction_guid),
        "from": _text(message.sender),
        "to": _text(message.recipient),
        "receivedAt": _text(message.received_at),
        "text": _text(message.text) or "",
        "subject": _text(message.subject),
        "attachments": len(message.media) if isinstance(message.media, list) else 0,
        "flags": [flag for flag in flags if isinstance(flag, str)] if isinstance(flags, list) else [],
    }


def _sent(job: JobRecord, event_id: str) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "messageId": _text(job.message_id),
        "sentOver": _text(job.sent_over),
        "sentAt": _text(job.sent_at) or _text(job.status_at),
        "recipients": [
            {
                "number": _text(recipient.number),
                "status": _text(recipient.status),
                "transactionGUID": _text(recipient.transaction_guid),
            }
            for recipient in job.recipients
        ],
    }


def _send_failed(job: JobRecord, event_id: str) -> dict[str, Any]:
    error = job.last_error
    return {
        "eventId": event_id,
        "messageId": _text(job.message_id),
        "error": {
            "code": _text(error.code) if error else None,
            "detail": _text(error.detail) if error else None,
        },
        "attempts": job.attempts if isinstance(job.attempts, int) and not isinstance(job.attempts, bool) else 0,
        "at": _text(job.status_at) or (_text(error.at) if error else None),
    }


def _status_changed(transaction: TransactionRecord, status: str, previous: str | None, event_id: str) -> dict[str, Any]:
    # The newest history entry is the change's own when it records the new status: it holds the
    # receipt's raw state and error code, if the receipt had them.
    newest = transaction.history[-1] if transaction.history else None
    entry = newest if newest is not None and _text(newest.status) in (None, status) else None
    return {
        "eventId": event_id,
        "transactionGUID": _text(transaction.transaction_guid),
        "messageId": _text(transaction.message_id),
        "to": _text(transaction.recipient),
        "status": status,
        "previousStatus": previous,
        "statusAt": _text(transaction.status_at),
        "state": _text(entry.state) if entry else None,
        "errorCode": _text(entry.code) if entry else None,
    }


def _fitted(entry: EventEntry) -> EventEntry:
    """The entry, its message text (then subject) shortened when it would not fit EventBridge's limit.

    Only an inbound message's text can be that long (the webhook accepts 256 KB bodies). Removing
    N characters removes at least N bytes of JSON, so one cut per field is enough; ``truncated``
    tells consumers to read the whole message from the table.
    """
    margin = len(',"truncated":true')
    for field in ("text", "subject"):
        overflow = entry.size - MAX_ENTRY_BYTES
        value = entry.detail.get(field)
        if overflow <= 0:
            break
        if isinstance(value, str) and value:
            shortened = {**entry.detail, field: value[: max(0, len(value) - overflow - margin)], "truncated": True}
            entry = EventEntry(entry.record_id, entry.detail_type, shortened, entry.time)
    return entry


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _written_at(change: Mapping[str, Any]) -> datetime | None:
    seconds = change.get("ApproximateCreationDateTime")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return datetime.fromtimestamp(seconds, UTC)
