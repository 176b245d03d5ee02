"""The simulator's MO sender against a small recording webhook started by each test."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import pytest

from devstack.tls import issue_local_certificate
from gatewaysim import GatewaySimulator, MoMessage, MoSender, images
from gatewaysim.mo import AttachmentsFormat, Method
from tests.support import serving

USER = "aerialink"
PASSWORD = "s3cret:with colon é"
REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Received:
    """One request as the recording webhook saw it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    headers: dict[str, str]
    arrived: float
    answered: float


class Recorder:
    """What the recording webhook shares with the test: its log and its scripted answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answered in order; 200 once used up
        self.hold_seconds = 0.0
        self.url = ""

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    def add(self, entry: Received) -> None:
        with self.lock:
            self.received.append(entry)

    def log(self) -> list[Received]:
        with self.lock:
            return sorted(self.received, key=lambda entry: entry.arrived)


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        super().__init__(("127.0.0.1", 0), _RecordingHandler)


class _RecordingHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def _record(self) -> None:
        recorder = cast(_RecordingServer, self.server).recorder
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        if recorder.hold_seconds:
            time.sleep(recorder.hold_seconds)
        split = urlsplit(self.path)
        recorder.add(  # before answering, so the sender never sees an answer the log lacks
            Received(
                method=self.command,
                path=split.path,
                query=parse_qsl(split.query, keep_blank_values=True),
                form=parse_qsl(raw, keep_blank_values=True),
                headers=dict(self.headers.items()),
                arrived=arrived,
                answered=time.monotonic(),
            )
        )
        status = recorder.next_status()
        body = b"stored\n" if 200 <= status < 300 else b"try later\n"
        with contextlib.suppress(ConnectionError):  # a client that timed out has gone
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_POST(self) -> None:
        self._record()

    def do_GET(self) -> None:
        self._record()


@contextlib.contextmanager
def recording_webhook(tls: ssl.SSLContext | None = None) -> Iterator[Recorder]:
    """A recording webhook on a free 127.0.0.1 port (https with ``tls``), stopped on exit."""
    recorder = Recorder()
    server = _RecordingServer(recorder)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    recorder.url = scheme + "://127.0.0.1:" + str(server.server_address[1]) + "/webhooks/aerialink/mo"
    with serving(server):
        yield recorder


@pytest.fixture
def webhook() -> Iterator[Recorder]:
    with recording_webhook() as recorder:
        yield recorder


@pytest.fixture
def sender(webhook: Recorder) -> Iterator[MoSender]:
    with MoSender(webhook.url, USER, PASSWORD, timeout=5.0) as mo_sender:
        yield mo_sender


def sample_mo(attachments_format: AttachmentsFormat = "json") -> MoMessage:
    return MoMessage(
        message_text="Hé & = ? + 🙂 line\nbreak",
        mms_subject="Photo",
        attachments=["http://127.0.0.1:1/media/a.jpg", "http://127.0.0.1:1/media/b.png?x=1&y=2"],
        attachments_format=attachments_format,
        source_national="3105551212",
        concatenated_message=True,
        concatenated_message_reference="42",
        concatenated_message_segments=2,
        concatenated_message_segment_number=1,
        extra_fields={"concatenatedMessageSegmentHash": "ABCDEF0123", "futureField": ""},
    )


def fields_of(entry: Received) -> list[tuple[str, str]]:
    return entry.form if entry.method == "POST" else entry.query


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode((user + ":" + password).encode("latin-1")).decode("ascii")


# ------------------------------------------------------------------------------------ the message
def test_defaults_look_like_the_gateway() -> None:
    # Given a default MO
    mo = MoMessage(attachments=["http://host/media/a.jpg"])
    fields = dict(mo.form_fields())
    # Then GUIDs are uppercase and 36 long, numbers realistic, mmsURL is the first attachment
    assert len(fields["transactionGUID"]) == 36
    assert fields["transactionGUID"] == fields["transactionGUID"].upper()
    assert fields["transactionGUID"] != fields["connectionGUID"]
    assert fields["source"].isdigit()
    assert len(fields["source"]) <= 15
    assert fields["sourceCountryCode"] == "1"
    assert fields["sourceCountryAbbreviation"] == "US"
    assert fields["concatenatedMessage"] == "false"
    assert fields["mmsURL"] == "http://host/media/a.jpg"
    assert mo.limit_violations() == []
    assert MoMessage().transaction_guid != MoMessage().transaction_guid


def test_limit_violations_are_reported_not_enforced() -> None:
    mo = MoMessage(message_text="x" * 161, mms_subject="s" * 41, source="+1310")
    assert mo.limit_violations() == [
        "messageText is longer than 160 characters",
        "mmsSubject is longer than 40 characters",
        "source is not all digits",
    ]


# ------------------------------------------------------------------------------------ delivery
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_all_fields_arrive_intact(webhook: Recorder, sender: MoSender, method: Method) -> None:
    # Given an MO with optional and unknown fields and awkward characters
    mo = sample_mo()
    # When it is sent
    result = sender.send(mo, method=method)
    # Then the webhook received exactly the same pairs, in the same order
    assert result.status_code == 200
    assert result.ok
    assert result.body == "stored\n"
    assert result.elapsed >= 0
    (entry,) = webhook.log()
    assert entry.method == method
    assert entry.path == "/webhooks/aerialink/mo"
    assert fields_of(entry) == mo.form_fields()
    received = dict(fields_of(entry))
    assert received["messageText"] == "Hé & = ? + 🙂 line\nbreak"
    assert received["concatenatedMessageSegmentHash"] == "ABCDEF0123"
    assert received["futureField"] == ""
    assert received["sourceNational"] == "3105551212"
    assert received["concatenatedMessageSegments"] == "2"
    assert received["concatenatedMessage"] == "true"


def test_post_is_a_form_and_get_has_no_body(webhook: Recorder, sender: MoSender) -> None:
    sender.send(sample_mo(), method="POST")
    sender.send(sample_mo(), method="GET")
    post, get = webhook.log()
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert post.query == []
    assert get.form == []
    assert "Content-Type" not in get.headers


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("attachments_format", ["json", "repeated", "none"])
def test_each_attachments_format(
    webhook: Recorder, sender: MoSender, method: Method, attachments_format: AttachmentsFormat
) -> None:
    # Given an MO with two attachments in one of the three formats
    mo = sample_mo(attachments_format)
    # When it is sent
    sender.send(mo, method=method)
    # Then the attachments arrive in that shape, and mmsURL is the first one
    (entry,) = webhook.log()
    values = [value for name, value in fields_of(entry) if name == "attachments"]
    if attachments_format == "json":
        assert len(values) == 1
        assert json.loads(values[0]) == mo.attachments
    elif attachments_format == "repeated":
        assert values == mo.attachments
    else:
        assert values == []
    assert dict(fields_of(entry))["mmsURL"] == mo.attachments[0]


# ------------------------------------------------------------------------------------ credentials
def test_basic_auth_header_is_correct(webhook: Recorder, sender: MoSender) -> None:
    sender.send(MoMessage())
    (entry,) = webhook.log()
    assert entry.headers["Authorization"] == basic(USER, PASSWORD)


def test_wrong_credentials(webhook: Recorder, sender: MoSender) -> None:
    # Given a webhook that refuses the request
    webhook.statuses = [401]
    # When sent with wrong credentials
    result = sender.send(MoMessage(), credentials="wrong")
    # Then the user is right, the password is not, and the refusal is reported
    (entry,) = webhook.log()
    header = entry.headers["Authorization"]
    assert header.startswith("Basic ")
    user, _, password = base64.b64decode(header[6:]).decode("latin-1").partition(":")
    assert user == USER
    assert password != PASSWORD
    assert result.status_code == 401
    assert not result.ok


def test_no_credentials(webhook: Recorder, sender: MoSender) -> None:
    sender.send(MoMessage(), method="GET", credentials="none")
    (entry,) = webhook.log()
    assert "Authorization" not in entry.headers


# ------------------------------------------------------------------------------------ duplicates
def test_concurrent_duplicates_really_overlap(webhook: Recorder, sender: MoSender) -> None:
    # Given a webhook that holds each request for 1 s
    webhook.hold_seconds = 1.0
    mo = MoMessage(attachments=["http://127.0.0.1:1/media/a.jpg"])
    # When the same MO is sent four times at once
    results = sender.send_duplicate(mo, times=4, concurrent=True)
    # Then all four answers came back, and the webhook had all four in hand at the same time
    assert [result.status_code for result in results] == [200] * 4
    log = webhook.log()
    assert len(log) == 4
    arrivals = [entry.arrived for entry in log]
    assert max(arrivals) - min(arrivals) < 0.5
    assert max(arrivals) < min(entry.answered for entry in log)
    assert all(entry.form == mo.form_fields() for entry in log)


def test_sequential_duplicates_do_not_overlap(webhook: Recorder, sender: MoSender) -> None:
    webhook.hold_seconds = 0.1
    mo = MoMessage()
    results = sender.send_duplicate(mo, times=3, concurrent=False, method="GET")
    assert [result.status_code for result in results] == [200] * 3
    log = webhook.log()
    assert all(later.arrived >= earlier.answered for earlier, later in itertools.pairwise(log))
    assert len({tuple(entry.query) for entry in log}) == 1


# ------------------------------------------------------------------------------------ retries and errors
def test_retry_until_2xx_resends_the_same_message(webhook: Recorder, sender: MoSender) -> None:
    # Given a webhook that fails twice
    webhook.statuses = [503, 500]
    mo = MoMessage()
    # When the gateway-like retry runs
    results = sender.retry_until_2xx(mo, attempts=5, backoff=0.05)
    # Then it stopped at the first 2xx, each attempt carrying the same transaction
    assert [result.status_code for result in results] == [503, 500, 200]
    log = webhook.log()
    assert [dict(entry.form)["transactionGUID"] for entry in log] == [mo.transaction_guid] * 3
    assert log[1].arrived - log[0].answered >= 0.04
    assert log[2].arrived - log[1].answered >= 0.09


def test_retry_until_2xx_gives_up_after_its_attempts(webhook: Recorder, sender: MoSender) -> None:
    webhook.statuses = [503] * 5
    results = sender.retry_until_2xx(MoMessage(), attempts=2, backoff=0.01)
    assert [result.status_code for result in results] == [503, 503]
    assert len(webhook.log()) == 2


def test_transport_errors_become_results() -> None:
    # Given a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When an MO is sent there
    with MoSender("http://127.0.0.1:" + str(port) + "/mo", USER, PASSWORD, timeout=2.0) as mo_sender:
        result = mo_sender.send(MoMessage())
    # Then the result says so instead of raising
    assert result.status_code is None
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("ConnectionError")


def test_read_timeout_becomes_a_result(webhook: Recorder) -> None:
    webhook.hold_seconds = 1.0
    with MoSender(webhook.url, USER, PASSWORD, timeout=0.2) as mo_sender:
        result = mo_sender.send(MoMessage())
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("ReadTimeout")
    assert result.elapsed < 1.0


def test_repr_hides_the_password(sender: MoSender) -> None:
    assert PASSWORD not in repr(sender)


def test_https_webhook_is_verified_against_the_given_ca(tmp_path: Path) -> None:
    # Given an https webhook whose certificate comes from a throwaway CA
    certificate = issue_local_certificate(tmp_path)
    ca_file, cert_file, key_file = certificate.ca_file, certificate.cert_file, certificate.key_file
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    with recording_webhook(context) as tls_webhook:
        # When sent trusting the system CAs only, then trusting that CA
        with MoSender(tls_webhook.url, USER, PASSWORD, timeout=5.0) as untrusting:
            refused = untrusting.send(MoMessage())
        with MoSender(tls_webhook.url, USER, PASSWORD, timeout=5.0, verify=str(ca_file)) as trusting:
            accepted = trusting.send_duplicate(MoMessage(), times=2, concurrent=True)
        # Then the first fails certificate verification, the others (fresh sessions too) arrive
        assert refused.status_code is None
        assert refused.error is not None
        assert "CERTIFICATE_VERIFY_FAILED" in refused.error
        assert [result.status_code for result in accepted] == [200, 200]
        assert len(tls_webhook.log()) == 2


# ------------------------------------------------------------------------------------ simulator and CLI
def test_simulator_sender_points_mo_at_its_media(webhook: Recorder) -> None:
    # Given a running simulator serving a picture
    with GatewaySimulator() as sim:
        url = sim.media.add("pic.jpg", images.jpeg(), "image/jpeg")
        # When its sender delivers an MO with that picture
        with sim.mo_sender(webhook.url, USER, PASSWORD) as mo_sender:
            result = mo_sender.send(MoMessage(attachments=[url]))
    # Then the webhook got the media host's URL
    assert result.ok
    (entry,) = webhook.log()
    assert dict(entry.form)["mmsURL"] == url
    assert url.startswith("http://127.0.0.1:")


def test_send_mo_command(webhook: Recorder) -> None:
    # Given the password in an environment variable
    env = {**os.environ, "PYTHONPATH": str(REPO / "local"), "SIM_MO_PASSWORD": PASSWORD}
    command = [
        sys.executable,
        "-m",
        "gatewaysim",
        "send-mo",
        "--url",
        webhook.url,
        "--user",
        USER,
        "--password-env",
        "SIM_MO_PASSWORD",
        "--method",
        "GET",
        "--media-count",
        "3",
        "--attachments-format",
        "repeated",
        "--linger",
        "0",
    ]
    # When `python -m gatewaysim send-mo` runs
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=30, check=False)
    # Then it printed the result, and the webhook got a GET with three attachments and the password
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["status_code"] == 200
    assert PASSWORD not in done.stdout
    (entry,) = webhook.log()
    assert entry.method == "GET"
    assert [value for name, value in entry.query if name == "attachments"] == printed["attachments"]
    assert [url.rsplit(".", 1)[1] for url in printed["attachments"]] == ["jpg", "png", "gif"]
    assert dict(entry.query)["transactionGUID"] == printed["transactionGUID"]
    assert entry.headers["Authorization"] == basic(USER, PASSWORD)
