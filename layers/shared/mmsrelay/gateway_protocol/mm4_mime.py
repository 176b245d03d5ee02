"""The MM4_forward.REQ message (3GPP TS 23.140 section 8.4.1, RFC 4356) for one outbound MMS.

Every value that becomes a header (numbers, domain, subject, attachment names, content types,
identifiers, the originator system) is validated here, before the email package sees it: control
characters (CR, LF, NUL, ... and the Unicode line and paragraph separators) are refused with
``PermanentSendError("invalid_header")`` instead of being left to the package's folding.

Attachment names become ``Content-ID: <name>``, ``Content-Location: name`` and ``cid:name`` in the
SMIL, so they are restricted to ``[A-Za-z0-9][A-Za-z0-9._-]*`` (at most 100 characters), such as
``1.jpg``. The text travels as 7bit when it is plain short-lined ASCII, quoted-printable
otherwise, and attachments as base64: the message is 7-bit clean and needs no 8BITMIME.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from types import MappingProxyType
from typing import Final, Literal
from xml.sax.saxutils import quoteattr

from mmsrelay.domain.errors import PermanentSendError
from mmsrelay.domain.outbound import OutboundAttachment, OutboundMessage
from mmsrelay.gateway_protocol.mm4_ids import mm4_message_key, mm4_transaction_id

Layout = Literal["related", "mixed"]

DEFAULT_DOMAIN: Final = "mmsc.aerialink.net"
MMS_VERSION: Final = "6.10.0"
MESSAGE_TYPE: Final = "MM4_forward.REQ"
SMIL_CONTENT_ID: Final = "<smil>"
SMIL_CONTENT_TYPE: Final = "application/smil"
TEXT_PART_NAME: Final = "text.txt"
MAX_ATTACHMENT_NAME: Final = 100
MAX_HEADER_VALUE: Final = 200

_POLICY: Final = policy.SMTP
# Fixed namespace of the deterministic identifiers: the same message_id gives the same IDs.
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})
_NUMBER: Final = re.compile(r"\+?[0-9]{3,15}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN: Final = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
_ATTACHMENT_NAME: Final = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_ATTACHMENT_NAME - 1}}}")
_RFC2045_WORD = r"[a-z0-9][a-z0-9!#$&^_.+-]*"
_CONTENT_TYPE: Final = re.compile(rf"{_RFC2045_WORD}/{_RFC2045_WORD}")
_MESSAGE_ID: Final = re.compile(r"<[^<>@\s\"]+@[^<>@\s\"]+>")
_ID_TEXT: Final = re.compile(r"[!-~]+")  # visible ASCII, no spaces
_NOT_ATTACHABLE: Final = frozenset({"multipart", "message"})
_SHORT_LINE: Final = 78
_SMIL_ELEMENTS: Final = MappingProxyType({"image": "img", "video": "video", "audio": "audio", "text": "text"})
_SMIL_REGIONS: Final = MappingProxyType({"img": "Image", "video": "Image", "text": "Text"})


@dataclass(frozen=True)
class _Attachment:
    name: str
    maintype: str
    subtype: str
    data: bytes


def build_mm4_forward(
    message: OutboundMessage,
    *,
    domain: str,
    originator_system: str,
    message_ids: tuple[str, str] | None = None,
    now: datetime | None = None,
    layout: Layout = "related",
) -> EmailMessage:
    """The MM4_forward.REQ carrying ``message`` to every recipient (a group MMS when several).

    ``message_ids`` is ``(transaction_id, message_id)``; by default both derive from
    ``message.message_id`` (see :func:`derive_message_ids`), so a resend carries the same IDs.
    ``layout="related"`` gives ``multipart/related`` led by a SMIL presentation; ``"mixed"``
    gives ``multipart/mixed`` with the text and the attachments only. Serialise with
    ``as_bytes()`` (the message's policy is ``email.policy.SMTP``: CRLF line endings).

    Raises ``PermanentSendError`` (``invalid_header``, ``invalid_content_type``,
    ``missing_attachment_data``, ``duplicate_attachment_name``, ``duplicate_recipient``,
    ``no_recipients``, ``empty_message``) when the message cannot be expressed safely.
    """
    domain = checked_domain(domain)
    originator = _header_text(originator_system, "originator system")
    if not originator:
        raise PermanentSendError("invalid_header", "the originator system is empty")
    sender = mm4_address(message.sender, domain)
    recipients = recipient_addresses(message.recipients, domain)
    transaction_id, message_id = _checked_ids(message_ids or derive_message_ids(message.message_id, domain), domain)
    subject = _header_text(message.subject, "subject") if message.subject else None
    attachments = _checked_attachments(message.attachments)
    if not message.text and not attachments:
        raise PermanentSendError("empty_message", "neither text nor attachments")
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)

    mime = EmailMessage(policy=_POLICY)
    mime["X-Mms-3GPP-MMS-Version"] = MMS_VERSION
    mime["X-Mms-Message-Type"] = MESSAGE_TYPE
    mime["X-Mms-Transaction-ID"] = transaction_id
    mime["X-Mms-Message-ID"] = message_id
    mime["X-Mms-Ack-Request"] = "Yes"
    mime["X-Mms-Originator-System"] = originator
    if message.delivery_report:
        mime["X-Mms-Delivery-Report"] = "Yes"
    mime["X-Mms-Read-Reply"] = "No"
    mime["Date"] = format_datetime(when)
    mime["From"] = sender
    mime["Sender"] = sender
    mime["To"] = ", ".join(recipients)
    if subject:
        mime["Subject"] = subject
    mime["Message-ID"] = message_id
    mime["MIME-Version"] = "1.0"

    text_name = _text_part_name(attachments)
    if layout == "related":
        mime.make_related()
        mime.set_param("type", SMIL_CONTENT_TYPE)
        mime.set_param("start", SMIL_CONTENT_ID)
        mime.attach(_smil_part(text_name if message.text else None, attachments))
    else:
        mime.make_mixed()
    if message.text:
        mime.attach(_text_part(message.text, text_name))
    for attachment in attachments:
        mime.attach(_attachment_part(attachment))
    return mime


def mm4_address(number: str, domain: str) -> str:
    """``+<digits>@<domain>``: an E.164 number or a short code's digits, always with one ``+``."""
    _header_text(number, "number")
    if not _NUMBER.fullmatch(number):
        raise PermanentSendError("invalid_header", "a number is not digits with an optional +")
    return f"+{number.lstrip('+')}@{checked_domain(domain)}"


def recipient_addresses(recipients: Sequence[str], domain: str) -> tuple[str, ...]:
    """Every recipient's MM4 address, in order; refuses an empty list and duplicates."""
    if not recipients:
        raise PermanentSendError("no_recipients", "the message has no recipient")
    addresses = tuple(mm4_address(recipient, domain) for recipient in recipients)
    if len(set(addresses)) != len(addresses):
        raise PermanentSendError("duplicate_recipient", "a recipient is listed twice")
    return addresses


def derive_message_ids(message_id: str, domain: str) -> tuple[str, str]:
    """``(X-Mms-Transaction-ID, Message-ID)`` derived from our ``message_id``: stable across resends."""
    return mm4_transaction_id(message_id), f"<{mm4_message_key(message_id)}@{checked_domain(domain)}>"


def checked_domain(domain: str) -> str:
    """``domain`` when it is a plain host name, else ``PermanentSendError("invalid_header")``."""
    _header_text(domain, "domain")
    if not _DOMAIN.fullmatch(domain):
        raise PermanentSendError("invalid_header", "the domain is not a host name")
    return domain


def _header_text(value: str | None, what: str) -> str:
    """``value`` when no character of it could break out of a header (or ``""`` for None)."""
    if value is None:
        return ""
    if any(unicodedata.category(character) in _REFUSED_CATEGORIES for character in value):
        raise PermanentSendError("invalid_header", f"the {what} contains a control character")
    return value


def _checked_ids(ids: tuple[str, str], domain: str) -> tuple[str, str]:
    transaction_id, message_id = (_header_text(value, "identifier").strip() for value in ids)
    if not _ID_TEXT.fullmatch(transaction_id) or len(transaction_id) > MAX_HEADER_VALUE:
        raise PermanentSendError("invalid_header", "the transaction ID is not a token")
    if _ID_TEXT.fullmatch(message_id) and not any(character in message_id for character in "<>@"):
        message_id = f"<{message_id}@{domain}>"
    if not _MESSAGE_ID.fullmatch(message_id) or len(message_id) > MAX_HEADER_VALUE:
        raise PermanentSendError("invalid_header", "the message ID is not <id@domain>")
    return transaction_id, message_id


def _checked_attachments(attachments: Sequence[OutboundAttachment]) -> tuple[_Attachment, ...]:
    checked: list[_Attachment] = []
    names = {SMIL_CONTENT_ID.strip("<>")}
    for attachment in attachments:
        name = _header_text(attachment.name, "attachment name")
        if not _ATTACHMENT_NAME.fullmatch(name):
            raise PermanentSendError("invalid_header", "an attachment name is not [A-Za-z0-9._-]")
        if name in names:
            raise PermanentSendError("duplicate_attachment_name", "two parts would share a Content-ID")
        names.add(name)
        content_type = _header_text(attachment.content_type, "content type").strip().lower()
        if not _CONTENT_TYPE.fullmatch(content_type):
            raise PermanentSendError("invalid_content_type", "an attachment's type is not type/subtype")
        maintype, subtype = content_type.split("/", 1)
        if maintype in _NOT_ATTACHABLE:
            raise PermanentSendError("invalid_content_type", "an attachment cannot be a container")
        if attachment.data is None:
            raise PermanentSendError("missing_attachment_data", "MM4 carries the attachment's bytes")
        checked.append(_Attachment(name, maintype, subtype, attachment.data))
    return tuple(checked)


def _text_part_name(attachments: Sequence[_Attachment]) -> str:
    taken = {attachment.name for attachment in attachments}
    if TEXT_PART_NAME not in taken:
        return TEXT_PART_NAME
    # len(taken) + 1 candidates cannot all be taken.
    return next(name for index in range(1, len(taken) + 2) if (name := f"text-{index}.txt") not in taken)


def _smil_part(text_name: str | None, attachments: Sequence[_Attachment]) -> EmailMessage:
    part = _part()
    part.set_content(
        _smil_document(text_name, attachments).encode("ascii"),
        maintype="application",
        subtype="smil",
        cte="7bit",
        cid=SMIL_CONTENT_ID,
        params={"name": "smil.smil"},
    )
    part["Content-Location"] = "smil.smil"
    return _finished(part)


def _smil_document(text_name: str | None, attachments: Sequence[_Attachment]) -> str:
    """One ``<par>`` per attachment; the text shows with the first one (or alone)."""
    text = f'<text src={quoteattr("cid:" + text_name)} region="Text"/>' if text_name else None
    slides: list[list[str]] = []
    for attachment in attachments:
        element = _SMIL_ELEMENTS.get(attachment.maintype, "ref")
        region = f' region="{_SMIL_REGIONS[element]}"' if element in _SMIL_REGIONS else ""
        slides.append([f"<{element} src={quoteattr('cid:' + attachment.name)}{region}/>"])
    if text:
        if slides:
            slides[0].append(text)
        else:
            slides.append([text])
    body = "\n".join('<par dur="5000ms">\n' + "\n".join(slide) + "\n</par>" for slide in slides)
    return (
        "<smil>\n<head>\n<layout>\n"
        '<root-layout width="100%" height="100%"/>\n'
        '<region id="Image" top="0" left="0" width="100%" height="80%" fit="meet"/>\n'
        '<region id="Text" top="80%" left="0" width="100%" height="20%" fit="scroll"/>\n'
        "</layout>\n</head>\n<body>\n"
        f"{body}\n"
        "</body>\n</smil>\n"
    )


def _text_part(text: str, name: str) -> EmailMessage:
    part = _part()
    part.set_content(
        text,
        subtype="plain",
        charset="utf-8",
        cte="7bit" if _is_plain_ascii(text) else "quoted-printable",
        cid=f"<{name}>",
    )
    part["Content-Location"] = name
    return _finished(part)


def _attachment_part(attachment: _Attachment) -> EmailMessage:
    part = _part()
    part.set_content(
        attachment.data,
        maintype=attachment.maintype,
        subtype=attachment.subtype,
        cte="base64",
        cid=f"<{attachment.name}>",
        params={"name": attachment.name},
    )
    part["Content-Location"] = attachment.name
    return _finished(part)


def _part() -> EmailMessage:
    return EmailMessage(policy=_POLICY)


def _finished(part: EmailMessage) -> EmailMessage:
    del part["MIME-Version"]  # EmailMessage.set_content adds it; it belongs to the top level only
    return part


def _is_plain_ascii(text: str) -> bool:
    """Printable ASCII (plus tab and line breaks) in lines short enough to travel as they are."""
    if not all(" " <= character <= "~" or character in "\t\r\n" for character in text):
        return False
    return all(len(line) <= _SHORT_LINE for line in text.replace("\r\n", "\n").split("\n"))
