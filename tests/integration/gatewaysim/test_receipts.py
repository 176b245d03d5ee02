"""Delivery receipts from the simulated gateway, posted over real sockets to a recording receiver."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import email
import itertools
import json
import random
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from gatewaysim import (
    DlrReceipt,
    GatewaySimulator,
    Mm4Endpoint,
    Mm4ReportBuilder,
    Mm4Transaction,
    ReceiptFormat,
    ReceiptMethod,
    ReceiptSender,
    images,
    receipts_for_http,
    reports_for_mm4,
)
from gatewaysim.receipts import MAX_DELAY_S, MAX_POSTS, TypeCase, post_raw
from tests.support import serving

USER = "aerialink-dlr"
PASSWORD = "dlr:pässword"
TIMEOUT = 5.0
GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
DOMAIN = "mmsc.aerialink.net"
SENDER = "13105551212"
RECIPIENTS = ("12223334444", "12223335555")
ORIGINAL_MESSAGE_ID = "<relay-msg-0001@relay.example>"


# ------------------------------------------------------------------------------------ the receiver
@dataclasses.dataclass(frozen=True)
class Arrival:
    """One request as the recording receiver saw it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes
    headers: dict[str, str]
    arrived: float

    @property
    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def fields(self) -> list[tuple[str, str]]:
        return self.form if self.method == "POST" else self.query

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


class Receiver:
    """The recording receiver's log, shared between its handler threads and the test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []
        self.url = ""

    def add(self, arrival: Arrival) -> None:
        with self._lock:
            self._arrivals.append(arrival)

    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return sorted(self._arrivals, key=lambda arrival: arrival.arrived)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def _record(self) -> None:
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        cast(_Server, self.server).receiver.add(
            Arrival(
                self.command,
                split.path,
                parse_qsl(split.query, keep_blank_values=True),
                body,
                dict(self.headers.items()),
                arrived,
            )
        )
        with contextlib.suppress(ConnectionError):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

    def do_POST(self) -> None:
        self._record()

    def do_GET(self) -> None:
        self._record()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A recording receiver on a free 127.0.0.1 port, stopped after the test."""
    log = Receiver()
    server = _Server(log)
    log.url = "http://127.0.0.1:" + str(server.server_address[1]) + "/dlr/http"
    with serving(server):
        yield log


@pytest.fixture
def sender(receiver: Receiver) -> Iterator[ReceiptSender]:
    with ReceiptSender(receiver.url, USER, PASSWORD, timeout=TIMEOUT) as receipt_sender:
        yield receipt_sender


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode((user + ":" + password).encode("latin-1")).decode("ascii")


def receipt(state: str = "DELIVRD", receipt_format: ReceiptFormat = "word", **changes: Any) -> DlrReceipt:
    return DlrReceipt("8F0C4B8E-3A52-4F7B-9C55-0D6B1E2A9F10", state=state, format=receipt_format, **changes)


def states_seen(receiver: Receiver) -> list[str]:
    return [dict(arrival.fields)["status"] for arrival in receiver.arrivals()]


# --------------------------------------------------------------------------------- wire shapes
def test_a_word_receipt_arrives_as_a_form_post_with_basic_auth(receiver: Receiver, sender: ReceiptSender) -> None:
    # Given a DELIVRD receipt in the word format
    dlr = receipt("DELIVRD")
    # When it is posted
    result = sender.send(dlr)
    # Then the receiver got one url-encoded POST with exactly the three fields and the credentials
    assert result.ok
    (arrival,) = receiver.arrivals()
    assert arrival.method == "POST"
    assert arrival.path == "/dlr/http"
    assert arrival.header("Content-Type") == "application/x-www-form-urlencoded"
    assert arrival.header("Authorization") == basic(USER, PASSWORD)
    assert arrival.form == [
        ("transactionGUID", dlr.transaction_guid),
        ("transactionGUIDlinked", dlr.linked_guid),
        ("status", "DELIVRD"),
    ]
    assert GUID.match(dlr.linked_guid)
    assert dlr.linked_guid != dlr.transaction_guid


@pytest.mark.parametrize("receipt_format", ["word", "code", "smpp_text", "carrier_event"])
@pytest.mark.parametrize("method", ["POST", "GET", "JSON"])
def test_every_format_arrives_whole_by_every_method(
    receiver: Receiver, sender: ReceiptSender, receipt_format: ReceiptFormat, method: ReceiptMethod
) -> None:
    # Given a receipt of each format
    dlr = receipt("9802" if receipt_format == "carrier_event" else "DELIVRD", receipt_format, detail="quota error")
    # When it is sent by each method
    assert sender.send(dlr, method=method).ok
    # Then the receiver reads back exactly what the receipt says it sends
    (arrival,) = receiver.arrivals()
    assert arrival.header("Authorization") == basic(USER, PASSWORD)
    if method == "JSON":
        assert arrival.method == "POST"
        assert arrival.header("Content-Type") == "application/json"
        assert json.loads(arrival.body) == dlr.json_body()
    else:
        assert arrival.method == method
        assert arrival.fields == dlr.form_fields()
        assert (arrival.body == b"") == (method == "GET")
    assert dict(dlr.form_fields()).get("transactionGUID", dlr.transaction_guid) == dlr.transaction_guid


@pytest.mark.parametrize(
    ("receipt_format", "state", "field", "expected"),
    [
        ("word", "DELIVRD", "status", "DELIVRD"),
        ("word", "40001", "status", "DELIVRD"),
        ("word", "30000", "status", "ENROUTE"),
        ("code", "DELIVRD", "statusCode", "40001"),
        ("code", "ENROUTE", "statusCode", "30000"),
        ("code", "ACCEPTD", "statusCode", "40000"),
        ("code", "UNDELIV", "statusCode", "30003"),
        ("code", "REJECTD", "statusCode", "30004"),
        ("code", "40001", "statusCode", "40001"),
        ("word", "ODDSTATE", "status", "ODDSTATE"),
    ],
)
def test_states_are_converted_to_the_formats_vocabulary(
    receipt_format: ReceiptFormat, state: str, field: str, expected: str
) -> None:
    # Given a state as a word or a code, When the receipt renders its fields, Then the format's spelling is used
    fields = dict(receipt(state, receipt_format).form_fields())
    assert fields[field] == expected
    assert set(fields) == {"transactionGUID", "transactionGUIDlinked", field}


@pytest.mark.parametrize(("state", "dlvrd"), [("DELIVRD", "001"), ("40001", "001"), ("UNDELIV", "000")])
def test_the_smpp_text_receipt_follows_the_smpp_layout(state: str, dlvrd: str) -> None:
    # Given an SMPP text receipt with known dates, error and a long text
    dlr = receipt(
        state,
        "smpp_text",
        submit_date=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        done_date=datetime(2026, 3, 3, 10, 2, 30, tzinfo=UTC),
        error="000",
        text="Hello there, this is longer than twenty",
    )
    # When its fields are rendered
    fields = dlr.form_fields()
    # Then there are two fields and the receipt text is the SMPP layout (text cut at 20 characters)
    assert [name for name, _ in fields] == ["transactionGUID", "receipt"]
    word = "UNDELIV" if state == "UNDELIV" else "DELIVRD"
    assert dict(fields)["receipt"] == (
        "id:" + dlr.transaction_guid + " sub:001 dlvrd:" + dlvrd + " submit date:2603031000 done date:2603031002"
        " stat:" + word + " err:000 text:Hello there, this is"
    )


def test_a_carrier_event_is_one_json_document(receiver: Receiver, sender: ReceiptSender) -> None:
    # Given a carrier quota error event
    dlr = dataclasses.replace(
        DlrReceipt.carrier_event("8F0C4B8E-3A52-4F7B-9C55-0D6B1E2A9F10"),
        done_date=datetime(2026, 3, 3, 10, 2, 30, tzinfo=UTC),
    )
    # When it is posted as JSON
    assert sender.send(dlr, method="JSON").ok
    # Then the document nests the transaction in eventMessage
    body = json.loads(receiver.arrivals()[0].body)
    assert body == {
        "connectionGUID": dlr.connection_guid,
        "eventGUID": dlr.linked_guid,
        "eventType": "smppStatusCode",
        "eventDateTime": "2026-03-03T10:02:30Z",
        "eventMessage": {
            "transactionGUID": "8F0C4B8E-3A52-4F7B-9C55-0D6B1E2A9F10",
            "smppStatusCode": "9802",
            "detail": "quota error",
        },
    }
    # And as a form, eventMessage is the same object as a JSON string
    form = dict(dlr.form_fields())
    assert json.loads(form["eventMessage"]) == body["eventMessage"]
    assert form["eventType"] == "smppStatusCode"


def test_extra_fields_are_added_and_may_override(receiver: Receiver, sender: ReceiptSender) -> None:
    # Given a receipt with an unknown field and an overridden status
    dlr = receipt("DELIVRD", extra_fields={"status": "delivered", "errorCode": "0"})
    # When it is sent as a GET
    assert sender.send(dlr, method="GET").ok
    # Then the override replaced the field in place of appending a second one
    fields = receiver.arrivals()[0].query
    assert [name for name, _ in fields].count("status") == 1
    assert dict(fields)["status"] == "delivered"
    assert dict(fields)["errorCode"] == "0"


@pytest.mark.parametrize(("credentials", "expected"), [("wrong", basic(USER, PASSWORD + "-wrong")), ("none", None)])
def test_wrong_or_missing_credentials(
    receiver: Receiver, sender: ReceiptSender, credentials: Any, expected: str | None
) -> None:
    # Given a receipt, When it is sent with wrong or no credentials, Then the receiver sees exactly that
    assert sender.send(receipt(), credentials=credentials).ok
    assert receiver.arrivals()[0].header("Authorization") == expected


def test_an_unreachable_receiver_gives_a_result_not_an_exception() -> None:
    # Given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When a receipt is sent there
    with ReceiptSender("http://127.0.0.1:" + str(port) + "/dlr", USER, PASSWORD, timeout=2.0) as closed:
        result = closed.send(receipt())
    # Then the result says why, without raising
    assert result.status_code is None
    assert not result.ok
    assert result.error is not None
    assert "ConnectionError" in result.error


# ---------------------------------------------------------------------------- order and timing
def sequence(count: int) -> list[DlrReceipt]:
    return [receipt(state="S" + str(index)) for index in range(count)]


def test_in_order_then_reversed(receiver: Receiver, sender: ReceiptSender) -> None:
    # Given ENROUTE then DELIVRD
    dlrs = [receipt("ENROUTE"), receipt("DELIVRD")]
    # When sent in order
    sender.send_many(dlrs, order="in_order")
    # Then they arrive in order
    assert states_seen(receiver) == ["ENROUTE", "DELIVRD"]
    # When sent reversed (the final receipt early)
    deliveries = sender.send_many(dlrs, order="reversed")
    # Then the final one arrives first, and the results say so
    assert states_seen(receiver)[2:] == ["DELIVRD", "ENROUTE"]
    assert [delivery.receipt.state for delivery in deliveries] == ["DELIVRD", "ENROUTE"]
    assert all(delivery.ok for delivery in deliveries)


def test_shuffled_is_reproducible_with_a_seed(receiver: Receiver, sender: ReceiptSender) -> None:
    # Given eight receipts
    dlrs = sequence(8)
    names = ["S" + str(index) for index in range(8)]
    expected = list(names)
    random.Random(11).shuffle(expected)
    # When shuffled twice with the same seed and once with another
    sender.send_many(dlrs, order="shuffled", seed=11)
    sender.send_many(dlrs, order="shuffled", seed=11)
    sender.send_many(dlrs, order="shuffled", seed=12)
    # Then the receiver saw the same seeded order twice, and another order for the other seed
    seen = states_seen(receiver)
    assert seen[:8] == expected
    assert seen[8:16] == expected
    assert expected != names
    assert sorted(seen[16:]) == sorted(names)
    assert seen[16:] != expected
    # And the caller's list is untouched
    assert [dlr.state for dlr in dlrs] == names


def test_duplicates_are_posted_back_to_back(receiver: Receiver, sender: ReceiptSender) -> None:
    # Given two receipts, When each is posted with two extra copies
    deliveries = sender.send_many([receipt("ENROUTE"), receipt("DELIVRD")], duplicates=2)
    # Then the receiver counted three of each, consecutively, with the same linked GUID per receipt
    assert states_seen(receiver) == ["ENROUTE"] * 3 + ["DELIVRD"] * 3
    assert [delivery.copy for delivery in deliveries] == [0, 1, 2, 0, 1, 2]
    linked = [dict(arrival.fields)["transactionGUIDlinked"] for arrival in receiver.arrivals()]
    assert len(set(linked[:3])) == 1
    assert len(set(linked[3:])) == 1
    assert linked[0] != linked[3]


def test_delays_space_the_posts_and_are_bounded(receiver: Receiver, sender: ReceiptSender) -> None:
    # Given three receipts and a 0.2 s delay
    started = time.monotonic()
    # When sent with that delay ("late" receipts)
    sender.send_many(sequence(3), delay_s=0.2)
    elapsed = time.monotonic() - started
    # Then consecutive arrivals are at least 0.2 s apart, and no delay follows the last post
    arrived = [arrival.arrived for arrival in receiver.arrivals()]
    assert len(arrived) == 3
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(arrived))
    assert 0.39 <= elapsed < 0.39 + 3.0


@pytest.mark.parametrize(
    "arguments",
    [{"delay_s": MAX_DELAY_S + 1}, {"delay_s": -0.1}, {"duplicates": -1}, {"duplicates": MAX_POSTS}],
)
def test_unbounded_plans_are_refused(receiver: Receiver, sender: ReceiptSender, arguments: dict[str, Any]) -> None:
    # Given a plan that is too long, too slow or negative, When sent, Then it is refused before any post
    with pytest.raises(ValueError, match=r"delay_s|duplicates|more than"):
        sender.send_many([receipt()], **arguments)
    assert receiver.arrivals() == []


# -------------------------------------------------------------------- receipts for accepted sends
def test_receipts_for_what_the_http_api_accepted(receiver: Receiver) -> None:
    with GatewaySimulator(max_wait_s=10.0) as sim:
        # Given two accepted sends, one asking for a receipt and one not
        guids = []
        for registered in ("1", "0"):
            answer = requests.post(
                sim.http_api.messages_url,
                data={
                    "source": "13105551212",
                    "destination": "12223334444",
                    "messageText": "Photo for you, with a long caption",
                    "mmsURL": "https://cdn.example.com/a.jpg",
                    "registeredDelivery": registered,
                },
                auth=(sim.api_key, sim.api_secret),
                verify=str(sim.http_api.ca_file),
                timeout=TIMEOUT,
            )
            assert answer.status_code == 200
            guids.append(answer.json()["aerialink"]["transactions"][0]["transaction"]["transactionGUID"])
        wanted, unwanted = (sim.http_api.message(guid) for guid in guids)
        assert wanted is not None
        assert unwanted is not None
        # When receipts are made for both and posted by the simulator's sender
        dlrs = receipts_for_http(wanted, ["ENROUTE", "DELIVRD"], format="code")
        assert receipts_for_http(unwanted, ["DELIVRD"]) == []
        assert len(receipts_for_http(unwanted, ["DELIVRD"], requested_only=False)) == 1
        with sim.receipt_sender(receiver.url, USER, PASSWORD, timeout=TIMEOUT) as receipt_sender:
            deliveries = receipt_sender.send_many(dlrs)
    # Then the receiver got the accepted GUID with the codes, in order
    assert all(delivery.ok for delivery in deliveries)
    fields = [dict(arrival.fields) for arrival in receiver.arrivals()]
    assert [entry["transactionGUID"] for entry in fields] == [guids[0], guids[0]]
    assert [entry["statusCode"] for entry in fields] == ["30000", "40001"]
    assert dlrs[0].text.startswith("Photo for you")
    assert dlrs[0].submit_date <= dlrs[0].done_date


# ----------------------------------------------------------------------------------------- MM4
def original_mime() -> bytes:
    mime = EmailMessage(policy=policy.SMTP)
    mime["X-Mms-3GPP-MMS-Version"] = "6.10.0"
    mime["X-Mms-Message-Type"] = "MM4_forward.REQ"
    mime["X-Mms-Transaction-ID"] = "relay-0001"
    mime["X-Mms-Message-ID"] = ORIGINAL_MESSAGE_ID
    mime["X-Mms-Ack-Request"] = "Yes"
    mime["X-Mms-Delivery-Report"] = "Yes"
    mime["X-Mms-Read-Reply"] = "Yes"
    mime["From"] = "+" + SENDER + "/TYPE=PLMN@" + DOMAIN
    mime["To"] = ", ".join("+" + number + "/TYPE=PLMN@" + DOMAIN for number in RECIPIENTS)
    mime["Message-ID"] = "<0001@relay.example>"
    mime.make_related()
    mime.add_related("hello", subtype="plain")
    mime.add_related(images.png(), maintype="image", subtype="png", cid="<a.png>")
    return mime.as_bytes()


@pytest.fixture(scope="module")
def original() -> Mm4Transaction:
    """A group MMS accepted by the simulated MM4 endpoint (stopped once it is recorded)."""
    with Mm4Endpoint("sim-api-key", "sim-secret", max_wait_s=10.0) as endpoint:
        assert endpoint.ca_file is not None
        context = ssl.create_default_context(cafile=str(endpoint.ca_file))
        with smtplib.SMTP_SSL("127.0.0.1", endpoint.port, context=context, timeout=TIMEOUT) as smtp:
            smtp.login("sim-api-key", "sim-secret")
            smtp.sendmail(
                "+" + SENDER + "@" + DOMAIN, ["+" + number + "@" + DOMAIN for number in RECIPIENTS], original_mime()
            )
        (transaction,) = endpoint.accepted
    return transaction


def parse(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw, policy=policy.default)


def test_a_delivery_report_carries_the_original_message_id_and_the_recipient(original: Mm4Transaction) -> None:
    # Given the accepted group MMS, When the second recipient's delivery report is built
    raw = Mm4ReportBuilder().delivery_report(original, "+" + RECIPIENTS[1], "Retrieved")
    # Then it parses back with email and carries the original's message id, from the recipient to the sender
    report = parse(raw)
    assert report["X-Mms-Message-Type"] == "MM4_delivery_report.REQ"
    assert report["X-Mms-3GPP-MMS-Version"] == "6.10.0"
    assert report["X-Mms-Message-ID"] == ORIGINAL_MESSAGE_ID
    assert report["X-Mms-MM-Status-Code"] == "Retrieved"
    assert report["X-Mms-Status-Text"]
    assert GUID.match(str(report["X-Mms-Transaction-ID"]))
    assert report["X-Mms-Transaction-ID"] != original.header("X-Mms-Transaction-ID")
    assert report["From"] == "+" + RECIPIENTS[1] + "@" + DOMAIN
    assert report["To"] == "+" + SENDER + "@" + DOMAIN
    assert abs((parsedate_to_datetime(str(report["Date"])) - datetime.now(UTC)).total_seconds()) < 60
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_a_report_may_name_the_recipients_transaction_guid_instead(original: Mm4Transaction) -> None:
    # Given the accepted group MMS, When the report names the original by the gateway's GUID
    for recipient in ("+" + RECIPIENTS[0], RECIPIENTS[1]):
        report = parse(Mm4ReportBuilder(message_id="guid").delivery_report(original, recipient, "Retrieved"))
        # Then X-Mms-Message-ID is that recipient's GUID from the DATA reply
        (guid,) = [g for address, g in original.guids.items() if recipient.lstrip("+") in address]
        assert report["X-Mms-Message-ID"] == f"<{guid}@{DOMAIN}>"


@pytest.mark.parametrize(
    ("type_case", "expected"),
    [
        ("standard", "MM4_delivery_report.REQ"),
        ("title", "MM4_Delivery_Report.REQ"),
        ("upper", "MM4_DELIVERY_REPORT.REQ"),
        ("lower", "mm4_delivery_report.req"),
    ],
)
def test_the_message_types_capitalisation_varies(original: Mm4Transaction, type_case: TypeCase, expected: str) -> None:
    # Given a builder for one spelling, When a report is built, Then the message type is spelled so
    raw = Mm4ReportBuilder(type_case=type_case).delivery_report(original, RECIPIENTS[0], "Expired")
    assert parse(raw)["X-Mms-Message-Type"] == expected


def test_header_names_and_addresses_vary(original: Mm4Transaction) -> None:
    # Given a builder with X-MMS- names and /TYPE=PLMN addresses, When a report is built
    raw = Mm4ReportBuilder(header_case="upper", type_plmn=True, type_case="title").delivery_report(
        original, RECIPIENTS[0], "Rejected", status_text="Blocked"
    )
    # Then the raw names are upper case, and a case-insensitive reader still finds everything
    assert b"\r\nX-MMS-MM-Status-Code: Rejected\r\n" in raw
    assert b"X-Mms-" not in raw
    report = parse(raw)
    assert report["x-mms-message-type"] == "MM4_Delivery_Report.REQ"
    assert report["X-Mms-Status-Text"] == "Blocked"
    assert report["From"] == "+" + RECIPIENTS[0] + "/TYPE=PLMN@" + DOMAIN


@pytest.mark.parametrize("read_status", ["Read", "Deleted-without-being-read"])
def test_read_replies(original: Mm4Transaction, read_status: str) -> None:
    # Given the accepted MMS, When a read reply is built, Then it is a read-reply report with the status
    report = parse(Mm4ReportBuilder().read_reply(original, RECIPIENTS[0], read_status))
    assert report["X-Mms-Message-Type"] == "MM4_read_reply_report.REQ"
    assert report["X-Mms-Read-Status"] == read_status
    assert report["X-Mms-Message-ID"] == ORIGINAL_MESSAGE_ID
    assert report["X-Mms-MM-Status-Code"] is None


def test_a_report_for_someone_else_is_refused(original: Mm4Transaction) -> None:
    # Given a number that was not a recipient, When a report is built for it, Then it is refused
    with pytest.raises(ValueError, match="not a recipient"):
        Mm4ReportBuilder().delivery_report(original, "19998887777", "Retrieved")


def test_reports_for_every_recipient_and_state(original: Mm4Transaction) -> None:
    # Given the accepted group MMS, When reports are made for three states
    reports = [parse(raw) for raw in reports_for_mm4(original, ["Deferred", "Retrieved", "Read"])]
    # Then each recipient gets them in order, the read state as a read reply
    assert [
        (str(report["From"]), report["X-Mms-MM-Status-Code"] or report["X-Mms-Read-Status"]) for report in reports
    ] == [("+" + number + "@" + DOMAIN, state) for number in RECIPIENTS for state in ("Deferred", "Retrieved", "Read")]
    assert len({str(report["X-Mms-Transaction-ID"]) for report in reports}) == 6


def test_reports_only_when_requested_and_accepted(original: Mm4Transaction) -> None:
    # Given the same MMS without the report requests, and one that was not accepted
    unrequested = dataclasses.replace(
        original,
        headers=tuple(h for h in original.headers if h[0] not in ("X-Mms-Delivery-Report", "X-Mms-Read-Reply")),
    )
    refused = dataclasses.replace(original, reply_code=451, guids={})
    # When reports are made, Then none come unless requested_only is off; none ever for a refused one
    assert reports_for_mm4(unrequested, ["Retrieved", "Read"]) == []
    assert len(reports_for_mm4(unrequested, ["Retrieved", "Read"], requested_only=False)) == 4
    assert reports_for_mm4(refused, ["Retrieved"], requested_only=False) == []


def test_reports_are_posted_raw_as_rfc822(receiver: Receiver, original: Mm4Transaction) -> None:
    # Given a delivery report
    raw = Mm4ReportBuilder().delivery_report(original, RECIPIENTS[0], "Retrieved")
    # When it is posted by the builder and by a receipt sender
    first = Mm4ReportBuilder().post_raw(receiver.url, USER, PASSWORD, raw, verify=True, timeout=TIMEOUT)
    with ReceiptSender(receiver.url, USER, PASSWORD, timeout=TIMEOUT) as receipt_sender:
        second = receipt_sender.send_raw(raw)
    third = post_raw(receiver.url, USER, PASSWORD, raw, timeout=TIMEOUT)
    # Then the receiver got the exact bytes as message/rfc822 with the credentials, three times
    assert first.ok
    assert second.ok
    assert third.ok
    arrivals = receiver.arrivals()
    assert len(arrivals) == 3
    for arrival in arrivals:
        assert arrival.method == "POST"
        assert arrival.header("Content-Type") == "message/rfc822"
        assert arrival.header("Authorization") == basic(USER, PASSWORD)
        assert arrival.body == raw
        assert parse(arrival.body)["X-Mms-Message-ID"] == ORIGINAL_MESSAGE_ID
