"""What the table holds, as the read side sees it: the records ``mmsrelay.storage`` reads items into.

The query API and the events translator read items only through these (storage alone knows keys,
attribute names and item shapes). Values are as stored (``Any``): each reader keeps its own
tolerance of a value of an unexpected type, as it did when it read items itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mmsrelay.domain.history import StatusEvent

# A page's position in a conversation, opaque to everyone but storage (names -> string values).
PageKey = Mapping[str, str]


@dataclass(frozen=True)
class MediaRecord:
    """One attachment of an inbound message: pending, stored (where, what) or failed (why)."""

    index: Any
    status: Any
    s3_key: Any = None
    content_type: Any = None
    size: Any = None
    sha256: Any = None
    stored_at: Any = None
    error: Any = None
    attempts: Any = None
    failed_at: Any = None


@dataclass(frozen=True)
class InboundRecord:
    """An inbound message (a ``TX#`` transaction received from a handset)."""

    transaction_guid: Any
    sender: Any
    recipient: Any
    text: Any
    subject: Any
    received_at: Any
    status: Any
    status_at: Any
    flags: Any
    segment: Any
    media: Any  # a list of MediaRecord when stored as a list, else as stored


@dataclass(frozen=True)
class TransactionRecord:
    """One recipient of an outbound message (a ``TX#`` transaction), or a receipt that came first."""

    transaction_guid: Any
    direction: Any  # "outbound", or None when only a receipt has written it
    message_id: Any
    sender: Any
    recipient: Any
    recipients: Any
    transport: Any
    sent_at: Any
    status: Any
    status_rank: Any
    status_at: Any
    history: tuple[StatusEvent, ...]


@dataclass(frozen=True)
class JobRecipient:
    number: Any
    status: Any  # the gateway's answer to the send: sent | refused
    transaction_guid: Any
    code: Any


@dataclass(frozen=True)
class LastError:
    code: Any
    detail: Any
    at: Any


@dataclass(frozen=True)
class JobRecord:
    """An outbound job (a ``MSG#`` item)."""

    message_id: Any
    status: Any
    status_at: Any
    transport: Any
    sent_over: Any
    created_at: Any
    sent_at: Any
    attempts: Any  # None when never counted
    last_error: LastError | None
    history: tuple[StatusEvent, ...]
    request: Any  # the job as received (a mapping), None when unreadable
    recipients: tuple[JobRecipient, ...]
    validation_errors: Any  # None unless the job could not be read


@dataclass(frozen=True)
class Delivery:
    """What a recipient's transaction says of its delivery."""

    status: Any
    status_at: Any
    history: tuple[StatusEvent, ...]


@dataclass(frozen=True)
class ConversationEntry:
    """One message of a number's conversation, and its place in it (``key``)."""

    key: PageKey
    transaction_guid: Any
    direction: Any
    sender: Any
    recipient: Any
    received_at: Any
    sent_at: Any
    status: Any
    message_id: Any
    text: Any


StoredRecord = InboundRecord | TransactionRecord | JobRecord


@dataclass(frozen=True)
class ConversationPage:
    entries: tuple[ConversationEntry, ...]
    last_key: PageKey | None  # where the table stopped reading: more may follow
