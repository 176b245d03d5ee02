"""The MM4 report function as Lambda runs it: the S3 event sample and a report SES stored, on moto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from functions.mm4_reports import app as mm4_reports_app
from mmsrelay import aws as clients
from mmsrelay.domain.outbound import OutboundMessage, RecipientResult, SendResult
from mmsrelay.gateway_protocol.mm4_ids import mm4_message_key
from mmsrelay.receipts.apply import ReportAwaitsItsSend
from mmsrelay.storage.errors import StorageUnavailable
from mmsrelay.storage.outbound import OutboundRepository
from mmsrelay.wiring import receipts as wiring
from tests.integration.conftest import REGION, TABLE, cold_function, create_messages_table
from tests.support import EVENTS, LambdaContextStub, load_event

BUCKET = "mms-relay-dev-mediabucket-example"  # as events/mm4_report_s3.json names it
GUID = "99999999-8888-4777-8666-555555555555"
SAMPLE_MESSAGE_ID = "<3c8a2f0e9b1d4e7f8a6c5b4d3e2f1a0b@mmsc.aerialink.net>"  # in events/mm4_report_stored.eml


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_messages_table(dynamodb)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    environment = {"MESSAGES_TABLE_NAME": TABLE, "MAX_MM4_REPORT_BYTES": "262144"}
    with cold_function(monkeypatch, environment, wiring.mailed_report):
        yield dynamodb, s3


def sent_over_mm4(dynamodb: Any) -> None:
    repository = OutboundRepository(dynamodb, TABLE, timedelta(days=30), timedelta(hours=72))
    message = OutboundMessage("demo-group-photos", "+12223334444", ("+13105550201",), "hi", None, (), True)
    at = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    repository.job_queued(message.message_id, {}, "mm4", at)
    repository.job_sent(message, SendResult("mm4", (RecipientResult("+13105550201", GUID),)), at)


SAMPLE_DATE = "Wed, 25 Nov 2026 17:06:00 +0000"


def stored_report(s3: Any, key: str, *changes: tuple[str, str], body: bytes = b"") -> dict[str, Any]:
    """SES's sample message stored under ``key`` (with ``changes``: (old, new) texts, a lone
    surrogate standing for a byte that is not UTF-8; ``body`` appended); its S3 event."""
    raw = (EVENTS / "mm4_report_stored.eml").read_bytes()
    for old, new in changes:
        assert old.encode() in raw
        raw = raw.replace(old.encode(), new.encode("utf-8", "surrogateescape"), 1)
    raw += body
    s3.put_object(Bucket=BUCKET, Key=key, Body=raw)
    event = load_event("mm4_report_s3.json")
    event["Records"][0]["s3"]["object"]["key"] = key.replace(" ", "+")  # as S3 encodes keys in events
    return event


def invoke(event: dict[str, Any]) -> list[str]:
    outcomes: list[str] = mm4_reports_app.lambda_handler(event, LambdaContextStub())["outcomes"]
    return outcomes


def status_of(dynamodb: Any) -> str:
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"TX#{GUID}"}, "sk": {"S": "TX"}})["Item"]
    return str(item["status"]["S"])


@pytest.mark.parametrize("named_as", ["our Message-ID", "the gateway's GUID"])
def test_a_stored_report_moves_its_transaction(deployed: tuple[Any, Any], named_as: str) -> None:
    dynamodb, s3 = deployed
    # Given an MM4 send, and SES storing the gateway's delivery report for it
    sent_over_mm4(dynamodb)
    ours = f"<{mm4_message_key('demo-group-photos')}@mmsc.aerialink.net>"
    message_id = ours if named_as == "our Message-ID" else GUID
    key = "mm4-reports/o3vq2m6kd5b9r0m5ve1u8jq1p0a7nh4c2g3example"
    event = stored_report(s3, key, (SAMPLE_MESSAGE_ID, message_id))
    # When the object's creation invokes the function
    outcomes = invoke(event)
    # Then the report is applied as POST /dlr/mm4 would apply it
    assert outcomes == ["advanced"]
    assert status_of(dynamodb) == "delivered"


def test_the_sample_event_reads_the_sample_object(deployed: tuple[Any, Any]) -> None:
    _, s3 = deployed
    event = load_event("mm4_report_s3.json")
    key = event["Records"][0]["s3"]["object"]["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=(EVENTS / "mm4_report_stored.eml").read_bytes())
    assert event["Records"][0]["s3"]["object"]["size"] == len((EVENTS / "mm4_report_stored.eml").read_bytes())
    # The sample names a forward this table has no send for, dated long ago: read, parsed and
    # unmatched (a recent one would be raised for Lambda to try again: the test below)
    assert invoke(event) == ["unmatched"]


def test_a_report_stored_before_its_send_was_recorded_applies_when_lambda_retries(deployed: tuple[Any, Any]) -> None:
    dynamodb, s3 = deployed
    ours = f"<{mm4_message_key('demo-group-photos')}@mmsc.aerialink.net>"
    now = format_datetime(datetime.now(UTC))
    event = stored_report(s3, "mm4-reports/early", (SAMPLE_MESSAGE_ID, ours), (SAMPLE_DATE, now))
    with pytest.raises(ReportAwaitsItsSend):
        invoke(event)
    sent_over_mm4(dynamodb)
    assert invoke(event) == ["advanced"]
    assert status_of(dynamodb) == "delivered"


def test_an_encoded_key_is_read_decoded(deployed: tuple[Any, Any]) -> None:
    dynamodb, s3 = deployed
    sent_over_mm4(dynamodb)
    event = stored_report(s3, "mm4-reports/with space", (SAMPLE_MESSAGE_ID, GUID))
    assert invoke(event) == ["advanced"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("X-SES-Spam-Verdict: PASS", "X-SES-Spam-Verdict: FAIL"), "spam"),
        (("X-SES-Virus-Verdict: PASS", "X-SES-Virus-Verdict: FAIL"), "virus"),
        (("MM4_delivery_report.REQ", "MM4_forward.REQ"), "not_an_mm4_report"),
        (("X-Mms-Message-ID:", "X-Other-ID:"), "no_message_id"),
    ],
)
def test_what_is_not_a_trustworthy_report_is_refused_and_changes_nothing(
    deployed: tuple[Any, Any], change: tuple[str, str], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    dynamodb, s3 = deployed
    # Given an MM4 send, and a stored message naming it that is not a report SES vouched for
    sent_over_mm4(dynamodb)
    event = stored_report(s3, "mm4-reports/suspect", (SAMPLE_MESSAGE_ID, GUID), change)
    # When it is read, it is refused, and the transaction keeps its status
    assert invoke(event) == ["refused"]
    assert status_of(dynamodb) == "sent"
    assert any(getattr(record, "reason", None) == reason for record in caplog.records)


OURS = f"<{mm4_message_key('demo-group-photos')}@mmsc.aerialink.net>"
NESTING = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (n, n + 1) for n in range(3000))


@pytest.mark.parametrize(
    ("changes", "body", "outcome", "status"),
    [
        (((SAMPLE_MESSAGE_ID, "<@mmsc.aerialink.net>"),), b"", "unmatched", "sent"),
        (((SAMPLE_MESSAGE_ID, "<" + "a" * 5000 + ">"),), b"", "unmatched", "sent"),
        (((SAMPLE_MESSAGE_ID, OURS), ("Retrieved", "Retrieved\udce9\x00")), b"", "kept_in_history", "sent"),
        (
            ((SAMPLE_MESSAGE_ID, OURS), ("Retrieved", "Expired\rX-Mms-MM-Status-Code: Retrieved")),
            b"",
            "refused",
            "sent",
        ),
        (
            (
                (SAMPLE_MESSAGE_ID, OURS),
                ("X-SES-Spam-Verdict: PASS", "X-SES-Spam-Verdict: FAIL"),  # SES's verdict, on top
                ("X-Mms-3GPP", "X-SES-Spam-Verdict: PASS\r\nX-Mms-3GPP"),  # the sender's forgery, below
            ),
            b"",
            "refused",
            "sent",
        ),
        (
            ((SAMPLE_MESSAGE_ID, OURS), ("Date:", "Content-Type: multipart/mixed; boundary=b0\r\nDate:")),
            NESTING,
            "advanced",
            "delivered",
        ),
    ],
    ids=["empty-key", "huge-id", "not-utf-8", "bare-cr", "a-pass-forged-below-ses-fail", "nested"],
)
def test_a_hostile_stored_message_is_refused_or_neutralised_and_never_retried(
    deployed: tuple[Any, Any], changes: tuple[tuple[str, str], ...], body: bytes, outcome: str, status: str
) -> None:
    dynamodb, s3 = deployed
    # Given an MM4 send, and SES storing a hostile message (anyone may mail the reports domain)
    sent_over_mm4(dynamodb)
    event = stored_report(s3, "mm4-reports/hostile", *changes, body=body)
    # When the object's creation invokes the function, it answers (a raise would be retried)
    assert invoke(event) == [outcome]
    # And only a real report moves the transaction
    assert status_of(dynamodb) == status


def test_ses_setup_notification_and_oversized_or_missing_objects_are_refused(deployed: tuple[Any, Any]) -> None:
    _, s3 = deployed
    s3.put_object(
        Bucket=BUCKET,
        Key="mm4-reports/AMAZON_SES_SETUP_NOTIFICATION",
        Body=b"This is a test message that Amazon SES sends when you add an S3 action.\r\n",
    )
    event = load_event("mm4_report_s3.json")
    event["Records"][0]["s3"]["object"]["key"] = "mm4-reports/AMAZON_SES_SETUP_NOTIFICATION"
    assert invoke(event) == ["refused"]
    s3.put_object(Bucket=BUCKET, Key="mm4-reports/huge", Body=b"X-Mms-Message-Type: x\r\n" + b"a" * 300_000)
    event["Records"][0]["s3"]["object"]["key"] = "mm4-reports/huge"
    assert invoke(event) == ["refused"]
    event["Records"][0]["s3"]["object"]["key"] = "mm4-reports/gone"
    assert invoke(event) == ["refused"]


def test_storage_that_does_not_answer_fails_the_invocation_so_lambda_retries_it(deployed: tuple[Any, Any]) -> None:
    dynamodb, s3 = deployed
    sent_over_mm4(dynamodb)
    event = stored_report(s3, "mm4-reports/retry-me", (SAMPLE_MESSAGE_ID, GUID))
    unreachable = EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")
    with (
        mock.patch.object(clients.s3_client(), "get_object", side_effect=unreachable),
        pytest.raises(StorageUnavailable),
    ):
        invoke(event)
    # And once storage answers again, the retried event applies the report
    assert invoke(event) == ["advanced"]
    assert status_of(dynamodb) == "delivered"
