"""The domain's view of an outbound MMS, as the transports receive it, and what they answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mmsrelay.domain.send_rate import Slot

Transport = Literal["https", "mm4"]
# The longest URL the gateway's HTTPS API takes as ``mmsURL``.
MMS_URL_LIMIT = 160


@dataclass(frozen=True)
class OutboundAttachment:
    """One attachment, ready for a transport.

    MM4 carries the bytes (``data``); the HTTPS API carries a public URL of at most
    ``MMS_URL_LIMIT`` characters (``url``) that the gateway fetches itself. ``name`` is a file name such as
    ``1.jpg``, used for Content-Location.
    """

    content_type: str
    name: str
    data: bytes | None = None
    url: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    sender: str  # our short or long code: E.164 ("+13105550100") or a short code's digits
    recipients: tuple[str, ...]  # E.164; more than one is a group MMS (MM4)
    text: str
    subject: str | None
    attachments: tuple[OutboundAttachment, ...]
    delivery_report: bool


@dataclass(frozen=True)
class GatewayCredentials:
    """The connection's credentials (Secrets Manager): HTTP API key/secret and MM4 login."""

    api_key: str
    api_secret: str
    mm4_username: str
    mm4_password: str

    def __repr__(self) -> str:  # never print a secret, even by accident
        return f"GatewayCredentials(api_key={self.api_key[:4]}..., mm4_username={self.mm4_username[:4]}...)"


@dataclass(frozen=True)
class RecipientResult:
    """What the gateway said about one recipient: a transaction GUID, or why it was refused."""

    recipient: str
    transaction_guid: str | None
    refused: bool = False
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class SendResult:
    transport: Transport
    recipients: tuple[RecipientResult, ...]


@dataclass(frozen=True)
class TakenJob:
    """What the job's record said when the job was taken from the queue.

    ``sent``: the send as recorded when the job was sent already (its process died after the
    record, before the delivery was completed): it is not sent again. ``held_slot``: the send slot
    the job held from an earlier delivery (it waited in the queue for it), removed as it was read.
    """

    sent: SendResult | None = None
    held_slot: Slot | None = None
