"""The query API on the deployed local stack: SigV4-signed calls (IAM), as services would make them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from devstack.stack import DeployedStack
from gatewaysim import images
from gatewaysim.mo import MoMessage
from gatewaysim.receipts import receipts_for_http
from gatewaysim.simulator import GatewaySimulator
from tests.system.conftest import eventually
from tests.system.test_receipts import https_send

pytestmark = pytest.mark.system


def test_an_unsigned_call_is_refused(local_stack: DeployedStack) -> None:
    answer = requests.get(f"{local_stack.api_url}/messages/anything", timeout=60, verify=str(local_stack.ca_file))
    assert answer.status_code == 403


def test_a_sent_message_and_its_delivery_are_answered(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]
) -> None:
    guid, sent = https_send(local_stack, simulator)
    with simulator.receipt_sender(
        f"{local_stack.api_url}/dlr", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as receipts:
        receipts.send_many(receipts_for_http(sent, ["ENROUTE", "DELIVRD"]))
    # By transaction GUID
    answer = local_stack.signed_get(f"/messages/{guid}")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    assert (document["direction"], document["status"]) == ("outbound", "delivered")
    assert [event["status"] for event in document["history"]] == ["sent", "enroute", "delivered"]
    # By messageId: the job, its recipients and their delivery
    by_job = local_stack.signed_get(f"/messages/{document['messageId']}").json()
    assert by_job["status"] == "sent"
    assert by_job["recipients"][0]["delivery"]["status"] == "delivered"


def test_an_inbound_message_comes_with_links_to_its_media(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]
) -> None:
    image = images.png(12, 12)
    url = simulator.media.add(f"query-{uuid.uuid4().hex[:6]}.png", image, "image/png")
    mo = MoMessage(attachments=[url], source="13105557777")
    with simulator.mo_sender(
        f"{local_stack.api_url}/inbound", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as sender:
        assert sender.send(mo).status_code == 200
    document = local_stack.signed_get(f"/messages/{mo.transaction_guid}").json()
    assert document["direction"] == "inbound"
    (media,) = document["media"]
    fetched = requests.get(media["url"], timeout=60, verify=str(local_stack.ca_file))
    assert fetched.content == image


def test_a_numbers_conversation_is_paged_newest_first(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]
) -> None:
    number = f"1310{uuid.uuid4().int % 10_000_000:07d}"
    messages = [MoMessage(source=number, message_text=f"message {n}") for n in range(3)]
    with simulator.mo_sender(
        f"{local_stack.api_url}/inbound", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as sender:
        for mo in messages:
            assert sender.send(mo).status_code == 200
    first = local_stack.signed_get(f"/numbers/%2B{number}/messages?limit=2").json()
    assert [m["text"] for m in first["messages"]] == ["message 2", "message 1"]
    cursor = first["nextCursor"]
    assert cursor
    second = eventually(lambda: local_stack.signed_get(f"/numbers/%2B{number}/messages?limit=2&cursor={cursor}").json())
    assert [m["text"] for m in second["messages"]] == ["message 0"]
    assert second["nextCursor"] is None
