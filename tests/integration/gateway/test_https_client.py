"""The HTTPS transport against a real local HTTPS server on 127.0.0.1 whose answers each test scripts."""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from devstack.tls import ServerCertificate, issue_local_certificate
from mmsrelay.domain.errors import PermanentSendError, SendError, TransientSendError
from mmsrelay.domain.outbound import GatewayCredentials, OutboundAttachment, OutboundMessage, SendResult
from mmsrelay.gateway.https_client import AerialinkHttpClient, HttpApiSettings, session_factory
from mmsrelay.gateway_protocol.http_answers import NO_GUID
from tests.support import serving

CREDENTIALS = GatewayCredentials("key-1234", "s3cr3t-pa55", "mm4user", "mm4-password")
GUID = "6C5B1A2E-9D3F-4E8A-B7C6-0D1E2F3A4B5C"
STOP_WAIT = 5.0  # upper bound for any deliberately slow handler
JSON = "application/json"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]


Script = Callable[["_GatewayHandler", Received], None]


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread

    def __init__(self, context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _GatewayHandler)
        self.context = context
        self.script: Script = answer_json(200, {})
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.connections = 0

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.connections += 1
        # A client hanging up or refusing our certificate is part of several tests, not an error.
        try:
            if self.context is None:
                super().finish_request(request, client_address)
                return
            request.settimeout(STOP_WAIT)
            with self.context.wrap_socket(request, server_side=True) as tls:
                _GatewayHandler(tls, client_address, self)
        except OSError:
            return


class _GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = STOP_WAIT
    server: _GatewayServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received = Received(
            "POST", self.path, dict(self.headers.items()), parse_qs(body.decode(), keep_blank_values=True)
        )
        with self.server.lock:
            self.server.received.append(received)
        try:
            self.server.script(self, received)
        except OSError:
            self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):  # the socket was reset on purpose or the client left
            return

    def answer(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reset(self) -> None:
        """Closes the TCP connection with a RST (SO_LINGER 0), skipping the TLS close."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


def guid_for(destination: str) -> str:
    return f"00000000-0000-4000-8000-{destination[-12:].zfill(12)}"


def answer_json(status: int, document: object, headers: dict[str, str] | None = None) -> Script:
    def script(handler: _GatewayHandler, received: Received) -> None:
        handler.answer(status, json.dumps(document).encode(), JSON, headers)

    return script


def accept(handler: _GatewayHandler, received: Received) -> None:
    """The documented success answer, GUID derived from the destination."""
    destination = received.form["destination"][0]
    document = {
        "aerialink": {
            "version": "v4",
            "resource": "messages",
            "method": "post",
            "type": "synchronous",
            "transactions": [{"transaction": {"transactionGUID": guid_for(destination), "destination": destination}}],
        }
    }
    handler.answer(200, json.dumps(document).encode(), JSON)


def error_json(code: str) -> dict[str, object]:
    return {"aerialink": {"errorCode": code, "detail": "Something went wrong."}}


@dataclass
class Gateway:
    httpd: _GatewayServer
    certificate: ServerCertificate

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}"

    def settings(self, **overrides: Any) -> HttpApiSettings:
        values: dict[str, Any] = {
            "base_url": self.base_url,
            "ca_file": str(self.certificate.ca_file),
            "connect_timeout": 2.0,
            "read_timeout": 2.0,
        }
        values.update(overrides)
        return HttpApiSettings(**values)

    def script(self, script: Script) -> None:
        self.httpd.script = script


def _serve(context: ssl.SSLContext | None, certificate: ServerCertificate) -> Iterator[Gateway]:
    httpd = _GatewayServer(context)
    with serving(httpd, STOP_WAIT, httpd.stopping):
        yield Gateway(httpd, certificate)


@pytest.fixture
def certificate(tmp_path: Path) -> ServerCertificate:
    return issue_local_certificate(tmp_path / "tls")


@pytest.fixture
def gateway(certificate: ServerCertificate) -> Iterator[Gateway]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    yield from _serve(context, certificate)


@pytest.fixture
def plain_gateway(certificate: ServerCertificate) -> Iterator[Gateway]:
    yield from _serve(None, certificate)


def open_client(settings: HttpApiSettings) -> tuple[AerialinkHttpClient, requests.Session]:
    session = session_factory(settings)
    return AerialinkHttpClient(session, settings, lambda: CREDENTIALS), session


@pytest.fixture
def client(gateway: Gateway) -> Iterator[AerialinkHttpClient]:
    sender, session = open_client(gateway.settings())
    with session:
        yield sender


def message(recipient: str = "+12223334444", **overrides: Any) -> OutboundMessage:
    base = OutboundMessage(
        message_id="msg-1",
        sender="+13105550100",
        recipients=(recipient,),
        text="Hello & welcome = 100% ✓",
        subject="Your photo",
        attachments=(OutboundAttachment("image/jpeg", "1.jpg", url="https://media.example.com/m/1.jpg?t=abc"),),
        delivery_report=True,
    )
    return replace(base, **overrides)


def send_error(client: AerialinkHttpClient) -> SendError:
    with pytest.raises(SendError) as caught:
        client.send(message())
    return caught.value


# --------------------------------------------------------------------------------------------
# Success
# --------------------------------------------------------------------------------------------


def test_success_posts_the_form_with_basic_auth(gateway: Gateway, client: AerialinkHttpClient) -> None:
    # Given a gateway that accepts
    gateway.script(accept)

    # When a message is sent
    result = client.send(message())

    # Then the GUID comes back for the recipient
    assert result.transport == "https"
    assert [(item.recipient, item.transaction_guid) for item in result.recipients] == [
        ("+12223334444", guid_for("12223334444"))
    ]
    # And the gateway received exactly the documented form, Basic auth and headers
    (received,) = gateway.httpd.received
    assert received.path == "/v4/messages"
    assert received.form == {
        "source": ["13105550100"],
        "destination": ["12223334444"],
        "destinationFormat": ["1"],
        "messageText": ["Hello & welcome = 100% ✓"],
        "mmsURL": ["https://media.example.com/m/1.jpg?t=abc"],
        "mmsSubject": ["Your photo"],
        "registeredDelivery": ["1"],
    }
    assert received.headers["Authorization"] == "Basic " + base64.b64encode(b"key-1234:s3cr3t-pa55").decode()
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received.headers["User-Agent"] == "mms-relay/1"
    assert received.headers["Accept"] == JSON


def test_xml_answers_when_configured(gateway: Gateway) -> None:
    # Given the XML schema configured and a gateway answering XML (transactions as one element)
    def answer_xml(handler: _GatewayHandler, received: Received) -> None:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<aerialink><transactions><transaction>'
            f"<transactionGUID>{GUID}</transactionGUID><destination>12223334444</destination>"
            "</transaction></transactions></aerialink>"
        ).encode()
        handler.answer(200, body, "text/xml; charset=UTF-8")

    gateway.script(answer_xml)
    client, session = open_client(gateway.settings(schema="xml"))

    # When a message is sent
    with session:
        result = client.send(message())

    # Then the .xml resource was asked for and the GUID read from XML
    assert gateway.httpd.received[0].path == "/v4/messages.xml"
    assert gateway.httpd.received[0].headers["Accept"] == "application/xml"
    assert result.recipients[0].transaction_guid == GUID


def test_a_2xx_without_a_guid_is_not_an_error(gateway: Gateway, client: AerialinkHttpClient) -> None:
    # Given a gateway that answers 200 with an empty object
    gateway.script(answer_json(200, {"aerialink": {"version": "v4"}}))

    # When a message is sent
    result = client.send(message())

    # Then it counts as accepted, without a GUID, saying so
    assert result.recipients[0].transaction_guid is None
    assert result.recipients[0].code == NO_GUID


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


def test_429_is_transient_with_retry_after(gateway: Gateway, client: AerialinkHttpClient) -> None:
    # Given a throttling gateway asking for 7 seconds
    gateway.script(answer_json(429, {}, {"Retry-After": "7"}))

    # When a message is sent
    error = send_error(client)

    # Then the error is transient and carries the delay
    assert isinstance(error, TransientSendError)
    assert (error.code, error.retry_after) == ("http_429", 7.0)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(gateway: Gateway, client: AerialinkHttpClient, status: int) -> None:
    # Given a gateway failing with ``status`` and an HTML page
    def fail(handler: _GatewayHandler, received: Received) -> None:
        handler.answer(status, b"<html><body>down</body></html>", "text/html")

    gateway.script(fail)

    # When a message is sent
    error = send_error(client)

    # Then it is transient, named after the status
    assert isinstance(error, TransientSendError)
    assert error.code == f"http_{status}"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (200, "E500001", TransientSendError),
        (401, "E100002", PermanentSendError),
        (400, "E200001", PermanentSendError),
    ],
)
def test_gateway_error_codes(
    gateway: Gateway, client: AerialinkHttpClient, status: int, code: str, kind: type[SendError]
) -> None:
    # Given a gateway answering ``code``
    gateway.script(answer_json(status, error_json(code)))

    # When a message is sent
    error = send_error(client)

    # Then the code decides: E500001 transient, E1/E2 permanent
    assert type(error) is kind
    assert error.code == code


def test_a_redirect_is_not_followed(gateway: Gateway, client: AerialinkHttpClient) -> None:
    # Given a gateway redirecting the POST elsewhere
    gateway.script(answer_json(302, {}, {"Location": "/elsewhere"}))

    # When a message is sent
    error = send_error(client)

    # Then it is refused for good and the redirect was not followed
    assert isinstance(error, PermanentSendError)
    assert error.code == "http_302"
    assert len(gateway.httpd.received) == 1


# --------------------------------------------------------------------------------------------
# Transport failures
# --------------------------------------------------------------------------------------------


def test_a_stalled_answer_is_a_transient_timeout(gateway: Gateway) -> None:
    # Given a gateway that reads the request and then says nothing (until the test ends)
    def stall(handler: _GatewayHandler, received: Received) -> None:
        handler.server.stopping.wait(STOP_WAIT)

    gateway.script(stall)
    client, session = open_client(gateway.settings(read_timeout=0.3))

    # When a message is sent
    with session, pytest.raises(TransientSendError) as caught:
        client.send(message())

    # Then it times out
    assert caught.value.code == "timeout"


def test_a_reset_before_the_answer_is_transient(gateway: Gateway, client: AerialinkHttpClient) -> None:
    # Given a gateway that resets the connection after reading the request
    gateway.script(lambda handler, received: handler.reset())

    # When a message is sent
    error = send_error(client)

    # Then it is a transient connection error
    assert isinstance(error, TransientSendError)
    assert error.code == "connection_error"


@pytest.mark.parametrize("status", [200, 500])
def test_a_reset_mid_answer_is_transient(gateway: Gateway, client: AerialinkHttpClient, status: int) -> None:
    # Given a gateway that sends the status line and part of the body, then resets
    def cut(handler: _GatewayHandler, received: Received) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", JSON)
        handler.send_header("Content-Length", "500")
        handler.end_headers()
        handler.wfile.write(b'{"aerialink": {"transac')
        handler.reset()

    gateway.script(cut)

    # When a message is sent
    error = send_error(client)

    # Then the unknown outcome is transient (a possible duplicate rather than a lost message)
    assert isinstance(error, TransientSendError)
    assert error.code == "connection_error"


def test_a_refused_connection_is_transient(gateway: Gateway) -> None:
    # Given a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client, session = open_client(gateway.settings(base_url=f"https://127.0.0.1:{port}"))

    # When a message is sent
    with session, pytest.raises(TransientSendError) as caught:
        client.send(message())

    # Then it is a connection error, not a timeout
    assert caught.value.code == "connection_error"


def test_an_untrusted_certificate_is_a_permanent_tls_failure(gateway: Gateway) -> None:
    # Given no CA configured: the local CA is not in the default trust store
    gateway.script(accept)
    client, session = open_client(gateway.settings(ca_file=None))

    # When a message is sent
    with session, pytest.raises(PermanentSendError) as caught:
        client.send(message())

    # Then verification failed and nothing was posted
    assert caught.value.code == "tls_verification_failed"
    assert gateway.httpd.received == []


def test_a_certificate_from_another_ca_is_refused(gateway: Gateway, tmp_path: Path) -> None:
    # Given a configured CA that did not issue the gateway's certificate
    other = issue_local_certificate(tmp_path / "other")
    client, session = open_client(gateway.settings(ca_file=str(other.ca_file)))

    # When a message is sent
    with session, pytest.raises(PermanentSendError) as caught:
        client.send(message())

    # Then verification failed
    assert caught.value.code == "tls_verification_failed"


def test_a_server_without_tls_is_a_transient_tls_error(plain_gateway: Gateway) -> None:
    # Given a server speaking plain HTTP where TLS is expected
    client, session = open_client(plain_gateway.settings())

    # When a message is sent
    with session, pytest.raises(TransientSendError) as caught:
        client.send(message())

    # Then it is a TLS error that is not about the certificate
    assert caught.value.code == "tls_error"


# --------------------------------------------------------------------------------------------
# Hostile answers: endless, huge, truncated, external entities
# --------------------------------------------------------------------------------------------


def test_an_endless_answer_is_read_up_to_the_limit_and_the_message_taken(gateway: Gateway) -> None:
    # Given a gateway that answers 200 and then streams a JSON body that never ends
    def endless(handler: _GatewayHandler, received: Received) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", JSON)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b'{"aerialink": {"transactions": [')
        chunk = b'{"transaction": {"transactionGUID": "' + GUID.encode() + b'"}}, ' * 16
        while not handler.server.stopping.is_set():  # until the client hangs up (OSError)
            handler.wfile.write(chunk)
        handler.close_connection = True

    gateway.script(endless)
    client, session = open_client(gateway.settings())

    # When a message is sent
    with session:
        result = client.send(message())

    # Then the client stopped reading at its limit (reading on would end in a timeout) and,
    # the status being 2xx, the message counts as accepted without a GUID (never sent twice)
    assert result.recipients[0].transaction_guid is None
    assert result.recipients[0].code == NO_GUID


def test_what_follows_the_first_64_kib_of_an_answer_is_not_read(gateway: Gateway, client: AerialinkHttpClient) -> None:
    # Given a 200 whose GUID comes after 100 KB of padding
    document = {"aerialink": {"padding": "p" * 100_000, "transactions": [{"transaction": {"transactionGUID": GUID}}]}}
    gateway.script(answer_json(200, document))

    # When a message is sent
    result = client.send(message())

    # Then the GUID was not read: accepted without one
    assert result.recipients[0].transaction_guid is None
    assert result.recipients[0].code == NO_GUID


@pytest.mark.parametrize("status", [200, 500])
def test_an_answer_cut_short_by_a_clean_close_is_transient(
    gateway: Gateway, client: AerialinkHttpClient, status: int
) -> None:
    # Given a gateway that announces 500 bytes, sends 23 and closes the connection cleanly
    def cut(handler: _GatewayHandler, received: Received) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", JSON)
        handler.send_header("Content-Length", "500")
        handler.end_headers()
        handler.wfile.write(b'{"aerialink": {"transac')
        handler.wfile.flush()
        handler.close_connection = True

    gateway.script(cut)

    # When a message is sent
    error = send_error(client)

    # Then the unknown outcome is transient (a possible duplicate rather than a lost message)
    assert isinstance(error, TransientSendError)
    assert error.code == "connection_error"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port on 127.0.0.1 that records whether anything connected to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize(
    "declaration",
    [
        '<!DOCTYPE aerialink [<!ENTITY guid SYSTEM "http://127.0.0.1:{port}/guid">]>',
        '<!DOCTYPE aerialink SYSTEM "http://127.0.0.1:{port}/aerialink.dtd">',
        '<!DOCTYPE aerialink [<!ENTITY % remote SYSTEM "http://127.0.0.1:{port}/p.dtd"> %remote;]>',
    ],
    ids=["external-entity", "external-dtd", "parameter-entity"],
)
def test_an_xml_answer_naming_a_url_makes_no_request(
    gateway: Gateway, listener: socket.socket, declaration: str, status: int
) -> None:
    # Given an XML answer whose DTD or entity points at a URL that records any request
    port = listener.getsockname()[1]
    body = (
        '<?xml version="1.0"?>' + declaration.format(port=port) + "<aerialink><transactions><transaction>"
        "<transactionGUID>&guid;</transactionGUID></transaction></transactions></aerialink>"
    ).encode()
    gateway.script(lambda handler, received: handler.answer(status, body, "application/xml"))
    client, session = open_client(gateway.settings(schema="xml"))

    # When a message is sent
    with session:
        try:
            outcome: object = client.send(message())
        except SendError as error:
            outcome = error

    # Then nothing connected to the URL, and the answer counted as unparsable: a 2xx is accepted
    # without a GUID, a 5xx is decided by its status
    assert not connected(listener)
    if status == 200:
        assert isinstance(outcome, SendResult)
        assert outcome.recipients[0].code == NO_GUID
    else:
        assert isinstance(outcome, TransientSendError)
        assert outcome.code == "http_500"


# --------------------------------------------------------------------------------------------
# Connections, concurrency, logs, configuration
# --------------------------------------------------------------------------------------------


def test_sends_reuse_one_connection(gateway: Gateway, client: AerialinkHttpClient) -> None:
    # Given a gateway that accepts
    gateway.script(accept)

    # When three messages are sent one after the other through one session
    results = [client.send(message(f"+1222333444{index}")) for index in range(3)]

    # Then all were accepted over a single TCP connection
    assert [result.recipients[0].transaction_guid for result in results] == [
        guid_for(f"1222333444{index}") for index in range(3)
    ]
    assert gateway.httpd.connections == 1


def test_ten_threads_send_concurrently(gateway: Gateway, client: AerialinkHttpClient) -> None:
    # Given a gateway that answers only once ten requests are in flight together
    barrier = threading.Barrier(10, timeout=STOP_WAIT)

    def together(handler: _GatewayHandler, received: Received) -> None:
        barrier.wait()
        accept(handler, received)

    gateway.script(together)
    recipients = [f"+1555000{index:04d}" for index in range(10)]

    # When ten threads send through the same client
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda recipient: client.send(message(recipient)), recipients))

    # Then each got its own GUID, over ten pooled connections
    assert [result.recipients[0].transaction_guid for result in results] == [
        guid_for(recipient.lstrip("+")) for recipient in recipients
    ]
    assert gateway.httpd.connections == 10


def test_logs_carry_no_secret_text_or_number(
    gateway: Gateway, client: AerialinkHttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Given one accepted and one refused send, with logs captured
    caplog.set_level(logging.DEBUG)
    gateway.script(answer_json(200, {"aerialink": {"transactions": {"transaction": {"transactionGUID": GUID}}}}))
    client.send(message())
    gateway.script(answer_json(400, error_json("E200002")))
    send_error(client)

    # When the records are read
    records = [record for record in caplog.records if record.name.startswith("mmsrelay.")]
    dumped = " ".join(f"{record.getMessage()} {record.__dict__}" for record in records)

    # Then they hold the masked number, status, code and GUID, and never the secrets, text or URL query
    assert {record.getMessage() for record in records} == {
        "gateway accepted message",
        "gateway refused message",
    }
    assert "***4444" in dumped
    assert GUID in dumped
    assert "E200002" in dumped
    for secret in ("s3cr3t-pa55", "12223334444", "13105550100", "Hello", "t=abc", "Your photo"):
        assert secret not in dumped


def test_configuration_is_checked(tmp_path: Path) -> None:
    # Given settings with plain HTTP, or a CA file that does not exist
    # When they are built / a session is made
    # Then they are refused
    with pytest.raises(ValueError, match="https"):
        HttpApiSettings(base_url="http://gateway.example", ca_file=None)
    with pytest.raises(ValueError, match="CA file"):
        session_factory(HttpApiSettings(base_url="https://gateway.example", ca_file=str(tmp_path / "missing.pem")))
    session = requests.Session()
    session.verify = False
    with pytest.raises(ValueError, match="verification"):
        AerialinkHttpClient(session, HttpApiSettings("https://gateway.example", None), lambda: CREDENTIALS)
