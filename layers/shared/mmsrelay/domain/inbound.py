"""The domain's view of an inbound MMS (independent of the wire format and of the table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Segment:
    """One part of a concatenated message."""

    reference: str
    count: int | None
    number: int | None


@dataclass(frozen=True)
class Attachment:
    """An attachment as the gateway announced it: where to fetch it from."""

    index: int
    source_url: str


@dataclass(frozen=True)
class InboundMessage:
    transaction_guid: str
    connection_guid: str | None
    sender: str  # E.164 (or a short code's digits)
    recipient: str
    text: str
    subject: str | None
    attachments: tuple[Attachment, ...]
    segment: Segment | None
    # Anything tolerated but unusual, e.g. "messageText:too_long": kept, never a reason to drop.
    flags: tuple[str, ...]
    # Every field exactly as received (unknown ones too): a field repeated keeps all its values.
    raw: Mapping[str, str | tuple[str, ...]]
    received_at: datetime


@dataclass(frozen=True)
class Inserted:
    """The message was new and is now stored."""


@dataclass(frozen=True)
class AlreadyStored:
    """The transaction was stored before: when it was received, and its attachments still pending."""

    received_at: str  # ISO time of the stored message ("" when it has none)
    pending_media: tuple[Attachment, ...]
