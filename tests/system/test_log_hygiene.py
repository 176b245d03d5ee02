"""What the deployed functions logged, after every other system test and a scenario of its own,
at DEBUG (the local stack's LogLevel): no secret, no Authorization header, no message text and no
full phone number in any line."""

from __future__ import annotations

import functools
import re
import uuid

import pytest

from devstack.stack import DeployedStack
from gatewaysim.mo import MoMessage
from gatewaysim.receipts import receipts_for_http
from gatewaysim.simulator import GatewaySimulator
from tests.system.conftest import eventually, function_logs
from tests.system.test_outbound import finished, put_job

pytestmark = [pytest.mark.system, pytest.mark.last]

# A North American number written in full (E.164 or digits): 11 digits starting 1 and an area code.
# Not inside a longer token (a GUID's or request id's hex groups hold such digit runs).
FULL_NANP_NUMBER = re.compile(r"(?<![\w.\-])\+?1[2-9]\d{9}(?![\w\-])")
# The header as a log would show it: a JSON key or a raw header line.
AUTHORIZATION_HEADER = re.compile(r"""["']?authorization["']?\s*[:=]""", re.IGNORECASE)


def in_context(line: str, match: re.Match[str]) -> str:
    return line[max(0, match.start() - 80) : match.end() + 20]


def logged_after(stack: DeployedStack, marker: str) -> list[str]:
    """Every line the functions logged, once ``marker`` shows among them (empty before)."""
    lines = function_logs(stack, lines_per_function=100_000).splitlines()
    return lines if any(marker in line for line in lines) else []


def test_nothing_logged_holds_a_secret_a_header_a_message_text_or_a_full_number(
    local_stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]
) -> None:
    # Given a scenario whose every part carries a text that must never be logged: an MO with media,
    # an outbound job over HTTPS and one over MM4, receipts for the HTTPS one, and a refused post
    canary = f"canary text {uuid.uuid4().hex} must not be logged"
    handset, code = "+13105559876", "+12223334444"
    with simulator.mo_sender(
        f"{local_stack.api_url}/inbound", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as sender:
        media = simulator.media.add("hygiene.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg")
        assert (
            sender.send(MoMessage(source=handset.lstrip("+"), message_text=canary, attachments=[media])).status_code
            == 200
        )
        assert sender.send(MoMessage(message_text=canary), credentials="wrong").status_code == 401
    canary_job_id = ""
    for message_id, extra in (
        (f"hygiene-https-{uuid.uuid4().hex[:8]}", {"media": [{"url": "https://cdn.example.com/h.jpg"}]}),
        (f"hygiene-mm4-{uuid.uuid4().hex[:8]}", {}),
    ):
        job = {"messageId": message_id, "from": code, "to": [handset], "text": canary, "deliveryReport": True}
        put_job(local_stack, {**job, **extra})
        canary_job_id = message_id
        eventually(functools.partial(finished, local_stack, message_id), timeout=60)
    (sent,) = [m for m in simulator.http_api.sent if m.fields.get("messageText") == canary]
    with simulator.receipt_sender(
        f"{local_stack.api_url}/dlr", *credentials, timeout=60, verify=str(local_stack.ca_file)
    ) as receipts:
        for receipt in receipts_for_http(sent, ["ENROUTE", "DELIVRD"]):
            assert receipts.send(receipt).status_code == 200
    # When everything the functions logged so far is read (this test runs after all the others)
    lines: list[str] = eventually(lambda: logged_after(local_stack, canary_job_id))
    # (the logs of every function the scenario went through, not an empty or partial read)
    for function in ("InboundFunction", "OutboundFunction", "ReceiptFunction", "EventsFunction"):
        assert any(f"-{function}-" in line for line in lines), function
    # Then no line holds what must stay out of logs
    forbidden = {
        "the webhook password": credentials[1],
        "the gateway's API secret": simulator.api_secret,
        "a message text": canary,
        "an Authorization header": "Basic ",
    }
    for what, text in forbidden.items():
        leaks = [line[:300] for line in lines if text in line]
        assert not leaks, f"{what} was logged: {leaks[:3]}"
    headers = [line[:300] for line in lines if AUTHORIZATION_HEADER.search(line)]
    assert not headers, f"an Authorization header was logged: {headers[:3]}"
    numbers = [in_context(line, match) for line in lines for match in FULL_NANP_NUMBER.finditer(line)]
    assert not numbers, f"a full phone number was logged: {numbers[:3]}"
