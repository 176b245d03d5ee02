"""The simulated MM4 endpoint with smtplib over real sockets: TLS modes, AUTH, records, replies, faults."""

from __future__ import annotations

import contextlib
import json
import random
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email import policy
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from gatewaysim import Mm4Endpoint, images, parse_data_reply
from gatewaysim.mm4 import DROP, REPLY_TEMPORARY_FAILURE, Mm4ErrorRate, Mm4Mode, data_reply
from tests.integration.gatewaysim.support import start_client

KEY = "test-api-key"
SECRET = "test-api-secret"
TIMEOUT = 5.0
DOMAIN = "mmsc.aerialink.net"
SOURCE = "+13105551212@" + DOMAIN
GUID = "[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}"
SMIL = (
    b'<smil><head><layout><root-layout width="320" height="480"/></layout></head>'
    b'<body><par dur="5s"><img src="cid:a.jpg"/><img src="cid:b.png"/><text src="cid:text.txt"/></par>'
    b"</body></smil>"
)
MM4_HEADERS = {
    "X-Mms-3GPP-MMS-Version": "6.10.0",
    "X-Mms-Message-Type": "MM4_forward.REQ",
    "X-Mms-Transaction-ID": "relay-0001",
    "X-Mms-Message-ID": "<msg-0001@relay.example>",
    "X-Mms-Ack-Request": "Yes",
    "X-Mms-Delivery-Report": "Yes",
    "X-Mms-Originator-System": "system-user@relay.example",
    "From": "+13105551212/TYPE=PLMN@" + DOMAIN,
    "Subject": "Two photos",
    "Date": "Tue, 03 Mar 2026 10:00:00 +0000",
    "Message-ID": "<0001@relay.example>",
}


@pytest.fixture
def endpoint() -> Iterator[Mm4Endpoint]:
    with Mm4Endpoint(KEY, SECRET, max_wait_s=10.0) as server:
        yield server


def trusting(endpoint: Mm4Endpoint) -> ssl.SSLContext:
    assert endpoint.ca_file is not None
    return ssl.create_default_context(cafile=str(endpoint.ca_file))


def connect(endpoint: Mm4Endpoint, login: bool = True) -> smtplib.SMTP:
    """A client connected the way the endpoint's mode wants (TLS verified), logged in by default."""
    smtp: smtplib.SMTP
    if endpoint.mode == "implicit":
        smtp = smtplib.SMTP_SSL("127.0.0.1", endpoint.port, context=trusting(endpoint), timeout=TIMEOUT)
    else:
        smtp = smtplib.SMTP("127.0.0.1", endpoint.port, timeout=TIMEOUT)
    smtp.ehlo()
    if endpoint.mode == "starttls":
        smtp.starttls(context=trusting(endpoint))
        smtp.ehlo()
    if login:
        smtp.login(KEY, SECRET)
    return smtp


def number(digits: str) -> str:
    return "+" + digits + "@" + DOMAIN


def mm4_message(recipients: list[str]) -> bytes:
    """An MM4_forward.REQ: multipart/related with a SMIL part, a text and two images, CRLF lines."""
    message = MIMEMultipart("related", type="application/smil", start="<smil.xml>")
    for name, value in MM4_HEADERS.items():
        message[name] = value
    message["To"] = ", ".join(recipients)
    smil = MIMEApplication(SMIL, "smil")
    smil.add_header("Content-ID", "<smil.xml>")
    smil.add_header("Content-Location", "smil.xml")
    text = MIMEText("Hello from the relay 🙂", "plain", "utf-8")
    text.add_header("Content-ID", "<text.txt>")
    text.add_header("Content-Location", "text.txt")
    message.attach(smil)
    message.attach(text)
    for name, body, subtype in (("a.jpg", images.jpeg(), "jpeg"), ("b.png", images.png(), "png")):
        image = MIMEImage(body, subtype)
        image.add_header("Content-ID", "<" + name + ">")
        image.add_header("Content-Location", name)
        message.attach(image)
    return message.as_bytes(policy=policy.SMTP)


def send(smtp: smtplib.SMTP, recipients: list[str]) -> tuple[int, bytes]:
    """MAIL, one RCPT each, DATA: the reply to DATA."""
    assert smtp.mail(SOURCE)[0] == 250
    for recipient in recipients:
        smtp.rcpt(recipient)
    return smtp.data(mm4_message(recipients))


# ----------------------------------------------------------------------------------- TLS modes
def test_implicit_tls_is_verified_and_offers_auth_but_not_starttls(endpoint: Mm4Endpoint) -> None:
    # Given the implicit-TLS endpoint, When a client verifying against its CA says EHLO
    with connect(endpoint, login=False) as smtp:
        # Then AUTH LOGIN/PLAIN is offered, STARTTLS is not (the connection is TLS already)
        assert smtp.has_extn("auth")
        assert set(smtp.esmtp_features["auth"].split()) == {"LOGIN", "PLAIN"}
        assert not smtp.has_extn("starttls")
        assert smtp.login(KEY, SECRET)[0] == 235
    # And a client that trusts only the system store refuses the certificate
    with pytest.raises(ssl.SSLCertVerificationError):
        smtplib.SMTP_SSL("127.0.0.1", endpoint.port, context=ssl.create_default_context(), timeout=TIMEOUT)


def test_starttls_is_required_before_auth_and_mail() -> None:
    # Given the STARTTLS endpoint
    with Mm4Endpoint(KEY, SECRET, mode="starttls") as endpoint:
        with smtplib.SMTP("127.0.0.1", endpoint.port, timeout=TIMEOUT) as smtp:
            # When a client says EHLO in the clear, Then STARTTLS is offered and AUTH is not
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            assert not smtp.has_extn("auth")
            # And MAIL before STARTTLS is refused
            assert smtp.mail(SOURCE)[0] == 530
            # When the client upgrades, verifying the certificate, Then AUTH is offered and works
            assert smtp.starttls(context=trusting(endpoint))[0] == 220
            smtp.ehlo()
            assert smtp.has_extn("auth")
            assert not smtp.has_extn("starttls")
            smtp.login(KEY, SECRET)
            code, _ = send(smtp, [number("12223334444")])
            assert code == 250
        assert len(endpoint.accepted) == 1


def test_not_offered_mode_never_advertises_starttls() -> None:
    # Given the endpoint that speaks plain SMTP only
    with Mm4Endpoint(KEY, SECRET, mode="starttls_not_offered") as endpoint:
        assert endpoint.ca_file is None
        with smtplib.SMTP("127.0.0.1", endpoint.port, timeout=TIMEOUT) as smtp:
            # When a client says EHLO, Then STARTTLS is absent and asking for it fails
            smtp.ehlo()
            assert not smtp.has_extn("starttls")
            with pytest.raises(smtplib.SMTPNotSupportedError):
                smtp.starttls()
            # And a fail-closed client that stops here leaves no AUTH and no message behind
        assert endpoint.auth_attempts == []
        assert endpoint.transactions == []
        assert endpoint.describe()["mode"] == "starttls_not_offered"


# ---------------------------------------------------------------------------------------- AUTH
def test_bad_credentials_get_535_and_mail_needs_auth(endpoint: Mm4Endpoint) -> None:
    with connect(endpoint, login=False) as smtp:
        # When MAIL comes before AUTH, Then 530
        assert smtp.mail(SOURCE)[0] == 530
        smtp.rset()
        # When the secret is wrong, Then 535
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            smtp.login(KEY, "wrong")
        assert caught.value.smtp_code == 535
        # And the right one works
        assert smtp.login(KEY, SECRET)[0] == 235
    attempts = endpoint.auth_attempts
    assert [(attempt.user, attempt.success) for attempt in attempts][-1] == (KEY, True)
    assert not any(attempt.success for attempt in attempts[:-1])
    assert {attempt.connection for attempt in attempts} == {1}


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_both_auth_mechanisms(endpoint: Mm4Endpoint, mechanism: str) -> None:
    with connect(endpoint, login=False) as smtp:
        smtp.user, smtp.password = KEY, SECRET
        method = smtp.auth_login if mechanism == "LOGIN" else smtp.auth_plain
        assert smtp.auth(mechanism, method)[0] == 235
    assert [(attempt.mechanism, attempt.success) for attempt in endpoint.auth_attempts] == [(mechanism, True)]


# ------------------------------------------------------------------------------------- message
def test_mm4_message_is_recorded_intact(endpoint: Mm4Endpoint) -> None:
    # Given a multipart/related MM4_forward.REQ with a SMIL part, a text and two images
    recipients = [number("12223334444"), number("12223335555")]
    raw = mm4_message(recipients)
    # When it is sent
    with connect(endpoint) as smtp:
        assert smtp.mail(SOURCE)[0] == 250
        for recipient in recipients:
            assert smtp.rcpt(recipient)[0] == 250
        code, _ = smtp.data(raw)
    # Then the transaction holds the envelope, the raw bytes, every header and every part
    assert code == 250
    [transaction] = endpoint.transactions
    assert transaction.accepted
    assert transaction.user == KEY
    assert transaction.mail_from == SOURCE
    assert transaction.recipients == tuple(recipients)
    assert transaction.raw == raw
    for name, value in MM4_HEADERS.items():
        assert transaction.header(name) == value, name
    assert transaction.header("To") == ", ".join(recipients)
    assert str(transaction.header("content-type")).startswith("multipart/related")
    parts = [(part.content_type, part.content_id, part.content_location, part.data) for part in transaction.parts]
    assert parts == [
        ("application/smil", "<smil.xml>", "smil.xml", SMIL),
        ("text/plain", "<text.txt>", "text.txt", "Hello from the relay 🙂".encode()),
        ("image/jpeg", "<a.jpg>", "a.jpg", images.jpeg()),
        ("image/png", "<b.png>", "b.png", images.png()),
    ]
    assert transaction.parts[1].charset == "utf-8"


def test_data_reply_has_one_guid_line_per_recipient(endpoint: Mm4Endpoint) -> None:
    # Given a group MMS to three recipients
    recipients = [number("12223334444"), number("12223335555"), "+12223336666/TYPE=PLMN@" + DOMAIN]
    # When DATA is answered
    with connect(endpoint) as smtp:
        code, reply = send(smtp, recipients)
    # Then the reply has "<recipient> <GUID>" per recipient, then "Ok queued as <first GUID>"
    assert code == 250
    lines = reply.decode().split("\n")
    assert len(lines) == 4
    guids = {}
    for recipient, line in zip(recipients, lines[:3], strict=True):
        match = re.fullmatch(re.escape(recipient) + " (" + GUID + ")", line)
        assert match, line
        guids[recipient] = match.group(1)
    assert lines[3] == "Ok queued as " + guids[recipients[0]]
    assert len(set(guids.values())) == 3
    # And they are the GUIDs the endpoint recorded, which parse_data_reply reads back
    [transaction] = endpoint.transactions
    assert transaction.guids == guids
    parsed = parse_data_reply(reply)
    assert (parsed.guids, parsed.queued_as) == (guids, guids[recipients[0]])


def test_single_guid_mode_shares_one_guid(endpoint: Mm4Endpoint) -> None:
    # Given the single-GUID mode
    endpoint.guid_mode = "single"
    recipients = [number("12223334444"), number("12223335555")]
    with connect(endpoint) as smtp:
        code, reply = send(smtp, recipients)
    # Then the reply is one "Ok queued as <GUID>" line, and every recipient maps to that GUID
    assert code == 250
    match = re.fullmatch("Ok queued as (" + GUID + ")", reply.decode())
    assert match
    assert endpoint.transactions[0].guids == dict.fromkeys(recipients, match.group(1))
    assert parse_data_reply(reply).guids == {}


def test_refused_recipient_gets_550_and_the_others_are_accepted(endpoint: Mm4Endpoint) -> None:
    with connect(endpoint) as smtp:
        assert smtp.mail(SOURCE)[0] == 250
        replies = [
            smtp.rcpt(address)[0]
            for address in (
                number("12223334444"),
                "alice@example.com",
                "+1222333@other.example",
                number("15"),
            )
        ]
        code, reply = smtp.data(mm4_message([number("12223334444")]))
    assert replies == [250, 550, 550, 250]
    assert code == 250
    [transaction] = endpoint.transactions
    assert transaction.recipients == (number("12223334444"), number("15"))
    assert transaction.refused_recipients == (("alice@example.com", 550), ("+1222333@other.example", 550))
    assert set(parse_data_reply(reply).guids) == {number("12223334444"), number("15")}


def test_group_is_capped_at_ten_recipients(endpoint: Mm4Endpoint) -> None:
    with connect(endpoint) as smtp:
        assert smtp.mail(SOURCE)[0] == 250
        codes = [smtp.rcpt(number("1222333" + str(4000 + index)))[0] for index in range(11)]
    assert codes == [250] * 10 + [452]


def test_non_multipart_data_gets_554(endpoint: Mm4Endpoint) -> None:
    with connect(endpoint) as smtp:
        assert smtp.mail(SOURCE)[0] == 250
        smtp.rcpt(number("12223334444"))
        code, _ = smtp.data(b"Subject: plain\r\nContent-Type: text/plain\r\n\r\njust text\r\n")
    assert code == 554
    [transaction] = endpoint.transactions
    assert (transaction.accepted, transaction.guids) == (False, {})


# ---------------------------------------------------------------------------------------- faults
def test_451_on_the_next_data_then_success_on_the_same_connection(endpoint: Mm4Endpoint) -> None:
    # Given one planned temporary failure
    endpoint.fail_next_data()
    with connect(endpoint) as smtp:
        # When two messages are sent on one connection
        first, _ = send(smtp, [number("12223334444")])
        second, _ = send(smtp, [number("12223334444")])
    # Then the first gets 451, the second is accepted
    assert (first, second) == (451, 250)
    assert [entry.reply_code for entry in endpoint.transactions] == [451, 250]
    assert len(endpoint.accepted) == 1


def test_an_error_rate_fails_data_with_its_outcomes_reproducibly(endpoint: Mm4Endpoint) -> None:
    # Given every DATA failing with a 451 or a dropped connection, seeded
    endpoint.error_rate = Mm4ErrorRate(1.0, (REPLY_TEMPORARY_FAILURE, DROP), seed=3)
    draws = random.Random(3)
    expected = []
    for _ in range(6):
        draws.random()
        expected.append([451, None][draws.randrange(2)])
    # When six messages are sent, reconnecting after a drop
    for _ in range(6):
        with contextlib.suppress(smtplib.SMTPServerDisconnected), connect(endpoint) as smtp:
            send(smtp, [number("12223334444")])
    # Then the replies are the seeded draws, and nothing was accepted
    assert [entry.reply_code for entry in endpoint.transactions] == expected
    assert endpoint.accepted == []
    endpoint.error_rate = None
    with connect(endpoint) as smtp:
        assert send(smtp, [number("12223334444")])[0] == 250


def test_a_sender_the_account_does_not_own_is_refused_at_mail(endpoint: Mm4Endpoint) -> None:
    endpoint.allowed_senders = ["12223334444"]
    with connect(endpoint) as smtp:
        assert smtp.mail(SOURCE)[0] == 550
        assert smtp.mail(number("12223334444"))[0] == 250
    assert endpoint.transactions == []


def test_the_accepted_hook_runs_before_the_reply(endpoint: Mm4Endpoint) -> None:
    seen: list[tuple[tuple[str, ...], int]] = []
    endpoint.on_accepted = lambda transaction, peer: seen.append((transaction.recipients, len(endpoint.accepted)))
    with connect(endpoint) as smtp:
        assert send(smtp, [number("12223334444")])[0] == 250
    assert seen == [((number("12223334444"),), 1)]


def test_421_on_connect(endpoint: Mm4Endpoint) -> None:
    # Given the next connection is refused
    endpoint.refuse_next_connections()
    # When a client connects, Then it gets 421; the next connection is served
    with pytest.raises(smtplib.SMTPConnectError) as caught:
        connect(endpoint)
    assert caught.value.smtp_code == 421
    with connect(endpoint) as smtp:
        assert send(smtp, [number("12223334444")])[0] == 250
    assert [connection.refused for connection in endpoint.connections] == [True, False]


def test_connection_dropped_mid_data(endpoint: Mm4Endpoint) -> None:
    # Given the next DATA is dropped
    endpoint.drop_next_data()
    raw = mm4_message([number("12223334444")])
    # When a message is sent, Then the client loses the connection without a reply
    with connect(endpoint) as smtp:
        assert smtp.mail(SOURCE)[0] == 250
        assert smtp.rcpt(number("12223334444"))[0] == 250
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.data(raw)
    # And the endpoint saw the whole message but accepted nothing
    [transaction] = endpoint.transactions
    assert (transaction.reply_code, transaction.reply, transaction.accepted) == (None, None, False)
    assert transaction.raw == raw


def test_latency_delays_the_data_reply(endpoint: Mm4Endpoint) -> None:
    endpoint.latency_ms = 300
    with connect(endpoint) as smtp:
        assert smtp.mail(SOURCE)[0] == 250
        smtp.rcpt(number("12223334444"))
        started = time.monotonic()
        code, _ = smtp.data(mm4_message([number("12223334444")]))
    assert code == 250
    assert time.monotonic() - started >= 0.3


def test_faults_are_checked() -> None:
    endpoint = Mm4Endpoint()
    with pytest.raises(ValueError, match="4xx or 5xx"):
        endpoint.fail_next_data(reply="250 fine")
    with pytest.raises(ValueError, match="mode"):
        Mm4Endpoint(mode="plain")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------- records
def test_connection_reuse_is_visible_in_the_records(endpoint: Mm4Endpoint) -> None:
    # Given two messages on one connection, then one on another
    with connect(endpoint) as smtp:
        send(smtp, [number("12223334444")])
        send(smtp, [number("12223335555")])
    with connect(endpoint) as smtp:
        send(smtp, [number("12223336666")])
    # Then there are two connections and three transactions, the first two on connection 1
    assert [connection.index for connection in endpoint.connections] == [1, 2]
    assert [entry.connection for entry in endpoint.transactions] == [1, 1, 2]
    assert len({attempt.connection for attempt in endpoint.auth_attempts}) == 2
    endpoint.clear()
    assert (endpoint.connections, endpoint.transactions, endpoint.auth_attempts) == ([], [], [])


def test_records_are_thread_safe_under_parallel_clients(endpoint: Mm4Endpoint) -> None:
    failures: list[BaseException] = []

    def client(index: int) -> None:
        try:
            with connect(endpoint) as smtp:
                send(smtp, [number("1222333" + str(5000 + index))])
        except (OSError, smtplib.SMTPException) as error:
            failures.append(error)

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert failures == []
    assert len(endpoint.accepted) == 6
    assert len(endpoint.connections) == 6
    guids = [guid for entry in endpoint.transactions for guid in entry.guids.values()]
    assert len(set(guids)) == 6


# ------------------------------------------------------------------------------------- lifecycle
@pytest.mark.parametrize("mode", ["implicit", "starttls", "starttls_not_offered"])
def test_stop_is_prompt_with_a_client_waiting_on_data(mode: Mm4Mode) -> None:
    # Given a client waiting on a DATA reply delayed 30 s
    endpoint = Mm4Endpoint(KEY, SECRET, mode=mode, latency_ms=30_000).start()
    outcome: list[BaseException] = []

    def client() -> None:
        try:
            with connect(endpoint) as smtp:
                send(smtp, [number("12223334444")])
        except (OSError, smtplib.SMTPException) as error:
            outcome.append(error)

    try:
        thread = start_client(client, lambda: endpoint.auth_attempts)
        assert endpoint.auth_attempts, "the client never logged in"
        time.sleep(0.2)  # MAIL, RCPT, DATA: the client then waits on the delayed reply
    finally:
        # When the endpoint stops
        started = time.monotonic()
        endpoint.stop()
    # Then it stops at once and the client sees the connection go
    assert time.monotonic() - started < 2.0
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], smtplib.SMTPServerDisconnected | ConnectionError)


def test_port_zero_gives_distinct_ports_and_stop_frees_them() -> None:
    with Mm4Endpoint() as first, Mm4Endpoint(mode="starttls") as second:
        assert first.port != second.port
        port = first.port
        assert first.ca_file is not None
        ca_file = first.ca_file
    assert not ca_file.exists()
    with socket.socket() as probe:
        probe.settimeout(1.0)
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_describe_and_repr_never_show_the_secret(endpoint: Mm4Endpoint) -> None:
    described = endpoint.describe()
    assert described["url"] == "smtps://127.0.0.1:" + str(endpoint.port)
    assert described["domain"] == DOMAIN
    assert described["ca_file"] == str(endpoint.ca_file)
    assert SECRET not in json.dumps(described)
    assert SECRET not in repr(endpoint)
    assert endpoint.address("12223334444") == number("12223334444")


def test_data_reply_format_round_trips() -> None:
    guids = {
        number("1"): "A" * 8 + "-AAAA-4AAA-8AAA-" + "A" * 12,
        number("2"): "B" * 8 + "-BBBB-4BBB-8BBB-" + "B" * 12,
    }
    text = data_reply(guids, "per_recipient")
    assert text.split("\r\n") == [
        "250-" + number("1") + " " + guids[number("1")],
        "250-" + number("2") + " " + guids[number("2")],
        "250 Ok queued as " + guids[number("1")],
    ]
    assert parse_data_reply(text).guids == guids
    assert data_reply(guids, "single") == "250 Ok queued as " + guids[number("1")]
