"""Receipts read from HTTP callbacks, carrier error events, SMPP receipt texts and MM4 reports."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mmsrelay.domain.errors import PermanentError
from mmsrelay.gateway_protocol.mm4_mime import derive_message_ids
from mmsrelay.receipts.model import ReceiptError
from mmsrelay.receipts.parse import (
    MAX_DETAIL,
    MAX_STATUS_TEXT,
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


# --- hostile HTTP receipts -----------------------------------------------------------------------

# The pattern the receipt-text test replaced: equivalent, but quadratic on values like "id:id:id:...".
QUADRATIC_RECEIPT_TEXT = re.compile(r"(?<![a-z0-9_])id\s*:.*?(?<![a-z0-9_])stat\s*:", re.IGNORECASE | re.DOTALL)


@given(st.lists(st.sampled_from(["id", "ID", "stat", "Stat", ":", " ", "\n", "x", "_", "1"]), max_size=24))
@settings(max_examples=500, deadline=None)
def test_a_receipt_text_is_told_as_the_single_pattern_told_it(parts: list[str]) -> None:
    # Given any value made of receipt-text pieces, as a receipt's state
    value = "".join(parts).strip()
    assume(value)
    # When the receipt is read
    receipt = parse_http_receipt({"transactionGUID": [GUID], "status": [value]})
    # Then the value is taken as the state exactly when "id: ... stat:" does not match it
    taken_as_state = receipt.kind == "http" and receipt.state == value[:64]
    assert taken_as_state == (QUADRATIC_RECEIPT_TEXT.search(value) is None)


@pytest.mark.parametrize("value", ["id:" * 80_000, "id: " * 60_000 + "x", "id:" + "stat" * 60_000])
def test_a_huge_value_of_receipt_keys_is_read_in_linear_time(value: str) -> None:
    # Given a field of 240 KB that repeats "id:" (one pattern "id:.*?stat:" rescans the rest of
    # the value from each "id:": minutes of CPU, ended by the suite's timeout)
    fields: Fields = {"transactionGUID": [GUID], "status": [value], "detail": [value]}
    # When the receipt is read
    receipt = parse_http_receipt(fields)
    # Then it is read: no receipt text, the value kept as an unknown state, cut
    assert receipt.transaction_guid == GUID
    assert receipt.status is None
    assert receipt.state == value.strip()[:64]


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


# --- hostile MM4 reports ------------------------------------------------------------------------
# Anyone can mail the MM4 reports domain (SES stores what it receives), and POST /dlr/mm4 takes
# whatever the gateway's MMSC relays: each hostile shape is refused (a ReceiptError, answered 400
# or counted as refused) or neutralised (read as text that any store or log can take).

MESSAGE_KEY = MM4_ID.strip("<>").split("@")[0]


def raw_report(*lines: bytes, body: bytes = b"") -> bytes:
    """A delivery report as raw bytes: its usual headers, then ``lines`` (``b"Name: value"``)."""
    headers = [
        b"X-Mms-3GPP-MMS-Version: 6.10.0",
        b"X-Mms-Message-Type: MM4_delivery_report.REQ",
        b"X-Mms-Message-ID: " + MM4_ID.encode(),
        b"From: +13105551212/TYPE=PLMN@mms.carrier.example",
        *lines,
    ]
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


def storable(text: str | None) -> bool:
    """What a DynamoDB item and a JSON log line can hold: UTF-8-encodable, printable, one line."""
    if text is None:
        return True
    text.encode("utf-8")  # a lone surrogate (an undecoded byte) raises here
    return text.isprintable()


@pytest.mark.parametrize(
    "raw",
    [
        b"X-Mms-Message-Type MM4_delivery_report.REQ\r\nX-Mms-Message-ID: <a@b>\r\n\r\n",  # no colon
        b": MM4_delivery_report.REQ\r\n\r\n",  # no name
        b"\r\n" + raw_report(b"X-Mms-MM-Status-Code: Retrieved"),  # the headers start in the body
        b"\x00" * 64 + raw_report(b"X-Mms-MM-Status-Code: Retrieved"),  # binary before the headers
        b"\xef\xbb\xbf" + raw_report(b"X-Mms-MM-Status-Code: Retrieved"),  # a byte-order mark first
        b"--boundary\r\nContent-Type: text/plain\r\n\r\nX-Mms-Message-Type: MM4_delivery_report.REQ\r\n",
    ],
    ids=["no-colon", "no-name", "blank-first", "nul-first", "bom-first", "a-part-without-its-message"],
)
def test_malformed_mime_is_refused_as_no_report(raw: bytes) -> None:
    # Given bytes that are not a well-formed message whose headers make a report
    # When they are parsed
    # Then they are refused as no report, not misread and not crashed on
    with pytest.raises(ReceiptError) as caught:
        parse_mm4_report(raw)
    assert caught.value.code == "not_an_mm4_report"


@pytest.mark.parametrize(
    "raw",
    [
        raw_report(b"X-Mms-MM-Status-Code: Retrieved").replace(b"\r\n", b"\n"),  # bare LF line ends
        raw_report(b"X-Mms-MM-Status-Code: Retrieved")[:-4],  # cut before the blank line
        raw_report(b"X-Mms-MM-Status-Code: Retrieved", b"X-Broken-Line-Without-Colon"),
        raw_report(b"X-Mms-MM-Status-Code: Retrieved", b"X-Empty:"),
    ],
    ids=["lf-only", "truncated-headers", "a-bad-line-after", "an-empty-header"],
)
def test_a_report_with_sloppy_framing_is_still_read_from_its_headers(raw: bytes) -> None:
    receipt = parse_mm4_report(raw)
    assert (receipt.kind, receipt.status, receipt.mm4_message_id) == ("mm4_delivery_report", "delivered", MM4_ID)


def test_a_deeply_nested_multipart_body_is_never_walked() -> None:
    # Given a report whose body nests 5,000 multiparts (the full parser recurses into each one
    # and gives up with a RecursionError at about 2,000)
    nesting = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level, level + 1) for level in range(5000)
    )
    raw = raw_report(b"X-Mms-MM-Status-Code: Retrieved", b"Content-Type: multipart/mixed; boundary=b0", body=nesting)
    # When it is parsed
    receipt = parse_mm4_report(raw)
    # Then the report is read from its headers alone
    assert (receipt.status, receipt.mm4_message_id) == ("delivered", MM4_ID)


def test_huge_headers_are_read_within_bounds() -> None:
    # Given a report within the webhook's body limit (256 KiB): a 60 KB header, 4,000 more
    # headers, and a status text of 4,000 encoded words
    raw = raw_report(
        b"X-Mms-MM-Status-Code: Retrieved",
        b"X-Padding: " + b"p" * 60_000,
        *(b"X-Extra-%d: x" % number for number in range(4000)),
        b"X-Mms-Status-Text: " + b" ".join([b"=?utf-8?q?caf=C3=A9?="] * 4000),
    )
    assert len(raw) < 256 * 1024
    # When it is parsed
    receipt = parse_mm4_report(raw)
    # Then the report is read, and its detail stays one bounded line
    assert receipt.status == "delivered"
    assert receipt.detail is not None
    assert receipt.detail.startswith("café")
    assert len(receipt.detail) == MAX_DETAIL


def test_only_the_start_of_a_huge_status_text_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a status text of 200,000 characters of encoded words, and the decoder watched
    import email.header  # noqa: PLC0415 - the module whose function is watched

    seen: list[int] = []
    decode = email.header.decode_header

    def watched(header: str) -> object:
        seen.append(len(header))
        return decode(header)

    monkeypatch.setattr(email.header, "decode_header", watched)
    raw = raw_report(b"X-Mms-MM-Status-Code: Retrieved", b"X-Mms-Status-Text: " + b"=?utf-8?q?a?= " * 15_000)
    # When it is parsed
    parse_mm4_report(raw)
    # Then the decoder saw a bounded prefix, not the whole value
    assert seen
    assert max(seen) <= MAX_STATUS_TEXT


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (b"Retrieved\xe9", "Retrieved\ufffd"),  # Latin-1, not UTF-8
        (b"Retrieved\xff\xfe", "Retrieved\ufffd\ufffd"),  # never UTF-8
        (b"Retri\xc3\xa9ved", "Retriéved"),  # UTF-8 sent raw (8-bit): decoded
        (b"Retrieved\xc3", "Retrieved\ufffd"),  # UTF-8 cut in the middle of a character
    ],
    ids=["latin-1", "invalid", "raw-utf-8", "cut-utf-8"],
)
def test_a_header_that_is_not_utf_8_is_decoded_with_replacement_characters(status: bytes, state: str) -> None:
    # Given a status whose bytes are not (all) UTF-8
    # When the report is parsed
    receipt = parse_mm4_report(raw_report(b"X-Mms-MM-Status-Code: " + status))
    # Then the state is text every store and log can take: each undecodable byte is U+FFFD
    assert receipt.state == state
    assert storable(receipt.state)
    assert receipt.status is None  # and an unknown word moves nothing


def test_non_utf_8_bytes_in_every_header_read_give_storable_text() -> None:
    raw = raw_report(
        b"X-Mms-MM-Status-Code: \xffRetrieved",
        b"X-Mms-Status-Text: d\xe9livr\xe9 \xc3\x28",
        b"Date: Wed, 25 Nov 2026 17:21:00 +0100\xff",
    ).replace(MM4_ID.encode(), b"<\xfe" + MESSAGE_KEY.encode() + b"@mmsc\xff.example>")
    receipt = parse_mm4_report(raw)
    assert all(storable(text) for text in (receipt.state, receipt.detail, receipt.mm4_message_id, receipt.recipient))
    assert receipt.mm4_message_id == f"<\ufffd{MESSAGE_KEY}@mmsc\ufffd.example>"


@pytest.mark.parametrize(
    "injected",
    [
        b"X-Mms-MM-Status-Code: Expired\r\nX-Mms-Message-ID: <other@mmsc.example>",  # a second message id
        b"X-Mms-MM-Status-Code: Expired\rX-Mms-Message-ID: <other@mmsc.example>",  # through a bare CR
        b"X-Mms-MM-Status-Code: Expired\nX-Mms-MM-Status-Code: Retrieved",  # a second status, bare LF
        b"X-Mms-MM-Status-Code: Expired\r\nX-Mms-Message-Type: MM4_forward.REQ",  # a second type
        b"X-Mms-MM-Status-Code: Expired\r\nFrom: +13105559999@mmsc.example",  # a second recipient
        b"Date: Wed, 25 Nov 2026 17:21:00 +0100\r\nDate: Thu, 01 Jan 2099 00:00:00 +0000",  # a second date
        b"X-Mms-Read-Status: Read\r\nX-Mms-Read-Status: Deleted-without-being-read",
    ],
    ids=["message-id", "bare-cr", "status-bare-lf", "message-type", "from", "date", "read-status"],
)
def test_a_deciding_header_given_twice_is_refused_as_ambiguous(injected: bytes) -> None:
    # Given a report where a line break in a value added a second copy of a deciding header
    # When it is parsed
    # Then it is refused: which copy is the report's own cannot be told
    with pytest.raises(ReceiptError) as caught:
        parse_mm4_report(raw_report(injected))
    assert caught.value.code == "ambiguous_report"


def test_an_encoded_line_break_in_the_status_text_stays_on_one_line() -> None:
    # Given a status text whose encoded words decode to CR LF and a header-like line
    raw = raw_report(
        b"X-Mms-MM-Status-Code: Retrieved",
        b"X-Mms-Status-Text: =?utf-8?q?ok=0D=0AX-Mms-MM-Status-Code:_Rejected=0D=0A=00=1B[2J?=",
    )
    # When the report is parsed
    receipt = parse_mm4_report(raw)
    # Then the detail is one printable line, and the status is the report's own
    assert receipt.detail == "ok X-Mms-MM-Status-Code: Rejected [2J"
    assert receipt.status == "delivered"


def test_control_characters_in_a_value_are_dropped_and_folding_is_undone() -> None:
    raw = raw_report(b"X-Mms-MM-Status-Code: Re\x00tri\x1b\x7feved\r\n\t ")
    receipt = parse_mm4_report(raw)
    assert (receipt.state, receipt.status) == ("Retrieved", "delivered")


@given(noise=st.binary(max_size=64))
@settings(max_examples=200, deadline=None)
def test_any_bytes_in_any_value_give_a_receipt_of_storable_text_or_a_refusal(noise: bytes) -> None:
    # Given arbitrary bytes (line breaks, NULs, invalid UTF-8 included) in each value a report is read from
    raw = raw_report(
        b"X-Mms-MM-Status-Code: Retrieved" + noise,
        b"X-Mms-Status-Text: note " + noise,
        b"Date: Wed, 25 Nov 2026 17:21:00 +0100" + noise,
    ).replace(MM4_ID.encode(), MM4_ID.encode() + noise)
    # When it is parsed
    try:
        receipt = parse_mm4_report(raw)
    except ReceiptError:
        return  # Then it is refused for a stated reason,
    # or read as text that any store and log can take
    assert all(storable(text) for text in (receipt.state, receipt.detail, receipt.mm4_message_id, receipt.recipient))
    assert receipt.state is None or len(receipt.state) <= 64
