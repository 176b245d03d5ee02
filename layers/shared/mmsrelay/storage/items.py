"""Table keys and item layouts, and their mapping to and from the domain, written out explicitly.

The only place that spells a key prefix (docs/architecture.md, "Data"):
- ``TX#<transactionGUID>`` / ``TX``: one gateway transaction (an inbound message, or one recipient
  of an outbound message).
- ``MSG#<messageId>`` / ``MSG``: one outbound job. ``LINK#<token>`` / ``LINK``: a short media link.
- ``gsi1pk = NUM#<number>``, ``gsi1sk = <ISO time>#<pk>``: a number's conversation (``ByNumber``).
- ``gsi2pk = DUE#<day>``, ``gsi2sk = <deadline>#<pk>``: sends awaiting a receipt (``ByReceiptDue``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mmsrelay.domain.clock import iso_time
from mmsrelay.domain.history import StatusEvent

if TYPE_CHECKING:
    from mmsrelay.domain.inbound import InboundMessage

TRANSACTION_PREFIX = "TX#"
TRANSACTION_SK = "TX"
MESSAGE_PREFIX = "MSG#"
MESSAGE_SK = "MSG"
LINK_PREFIX = "LINK#"
LINK_SK = "LINK"
NUMBER_PREFIX = "NUM#"
DUE_PREFIX = "DUE#"
# The attributes of a place in a conversation (ByNumber's keys and the table's), in this order.
CONVERSATION_KEY = ("gsi1pk", "gsi1sk", "pk", "sk")
HISTORY_TEXT_LIMIT = 64  # characters of a state or code kept in a history entry
HISTORY_DETAIL_LIMIT = 200  # characters of a receipt's detail kept (the parser cuts it there already)
INBOUND_STATUS = "received"
MEDIA_PENDING = "pending"
MEDIA_STORED = "stored"
MEDIA_FAILED = "failed"

AttributeMap = dict[str, Any]


def transaction_pk(transaction_guid: str) -> str:
    return f"{TRANSACTION_PREFIX}{transaction_guid}"


def transaction_key(transaction_guid: str) -> AttributeMap:
    return {"pk": {"S": transaction_pk(transaction_guid)}, "sk": {"S": TRANSACTION_SK}}


def message_key(message_id: str) -> AttributeMap:
    return {"pk": {"S": f"{MESSAGE_PREFIX}{message_id}"}, "sk": {"S": MESSAGE_SK}}


def link_key(token: str) -> AttributeMap:
    return {"pk": {"S": f"{LINK_PREFIX}{token}"}, "sk": {"S": LINK_SK}}


def number_partition(number: str) -> str:
    """``ByNumber``'s partition key of a number's conversation."""
    return f"{NUMBER_PREFIX}{number}"


def receipt_due_partition(due: datetime) -> str:
    """The ByReceiptDue partition of a deadline: one per UTC day, so a sweep reads a few small ones."""
    return f"{DUE_PREFIX}{iso_time(due)[:10]}"


def history_entry(event: StatusEvent) -> AttributeMap:
    """A history entry as every writer stores it (``TX#`` and ``MSG#`` items alike)."""
    entry: AttributeMap = {}
    if event.at:
        entry["at"] = {"S": event.at}
    if event.source:
        entry["source"] = {"S": event.source}
    if event.status:
        entry["status"] = {"S": event.status}
    if event.state:
        entry["state"] = {"S": event.state[:HISTORY_TEXT_LIMIT]}
    if event.code:
        entry["code"] = {"S": event.code[:HISTORY_TEXT_LIMIT]}
    if event.occurred_at:
        entry["occurredAt"] = {"S": event.occurred_at}
    if event.detail:
        entry["detail"] = {"S": event.detail[:HISTORY_DETAIL_LIMIT]}
    return {"M": entry}


def inbound_item(message: InboundMessage, retention: timedelta) -> AttributeMap:
    received = iso_time(message.received_at)
    pk = transaction_pk(message.transaction_guid)
    item: AttributeMap = {
        "pk": {"S": pk},
        "sk": {"S": TRANSACTION_SK},
        "entity": {"S": "transaction"},
        "direction": {"S": "inbound"},
        "transactionGuid": {"S": message.transaction_guid},
        "from": {"S": message.sender},
        "to": {"S": message.recipient},
        "text": {"S": message.text},
        "status": {"S": INBOUND_STATUS},
        "receivedAt": {"S": received},
        "statusAt": {"S": received},
        "media": {"L": [_pending_media(a.index, a.source_url) for a in message.attachments]},
        "raw": {"M": {name: _raw_value(value) for name, value in message.raw.items()}},
        "gsi1pk": {"S": number_partition(message.sender)},
        "gsi1sk": {"S": f"{received}#{pk}"},
        "expiresAt": {"N": str(int((message.received_at + retention).timestamp()))},
    }
    if message.connection_guid:
        item["connectionGuid"] = {"S": message.connection_guid}
    if message.subject is not None:
        item["subject"] = {"S": message.subject}
    if message.flags:
        item["flags"] = {"L": [{"S": flag} for flag in message.flags]}
    if message.segment is not None:
        segment: AttributeMap = {"reference": {"S": message.segment.reference}}
        if message.segment.count is not None:
            segment["count"] = {"N": str(message.segment.count)}
        if message.segment.number is not None:
            segment["number"] = {"N": str(message.segment.number)}
        item["segment"] = {"M": segment}
    return item


def _pending_media(index: int, source_url: str) -> AttributeMap:
    return {"M": {"index": {"N": str(index)}, "sourceUrl": {"S": source_url}, "status": {"S": MEDIA_PENDING}}}


def _raw_value(value: str | tuple[str, ...]) -> AttributeMap:
    if isinstance(value, str):
        return {"S": value}
    return {"L": [{"S": item} for item in value]}


def pending_media_indexes(item: Mapping[str, Any]) -> list[tuple[int, str]]:
    """(index, source URL) of each attachment of a stored item still waiting for its copy."""
    pending = []
    for entry in item.get("media", {}).get("L", []):
        media = entry.get("M", {})
        if media.get("status", {}).get("S") == MEDIA_PENDING:
            pending.append((int(media["index"]["N"]), media["sourceUrl"]["S"]))
    return pending


def received_at_of(item: Mapping[str, Any]) -> str:
    return str(item.get("receivedAt", {}).get("S", ""))


# --- reading items back ------------------------------------------------------------------------


def plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as a plain Python value (numbers as int when integral)."""
    [(kind, data)] = value.items()
    if kind == "L":
        return [plain(entry) for entry in data]
    if kind == "M":
        return {name: plain(entry) for name, entry in data.items()}
    return _SCALARS[kind](data)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        number = float(text)
        return int(number) if number.is_integer() else number


def _binary(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_SCALARS: Mapping[str, Callable[[Any], Any]] = {
    "S": str,
    "N": _number,
    "BOOL": bool,
    "NULL": lambda _: None,
    "B": _binary,
    "SS": sorted,
    "NS": lambda values: sorted(_number(value) for value in values),
    "BS": lambda values: sorted(_binary(value) for value in values),
}


def plain_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (DynamoDB JSON, as the API or a stream record gives it) as plain Python values."""
    return {name: plain(value) for name, value in item.items()}
