"""Delivery receipts on the deployed local stack: jobs sent through the queue, then the simulated
gateway posting receipts to the deployed /dlr (and MM4 reports to /dlr/mm4)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.ses import store_as_ses
from devstack.stack import DeployedStack
from gatewaysim import images
from gatewaysim.receipts import Mm4ReportBuilder, ReceiptSender, receipts_for_http, reports_for_mm4
from gatewaysim.simulator import GatewaySimulator
from tests.system.conftest import eventually, function_logs
from tests.system.test_outbound import finished, put_job, unique_number

pytestmark = pytest.mark.system


@pytest.fixture
def receipts(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]
) -> Iterator[ReceiptSender]:
    with simulator.receipt_sender(
        f"{local_stack.api_url}/dlr", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as sender:
        yield sender


def transaction(stack: DeployedStack, guid: str) -> dict[str, Any]:
    item = stack.transaction_item(guid)
    assert item is not None, f"no TX#{guid}"
    return item


def https_send(stack: DeployedStack, simulator: GatewaySimulator) -> tuple[str, Any]:
    """One HTTPS job asking for a receipt, sent; returns its GUID and what the gateway got."""
    number = unique_number()
    message_id = f"sys-dlr-{uuid.uuid4().hex[:8]}"
    put_job(
        stack,
        {
            "messageId": message_id,
            "from": "12223334444",
            "to": [number],
            "text": "tracking",
            "media": [{"url": "https://cdn.example.com/t.jpg"}],
            "deliveryReport": True,
        },
    )
    item = eventually(lambda: finished(stack, message_id), timeout=60)
    assert item["status"]["S"] == "sent"
    (sent,) = [m for m in simulator.http_api.sent if m.destination == number.lstrip("+")]
    return sent.transaction_guid, sent


@pytest.mark.parametrize(
    ("states", "order", "duplicates", "final"),
    [
        pytest.param(["ENROUTE", "DELIVRD"], "in_order", 0, "delivered", id="delivered"),
        pytest.param(["ENROUTE", "UNDELIV"], "in_order", 0, "undelivered", id="undelivered"),
        pytest.param(["ENROUTE", "DELIVRD"], "reversed", 0, "delivered", id="early-final-then-late-enroute"),
        pytest.param(["ACCEPTD", "DELIVRD"], "shuffled", 2, "delivered", id="duplicated-and-shuffled"),
    ],
)
def test_receipts_move_the_status_forward_whatever_their_order(
    local_stack: DeployedStack,
    simulator: GatewaySimulator,
    receipts: ReceiptSender,
    states: list[str],
    order: str,
    duplicates: int,
    final: str,
) -> None:
    guid, sent = https_send(local_stack, simulator)
    posted = receipts.send_many(receipts_for_http(sent, states), order=order, duplicates=duplicates, seed=3)  # type: ignore[arg-type]
    assert [delivery.result.status_code for delivery in posted] == [200] * len(posted)
    item = transaction(local_stack, guid)
    assert item["status"]["S"] == final
    assert len(item["history"]["L"]) == 1 + len(posted)  # the send, then every receipt, kept


def test_each_receipt_format_is_understood(
    local_stack: DeployedStack, simulator: GatewaySimulator, receipts: ReceiptSender
) -> None:
    for receipt_format, method, state, final in [
        ("code", "GET", "40001", "delivered"),
        ("smpp_text", "POST", "REJECTD", "rejected"),
        ("carrier_event", "JSON", "9802", "failed"),
    ]:
        guid, sent = https_send(local_stack, simulator)
        (receipt,) = receipts_for_http(sent, [state], format=receipt_format)  # type: ignore[arg-type]
        result = receipts.send(receipt, method=method)  # type: ignore[arg-type]
        assert result.status_code == 200, result.body
        assert transaction(local_stack, guid)["status"]["S"] == final, receipt_format


def test_a_receipt_with_wrong_credentials_is_refused(
    local_stack: DeployedStack, simulator: GatewaySimulator, receipts: ReceiptSender
) -> None:
    guid, sent = https_send(local_stack, simulator)
    (receipt,) = receipts_for_http(sent, ["DELIVRD"])
    assert receipts.send(receipt, credentials="wrong").status_code == 401
    assert transaction(local_stack, guid)["status"]["S"] == "sent"


def test_an_mm4_delivery_report_posted_raw_reaches_its_recipient(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]
) -> None:
    bucket = local_stack.outputs["MediaBucketName"]
    local_stack.client("s3").put_object(
        Bucket=bucket, Key="outbound/system/dlr.png", Body=images.png(), ContentType="image/png"
    )
    numbers = [unique_number(), unique_number()]
    message_id = f"sys-mm4-dlr-{uuid.uuid4().hex[:8]}"
    put_job(
        local_stack,
        {
            "messageId": message_id,
            "from": "+12223334444",
            "to": numbers,
            "text": "group",
            "media": [{"s3": f"s3://{bucket}/outbound/system/dlr.png"}],
            "deliveryReport": True,
        },
    )
    item = eventually(lambda: finished(local_stack, message_id), timeout=60)
    guids = {r["M"]["number"]["S"]: r["M"]["transactionGuid"]["S"] for r in item["recipients"]["L"]}
    (mm4,) = [t for t in simulator.mm4.transactions if numbers[0].lstrip("+") in " ".join(t.recipients)]
    with ReceiptSender(
        f"{local_stack.api_url}/dlr/mm4", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as sender:
        for report in reports_for_mm4(mm4, ["Retrieved"]):
            answer = sender.send_raw(report)
            assert answer.status_code == 200, answer.body
            assert json.loads(answer.body)["status"] == "advanced"
    statuses = {number: transaction(local_stack, guid)["status"]["S"] for number, guid in guids.items()}
    assert statuses == dict.fromkeys(numbers, "delivered")


@pytest.mark.parametrize("named_by", ["forward", "guid"])
def test_an_mm4_report_mailed_to_the_reports_domain_moves_its_recipient(
    local_stack: DeployedStack, simulator: GatewaySimulator, named_by: str
) -> None:
    # Given a group MMS sent over MM4, asking for delivery reports
    numbers = [unique_number(), unique_number()]
    message_id = f"sys-mm4-ses-{uuid.uuid4().hex[:8]}"
    put_job(
        local_stack,
        {"messageId": message_id, "from": "+12223334444", "to": numbers, "text": "group", "deliveryReport": True},
    )
    item = eventually(lambda: finished(local_stack, message_id), timeout=60)
    guids = {r["M"]["number"]["S"]: r["M"]["transactionGuid"]["S"] for r in item["recipients"]["L"]}
    (mm4,) = [t for t in simulator.mm4.transactions if numbers[0].lstrip("+") in " ".join(t.recipients)]
    # And the forward tells the gateway where to mail reports (the stack's Mm4ReportsDomain)
    assert mm4.header("X-Mms-Originator-System") == "system-user@mm4.relay.test"
    # When SES stores the gateway's report for the first recipient in the bucket (as its rule would)
    builder = Mm4ReportBuilder(message_id=named_by)  # type: ignore[arg-type]
    report = builder.delivery_report(mm4, numbers[0], "Retrieved")
    store_as_ses(local_stack, report)
    # Then the function the object triggers moves that recipient's status, and only that one
    eventually(lambda: transaction(local_stack, guids[numbers[0]])["status"]["S"] == "delivered", timeout=60)
    if guids[numbers[0]] != guids[numbers[1]]:
        assert transaction(local_stack, guids[numbers[1]])["status"]["S"] == "sent"


def test_a_stored_message_that_failed_the_ses_scan_changes_nothing(
    local_stack: DeployedStack, simulator: GatewaySimulator
) -> None:
    number = unique_number()
    message_id = f"sys-mm4-spam-{uuid.uuid4().hex[:8]}"
    job = {"messageId": message_id, "from": "+12223334444", "to": [number], "text": "hi", "deliveryReport": True}
    put_job(local_stack, job)
    item = eventually(lambda: finished(local_stack, message_id), timeout=60)
    (guid,) = [r["M"]["transactionGuid"]["S"] for r in item["recipients"]["L"]]
    (mm4,) = [t for t in simulator.mm4.transactions if number.lstrip("+") in " ".join(t.recipients)]
    # Given a report that would deliver the message, but that SES's scan called spam
    key = store_as_ses(local_stack, Mm4ReportBuilder().delivery_report(mm4, number, "Retrieved"), spam="FAIL")
    # When the function has read it (it says so in its log)
    eventually(lambda: refused_for(local_stack, key) == "spam")
    # Then the message's status did not move
    assert transaction(local_stack, guid)["status"]["S"] == "sent"


def refused_for(stack: DeployedStack, key: str) -> str | None:
    """Why the MM4 report function refused the stored object ``key``, as its log says (None: not yet)."""
    for line in function_logs(stack, lines_per_function=200).splitlines():
        if line.startswith("{") and key in line:
            entry = json.loads(line)
            if entry.get("object_key") == key:
                return str(entry.get("reason"))
    return None
