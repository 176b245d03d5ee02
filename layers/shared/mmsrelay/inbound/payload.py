"""The gateway's inbound MMS post, validated at the edge and mapped to the domain.

Validation is explicit code rather than a pydantic model: see ``mmsrelay.settings`` for why the
webhook's cold path does without pydantic.

Strict only where it protects the system: ``transactionGUID``, ``source`` and ``destination``
must be present and well-formed (else 400 naming the fields). Everything else is tolerated:
a field longer than the gateway's page documents is kept and flagged, an unknown field is kept
in the raw payload, an attachment list in an unexpected shape is kept raw and flagged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from mmsrelay.domain.inbound import Attachment, InboundMessage, Segment
from mmsrelay.domain.phone import InvalidPhoneNumber, is_phone_number, to_e164
from mmsrelay.webhooks.errors import InvalidPayload
from mmsrelay.webhooks.http import Fields, raw_fields

_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
MAX_ATTACHMENTS = 20
_URL = re.compile(r"https?://[^\s,\"'<>]+", re.IGNORECASE)

# Lengths the gateway's API page gives for its inbound fields: longer values are kept and flagged.
DOCUMENTED_LENGTHS = {
    "transactionGUID": 36,
    "connectionGUID": 36,
    "source": 15,
    "sourceCountry": 255,
    "sourceCountryAbbreviation": 2,
    "destination": 15,
    "messageText": 160,
    "mmsURL": 160,
    "mmsSubject": 40,
    "concatenatedMessage": 5,
    "sourceNational": 15,
    "udh": 25,
    "concatenatedMessageReference": 5,
}
_INTEGER_FIELDS = ("sourceCountryCode", "concatenatedMessageSegments", "concatenatedMessageSegmentNumber")
# An integer field's value as read: ASCII digits only (``str.isdigit`` also takes "²", which ``int()``
# refuses), and few enough for any segment count or number (and for a DynamoDB number).
_SMALL_INTEGER = re.compile(r"[0-9]{1,5}")
_COUNTRY_CODE = re.compile(r"[0-9]{1,3}")


def parse_inbound(fields: Fields, received_at: datetime, default_country_code: str) -> InboundMessage:
    """Validates a submitted form/query and maps it to an ``InboundMessage``.

    Raises ``InvalidPayload`` naming the offending fields (never echoing their values).
    """
    first = {name: values[0] for name, values in fields.items() if values}
    guid = first.get("transactionGUID", "").strip()
    source = first.get("source", "").strip()
    destination = first.get("destination", "").strip()
    invalid = [
        name
        for name, ok in (
            ("destination", is_phone_number(destination)),
            ("source", is_phone_number(source)),
            ("transactionGUID", _GUID.fullmatch(guid) is not None),
        )
        if not ok
    ]
    if invalid:
        raise InvalidPayload(invalid)

    flags = [f"{name}:too_long" for name, limit in DOCUMENTED_LENGTHS.items() if len(first.get(name, "")) > limit]
    flags += [f"{name}:not_an_integer" for name in _INTEGER_FIELDS if first.get(name) and _integer(first[name]) is None]
    sent_code = first.get("sourceCountryCode", "").strip()
    country_code = sent_code if _COUNTRY_CODE.fullmatch(sent_code) else default_country_code
    (sender, sender_ok), (recipient, recipient_ok) = _number(source, country_code), _number(destination, country_code)
    flags += [
        f"{name}:not_a_possible_number" for name, ok in (("source", sender_ok), ("destination", recipient_ok)) if not ok
    ]

    urls, attachment_flags = _attachment_urls(first.get("mmsURL"), fields.get("attachments", []))
    flags += attachment_flags
    return InboundMessage(
        transaction_guid=guid.upper(),
        connection_guid=first.get("connectionGUID") or None,
        sender=sender,
        recipient=recipient,
        text=first.get("messageText", ""),
        subject=first.get("mmsSubject") or None,
        attachments=tuple(Attachment(index=i, source_url=url) for i, url in enumerate(urls)),
        segment=_segment(first),
        flags=tuple(flags),
        raw=raw_fields(fields),
        received_at=received_at,
    )


def _number(value: str, country_code: str) -> tuple[str, bool]:
    """The number in E.164 (a short code as its digits) and True; or, for a value that cannot be a
    possible number (too short or long for its country, 3 or 4 digits), the value as sent without
    separators and False: the message is the handset's, stored whatever its numbers look like."""
    try:
        return to_e164(value, country_code), True
    except InvalidPhoneNumber:
        return "".join(character for character in value if character.isdigit() or character == "+"), False


def _segment(first: dict[str, str]) -> Segment | None:
    concatenated = first.get("concatenatedMessage", "").strip().lower() == "true"
    reference = first.get("concatenatedMessageReference", "")
    if not (concatenated or reference):
        return None
    return Segment(
        reference=reference,
        count=_integer(first.get("concatenatedMessageSegments")),
        number=_integer(first.get("concatenatedMessageSegmentNumber")),
    )


def _integer(value: str | None) -> int | None:
    text = value.strip() if value else ""
    return int(text) if _SMALL_INTEGER.fullmatch(text) else None


def _attachment_urls(mms_url: str | None, attachment_values: list[str]) -> tuple[list[str], list[str]]:
    """The media URLs, ``mmsURL`` first, then every attachment, each once, in order.

    The gateway's attachment format is not documented publicly: a JSON list (of URLs or of
    objects holding one), the field repeated, or a comma-separated list are all accepted.
    """
    flags: list[str] = []
    urls: list[str] = []
    candidates: list[str] = [mms_url.strip()] if mms_url and mms_url.strip() else []
    for value in attachment_values:
        found = list(_urls_in(value))
        if value.strip() and not found:
            flags.append("attachments:unparsed")
        candidates.extend(found)
    for url in candidates:
        if url not in urls:
            urls.append(url)
    if len(urls) > MAX_ATTACHMENTS:
        flags.append("attachments:too_many")
        urls = urls[:MAX_ATTACHMENTS]
    return urls, flags


def _urls_in(value: str) -> Iterator[str]:
    text = value.strip()
    if text[:1] in ("[", "{"):
        try:
            yield from _urls_in_json(json.loads(text))
        except ValueError:
            pass
        else:
            return
    yield from _URL.findall(text)


def _urls_in_json(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        if _URL.fullmatch(document.strip()):
            yield document.strip()
    elif isinstance(document, list):
        for item in document:
            yield from _urls_in_json(item)
    elif isinstance(document, dict):
        for item in document.values():
            yield from _urls_in_json(item)
