"""Delivery receipts (DLRs) as the gateway forwards them: HTTP callbacks and MM4 reports.

Real: the gateway forwards receipts for messages it accepted when one was requested
(``registeredDelivery=1`` on the HTTP API, ``X-Mms-Delivery-Report: Yes`` on MM4) to the
customer's URL with HTTP Basic credentials; MM4 receipts are MM4 messages themselves
(``MM4_delivery_report.REQ``, ``MM4_read_reply_report.REQ``, 3GPP TS 23.140).

Assumed (the HTTP callback's field names are not documented publicly): ``transactionGUID`` (the
submit's GUID), ``transactionGUIDlinked`` (the receipt's own GUID) and one state field whose name
and shape depend on :data:`ReceiptFormat`; the mapping between SMPP words and Aerialink codes; the
carrier event document's date format; every status text of the MM4 reports.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from types import MappingProxyType
from typing import Any, Literal

from gatewaysim.http_api import SentMessage
from gatewaysim.mm4 import DEFAULT_DOMAIN, Mm4Transaction
from gatewaysim.mo import Credentials, MoResult, WebhookClient, new_guid

ReceiptFormat = Literal["word", "code", "smpp_text", "carrier_event"]
ReceiptMethod = Literal["POST", "GET", "JSON"]
ReceiptOrder = Literal["in_order", "shuffled", "reversed"]
TypeCase = Literal["standard", "title", "upper", "lower"]
HeaderCase = Literal["standard", "upper", "lower"]

# SMPP receipt states and the Aerialink numeric statuses (the pairing is assumed).
WORD_TO_CODE: Mapping[str, str] = MappingProxyType(
    {
        "ENROUTE": "30000",
        "ACCEPTD": "40000",
        "DELIVRD": "40001",
        "UNDELIV": "30003",
        "EXPIRED": "30003",
        "DELETED": "30003",
        "UNKNOWN": "30003",
        "REJECTD": "30004",
    }
)
CODE_TO_WORD: Mapping[str, str] = MappingProxyType(
    {"30000": "ENROUTE", "40000": "ACCEPTD", "40001": "DELIVRD", "30003": "UNDELIV", "30004": "REJECTD"}
)
READ_STATUSES = ("Read", "Deleted-without-being-read")
MM4_STATUS_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "Retrieved": "Message retrieved by recipient",
        "Expired": "Message expired",
        "Rejected": "Message rejected",
        "Deferred": "Message deferred",
        "Forwarded": "Message forwarded",
        "Indeterminate": "Message status indeterminate",
        "Unrecognised": "Message status unrecognised",
        "Read": "Message read",
        "Deleted-without-being-read": "Message deleted without being read",
    }
)
MMS_VERSION = "6.10.0"
MAX_POSTS = 1000  # one send_many call sends at most this many requests
MAX_DELAY_S = 30.0  # the longest pause send_many takes between two posts
_NUMBER = re.compile(r"\+?([0-9]{1,15})(?:/TYPE=PLMN)?(?:@|$)", re.IGNORECASE)


def word_for(state: str) -> str:
    """The SMPP word for a state given as a word or an Aerialink code (unknown values pass through)."""
    return CODE_TO_WORD.get(state, state)


def code_for(state: str) -> str:
    """The Aerialink code for a state given as a word or a code (unknown values pass through)."""
    return WORD_TO_CODE.get(state, state)


def _now() -> datetime:
    return datetime.now(UTC)


def _smpp_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%y%m%d%H%M")


# --------------------------------------------------------------------------------------- receipts
@dataclass(frozen=True)
class DlrReceipt:
    """One delivery receipt as the gateway would post it; ``form_fields()`` gives the wire form.

    ``state`` is an SMPP word (``DELIVRD``) or an Aerialink code (``40001``); each format converts
    it to what it sends (``word_for``/``code_for``, unknown values sent as they are). For
    ``carrier_event`` it is the SMPP status code (``9802``) with ``detail``; ``linked_guid`` is then
    the ``eventGUID``. ``text`` is the message text (the SMPP receipt keeps its first 20
    characters). ``extra_fields`` are sent as they are and may override a field.
    """

    transaction_guid: str
    state: str = "DELIVRD"
    format: ReceiptFormat = "word"
    linked_guid: str = field(default_factory=new_guid)
    error: str = "000"
    submit_date: datetime = field(default_factory=_now)
    done_date: datetime = field(default_factory=_now)
    text: str = ""
    connection_guid: str = field(default_factory=new_guid)
    detail: str = ""
    extra_fields: Mapping[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def carrier_event(
        cls, transaction_guid: str, smpp_status_code: str = "9802", detail: str = "quota error"
    ) -> DlrReceipt:
        """A carrier error event (``eventType: smppStatusCode``) for ``transaction_guid``."""
        return cls(transaction_guid, state=smpp_status_code, format="carrier_event", detail=detail)

    def smpp_text(self) -> str:
        """``id:<guid> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:... stat:DELIVRD err:000 text:...``."""
        word = word_for(self.state)
        return " ".join(
            [
                "id:" + self.transaction_guid,
                "sub:001",
                "dlvrd:" + ("001" if word == "DELIVRD" else "000"),
                "submit date:" + _smpp_date(self.submit_date),
                "done date:" + _smpp_date(self.done_date),
                "stat:" + word,
                "err:" + self.error,
                "text:" + self.text[:20],
            ]
        )

    def event_document(self) -> dict[str, Any]:
        """The carrier event as one JSON structure (extra fields merged at the top level)."""
        document: dict[str, Any] = {
            "connectionGUID": self.connection_guid,
            "eventGUID": self.linked_guid,
            "eventType": "smppStatusCode",
            "eventDateTime": self.done_date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventMessage": {
                "transactionGUID": self.transaction_guid,
                "smppStatusCode": self.state,
                "detail": self.detail,
            },
        }
        document.update(self.extra_fields)
        return document

    def form_fields(self) -> list[tuple[str, str]]:
        """The (name, value) pairs of a form POST or GET query, in sending order.

        A carrier event sends its top-level keys, ``eventMessage`` as a compact JSON string.
        """
        if self.format == "carrier_event":
            return [
                (name, value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
                for name, value in self.event_document().items()
            ]
        pairs = [("transactionGUID", self.transaction_guid)]
        if self.format == "smpp_text":
            pairs.append(("receipt", self.smpp_text()))
        elif self.format == "code":
            pairs += [("transactionGUIDlinked", self.linked_guid), ("statusCode", code_for(self.state))]
        else:
            pairs += [("transactionGUIDlinked", self.linked_guid), ("status", word_for(self.state))]
        pairs = [(name, value) for name, value in pairs if name not in self.extra_fields]
        pairs.extend(self.extra_fields.items())
        return pairs

    def json_body(self) -> dict[str, Any]:
        """The body of a JSON POST: the form fields as an object, or the carrier event document."""
        if self.format == "carrier_event":
            return self.event_document()
        return dict(self.form_fields())


@dataclass(frozen=True)
class ReceiptDelivery:
    """One post of ``send_many``: the receipt, which copy it was (0 = the first) and the result."""

    receipt: DlrReceipt
    copy: int
    result: MoResult

    @property
    def ok(self) -> bool:
        return self.result.ok


def receipts_for_http(
    sent: SentMessage,
    states: Sequence[str],
    format: ReceiptFormat = "word",
    requested_only: bool = True,
) -> list[DlrReceipt]:
    """One receipt per state for a message the HTTP API accepted, in the order given.

    With ``requested_only`` (the gateway's behaviour) there are none unless the submit had
    ``registeredDelivery=1``. ``submit_date`` is the acceptance time, ``text`` its ``messageText``.
    """
    if requested_only and sent.fields.get("registeredDelivery") != "1":
        return []
    submitted = _now() - timedelta(seconds=max(0.0, time.monotonic() - sent.time))
    return [
        DlrReceipt(
            sent.transaction_guid,
            state=state,
            format=format,
            submit_date=submitted,
            text=sent.fields.get("messageText", ""),
        )
        for state in states
    ]


# ------------------------------------------------------------------------------------------ sending
def post_raw(
    url: str, username: str, password: str, raw: bytes, verify: bool | str = True, timeout: float = 10.0
) -> MoResult:
    """POSTs raw MM4 bytes with ``Content-Type: message/rfc822`` and Basic auth; never raises."""
    with ReceiptSender(url, username, password, timeout=timeout, verify=verify) as sender:
        return sender.send_raw(raw)


class ReceiptSender(WebhookClient):
    """Posts delivery receipts to a webhook the way the gateway does (Basic auth, never raises).

    ``method``: ``"POST"`` (url-encoded form), ``"GET"`` (query string) or ``"JSON"`` (POST with
    an ``application/json`` body). Redirects are not followed; every request has ``timeout``
    seconds; ``verify`` is True or a CA bundle path, passed on every request. Close it when done.
    """

    user_agent = "GatewaySim-DLR/1.0"

    def send(self, receipt: DlrReceipt, method: ReceiptMethod = "POST", credentials: Credentials = "valid") -> MoResult:
        """One post. ``credentials``: "valid", "wrong" (same user, another password) or "none"."""
        if method == "GET":
            return self._request("GET", credentials, params=receipt.form_fields())
        if method == "JSON":
            return self._request("POST", credentials, json_body=receipt.json_body())
        return self._request("POST", credentials, data=receipt.form_fields())

    def send_many(
        self,
        receipts: Iterable[DlrReceipt],
        order: ReceiptOrder = "in_order",
        duplicates: int = 0,
        seed: int = 0,
        delay_s: float = 0.0,
        method: ReceiptMethod = "POST",
        credentials: Credentials = "valid",
    ) -> list[ReceiptDelivery]:
        """Posts a sequence one by one: as given, ``shuffled`` (by ``seed``) or ``reversed`` (final first).

        Each receipt is posted ``1 + duplicates`` times back to back; ``delay_s`` is waited between
        two posts (not after the last). At most ``MAX_POSTS`` posts and ``MAX_DELAY_S`` per pause.
        """
        ordered = _ordered(list(receipts), order, seed)
        if duplicates < 0 or not 0.0 <= delay_s <= MAX_DELAY_S:
            raise ValueError("duplicates must not be negative and delay_s must be within 0 and MAX_DELAY_S")
        plan = [(receipt, copy) for receipt in ordered for copy in range(1 + duplicates)]
        if len(plan) > MAX_POSTS:
            raise ValueError("send_many would post more than " + str(MAX_POSTS) + " times")
        deliveries: list[ReceiptDelivery] = []
        for index, (receipt, copy) in enumerate(plan):
            if index and delay_s:
                time.sleep(delay_s)
            deliveries.append(ReceiptDelivery(receipt, copy, self.send(receipt, method, credentials)))
        return deliveries

    def send_raw(self, raw: bytes) -> MoResult:
        """POSTs raw MM4 report bytes (``message/rfc822``) to this sender's URL with its credentials."""
        return self._request("POST", data=raw, headers={"Content-Type": "message/rfc822"})


def _ordered(receipts: list[DlrReceipt], order: ReceiptOrder, seed: int) -> list[DlrReceipt]:
    if order == "reversed":
        return receipts[::-1]
    if order == "shuffled":
        random.Random(seed).shuffle(receipts)
    return receipts


# ------------------------------------------------------------------------------------- MM4 reports
def _number(address: str) -> str | None:
    match = _NUMBER.search(address.strip())
    return match.group(1) if match else None


def _type_name(base: str, case: TypeCase) -> str:
    if case == "title":
        return "MM4_" + "_".join(word.capitalize() for word in base[4:-4].split("_")) + ".REQ"
    if case == "upper":
        return base.upper()
    if case == "lower":
        return base.lower()
    return base


def _header_name(name: str, case: HeaderCase) -> str:
    if case == "upper" and name.startswith("X-Mms-"):
        return "X-MMS-" + name[6:]
    if case == "lower":
        return name.lower()
    return name


class Mm4ReportBuilder:
    """Builds the raw bytes of MM4 delivery reports and read replies for a recorded MM4 submit.

    ``type_case`` spells the message type ``MM4_delivery_report.REQ`` (standard),
    ``MM4_Delivery_Report.REQ`` (title), all upper or all lower case; ``header_case`` writes the
    ``X-Mms-`` names as is, as ``X-MMS-`` or all lower case. ``type_plmn`` adds ``/TYPE=PLMN`` to
    the ``From``/``To`` numbers. ``message_id`` names the original as MM4 does, by its
    ``X-Mms-Message-ID`` (``forward``), or by the recipient's transaction GUID from the DATA reply
    (``guid``): the gateway's page does not say which it uses. Lines end in CRLF.
    """

    def __init__(
        self,
        domain: str = DEFAULT_DOMAIN,
        type_case: TypeCase = "standard",
        header_case: HeaderCase = "standard",
        type_plmn: bool = False,
        mms_version: str = MMS_VERSION,
        message_id: Literal["forward", "guid"] = "forward",
    ) -> None:
        self.domain = domain
        self.message_id = message_id
        self.type_case = type_case
        self.header_case = header_case
        self.type_plmn = type_plmn
        self.mms_version = mms_version

    def delivery_report(
        self,
        original: Mm4Transaction,
        recipient: str,
        status: str = "Retrieved",
        status_text: str | None = None,
        transaction_id: str | None = None,
        date: datetime | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """An ``MM4_delivery_report.REQ`` from ``recipient`` (one of the original's) with this status code."""
        text = status_text if status_text is not None else MM4_STATUS_TEXT.get(status, status)
        specific = [("X-Mms-MM-Status-Code", status), ("X-Mms-Status-Text", text)]
        return self._build(
            "MM4_delivery_report.REQ", original, recipient, specific, transaction_id, date, extra_headers
        )

    def read_reply(
        self,
        original: Mm4Transaction,
        recipient: str,
        read_status: str = "Read",
        status_text: str | None = None,
        transaction_id: str | None = None,
        date: datetime | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """An ``MM4_read_reply_report.REQ`` from ``recipient``; ``read_status``: one of ``READ_STATUSES``."""
        text = status_text if status_text is not None else MM4_STATUS_TEXT.get(read_status, read_status)
        specific = [("X-Mms-Read-Status", read_status), ("X-Mms-Status-Text", text)]
        return self._build(
            "MM4_read_reply_report.REQ", original, recipient, specific, transaction_id, date, extra_headers
        )

    def post_raw(
        self, url: str, username: str, password: str, raw: bytes, verify: bool | str = True, timeout: float = 10.0
    ) -> MoResult:
        """POSTs ``raw`` as ``message/rfc822`` with Basic auth (see :func:`post_raw`)."""
        return post_raw(url, username, password, raw, verify=verify, timeout=timeout)

    def _address(self, number: str) -> str:
        return "+" + number + ("/TYPE=PLMN" if self.type_plmn else "") + "@" + self.domain

    def _build(
        self,
        message_type: str,
        original: Mm4Transaction,
        recipient: str,
        specific: list[tuple[str, str]],
        transaction_id: str | None,
        date: datetime | None,
        extra_headers: Mapping[str, str] | None,
    ) -> bytes:
        message_id = original.header("X-Mms-Message-ID") or original.header("Message-ID")
        if message_id is None:
            raise ValueError("the original MM4 message has neither X-Mms-Message-ID nor Message-ID")
        sender = _number(original.mail_from) or _number(original.header("From") or "")
        if sender is None:
            raise ValueError("the original MM4 message has no +<digits> sender")
        wanted = _number(recipient)
        if wanted is None or wanted not in {_number(address) for address in original.recipients}:
            raise ValueError("not a recipient of the original message: " + recipient)
        if self.message_id == "guid":
            guid = next((g for address, g in original.guids.items() if _number(address) == wanted), None)
            if guid is None:
                raise ValueError("the gateway assigned no transaction GUID to " + recipient)
            message_id = "<" + guid + "@" + self.domain + ">"
        headers = [
            ("X-Mms-3GPP-MMS-Version", self.mms_version),
            ("X-Mms-Message-Type", _type_name(message_type, self.type_case)),
            ("X-Mms-Transaction-ID", transaction_id or new_guid()),
            ("X-Mms-Message-ID", message_id),
            *specific,
            ("Date", format_datetime(date or _now())),
            ("From", self._address(wanted)),
            ("To", self._address(sender)),
            ("Message-ID", "<" + new_guid() + "@" + self.domain + ">"),
            *(extra_headers or {}).items(),
        ]
        report = EmailMessage(policy=policy.SMTP)
        for name, value in headers:
            report[_header_name(name, self.header_case)] = value
        return report.as_bytes()


def reports_for_mm4(
    transaction: Mm4Transaction,
    states: Sequence[str],
    builder: Mm4ReportBuilder | None = None,
    requested_only: bool = True,
) -> list[bytes]:
    """Reports for every accepted recipient of ``transaction`` (recipient by recipient, states in order).

    A state in ``READ_STATUSES`` makes a read reply, any other a delivery report. None for a
    transaction that was not accepted. With ``requested_only`` (the gateway's behaviour) delivery
    reports need ``X-Mms-Delivery-Report: Yes`` and read replies ``X-Mms-Read-Reply: Yes``.
    """
    if not transaction.accepted:
        return []
    build = builder or Mm4ReportBuilder()
    wants_delivery = (transaction.header("X-Mms-Delivery-Report") or "").strip().lower() == "yes"
    wants_read = (transaction.header("X-Mms-Read-Reply") or "").strip().lower() == "yes"
    reports = []
    for recipient in transaction.guids:
        for state in states:
            if state in READ_STATUSES:
                if wants_read or not requested_only:
                    reports.append(build.read_reply(transaction, recipient, state))
            elif wants_delivery or not requested_only:
                reports.append(build.delivery_report(transaction, recipient, state))
    return reports
