"""The receipt and no-receipt handlers as Lambda runs them, with the sample events, on moto."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import boto3
import pytest

from functions.no_receipt import app as no_receipt_app
from functions.receipts import app as receipts_app
from mmsrelay.domain.outbound import OutboundMessage, RecipientResult, SendResult, Transport
from mmsrelay.gateway_protocol.mm4_ids import mm4_message_key
from mmsrelay.storage.outbound import OutboundRepository
from mmsrelay.wiring import receipts as wiring
from tests.integration.conftest import REGION, TABLE, cold_function, create_messages_table
from tests.support import EVENT_PASSWORD, EVENT_USERNAME, LambdaContextStub, load_event

GUID = "11111111-2222-4333-8444-555555555555"  # the submit's GUID in events/dlr_*.json


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_messages_table(dynamodb)
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="webhook", SecretString=json.dumps({"username": EVENT_USERNAME, "password": EVENT_PASSWORD})
    )["ARN"]
    environment = {
        "MESSAGES_TABLE_NAME": TABLE,
        "WEBHOOK_CREDENTIALS_SECRET_ARN": secret,
        "MAX_WEBHOOK_BODY_BYTES": "262144",
        "RECEIPT_GUID_FIELD": "transactionGUID",
    }
    with cold_function(monkeypatch, environment, wiring.receipt_webhook, wiring.no_receipt_sweep):
        yield dynamodb


def post(name: str, change: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    event = load_event(name)
    event.update(change or {})
    answer = receipts_app.lambda_handler(event, LambdaContextStub())
    return answer["statusCode"], json.loads(answer["body"])


def status_of(dynamodb: Any, guid: str = GUID) -> str:
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}})["Item"]
    return str(item["status"]["S"])


def sent(dynamodb: Any, guid: str, recipients: tuple[str, ...], transport: Transport, at: datetime) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    message = OutboundMessage("demo-group-photos", "+12223334444", recipients, "hi", None, (), True)
    repository.job_queued(message.message_id, {}, transport, at)
    result = SendResult(transport, tuple(RecipientResult(n, guid) for n in recipients))
    repository.job_sent(message, result, at)


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("dlr_post_word.json", "delivered"),
        ("dlr_get_code.json", "enroute"),
        ("dlr_post_smpp_text.json", "undelivered"),
        ("dlr_json_carrier_event.json", "failed"),
    ],
)
def test_each_receipt_shape_moves_the_status(deployed: Any, event: str, status: str) -> None:
    code, body = post(event)
    assert (code, body["status"], body["transactionGUID"]) == (200, "advanced", GUID)
    assert status_of(deployed) == status


def test_the_order_of_receipts_does_not_matter(deployed: Any) -> None:
    post("dlr_post_word.json")  # delivered first
    code, body = post("dlr_get_code.json")  # then the late en-route
    assert (code, body["status"]) == (200, "kept_in_history")
    assert status_of(deployed) == "delivered"


def test_an_unknown_state_is_answered_200_and_kept(deployed: Any) -> None:
    post("dlr_get_code.json")
    code, body = post("dlr_post_unknown_state.json")
    assert (code, body["status"], body["deliveryStatus"]) == (200, "kept_in_history", None)
    assert status_of(deployed) == "enroute"


def test_a_receipt_without_a_guid_is_a_400_and_bad_credentials_a_401(deployed: Any) -> None:
    assert post("dlr_no_guid.json") == (400, {"error": "invalid_payload", "fields": ["transactionGUID"]})
    assert post("dlr_no_credentials.json")[0] == 401


@pytest.mark.parametrize("body", ["", "stat:", "%%%", "transactionGUID=not-a-guid&status=DELIVRD", "{]"])
def test_garbage_is_a_4xx_never_a_5xx(deployed: Any, body: str) -> None:
    assert 400 <= post("dlr_post_word.json", {"body": body})[0] < 500


def test_an_mm4_delivery_report_finds_its_transaction_by_message_id_and_recipient(deployed: Any) -> None:
    # Given a group sent over MM4 whose reports name the message by X-Mms-Message-ID
    guid = "99999999-8888-4777-8666-555555555555"
    sent(deployed, guid, ("+13105550201",), "mm4", datetime(2026, 11, 25, 17, 0, tzinfo=UTC))
    event = load_event("dlr_mm4_delivery_report.json")
    event["body"] = event["body"].replace("3c8a2f0e9b1d4e7f8a6c5b4d3e2f1a0b", mm4_message_key("demo-group-photos"))
    answer = receipts_app.lambda_handler(event, LambdaContextStub())
    assert (answer["statusCode"], json.loads(answer["body"])["transactionGUID"]) == (200, guid)
    assert status_of(deployed, guid) == "delivered"


@pytest.mark.parametrize("named_as", ["<{guid}@mmsc.aerialink.net>", "{guid}", "<{{{lower}}}>"])
def test_an_mm4_report_naming_the_gateways_transaction_guid_moves_that_transaction(
    deployed: Any, named_as: str
) -> None:
    # Given a message sent over MM4 whose GUID came back in the gateway's reply to DATA
    guid = "99999999-8888-4777-8666-555555555555"
    sent(deployed, guid, ("+13105550201",), "mm4", datetime(2026, 11, 25, 17, 0, tzinfo=UTC))
    # When the gateway's report names that GUID as X-Mms-Message-ID (bracketed, bare, any case)
    event = load_event("dlr_mm4_delivery_report.json")
    event["body"] = event["body"].replace(
        "<3c8a2f0e9b1d4e7f8a6c5b4d3e2f1a0b@mmsc.aerialink.net>", named_as.format(guid=guid, lower=guid.lower())
    )
    answer = receipts_app.lambda_handler(event, LambdaContextStub())
    # Then the transaction of that GUID moves, without the Message-ID index
    assert (answer["statusCode"], json.loads(answer["body"])["transactionGUID"]) == (200, guid)
    assert status_of(deployed, guid) == "delivered"
    # And its history keeps what the report said (X-Mms-Status-Text), as well as its state
    item = deployed.get_item(TableName=TABLE, Key={"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}})["Item"]
    last = item["history"]["L"][-1]["M"]
    assert last["state"] == {"S": "Retrieved"}
    assert last["detail"] == {"S": "Message retrieved by the recipient"}


def test_an_mm4_report_naming_a_forward_not_recorded_yet_is_asked_for_again_then_applied(deployed: Any) -> None:
    # Given a report naming our forward's Message-ID, posted before its send is recorded
    event = load_event("dlr_mm4_delivery_report.json")
    ours = f"<{mm4_message_key('demo-group-photos')}@mmsc.aerialink.net>"
    event["body"] = (
        event["body"]
        .replace("<3c8a2f0e9b1d4e7f8a6c5b4d3e2f1a0b@mmsc.aerialink.net>", ours)
        .replace("Wed, 25 Nov 2026 17:06:00 +0000", format_datetime(datetime.now(UTC)))
    )
    # When the gateway posts it, Then it is answered 503 with Retry-After (a 200 would lose it)
    early = receipts_app.lambda_handler(event, LambdaContextStub())
    assert (early["statusCode"], early["headers"]["Retry-After"]) == (503, "30")
    # And once the send is recorded, the gateway's next post applies it
    sent(deployed, GUID, ("+13105550201",), "mm4", datetime.now(UTC))
    again = receipts_app.lambda_handler(event, LambdaContextStub())
    assert (again["statusCode"], json.loads(again["body"])["status"]) == (200, "advanced")
    assert status_of(deployed) == "delivered"


def test_an_mm4_report_naming_a_message_id_we_never_make_is_answered_but_matches_nothing(deployed: Any) -> None:
    # The sample names a key of our forwards' shape that no send carries, dated long ago: no send
    # is about to be recorded for it, so it is not asked for again
    code, body = post("dlr_mm4_delivery_report.json")
    assert (code, body["status"]) == (200, "unmatched")
    event = load_event("dlr_mm4_delivery_report.json")
    event["body"] = event["body"].replace(
        "<3c8a2f0e9b1d4e7f8a6c5b4d3e2f1a0b@mmsc.aerialink.net>", "<dr-elsewhere-17@mmsc.aerialink.net>"
    )
    answer = receipts_app.lambda_handler(event, LambdaContextStub())
    assert (answer["statusCode"], json.loads(answer["body"])["status"]) == (200, "unmatched")


MM4_GUID = "99999999-8888-4777-8666-555555555555"


def post_mm4(raw: bytes) -> tuple[int, dict[str, Any]]:
    """``raw`` posted to /dlr/mm4 as API Gateway passes a binary body (base64)."""
    event = load_event("dlr_mm4_delivery_report.json")
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True
    answer = receipts_app.lambda_handler(event, LambdaContextStub())
    return answer["statusCode"], json.loads(answer["body"])


def mm4_report_for(message_id: str, *lines: bytes, body: bytes = b"") -> bytes:
    headers = [
        b"X-Mms-3GPP-MMS-Version: 6.10.0",
        b"X-Mms-Message-Type: MM4_delivery_report.REQ",
        b"X-Mms-Message-ID: " + message_id.encode(),
        b"From: +13105550201/TYPE=PLMN@mmsc.aerialink.net",
        *lines,
    ]
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


OURS = f"<{mm4_message_key('demo-group-photos')}@mmsc.aerialink.net>"
NESTING = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (n, n + 1) for n in range(3000))


@pytest.mark.parametrize(
    ("raw", "code", "outcome", "status"),
    [
        (mm4_report_for("<@mmsc.aerialink.net>", b"X-Mms-MM-Status-Code: Retrieved"), 200, "unmatched", "sent"),
        (mm4_report_for("<" + "a" * 5000 + ">", b"X-Mms-MM-Status-Code: Retrieved"), 200, "unmatched", "sent"),
        (mm4_report_for(OURS, b"X-Mms-MM-Status-Code: Retrieved\xe9\x00\x1b"), 200, "kept_in_history", "sent"),
        (mm4_report_for(OURS, b"X-Mms-MM-Status-Code: Expired\rX-Mms-MM-Status-Code: Retrieved"), 400, None, "sent"),
        (mm4_report_for(OURS, b"X-Mms-MM-Status-Code: Expired\r\nX-Mms-Message-ID: <x@y>"), 400, None, "sent"),
        (b"\x00\xff\xfe garbage \r\n\r\n" * 100, 400, None, "sent"),
        (mm4_report_for(OURS, b"X-Mms-MM-Status-Code: Retrieved", b"X-Pad: " + b"p" * 300_000), 413, None, "sent"),
        (
            mm4_report_for(
                OURS, b"X-Mms-MM-Status-Code: Retrieved", b"Content-Type: multipart/mixed; boundary=b0", body=NESTING
            ),
            200,
            "advanced",
            "delivered",
        ),
    ],
    ids=["empty-key", "huge-id", "not-utf-8", "bare-cr", "crlf-second-id", "garbage", "too-large", "nested"],
)
def test_a_hostile_mm4_report_is_refused_or_neutralised_never_a_5xx(
    deployed: Any, raw: bytes, code: int, outcome: str | None, status: str
) -> None:
    # Given a message sent over MM4
    sent(deployed, MM4_GUID, ("+13105550201",), "mm4", datetime(2026, 11, 25, 17, 0, tzinfo=UTC))
    # When a hostile report is posted
    answered, body = post_mm4(raw)
    # Then it is refused (4xx) or applied as what it can safely be, and the status is only moved by a real report
    assert answered == code, body
    assert body.get("status") == outcome
    assert status_of(deployed, MM4_GUID) == status


def test_an_undecodable_state_is_kept_as_text_any_store_can_hold(deployed: Any) -> None:
    sent(deployed, MM4_GUID, ("+13105550201",), "mm4", datetime(2026, 11, 25, 17, 0, tzinfo=UTC))
    post_mm4(mm4_report_for(OURS, b"X-Mms-MM-Status-Code: Retrieved\xe9\x00\x1b[2J"))
    item = deployed.get_item(TableName=TABLE, Key={"pk": {"S": f"TX#{MM4_GUID}"}, "sk": {"S": "TX"}})["Item"]
    assert item["history"]["L"][-1]["M"]["state"] == {"S": "Retrieved\ufffd[2J"}


def test_the_sweep_moves_overdue_sends_to_no_receipt(deployed: Any) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=80)
    sent(deployed, GUID, ("+13105550201",), "https", long_ago)
    answer = no_receipt_app.lambda_handler({"source": "aws.events"}, LambdaContextStub())
    assert answer == {"marked": 1, "cleared": 0}
    assert status_of(deployed) == "no_receipt"
    assert no_receipt_app.lambda_handler({}, LambdaContextStub()) == {"marked": 0, "cleared": 0}
