"""The gateway's answers to ``POST /v4/messages``: parsing (JSON or XML) and classification.

Pure functions, no I/O: :func:`interpret` turns an HTTP status, headers and body into a
``SendResult`` or raises the ``SendError`` the caller must act on.

Classification (first matching rule wins):

============================================  ==========================================
HTTP 429 (with or without an E-code)          transient (``GatewayThrottled``), code = E-code
                                              or ``http_429``, ``retry_after`` from ``Retry-After``
E1xxxxx, E2xxxxx (credentials, account, IP,   permanent, code = the E-code
permission, parameters, source, method)
E5xxxxx (E500001 "message send fail")         transient, code = the E-code
any other E-code                              transient on 5xx, else permanent
2xx without an E-code                         accepted (see below)
5xx without an E-code                         transient ``http_<status>``
any other status (3xx, 4xx) without E-code    permanent ``http_<status>``
============================================  ==========================================

``E0xxxxx`` codes are the gateway's success statuses, not errors. A 2xx whose body holds no
transaction GUID (or cannot be parsed) still means the gateway took the message: resending it
risks a duplicate on the handset, so the result carries ``transaction_guid=None`` and code
``no_guid_in_answer`` instead of raising. ``Retry-After`` is honoured on every transient HTTP
answer, capped at :data:`MAX_RETRY_AFTER` seconds.

XML is parsed with defusedxml only, DTDs and entities refused (an entity-expansion bomb is an
unparsable answer, never expanded; no external entity, DTD or XInclude is ever fetched). Reading an
answer costs time linear in its size (the client reads at most 64 KiB of it): a transaction's
fields are its direct children, and the gateway's detail is cleaned from its first
:data:`MAX_DETAIL_INPUT` characters only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final, Literal

from mmsrelay.domain.errors import GatewayThrottled, PermanentSendError, SendError, TransientSendError
from mmsrelay.domain.outbound import RecipientResult, SendResult

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

MAX_RETRY_AFTER: Final = 900.0
NO_GUID: Final = "no_guid_in_answer"
_GUID: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,63}")
_ERROR_CODE: Final = re.compile(r"E[0-9]{6}")
_DELTA_SECONDS: Final = re.compile(r"[0-9]{1,20}")
_MAX_DEPTH: Final = 4
_DETAIL_LENGTH: Final = 80
MAX_DETAIL_INPUT: Final = 1024

Kind = Literal["permanent", "transient"]

# The codes the gateway's page documents, with a detail that carries no request data.
GATEWAY_CODES: Final[Mapping[str, tuple[Kind, str]]] = {
    "E100001": ("permanent", "security credentials not provided"),
    "E100002": ("permanent", "security credentials invalid or disabled"),
    "E100003": ("permanent", "account inactive, disabled or suspended"),
    "E100004": ("permanent", "source IP address not allow-listed"),
    "E100005": ("permanent", "permission to the resource not allowed"),
    "E200001": ("permanent", "required parameters missing"),
    "E200002": ("permanent", "invalid source address"),
    "E200003": ("permanent", "invalid request method"),
    "E500001": ("transient", "message send failed"),
}
_KIND_BY_PREFIX: Final[Mapping[str, Kind]] = {"E1": "permanent", "E2": "permanent", "E5": "transient"}


class UnparsableAnswer(ValueError):
    """The body is neither the JSON nor the XML the gateway documents (or was refused as unsafe)."""


@dataclass(frozen=True)
class Transaction:
    guid: str
    destination: str | None


@dataclass(frozen=True)
class GatewayAnswer:
    """What a body said: transactions on success, or an error code (``E200001``) and its detail."""

    transactions: tuple[Transaction, ...] = ()
    error_code: str | None = None
    detail: str | None = None  # the gateway's text, digits and URLs removed


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_answer(body: bytes, content_type: str | None) -> GatewayAnswer:
    """Parses a body, choosing JSON or XML by ``content_type``, else by its first non-space byte.

    Raises UnparsableAnswer for anything else, including XML with a DTD or entities.
    """
    text = body.removeprefix(b"\xef\xbb\xbf").lstrip()
    if _format_of(content_type, text) == "json":
        return _parse_json(text)
    return _parse_xml(text)


def _format_of(content_type: str | None, text: bytes) -> Literal["json", "xml"]:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return "json"
    if media_type in ("application/xml", "text/xml") or media_type.endswith("+xml"):
        return "xml"
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "xml"
    raise UnparsableAnswer("neither JSON nor XML")


def _parse_json(text: bytes) -> GatewayAnswer:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise UnparsableAnswer("malformed JSON") from None
    if not isinstance(document, dict):
        raise UnparsableAnswer("JSON answer is not an object")
    root = document.get("aerialink", document)
    if not isinstance(root, dict):
        raise UnparsableAnswer("JSON 'aerialink' is not an object")
    code = _error_code(root.get("errorCode"))
    if code is not None:
        return GatewayAnswer(error_code=code, detail=_clean_detail(root.get("detail")))
    return GatewayAnswer(transactions=tuple(_json_transactions(root.get("transactions"), 0)))


def _json_transactions(value: object, depth: int) -> Iterator[Transaction]:
    """Accepts ``[{"transaction": {...}}, ...]``, ``{"transaction": {...}}`` and nested lists of either."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            yield from _json_transactions(item, depth + 1)
    elif isinstance(value, dict):
        if "transaction" in value:
            yield from _json_transactions(value["transaction"], depth + 1)
            return
        guid = _guid(value.get("transactionGUID"))
        if guid is not None:
            destination = value.get("destination")
            yield Transaction(guid, str(destination) if isinstance(destination, str | int) else None)


def _parse_xml(text: bytes) -> GatewayAnswer:
    # Imported here: answers are JSON unless the XML schema was chosen, and the XML stack costs
    # a few milliseconds of every cold start otherwise.
    from xml.etree.ElementTree import ParseError  # noqa: PLC0415

    from defusedxml import DefusedXmlException  # noqa: PLC0415
    from defusedxml.ElementTree import fromstring  # noqa: PLC0415

    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException):
        raise UnparsableAnswer("malformed or unsafe XML") from None
    if _local_name(root) != "aerialink":
        root = next((node for node in root.iter() if _local_name(node) == "aerialink"), root)
    code = _error_code(_child_text(root, "errorCode"))
    if code is not None:
        return GatewayAnswer(error_code=code, detail=_clean_detail(_child_text(root, "detail")))
    transactions = []
    for node in root.iter():
        if _local_name(node) != "transaction":
            continue
        guid = _guid(_direct_child_text(node, "transactionGUID"))
        if guid is not None:
            transactions.append(Transaction(guid, _direct_child_text(node, "destination")))
    return GatewayAnswer(transactions=tuple(transactions))


def _local_name(node: Element) -> str:
    return node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else ""


def _child_text(node: Element, name: str) -> str | None:
    for child in node.iter():
        if child is not node and _local_name(child) == name:
            return (child.text or "").strip()
    return None


def _direct_child_text(node: Element, name: str) -> str | None:
    """Like :func:`_child_text`, among ``node``'s children only: searching each transaction's whole
    subtree would cost time quadratic in the depth of nested transactions."""
    for child in node:
        if _local_name(child) == name:
            return (child.text or "").strip()
    return None


def _guid(value: object) -> str | None:
    if isinstance(value, str) and _GUID.fullmatch(value.strip()):
        return value.strip()
    return None


def _error_code(value: object) -> str | None:
    """The error code, or None when absent or a success status (``E0xxxxx``).

    A value that is present but not ``E`` + 6 digits is still an error: ``unrecognised_error``.
    """
    if value is None or value == "":
        return None
    code = str(value).strip().upper()
    if _ERROR_CODE.fullmatch(code):
        return None if code.startswith("E0") else code
    return "unrecognised_error"


def _clean_detail(value: object) -> str | None:
    """The gateway's detail, safe for logs and errors: no URLs, no digits, bounded length.

    Only the first ``MAX_DETAIL_INPUT`` characters are read: the URL pattern backtracks over a
    long run of non-space characters (about 9 s for 60,000 of them).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = re.sub(r"\S+://\S*", "<url>", value[:MAX_DETAIL_INPUT])
    text = re.sub(r"[0-9]+", "#", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:_DETAIL_LENGTH]


# --------------------------------------------------------------------------------------------
# Retry-After
# --------------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped.

    None when absent or unreadable; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return min(float(int(value)), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------


def classify(status: int, answer: GatewayAnswer | None, retry_after: float | None) -> SendError | None:
    """The error an answer amounts to, or None when the gateway accepted the message."""
    code = answer.error_code if answer is not None else None
    gateway_detail = answer.detail if answer is not None else None
    if status == 429:
        return GatewayThrottled(code or "http_429", "throttled by the gateway", retry_after)
    if code is not None:
        kind, detail = GATEWAY_CODES.get(code, (None, ""))
        if kind is None:
            kind = _KIND_BY_PREFIX.get(code[:2], "transient" if status >= 500 else "permanent")
            detail = f"gateway error: {gateway_detail}" if gateway_detail else "gateway error"
        if kind == "transient":
            return TransientSendError(code, detail, retry_after)
        return PermanentSendError(code, detail)
    if 200 <= status < 300:
        return None
    if status >= 500:
        return TransientSendError(f"http_{status}", "gateway server error", retry_after)
    return PermanentSendError(f"http_{status}", "unexpected HTTP status")


def interpret(
    *,
    status: int,
    content_type: str | None,
    body: bytes,
    retry_after_header: str | None,
    recipient: str,
    now: datetime,
) -> SendResult:
    """The result of one ``POST /v4/messages`` for ``recipient`` (E.164), or the SendError to raise."""
    try:
        answer: GatewayAnswer | None = parse_answer(body, content_type)
    except UnparsableAnswer:
        answer = None
    error = classify(status, answer, parse_retry_after(retry_after_header, now))
    if error is not None:
        raise error
    transaction = _transaction_for(recipient, answer.transactions if answer is not None else ())
    if transaction is None:
        result = RecipientResult(
            recipient, None, code=NO_GUID, detail="accepted without a transaction GUID; not resent"
        )
    else:
        result = RecipientResult(recipient, transaction.guid)
    return SendResult(transport="https", recipients=(result,))


def _transaction_for(recipient: str, transactions: tuple[Transaction, ...]) -> Transaction | None:
    digits = recipient.lstrip("+")
    for transaction in transactions:
        if transaction.destination is not None and transaction.destination.lstrip("+") == digits:
            return transaction
    return transactions[0] if transactions else None
