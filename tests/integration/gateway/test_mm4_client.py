"""The MM4 client against a real SMTP server on 127.0.0.1 (aiosmtpd), over verified TLS."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from devstack.tls import ServerCertificate, issue_local_certificate
from mmsrelay.domain.errors import PermanentSendError, SendError, TransientSendError
from mmsrelay.domain.outbound import GatewayCredentials, OutboundAttachment, OutboundMessage, RecipientResult
from mmsrelay.gateway.lazy_mm4 import Mm4Settings
from mmsrelay.gateway.mm4_client import Mm4Client, translate_error

DOMAIN = "mmsc.aerialink.net"
USERNAME, PASSWORD = "mm4-user", "mm4-pass-Z9"
CREDENTIALS = GatewayCredentials("api-key", "api-secret", USERNAME, PASSWORD)
WRONG_CREDENTIALS = replace(CREDENTIALS, mm4_password="not-the-password")
SENDER = "+13105550100"
ALICE, BOB, CAROL = "+13105550101", "+13105550102", "+447700900123"
TEXT = "See you at 5, the code is 4242"
PHOTO = OutboundAttachment("image/jpeg", "1.jpg", data=b"\xff\xd8\xff\xe0 photo \xff\xd9")
TIMEOUT = 5.0

ServerTls = Literal["implicit", "starttls", "none"]

# aiosmtpd cannot tell that an implicit-TLS connection is encrypted, so it warns that AUTH is
# allowed "without TLS" there; the stub only ever serves implicit TLS, STARTTLS, or refuses AUTH.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def address(number: str) -> str:
    return f"{number}@{DOMAIN}"


def outbound(*recipients: str, message_id: str = "msg-1") -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id,
        sender=SENDER,
        recipients=recipients or (ALICE,),
        text=TEXT,
        subject="Hello",
        attachments=(PHOTO,),
        delivery_report=True,
    )


@dataclass(frozen=True)
class Delivery:
    connection: int  # index of the connection it came on
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes


class MmscStub:
    """The gateway's MMSC, as far as these tests need it: records everything, answers as told.

    It answers DATA with one line per accepted recipient, ``+<number>@<domain> <GUID>``, listed in
    reverse order, so that a client mapping GUIDs in RCPT order would get them wrong.
    """

    def __init__(self) -> None:
        self.refused: set[str] = set()  # addresses RCPT answers 550
        self.data_status: str | None = None  # the answer to DATA instead of the GUID reply
        self.single_guid = False  # answer DATA with one transaction GUID
        self.connections: list[SMTP] = []  # each connection that said EHLO, once
        self.guids: dict[str, str] = {}  # address -> the GUID given for it
        self.deliveries: list[Delivery] = []
        self.mails = 0
        self.resets = 0
        self.quits = 0
        self.logins: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # what aiosmtpd does itself when there is no EHLO hook
        with self._lock:
            if not any(known is server for known in self.connections):
                self.connections.append(server)
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mails += 1
        envelope.mail_from = address
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 Unknown subscriber"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.resets += 1
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.quits += 1
        return "221 2.0.0 Bye"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_status is not None:
            return self.data_status
        content = envelope.original_content
        assert isinstance(content, bytes)
        assert envelope.mail_from is not None
        with self._lock:
            connection = next(index for index, known in enumerate(self.connections) if known is server)
            self.deliveries.append(Delivery(connection, envelope.mail_from, tuple(envelope.rcpt_tos), content))
        if self.single_guid:
            guid = str(uuid.uuid4()).upper()
            self.guids.update(dict.fromkeys(envelope.rcpt_tos, guid))
            return f"250 2.0.0 Ok: MM4 forward accepted, transaction {guid}"
        lines = ["2.0.0 Ok: MM4 forward accepted"]
        for rcpt in reversed(envelope.rcpt_tos):
            self.guids[rcpt] = str(uuid.uuid4())  # lower case, as a gateway might write it
            lines.append(f"{rcpt} <{self.guids[rcpt]}>")
        lines.append("2.0.0 end of list")
        return "\r\n".join(f"250-{line}" for line in lines[:-1]) + f"\r\n250 {lines[-1]}"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.logins.append(auth_data.login)
        valid = auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=valid, handled=False)

    def guid_of(self, number: str) -> str:
        return self.guids[address(number)].upper()

    def drop_connections(self, loop: asyncio.AbstractEventLoop) -> None:
        """Cuts every open connection from the server's side, as an idle timeout or a restart would.

        ``abort()``, not ``close()``: a TLS close would wait for the idle client's close_notify.
        """
        for server in list(self.connections):
            transport = server.transport
            if isinstance(transport, asyncio.Transport):
                loop.call_soon_threadsafe(transport.abort)
        deadline = time.monotonic() + TIMEOUT
        while any(server.transport is not None for server in self.connections):
            assert time.monotonic() < deadline, "the server did not close its connections"
            time.sleep(0.01)


class LocalController(Controller):
    """aiosmtpd's controller on 127.0.0.1, on a port the OS chooses."""

    def __init__(self, handler: MmscStub, **smtp_options: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, ready_timeout=TIMEOUT, **smtp_options)

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated


@dataclass(frozen=True)
class Gateway:
    stub: MmscStub
    controller: LocalController
    ca_file: Path

    def settings(self, tls_mode: Literal["implicit", "starttls"], **changes: Any) -> Mm4Settings:
        settings = Mm4Settings(
            host="127.0.0.1",
            port=self.controller.port,
            tls_mode=tls_mode,
            domain=DOMAIN,
            ca_file=str(self.ca_file),
            timeout=TIMEOUT,
        )
        return replace(settings, **changes)

    def client(
        self, tls_mode: Literal["implicit", "starttls"], credentials: GatewayCredentials = CREDENTIALS
    ) -> Mm4Client:
        return Mm4Client(self.settings(tls_mode), lambda: credentials)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return issue_local_certificate(tmp_path_factory.mktemp("mm4-tls"))


@contextmanager
def running_gateway(certificate: ServerCertificate, tls: ServerTls) -> Iterator[Gateway]:
    """An MMSC stub serving with implicit TLS, STARTTLS (required), or no TLS at all."""
    stub = MmscStub()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    options: dict[str, Any] = {"authenticator": stub.authenticate, "auth_required": True}
    if tls == "implicit":
        # With implicit TLS the whole connection is encrypted: aiosmtpd need not see STARTTLS.
        options |= {"ssl_context": context, "auth_require_tls": False}
    elif tls == "starttls":
        options |= {"tls_context": context, "require_starttls": True}
    controller = LocalController(stub, **options)
    controller.start()
    try:
        yield Gateway(stub, controller, certificate.ca_file)
    finally:
        controller.stop()


@pytest.fixture
def implicit(certificate: ServerCertificate) -> Iterator[Gateway]:
    with running_gateway(certificate, "implicit") as gateway:
        yield gateway


@pytest.fixture
def starttls(certificate: ServerCertificate) -> Iterator[Gateway]:
    with running_gateway(certificate, "starttls") as gateway:
        yield gateway


@pytest.fixture(params=["implicit", "starttls"])
def gateway(request: pytest.FixtureRequest, certificate: ServerCertificate) -> Iterator[Gateway]:
    with running_gateway(certificate, request.param) as running:
        yield running


def tls_mode_of(gateway: Gateway) -> Literal["implicit", "starttls"]:
    return "implicit" if gateway.controller.ssl_context is not None else "starttls"


class TestDelivery:
    def test_delivers_over_tls_and_maps_guids(self, gateway: Gateway) -> None:
        # Given the MMSC serving over implicit TLS or STARTTLS
        client = gateway.client(tls_mode_of(gateway))
        # When one message is sent to one recipient
        with client.session() as session:
            result = session.send(outbound(ALICE))
        # Then it was delivered once, from our number's MM4 address, as an MM4_forward.REQ
        (delivery,) = gateway.stub.deliveries
        assert delivery.mail_from == address(SENDER)
        assert delivery.rcpt_tos == (address(ALICE),)
        mime = email.message_from_bytes(delivery.content, policy=email.policy.default)
        assert mime["X-Mms-Message-Type"] == "MM4_forward.REQ"
        assert mime["To"] == address(ALICE)
        assert gateway.stub.logins == [USERNAME.encode()]
        # And the answer carries the GUID the gateway gave, upper-cased
        assert result.transport == "mm4"
        assert result.recipients == (RecipientResult(ALICE, gateway.stub.guid_of(ALICE)),)

    def test_group_mms_goes_in_one_transaction(self, gateway: Gateway) -> None:
        # Given a group MMS to three recipients
        client = gateway.client(tls_mode_of(gateway))
        # When it is sent
        with client.session() as session:
            result = session.send(outbound(ALICE, BOB, CAROL))
        # Then one MAIL and one DATA carried all three recipients
        assert gateway.stub.mails == 1
        (delivery,) = gateway.stub.deliveries
        assert delivery.rcpt_tos == tuple(address(number) for number in (ALICE, BOB, CAROL))
        # And each recipient has the GUID named with it, in the message's order
        assert result.recipients == tuple(
            RecipientResult(number, gateway.stub.guid_of(number)) for number in (ALICE, BOB, CAROL)
        )
        assert len({recipient.transaction_guid for recipient in result.recipients}) == 3

    def test_a_single_transaction_guid_applies_to_every_recipient(self, implicit: Gateway) -> None:
        # Given a gateway answering with one GUID for the whole transaction
        implicit.stub.single_guid = True
        # When a group MMS is sent
        with implicit.client("implicit").session() as session:
            result = session.send(outbound(ALICE, BOB))
        # Then both recipients carry it
        guid = implicit.stub.guid_of(ALICE)
        assert [recipient.transaction_guid for recipient in result.recipients] == [guid, guid]

    def test_the_message_reaches_the_gateway_intact(self, implicit: Gateway) -> None:
        # Given a message with text and a photo
        with implicit.client("implicit").session() as session:
            session.send(outbound(ALICE))
        # Then the gateway reads back the same text and bytes (dot-stuffing undone)
        mime = email.message_from_bytes(implicit.stub.deliveries[0].content, policy=email.policy.default)
        assert isinstance(mime, email.message.EmailMessage)
        contents = [part.get_content() for part in mime.iter_parts() if isinstance(part, email.message.Message)]
        assert TEXT in contents[1]
        assert contents[2] == PHOTO.data


class TestRefusals:
    def test_a_refused_recipient_is_recorded_while_the_others_get_guids(self, starttls: Gateway) -> None:
        # Given the MMSC refusing Bob
        starttls.stub.refused = {address(BOB)}
        # When a group MMS goes to Alice, Bob and Carol
        with starttls.client("starttls").session() as session:
            result = session.send(outbound(ALICE, BOB, CAROL))
        # Then Alice and Carol got the message and their GUIDs
        (delivery,) = starttls.stub.deliveries
        assert delivery.rcpt_tos == (address(ALICE), address(CAROL))
        alice, bob, carol = result.recipients
        assert alice == RecipientResult(ALICE, starttls.stub.guid_of(ALICE))
        assert carol == RecipientResult(CAROL, starttls.stub.guid_of(CAROL))
        # And Bob is recorded as refused, with the SMTP code
        assert bob.recipient == BOB
        assert bob.refused
        assert bob.code == "smtp_550"
        assert bob.transaction_guid is None

    def test_every_recipient_refused_is_permanent_and_nothing_is_sent(self, implicit: Gateway) -> None:
        # Given the MMSC refusing both recipients
        implicit.stub.refused = {address(ALICE), address(BOB)}
        # When the message is sent
        with (
            implicit.client("implicit").session() as session,
            pytest.raises(PermanentSendError) as raised,
        ):
            session.send(outbound(ALICE, BOB))
        # Then it failed for good, the transaction was reset, and no DATA went through
        assert raised.value.code == "all_recipients_refused"
        assert implicit.stub.resets == 1
        assert implicit.stub.deliveries == []

    def test_bad_credentials_are_permanent(self, gateway: Gateway) -> None:
        # Given the wrong MM4 password
        client = gateway.client(tls_mode_of(gateway), credentials=WRONG_CREDENTIALS)
        # When a message is sent
        with client.session() as session, pytest.raises(PermanentSendError) as raised:
            session.send(outbound(ALICE))
        # Then it is a permanent failure, and no MAIL was attempted
        assert raised.value.code == "auth_failed"
        assert gateway.stub.mails == 0

    def test_451_on_data_is_transient_and_the_next_send_reconnects(self, implicit: Gateway) -> None:
        # Given the MMSC answering DATA with 451
        implicit.stub.data_status = "451 4.3.0 Try again later"
        with implicit.client("implicit").session() as session:
            # When a message is sent
            with pytest.raises(TransientSendError) as raised:
                session.send(outbound(ALICE))
            # Then the failure is transient, with the SMTP code
            assert raised.value.code == "smtp_451"
            # And after the MMSC recovers, the next send goes through a new connection
            implicit.stub.data_status = None
            result = session.send(outbound(ALICE, message_id="msg-2"))
        assert result.recipients[0].transaction_guid == implicit.stub.guid_of(ALICE)
        assert len(implicit.stub.connections) == 2
        assert implicit.stub.deliveries[0].connection == 1

    def test_554_on_data_is_permanent(self, implicit: Gateway) -> None:
        implicit.stub.data_status = "554 5.6.0 Message content rejected"
        with implicit.client("implicit").session() as session, pytest.raises(PermanentSendError) as raised:
            session.send(outbound(ALICE))
        assert raised.value.code == "smtp_554"


class TestTls:
    def test_no_starttls_offered_fails_closed(self, certificate: ServerCertificate) -> None:
        # Given a server that offers no STARTTLS
        with running_gateway(certificate, "none") as plain:
            # When the client, set for STARTTLS, sends a message
            with plain.client("starttls").session() as session, pytest.raises(PermanentSendError) as raised:
                session.send(outbound(ALICE))
            # Then it refused to go on in clear: no AUTH, no MAIL, nothing delivered
            assert raised.value.code == "starttls_not_offered"
            assert plain.stub.logins == []
            assert plain.stub.mails == 0
            assert plain.stub.deliveries == []

    def test_untrusted_certificate_is_permanent(self, gateway: Gateway) -> None:
        # Given a client trusting only the system store, not the local CA
        settings = gateway.settings(tls_mode_of(gateway), ca_file=None)
        client = Mm4Client(settings, lambda: CREDENTIALS)
        # When a message is sent
        with client.session() as session, pytest.raises(PermanentSendError) as raised:
            session.send(outbound(ALICE))
        # Then the certificate was refused, before any credential was sent
        assert raised.value.code == "tls_verification_failed"
        assert gateway.stub.logins == []

    def test_implicit_tls_client_against_starttls_server_is_an_error(self, starttls: Gateway) -> None:
        # Given a client expecting TLS from the first byte, and a server speaking clear text first
        client = starttls.client("implicit")
        # Then the handshake fails, transiently, without credentials sent
        with client.session() as session, pytest.raises(TransientSendError) as raised:
            session.send(outbound(ALICE))
        assert raised.value.code in {"tls_error", "connection_error"}
        assert starttls.stub.logins == []


class TestConnection:
    def test_two_messages_share_one_connection(self, gateway: Gateway) -> None:
        # Given one session
        with gateway.client(tls_mode_of(gateway)).session() as session:
            # When two messages are sent through it
            first = session.send(outbound(ALICE, message_id="msg-1"))
            second = session.send(outbound(BOB, CAROL, message_id="msg-2"))
        # Then one connection carried two transactions, and the session ended with QUIT
        assert len(gateway.stub.connections) == 1
        assert gateway.stub.mails == 2
        assert [delivery.connection for delivery in gateway.stub.deliveries] == [0, 0]
        assert gateway.stub.quits == 1
        assert first.recipients[0].transaction_guid == gateway.stub.guid_of(ALICE)
        assert second.recipients[1].transaction_guid == gateway.stub.guid_of(CAROL)

    def test_no_connection_without_a_send(self, implicit: Gateway) -> None:
        # Given a session nothing is sent through
        with implicit.client("implicit").session():
            pass
        # Then no connection was opened
        assert implicit.stub.connections == []

    def test_a_connection_closed_by_the_server_is_reopened_once(self, gateway: Gateway) -> None:
        # Given a session whose connection the server closed after the first message
        with gateway.client(tls_mode_of(gateway)).session() as session:
            session.send(outbound(ALICE, message_id="msg-1"))
            gateway.stub.drop_connections(gateway.controller.loop)
            # When a second message is sent
            result = session.send(outbound(BOB, message_id="msg-2"))
        # Then the session reconnected and delivered it
        assert len(gateway.stub.connections) == 2
        assert [delivery.connection for delivery in gateway.stub.deliveries] == [0, 1]
        assert result.recipients == (RecipientResult(BOB, gateway.stub.guid_of(BOB)),)

    def test_a_silent_server_times_out(self) -> None:
        # Given a server that accepts connections but never greets
        with socket.create_server(("127.0.0.1", 0)) as silent:
            settings = Mm4Settings("127.0.0.1", silent.getsockname()[1], "starttls", DOMAIN, ca_file=None, timeout=0.3)
            # When a message is sent
            with (
                Mm4Client(settings, lambda: CREDENTIALS).session() as session,
                pytest.raises(TransientSendError) as raised,
            ):
                session.send(outbound(ALICE))
        # Then it is a transient timeout
        assert raised.value.code == "timeout"

    def test_nobody_listening_is_a_transient_connection_error(self) -> None:
        # Given a port bound but not listening (connections to it are refused)
        with socket.socket() as bound:
            bound.bind(("127.0.0.1", 0))
            settings = Mm4Settings(
                "127.0.0.1", bound.getsockname()[1], "implicit", DOMAIN, ca_file=None, timeout=TIMEOUT
            )
            # When a message is sent
            with (
                Mm4Client(settings, lambda: CREDENTIALS).session() as session,
                pytest.raises(TransientSendError) as raised,
            ):
                session.send(outbound(ALICE))
        # Then it is a transient connection error
        assert raised.value.code == "connection_error"


class TestLogs:
    def test_logs_carry_no_number_text_or_secret(self, starttls: Gateway, caplog: pytest.LogCaptureFixture) -> None:
        # Given a group MMS, one recipient refused, and logs captured
        starttls.stub.refused = {address(BOB)}
        caplog.set_level(logging.DEBUG, logger="mmsrelay")
        # When it is sent
        with starttls.client("starttls").session() as session:
            session.send(outbound(ALICE, BOB, CAROL))
        # Then the relay logged the send, with counts
        records = [record for record in caplog.records if record.name.startswith("mmsrelay")]
        sent = [record for record in records if record.getMessage() == "mm4 message sent"]
        assert len(sent) == 1
        assert (sent[0].__dict__["recipients"], sent[0].__dict__["refused"]) == (3, 1)
        assert sent[0].__dict__["mapped"] == 2
        # And no record holds a number, the text, or a credential
        for record in records:
            logged = repr(record.__dict__)
            for secret in (*(n.lstrip("+") for n in (SENDER, ALICE, BOB, CAROL)), TEXT, PASSWORD, USERNAME):
                assert secret not in logged


def disconnected_by(cause: BaseException) -> smtplib.SMTPServerDisconnected:
    """What smtplib raises when a read fails: a disconnection whose context is the cause."""
    error = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    error.__context__ = cause  # as raising it in an ``except`` block does
    return error


class TestErrorTable:
    @pytest.mark.parametrize(
        ("error", "kind", "code"),
        [
            (smtplib.SMTPResponseException(421, b"closing"), TransientSendError, "smtp_421"),
            (smtplib.SMTPDataError(452, b"full"), TransientSendError, "smtp_452"),
            (smtplib.SMTPSenderRefused(550, b"no", "x"), PermanentSendError, "smtp_550"),
            (smtplib.SMTPConnectError(554, b"go away"), PermanentSendError, "smtp_554"),
            (smtplib.SMTPResponseException(-1, b""), TransientSendError, "smtp_unexpected_reply"),
            (smtplib.SMTPServerDisconnected("gone"), TransientSendError, "connection_error"),
            (disconnected_by(TimeoutError()), TransientSendError, "timeout"),
            (disconnected_by(ConnectionResetError()), TransientSendError, "connection_error"),
            (smtplib.SMTPNotSupportedError("no"), TransientSendError, "smtp_error"),
            (ssl.SSLCertVerificationError("bad"), PermanentSendError, "tls_verification_failed"),
            (ssl.SSLError("handshake"), TransientSendError, "tls_error"),
            (TimeoutError(), TransientSendError, "timeout"),
            (ConnectionRefusedError(), TransientSendError, "connection_error"),
            (OSError(), TransientSendError, "connection_error"),
        ],
    )
    def test_translation_by_type_and_code(self, error: OSError, kind: type[SendError], code: str) -> None:
        # When an smtplib, ssl or socket error is translated
        translated = translate_error(error, "send")
        # Then it is the domain error of the table, with no text of the original in it
        assert type(translated) is kind
        assert translated.code == code
