"""Receipts read from HTTP callbacks, carrier error events, SMPP receipt texts and MM4 reports."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from mmsrelay.domain.errors import PermanentError
from mmsrelay.gateway_protocol.mm4_mime import derive_message_ids
from mmsrelay.receipts.model import ReceiptError
from mmsrelay.receipts.parse import (
    MAX_DETAIL,
    canonical_guid,
    clean_detail,
    parse_http_receipt,
    parse_mm4_report,
    parse_smpp_receipt_text,
)
from mmsrelay.webhooks.http import Fields, parse_json_object

GUID = "CF7A8B9C-ADBE-4FC0-D1E2-5D6E7F8A9BAC"
LINKED = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
RECEIPT_TEXT = "id:123 sub:001 dlvrd:001 submit date:2611251620 done date:2611251621 stat:DELIVRD err:000 text:Hello"
DOMAIN = "mmsc.aerialink.net"
MM4_ID = derive_message_ids("message-1", DOMAIN)[1]


def json_fields(document: object) -> Fields:
    """Fields as the webhook sees a JSON body: nested values become JSON text."""
    return parse_json_object(json.dumps(document).encode())


# --- HTTP: the state --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "status",
        "Status",
        "state",
        "stat",
        "messageState",
        "message_state",
        "deliveryStatus",
        "dlrStatus",
        "DLR-STATUS",
        "statusCode",
        "code",
    ],
)
def test_a_state_word_is_read_from_any_plausible_field(name: str) -> None:
    # Given a callback with the GUID and an SMPP state word under one of the plausible names
    fields = {"transactionGUID": [GUID], name: ["DELIVRD"]}
    # When it is parsed
    receipt = parse_http_receipt(fields)
    # Then the state is normalised and kept as received
    assert receipt.status == "delivered"
    assert receipt.state == "DELIVRD"
    assert receipt.kind == "http"
    assert receipt.transaction_guid == GUID


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [
        ("statusCode", "40001", "delivered"),
        ("code", "30004", "rejected"),
        ("status", "10000", "sent"),
        ("status_code", "30003", "failed"),
        ("state", "40000", "accepted"),
    ],
)
def test_a_numeric_gateway_code_is_normalised(name: str, code: str, status: str) -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], name: [code]})
    assert receipt.status == status
    assert receipt.state == code


@pytest.mark.parametrize("word", ["UNKNOWN", "Delivered-ish", "12345"])
def test_an_unknown_state_is_kept_raw_without_status(word: str) -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "status": [word]})
    assert receipt.status is None
    assert receipt.state == word


def test_no_state_at_all_gives_no_status() -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "other": ["x"]})
    assert (receipt.status, receipt.state, receipt.kind) == (None, None, "http")


def test_a_state_field_takes_precedence_over_a_later_one() -> None:
    # Given both a word and a numeric code (they disagree)
    receipt = parse_http_receipt({"transactionGUID": [GUID], "statusCode": ["30000"], "status": ["DELIVRD"]})
    # Then "status" is looked at before "statusCode"
    assert receipt.status == "delivered"


def test_an_unknown_word_yields_to_a_known_state_elsewhere() -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "status": ["weird"], "statusCode": ["40001"]})
    assert (receipt.status, receipt.state) == ("delivered", "40001")


# --- HTTP: SMPP receipt texts -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["text", "message", "receipt", "dlr", "shortMessage", "status", "esm_body"])
def test_a_receipt_text_is_found_in_any_field(name: str) -> None:
    # Given a receipt text in a field whose name says nothing
    receipt = parse_http_receipt({"transactionGUID": [GUID], name: [RECEIPT_TEXT]})
    # Then its stat, err and done date are used
    assert receipt.kind == "smpp_text"
    assert (receipt.status, receipt.state, receipt.error_code) == ("delivered", "DELIVRD", "000")
    assert receipt.occurred_at == datetime(2026, 11, 25, 16, 21, tzinfo=UTC)


def test_a_receipt_text_state_wins_over_an_unknown_word() -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "status": ["2"], "text": [RECEIPT_TEXT]})
    assert (receipt.status, receipt.kind) == ("delivered", "smpp_text")


def test_an_explicit_known_state_wins_over_the_receipt_text() -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "status": ["UNDELIV"], "text": [RECEIPT_TEXT]})
    assert (receipt.status, receipt.kind) == ("undelivered", "http")


def test_a_receipt_text_with_seconds_gives_a_time_with_seconds() -> None:
    text = "id:9 sub:001 dlvrd:000 submit date:261125162001 done date:261125162159 stat:EXPIRED err:001"
    receipt = parse_http_receipt({"guid": [GUID], "sms": [text]})
    assert receipt.status == "expired"
    assert receipt.error_code == "001"
    assert receipt.occurred_at == datetime(2026, 11, 25, 16, 21, 59, tzinfo=UTC)


def test_an_impossible_done_date_gives_no_time() -> None:
    text = "id:9 sub:001 dlvrd:000 submit date:2613451620 done date:2613991621 stat:DELIVRD err:000"
    assert parse_http_receipt({"guid": [GUID], "sms": [text]}).occurred_at is None


def test_the_receipt_texts_id_is_used_when_it_is_a_guid_and_no_field_has_one() -> None:
    text = RECEIPT_TEXT.replace("id:123", f"id:{GUID.lower()}")
    receipt = parse_http_receipt({"text": [text]})
    assert receipt.transaction_guid == GUID
    assert receipt.linked_guid is None


def test_the_receipt_texts_guid_fills_the_linked_slot_when_the_transaction_guid_is_given() -> None:
    text = RECEIPT_TEXT.replace("id:123", f"id:{LINKED}")
    receipt = parse_http_receipt({"transactionGUID": [GUID], "text": [text]})
    assert (receipt.transaction_guid, receipt.linked_guid) == (GUID, LINKED)


def test_the_receipt_message_text_never_becomes_the_detail() -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "description": [RECEIPT_TEXT]})
    assert receipt.detail is None


# --- HTTP: GUIDs ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["transactionGUID", "transactionGuid", "transaction_guid", "GUID", "messageGUID"])
def test_the_guid_is_read_from_any_plausible_field(name: str) -> None:
    receipt = parse_http_receipt({name: [GUID.lower()], "status": ["ENROUTE"]})
    assert receipt.transaction_guid == GUID
    assert receipt.status == "enroute"


@pytest.mark.parametrize("name", ["transactionGUIDlinked", "transactionGuidLinked", "transaction_guid_linked"])
def test_a_receipt_with_only_the_linked_guid_is_accepted(name: str) -> None:
    receipt = parse_http_receipt({name: [LINKED], "stat": ["ACCEPTD"]})
    assert receipt.transaction_guid is None
    assert receipt.linked_guid == LINKED
    assert receipt.status == "accepted"


def test_both_guids_are_kept() -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "transactionGUIDlinked": [LINKED]})
    assert (receipt.transaction_guid, receipt.linked_guid) == (GUID, LINKED)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"status": ["DELIVRD"]},
        {"transactionGUID": [""], "status": ["DELIVRD"]},
        {"transactionGUID": ["not-a-guid"]},
        {"transactionGUID": [GUID[:-1]]},
        {"transactionGUID": [GUID + "0"]},
        {"transactionGUID": [GUID.replace("-", "")]},
        {"connectionGUID": [GUID], "eventGUID": [LINKED]},
        {"text": [RECEIPT_TEXT]},
    ],
)
def test_a_callback_without_a_well_formed_guid_is_refused(fields: Fields) -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_http_receipt(fields)
    assert caught.value.code == "no_transaction_guid"
    assert isinstance(caught.value, PermanentError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "value", [GUID, GUID.lower(), f"  {GUID}\n", f"{{{GUID.lower()}}}", f" {{ {GUID} }} ", GUID.title()]
)
def test_guids_are_normalised_to_upper_case(value: str) -> None:
    assert canonical_guid(value) == GUID


@pytest.mark.parametrize("value", ["", "{}", f"{{{GUID}", f"<{GUID}>", GUID.replace("A", "G"), f"{GUID} x"])
def test_malformed_guids_are_refused(value: str) -> None:
    assert canonical_guid(value) is None


# --- HTTP: shapes -----------------------------------------------------------------------------


def test_get_style_repeated_keys_use_the_first_usable_value() -> None:
    # Given a query string where keys are repeated, some values empty or malformed
    fields = {"transactionGUID": ["", "junk", f" {{{GUID.lower()}}} "], "status": ["", "ENROUTE", "DELIVRD"]}
    receipt = parse_http_receipt(fields)
    assert receipt.transaction_guid == GUID
    assert receipt.state == "ENROUTE"


def test_json_with_nested_values_is_searched() -> None:
    # Given a JSON body whose interesting values sit in nested objects
    fields = json_fields(
        {
            "data": {"transactionGUID": GUID.lower(), "transactionGUIDlinked": LINKED},
            "status": {"code": 40001, "description": "Delivered to handset"},
            "timestamp": "2026-11-25T17:20:01+01:00",
        }
    )
    # When it is parsed
    receipt = parse_http_receipt(fields)
    # Then the nested leaves were found, and the object itself was not taken for a word
    assert (receipt.transaction_guid, receipt.linked_guid) == (GUID, LINKED)
    assert (receipt.status, receipt.state) == ("delivered", "40001")
    assert receipt.detail == "Delivered to handset"
    assert receipt.occurred_at == datetime(2026, 11, 25, 16, 20, 1, tzinfo=UTC)


def test_a_receipt_text_inside_json_is_found() -> None:
    fields = json_fields({"transactionGUID": GUID, "dlr": {"shortMessage": RECEIPT_TEXT}})
    receipt = parse_http_receipt(fields)
    assert (receipt.status, receipt.kind, receipt.error_code) == ("delivered", "smpp_text", "000")


def test_a_json_list_of_values_is_read_in_order() -> None:
    fields = json_fields({"transactionGUID": [GUID], "status": ["REJECTD", "DELIVRD"]})
    assert parse_http_receipt(fields).status == "rejected"


def test_a_top_level_field_takes_precedence_over_a_nested_one() -> None:
    fields = json_fields({"transactionGUID": GUID, "status": "EXPIRED", "extra": {"status": "DELIVRD"}})
    assert parse_http_receipt(fields).status == "expired"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T16:20:01Z", datetime(2026, 11, 25, 16, 20, 1, tzinfo=UTC)),
        ("2026-11-25 11:20:01-05:00", datetime(2026, 11, 25, 16, 20, 1, tzinfo=UTC)),
        ("2026-11-25T16:20:01", datetime(2026, 11, 25, 16, 20, 1, tzinfo=UTC)),
        ("2611251620", datetime(2026, 11, 25, 16, 20, tzinfo=UTC)),
        ("yesterday", None),
    ],
)
def test_time_fields_are_read_as_aware_utc(value: str, expected: datetime | None) -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "status": ["DELIVRD"], "doneDate": [value]})
    assert receipt.occurred_at == expected
    if receipt.occurred_at is not None:
        assert receipt.occurred_at.utcoffset() is not None


def test_an_over_long_state_or_error_code_is_cut() -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "status": ["X" * 500], "errorCode": ["E" * 500]})
    assert receipt.state is not None
    assert receipt.error_code is not None
    assert len(receipt.state) <= 64
    assert len(receipt.error_code) <= 32


# --- the carrier error event ------------------------------------------------------------------


def carrier_event(**message: str) -> dict[str, object]:
    return {
        "connectionGUID": LINKED,
        "eventGUID": "11111111-2222-4333-8444-555555555555",
        "eventType": "smppStatusCode",
        "eventDateTime": "2026-11-25T16:20:01Z",
        "eventMessage": {"transactionGUID": GUID.lower(), "smppStatusCode": "9802", "detail": "quota error", **message},
    }


def test_a_carrier_error_event_is_a_failure() -> None:
    # Given the carrier error event, flattened as the webhook flattens JSON (eventMessage is JSON text)
    fields = json_fields(carrier_event())
    assert fields["eventMessage"][0].startswith("{")
    # When it is parsed
    receipt = parse_http_receipt(fields)
    # Then it is a failure of the transaction named in eventMessage
    assert receipt.kind == "carrier_event"
    assert (receipt.status, receipt.state) == ("failed", "smppStatusCode")
    assert receipt.transaction_guid == GUID
    assert receipt.linked_guid is None
    assert receipt.error_code == "9802"
    assert receipt.detail == "quota error"
    assert receipt.occurred_at == datetime(2026, 11, 25, 16, 20, 1, tzinfo=UTC)


def test_a_carrier_event_posted_as_a_form_is_read_the_same_way() -> None:
    event = carrier_event()
    fields = {name: [value if isinstance(value, str) else json.dumps(value)] for name, value in event.items()}
    receipt = parse_http_receipt(fields)
    assert (receipt.kind, receipt.status, receipt.error_code) == ("carrier_event", "failed", "9802")


def test_a_carrier_event_without_a_transaction_guid_is_refused() -> None:
    event = carrier_event()
    event["eventMessage"] = {"smppStatusCode": "9802"}
    with pytest.raises(ReceiptError) as caught:
        parse_http_receipt(json_fields(event))
    assert caught.value.code == "no_transaction_guid"


def test_an_event_of_another_type_is_not_a_carrier_error() -> None:
    event = carrier_event()
    event["eventType"] = "somethingElse"
    receipt = parse_http_receipt(json_fields(event))
    assert receipt.kind == "http"
    assert receipt.status is None


# --- details ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Handset +13105551212 unreachable", "Handset [number] unreachable"),
        ("to 1 (310) 555-1212 failed", "to [number] failed"),
        ("number 310.555.1212", "number [number]"),
        ("error 9802 at step 123456", "error 9802 at step 123456"),
        ("  quota\r\n\terror  ", "quota error"),
        ("   ", None),
    ],
)
def test_details_are_one_line_and_free_of_phone_numbers(text: str, expected: str | None) -> None:
    assert clean_detail(text) == expected


def test_a_long_detail_is_truncated() -> None:
    receipt = parse_http_receipt({"transactionGUID": [GUID], "detail": ["call 13105551212 " + "x" * 500]})
    assert receipt.detail is not None
    assert len(receipt.detail) == MAX_DETAIL
    assert receipt.detail.startswith("call [number] xxx")
    assert not any(character.isdigit() for character in receipt.detail)


# --- SMPP receipt text ------------------------------------------------------------------------


def test_a_standard_receipt_text_is_split_into_its_fields() -> None:
    assert parse_smpp_receipt_text(RECEIPT_TEXT) == {
        "id": "123",
        "sub": "001",
        "dlvrd": "001",
        "submit date": "2611251620",
        "done date": "2611251621",
        "stat": "DELIVRD",
        "err": "000",
        "text": "Hello",
    }


def test_a_receipt_text_without_its_text_field() -> None:
    fields = parse_smpp_receipt_text(RECEIPT_TEXT.removesuffix(" text:Hello"))
    assert "text" not in fields
    assert (fields["stat"], fields["err"]) == ("DELIVRD", "000")


def test_the_text_field_runs_to_the_end_even_when_it_looks_like_keys() -> None:
    fields = parse_smpp_receipt_text("id:1 stat:DELIVRD err:000 text:stat:REJECTD err:999 truncat")
    assert fields["stat"] == "DELIVRD"
    assert fields["err"] == "000"
    assert fields["text"] == "stat:REJECTD err:999 truncat"


def test_spacing_case_and_underscores_are_tolerated() -> None:
    text = "ID : abc  Sub:001 DLVRD: 001 Submit_Date:2611251620  DONE DATE : 2611251621\tStat:delivrd ERR:000 Text:Hi"
    fields = parse_smpp_receipt_text(text)
    assert fields == {
        "id": "abc",
        "sub": "001",
        "dlvrd": "001",
        "submit date": "2611251620",
        "done date": "2611251621",
        "stat": "delivrd",
        "err": "000",
        "text": "Hi",
    }


def test_missing_and_extra_fields_are_tolerated() -> None:
    fields = parse_smpp_receipt_text("prefix id:7 nack:3 stat:UNDELIV foo:bar err: text:")
    assert fields == {"id": "7", "stat": "UNDELIV", "err": "", "text": ""}


def test_a_key_inside_another_word_is_not_a_key() -> None:
    fields = parse_smpp_receipt_text("messageid:5 id:6 substat:X stat:ENROUTE errtext:none")
    assert (fields["id"], fields["stat"]) == ("6", "ENROUTE")
    assert "err" not in fields


# --- MM4 reports ------------------------------------------------------------------------------


def mm4_report(message_type: str | None = "MM4_delivery_report.REQ", **headers: str) -> bytes:
    """A report as the gateway's MMSC would send it; ``headers`` use ``_`` for ``-``."""
    report = EmailMessage(policy=SMTP)
    if message_type is not None:
        report["X-Mms-Message-Type"] = message_type
    report["X-Mms-3GPP-MMS-Version"] = "6.10.0"
    report["X-Mms-Transaction-ID"] = "report-transaction-1"
    defaults = {
        "X-Mms-Message-ID": MM4_ID,
        "From": "+13105551212/TYPE=PLMN@mms.carrier.example",
        "To": f"+13105550100@{DOMAIN}",
        "Date": "Wed, 25 Nov 2026 17:21:00 +0100",
    }
    for name, value in (defaults | {name.replace("_", "-"): value for name, value in headers.items()}).items():
        if value:
            report[name] = value
    return report.as_bytes()


MM4_STATUSES = [
    ("Expired", "expired"),
    ("Retrieved", "delivered"),
    ("Rejected", "rejected"),
    ("Deferred", "enroute"),
    ("Unrecognised", "failed"),
    ("Indeterminate", "enroute"),
    ("Forwarded", "enroute"),
]


@pytest.mark.parametrize(
    ("code", "status"),
    [(variant, status) for code, status in MM4_STATUSES for variant in (code, code.upper(), code.lower())],
)
def test_each_mm4_status_code_is_normalised(code: str, status: str) -> None:
    # Given a delivery report with this status code
    raw = mm4_report(**{"X_Mms_MM_Status_Code": code})
    # When it is parsed
    receipt = parse_mm4_report(raw)
    # Then it is about the forwarded message and its recipient
    assert receipt.kind == "mm4_delivery_report"
    assert (receipt.status, receipt.state) == (status, code)
    assert receipt.mm4_message_id == MM4_ID
    assert receipt.recipient == "+13105551212"
    assert (receipt.transaction_guid, receipt.linked_guid, receipt.error_code) == (None, None, None)


@pytest.mark.parametrize(
    "message_type",
    ["MM4_delivery_report.REQ", "MM4_Delivery_report.REQ", "mm4_delivery_report.req", "MM4_DELIVERY_REPORT.REQ"],
)
def test_the_message_type_is_matched_in_any_case(message_type: str) -> None:
    receipt = parse_mm4_report(mm4_report(message_type, X_Mms_MM_Status_Code="Retrieved"))
    assert (receipt.kind, receipt.status) == ("mm4_delivery_report", "delivered")


def test_an_unknown_mm4_status_is_kept_raw_without_status() -> None:
    receipt = parse_mm4_report(mm4_report(X_Mms_MM_Status_Code="Pending-ish"))
    assert (receipt.status, receipt.state) == (None, "Pending-ish")


def test_a_read_status_in_a_delivery_report_is_not_a_status() -> None:
    assert parse_mm4_report(mm4_report(X_Mms_MM_Status_Code="Read")).status is None


def test_a_report_without_a_status_code_has_no_status() -> None:
    receipt = parse_mm4_report(mm4_report())
    assert (receipt.status, receipt.state) == (None, None)


@pytest.mark.parametrize(
    ("sender", "recipient"),
    [
        ("+13105551212/TYPE=PLMN@mms.carrier.example", "+13105551212"),
        ("+13105551212@mms.carrier.example", "+13105551212"),
        ("<+447700900123/TYPE=PLMN@mms.carrier.example>", "+447700900123"),
        ("13105551212/TYPE=PLMN@mms.carrier.example", "+13105551212"),
        ("12345@mms.carrier.example", "12345"),
        ("someone@example.com", None),
    ],
)
def test_the_reports_recipient_is_its_from_address(sender: str, recipient: str | None) -> None:
    receipt = parse_mm4_report(mm4_report(X_Mms_MM_Status_Code="Retrieved", From=sender))
    assert receipt.recipient == recipient


@pytest.mark.parametrize("form", [MM4_ID, f'"{MM4_ID}"', MM4_ID.strip("<>"), f"  {MM4_ID}  "])
def test_the_message_id_matches_the_forwarded_ones_however_it_is_quoted(form: str) -> None:
    receipt = parse_mm4_report(mm4_report(X_Mms_MM_Status_Code="Retrieved", X_Mms_Message_ID=form))
    assert receipt.mm4_message_id == MM4_ID


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Wed, 25 Nov 2026 17:21:00 +0100", datetime(2026, 11, 25, 16, 21, tzinfo=UTC)),
        ("Wed, 25 Nov 2026 16:21:00 -0000", datetime(2026, 11, 25, 16, 21, tzinfo=UTC)),
        ("25 Nov 2026 11:21:05 EST", datetime(2026, 11, 25, 16, 21, 5, tzinfo=UTC)),
        ("not a date", None),
    ],
)
def test_the_date_header_is_read_as_aware_utc(date: str, expected: datetime | None) -> None:
    receipt = parse_mm4_report(mm4_report(X_Mms_MM_Status_Code="Retrieved", Date=date))
    assert receipt.occurred_at == expected
    if receipt.occurred_at is not None:
        assert receipt.occurred_at.tzinfo is UTC


def test_the_status_text_becomes_a_clean_detail() -> None:
    text = "Délivré au +33 6 12 34 56 78, " + "y" * 300
    receipt = parse_mm4_report(mm4_report(X_Mms_MM_Status_Code="Retrieved", X_Mms_Status_Text=text))
    assert receipt.detail is not None
    assert receipt.detail.startswith("Délivré au [number], yyy")
    assert len(receipt.detail) == MAX_DETAIL


@pytest.mark.parametrize(
    ("read_status", "status"),
    [
        ("Read", "read"),
        ("READ", "read"),
        ("Deleted-without-being-read", "delivered"),
        ("deleted-without-being-read", "delivered"),
        ("Retrieved", None),
        ("Sideways", None),
    ],
)
def test_a_read_reply_is_normalised(read_status: str, status: str | None) -> None:
    raw = mm4_report("MM4_read_reply_report.REQ", X_Mms_Read_Status=read_status)
    receipt = parse_mm4_report(raw)
    assert receipt.kind == "mm4_read_reply"
    assert (receipt.status, receipt.state) == (status, read_status)
    assert receipt.mm4_message_id == MM4_ID
    assert receipt.recipient == "+13105551212"


@pytest.mark.parametrize(
    "raw",
    [
        mm4_report("MM4_forward.REQ"),
        mm4_report("MM4_delivery_report.RES"),
        mm4_report("MM4_read_reply_report.RES"),
        mm4_report(None),
        b"",
        b"\x00\xff garbage without headers",
        b"Subject: hello\r\n\r\nX-Mms-Message-Type: MM4_delivery_report.REQ\r\n",
    ],
)
def test_anything_but_a_report_is_refused(raw: bytes) -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_mm4_report(raw)
    assert caught.value.code == "not_an_mm4_report"


@pytest.mark.parametrize("message_type", ["MM4_delivery_report.REQ", "MM4_read_reply_report.REQ"])
@pytest.mark.parametrize("message_id", ["", '""', "<>"])
def test_a_report_without_a_message_id_is_refused(message_type: str, message_id: str) -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_mm4_report(mm4_report(message_type, X_Mms_Message_ID=message_id))
    assert caught.value.code == "no_message_id"


# --- import cost ------------------------------------------------------------------------------


def test_importing_the_parser_does_not_import_the_email_package() -> None:
    # Given a fresh interpreter that imports only the receipt parser
    root = Path(__file__).resolve().parents[3]
    code = "import sys, mmsrelay.receipts.parse; print(sorted(m for m in sys.modules if m.split('.')[0] == 'email'))"
    environment = {**os.environ, "PYTHONPATH": str(root / "layers" / "shared")}
    # When the modules it loaded are listed
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    # Then the email package is not among them (MM4 parsing imports it when first used)
    assert result.stdout.strip() == "[]"
