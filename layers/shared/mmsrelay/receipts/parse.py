"""Delivery receipts read from each form the gateway sends them in.

HTTP callbacks (``parse_http_receipt``): the field names are not documented publicly, so names are
compared case-insensitively with ``_``, ``-`` and spaces ignored, and several plausible ones are
tried in a fixed order (the ``*_NAMES`` tuples below; a GET's repeated key gives its values in
order). Top-level fields come first, then the leaves of any value that is JSON text (a nested
object of a JSON body, the carrier event's ``eventMessage``), named by their own key. Every value
is scanned for an SMPP receipt text (``id:... stat:...``); the first one found is used.

The state is the first candidate that maps to a status: the state fields in ``STATE_NAMES`` order,
then the receipt text's ``stat:``. When none maps, the first candidate is kept as the raw state and
the status is None. A carrier error event (``eventType=smppStatusCode``) is ``failed``.

MM4 reports (``parse_mm4_report``): MM4_delivery_report.REQ and MM4_read_reply_report.REQ
(3GPP TS 23.140), matched by ``X-Mms-Message-ID`` and the recipient in ``From``; they carry no GUID.
Only the headers are parsed (a nested or malformed body is never walked). A header that decides
the outcome (``MM4_DECIDING_HEADERS``) given twice is refused (``ambiguous_report``): one of the
two would be an injected line. Every header value read is decoded as UTF-8 (a byte that is not
becomes U+FFFD), without control characters, on one line.

Dates without a zone (the SMPP ``done date``, a naive ISO time, a ``-0000`` Date) are taken as UTC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from mmsrelay.domain.phone import InvalidPhoneNumber, to_e164
from mmsrelay.receipts.model import Receipt, ReceiptError, ReceiptKind
from mmsrelay.receipts.vocabulary import MM4_READ_STATUSES, MM4_STATUS_CODES, Vocabulary, normalise

if TYPE_CHECKING:
    from email.message import Message

    from mmsrelay.webhooks.http import Fields

# Field names, compared after _name(): lower case, without "_", "-" and spaces. Earlier wins.
GUID_NAMES: Final = ("transactionguid", "guid", "messageguid")
LINKED_GUID_NAMES: Final = ("transactionguidlinked", "linkedtransactionguid", "linkedguid")
STATE_NAMES: Final = (
    "status",
    "state",
    "stat",
    "messagestate",
    "messagestatus",
    "deliverystatus",
    "deliverystate",
    "dlrstatus",
    "dlrstate",
    "statuscode",
    "code",
)
ERROR_CODE_NAMES: Final = ("smppstatuscode", "err", "errorcode", "errcode", "smpperrorcode", "networkerrorcode")
DETAIL_NAMES: Final = (
    "detail",
    "details",
    "description",
    "statusdescription",
    "statustext",
    "statusmessage",
    "errortext",
    "errordescription",
    "errormessage",
    "error",
    "reason",
)
TIME_NAMES: Final = ("donedate", "eventdatetime", "statusdatetime", "deliverydatetime", "datetime", "timestamp", "date")
EVENT_TYPE_NAME: Final = "eventtype"
CARRIER_ERROR_EVENT: Final = "smppstatuscode"

MAX_DETAIL: Final = 200
MAX_STATE: Final = 64
MAX_ERROR_CODE: Final = 32
MAX_NESTING: Final = 4  # JSON text inside JSON text, this deep at most
MAX_VALUES: Final = 2000

MAX_STATUS_TEXT: Final = 4 * 1024  # of X-Mms-Status-Text decoded (the detail keeps 200 characters)

MM4_DELIVERY_REPORT: Final = "mm4_delivery_report.req"
MM4_READ_REPLY: Final = "mm4_read_reply_report.req"
_MM4_KINDS: Final[dict[str, ReceiptKind]] = {
    MM4_DELIVERY_REPORT: "mm4_delivery_report",
    MM4_READ_REPLY: "mm4_read_reply",
}
# The headers a report's outcome is read from: each must appear at most once.
MM4_DECIDING_HEADERS: Final = (
    "X-Mms-Message-Type",
    "X-Mms-Message-ID",
    "X-Mms-MM-Status-Code",
    "X-Mms-Read-Status",
    "From",
    "Date",
)

_GUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_NAME_NOISE: Final = re.compile(r"[\s_-]+")
# A receipt text is an ``id:`` followed, anywhere later, by a ``stat:`` (see _is_receipt_text).
_ID_KEY: Final = re.compile(r"(?<![a-z0-9_])id\s*:", re.IGNORECASE)
_STAT_KEY: Final = re.compile(r"(?<![a-z0-9_])stat\s*:", re.IGNORECASE)
_RECEIPT_KEY: Final = re.compile(
    r"(?<![a-z0-9_])(id|sub|dlvrd|submit[\s_]*date|done[\s_]*date|stat|err|text)\s*:", re.IGNORECASE
)
_SMPP_TIME: Final = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?")
# 7 or more digits, possibly split by spaces, dots, dashes, slashes or parentheses: a phone number.
_PHONE_LIKE: Final = re.compile(r"\+?\d(?:[\s.()/-]{0,2}\d){6,}")
_NUMBER_MASK: Final = "[number]"


def parse_http_receipt(fields: Fields) -> Receipt:
    """The receipt an HTTP callback (query, form, flattened JSON, carrier event) carries.

    Raises ``ReceiptError("no_transaction_guid")`` when no well-formed GUID is found (in the GUID
    fields, or as the receipt text's ``id:``).
    """
    values = _named_values(fields)
    receipt_text = next(
        (parse_smpp_receipt_text(value) for _, value in values if _is_receipt_text(value)),
        {},
    )
    transaction_guid = _first_guid(_lookup(values, GUID_NAMES))
    linked_guid = _first_guid(_lookup(values, LINKED_GUID_NAMES))
    text_guid = canonical_guid(receipt_text.get("id", ""))
    if text_guid and text_guid not in (transaction_guid, linked_guid):
        if transaction_guid is None:
            transaction_guid = text_guid
        elif linked_guid is None:
            linked_guid = text_guid
    if transaction_guid is None and linked_guid is None:
        raise ReceiptError("no_transaction_guid")

    event_type = next((v for v in _lookup(values, (EVENT_TYPE_NAME,)) if _name(v) == CARRIER_ERROR_EVENT), None)
    kind: ReceiptKind
    state: str | None
    if event_type is not None:
        kind, state = "carrier_event", event_type
    else:
        kind, state = _http_state(values, receipt_text.get("stat", "").strip())
    error_code = next(_lookup(values, ERROR_CODE_NAMES), None) or receipt_text.get("err") or None
    detail = next(
        (
            text
            for value in _lookup(values, DETAIL_NAMES)
            if not _is_receipt_text(value) and (text := clean_detail(value))
        ),
        None,
    )
    return Receipt(
        transaction_guid=transaction_guid,
        linked_guid=linked_guid,
        status=normalise(state) if state else None,
        state=state[:MAX_STATE] if state else None,
        error_code=error_code[:MAX_ERROR_CODE] if error_code else None,
        detail=detail,
        occurred_at=_http_time(receipt_text.get("done date"), _lookup(values, TIME_NAMES)),
        kind=kind,
        mm4_message_id=None,
        recipient=None,
    )


def parse_smpp_receipt_text(text: str) -> dict[str, str]:
    """The fields of an SMPP receipt text: ``id``, ``sub``, ``dlvrd``, ``submit date``, ``done date``,
    ``stat``, ``err`` and ``text``, those present.

    Keys are matched in any case, with any spacing around ``:`` (``submit_date`` too); each value
    but ``text`` is the first word after its key (an unknown ``key:value`` in between is ignored);
    ``text`` runs to the end, as the message's first characters may contain anything. The first
    occurrence of a key wins.
    """
    found: dict[str, str] = {}
    keys = list(_RECEIPT_KEY.finditer(text))
    for index, match in enumerate(keys):
        key = " ".join(re.split(r"[\s_]+", match.group(1).lower()))
        if key == "text":
            found.setdefault("text", text[match.end() :].strip())
            break
        end = keys[index + 1].start() if index + 1 < len(keys) else len(text)
        words = text[match.end() : end].split()
        found.setdefault(key, words[0] if words else "")
    return found


def parse_mm4_report(raw: bytes) -> Receipt:
    """The receipt an MM4_delivery_report.REQ or MM4_read_reply_report.REQ carries.

    Raises ``ReceiptError("not_an_mm4_report")`` for any other message (a forward request, no
    ``X-Mms-Message-Type``), ``ReceiptError("no_message_id")`` without ``X-Mms-Message-ID`` and
    ``ReceiptError("ambiguous_report")`` when a header of ``MM4_DECIDING_HEADERS`` appears twice.
    """
    return mm4_report_of(mail_headers(raw))


def mail_headers(raw: bytes) -> Message:
    """The headers of a raw e-mail (its body is not parsed: reports carry everything in headers)."""
    # Only the MM4 report paths pay for the email package.
    from email.parser import BytesHeaderParser  # noqa: PLC0415 - lazy: keeps the module's import cheap

    return BytesHeaderParser().parsebytes(raw)


def mm4_report_of(message: Message) -> Receipt:
    """:func:`parse_mm4_report` for a message whose headers are parsed already."""
    if any(len(message.get_all(name) or ()) > 1 for name in MM4_DECIDING_HEADERS):
        raise ReceiptError("ambiguous_report")
    kind = _MM4_KINDS.get((_header(message, "X-Mms-Message-Type") or "").lower())
    if kind is None:
        raise ReceiptError("not_an_mm4_report")
    message_id = _mm4_message_id(_header(message, "X-Mms-Message-ID") or "")
    if message_id is None:
        raise ReceiptError("no_message_id")
    vocabulary: Vocabulary
    if kind == "mm4_delivery_report":
        state, vocabulary = _header(message, "X-Mms-MM-Status-Code"), MM4_STATUS_CODES
    else:
        state, vocabulary = _header(message, "X-Mms-Read-Status"), MM4_READ_STATUSES
    status_text = _header(message, "X-Mms-Status-Text")
    return Receipt(
        transaction_guid=None,
        linked_guid=None,
        status=normalise(state, vocabulary) if state else None,
        state=state[:MAX_STATE] if state else None,
        error_code=None,
        detail=clean_detail(_decoded(status_text[:MAX_STATUS_TEXT])) if status_text else None,
        occurred_at=_mm4_time(_header(message, "Date")),
        kind=kind,
        mm4_message_id=message_id,
        recipient=_mm4_recipient(_header(message, "From")),
    )


def canonical_guid(value: str) -> str | None:
    """``value`` as an upper-case ``8-4-4-4-12`` GUID (whitespace and braces around it dropped), or None."""
    text = value.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    return text.upper() if _GUID.fullmatch(text) else None


def clean_detail(value: str) -> str | None:
    """``value`` on one line, printable, with phone-number-like digit runs masked, at most 200 characters."""
    text = "".join(character for character in " ".join(value.split()) if character.isprintable())
    text = _PHONE_LIKE.sub(_NUMBER_MASK, text).strip()
    if len(text) > MAX_DETAIL:
        text = text[: MAX_DETAIL - 1].rstrip() + "…"
    return text or None


# --- HTTP ---------------------------------------------------------------------------------------


def _name(name: str) -> str:
    return _NAME_NOISE.sub("", name).lower()


def _named_values(fields: Fields) -> tuple[tuple[str, str], ...]:
    """``(normalised name, value)`` of every field, then of the leaves of any JSON text value.

    A value that is a JSON object or list is replaced by its leaves (breadth first, one level of
    JSON text at a time), so it is never mistaken for a word or a receipt text.
    """
    found: list[tuple[str, str]] = []
    level = [(_name(name), value) for name, values in fields.items() for value in values]
    for _ in range(MAX_NESTING + 1):
        nested: list[tuple[str, str]] = []
        for name, value in level:
            document = _json_container(value)
            if document is None:
                found.append((name, value))
            else:
                nested.extend(_leaves(name, document))
        if not nested or len(found) >= MAX_VALUES:
            break
        level = nested
    return tuple(found[:MAX_VALUES])


def _json_container(value: str) -> dict[str, object] | list[object] | None:
    text = value.strip()
    if text[:1] not in ("{", "["):
        return None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict | list) else None


def _leaves(name: str, document: object) -> Iterator[tuple[str, str]]:
    """Scalar leaves of a parsed JSON document, each named by its nearest key."""
    if isinstance(document, dict):
        for key, item in document.items():
            yield from _leaves(_name(str(key)), item)
    elif isinstance(document, list):
        for item in document:
            yield from _leaves(name, item)
    elif isinstance(document, str):
        yield name, document
    elif document is not None:
        yield name, json.dumps(document)


def _is_receipt_text(value: str) -> bool:
    """Whether ``value`` holds an SMPP receipt text: an ``id:`` key with a ``stat:`` key after it.

    Two searches, each linear: one pattern ``id:.*?stat:`` scans the rest of the value again from
    every ``id:`` (quadratic: a 12 KB value of ``id:id:id:...`` took 1.5 s). The first ``id:`` has
    a ``stat:`` after it whenever any ``id:`` has.
    """
    first_id = _ID_KEY.search(value)
    return first_id is not None and _STAT_KEY.search(value, first_id.end()) is not None


def _lookup(values: Sequence[tuple[str, str]], names: Iterable[str]) -> Iterator[str]:
    """The non-empty values of the fields named ``names``, in the order of ``names``, then of the fields."""
    for wanted in names:
        for name, value in values:
            if name == wanted and (text := value.strip()):
                yield text


def _first_guid(candidates: Iterable[str]) -> str | None:
    return next((guid for value in candidates if (guid := canonical_guid(value))), None)


def _http_state(values: Sequence[tuple[str, str]], receipt_stat: str) -> tuple[ReceiptKind, str | None]:
    candidates: list[tuple[ReceiptKind, str]] = [
        ("http", value) for value in _lookup(values, STATE_NAMES) if not _is_receipt_text(value)
    ]
    if receipt_stat:
        candidates.append(("smpp_text", receipt_stat))
    if not candidates:
        return "http", None
    return next((candidate for candidate in candidates if normalise(candidate[1])), candidates[0])


def _http_time(done_date: str | None, candidates: Iterable[str]) -> datetime | None:
    if done_date and (moment := _smpp_time(done_date)):
        return moment
    return next((moment for value in candidates if (moment := _smpp_time(value) or _iso_time(value))), None)


def _smpp_time(value: str) -> datetime | None:
    """``YYMMDDhhmm`` or ``YYMMDDhhmmss`` (years 2000-2099), taken as UTC."""
    match = _SMPP_TIME.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _iso_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return _utc(moment)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- MM4 ----------------------------------------------------------------------------------------


def _header(message: Message, name: str) -> str | None:
    """The header's value on one line, printable, or None when absent or blank.

    The value is read as received (``raw_items``: the parser keeps a byte that is not ASCII as a
    lone surrogate, which no store or log can encode) and decoded as UTF-8, each byte that is not
    becoming U+FFFD.
    """
    wanted = name.lower()
    value = next((value for key, value in message.raw_items() if key.lower() == wanted), None)
    if value is None:
        return None
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split()) or None


def _decoded(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded (as it is when they cannot be)."""
    from email.errors import HeaderParseError  # noqa: PLC0415 - lazy, with the parser
    from email.header import decode_header, make_header  # noqa: PLC0415 - lazy, with the parser

    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, UnicodeDecodeError, LookupError):
        return value


def _mm4_message_id(value: str) -> str | None:
    """``<id@domain>``, whether received quoted, bracketed or bare."""
    inner = value.strip().strip('"').strip().removeprefix("<").removesuffix(">").strip()
    return f"<{inner}>" if inner else None


def _mm4_recipient(value: str | None) -> str | None:
    """The E.164 number of ``+<digits>@domain`` or ``+<digits>/TYPE=PLMN@domain``."""
    from email.utils import parseaddr  # noqa: PLC0415 - lazy, with the parser

    if not value:
        return None
    address = parseaddr(value)[1] or value
    local = address.rsplit("@", 1)[0].split("/", 1)[0]
    try:
        return to_e164(local, None)
    except InvalidPhoneNumber:
        return None


def _mm4_time(value: str | None) -> datetime | None:
    from email.utils import parsedate_to_datetime  # noqa: PLC0415 - lazy, with the parser

    if not value:
        return None
    try:
        return _utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
