"""The simulated v4 HTTP send API over real HTTPS: answers, errors, faults, records, TLS, CLI."""

from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from defusedxml import ElementTree

from gatewaysim import ErrorRate, GatewaySimulator, HttpApi, HttpFault
from gatewaysim.http_api import DELIVERED, QUEUED, SentMessage
from tests.integration.gatewaysim.support import end_process, start_client, wait_until

KEY = "test-api-key"
SECRET = "test-api-secret"
TIMEOUT = 5.0
REPO = Path(__file__).resolve().parents[3]
GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")


@pytest.fixture
def api() -> Iterator[HttpApi]:
    with HttpApi(KEY, SECRET, max_wait_s=10.0) as server:
        yield server


def valid_form(**overrides: str) -> dict[str, str]:
    fields = {
        "source": "13105551212",
        "destination": "12223334444",
        "messageText": "Hello & welcome",
        "mmsURL": "https://media.example/mms/a.jpg?X-Amz-Signature=abc",
        "mmsSubject": "Photo",
        "registeredDelivery": "1",
    }
    fields.update(overrides)
    return fields


def post(
    api: HttpApi,
    data: dict[str, str] | None = None,
    path: str = "/v4/messages",
    auth: tuple[str, str] | None = (KEY, SECRET),
    timeout: float | tuple[float, float] = TIMEOUT,
    session: requests.Session | None = None,
) -> requests.Response:
    client: Any = session if session is not None else requests
    return client.post(  # type: ignore[no-any-return]
        api.base_url + path,
        data=valid_form() if data is None else data,
        auth=auth,
        verify=str(api.ca_file),
        timeout=timeout,
    )


def get(api: HttpApi, path: str, auth: tuple[str, str] | None = (KEY, SECRET)) -> requests.Response:
    return requests.get(api.base_url + path, auth=auth, verify=str(api.ca_file), timeout=TIMEOUT)


def transaction_of(response: requests.Response) -> dict[str, Any]:
    transactions = response.json()["aerialink"]["transactions"]
    assert isinstance(transactions, list)
    assert len(transactions) == 1
    return transactions[0]["transaction"]  # type: ignore[no-any-return]


def error_of(response: requests.Response) -> tuple[str, str]:
    body = response.json()["aerialink"]
    return body["errorCode"], body["detail"]


# ------------------------------------------------------------------------------------- success
def test_send_answers_the_json_document_and_records_the_message(api: HttpApi) -> None:
    # Given a running API
    # When a valid MMS is posted
    response = post(api)
    # Then the answer is the v4 JSON document with one transaction for the destination
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    guid = document["aerialink"]["transactions"][0]["transaction"]["transactionGUID"]
    assert GUID.match(guid)
    assert document == {
        "aerialink": {
            "version": "v4",
            "resource": "messages",
            "method": "post",
            "type": "synchronous",
            "transactions": [{"transaction": {"transactionGUID": guid, "destination": "12223334444"}}],
        }
    }
    # And the message is recorded with its fields, the authenticated key and the GUID
    [sent] = api.sent
    assert sent.transaction_guid == guid
    assert sent.fields == valid_form()
    assert sent.user == KEY
    assert (sent.source, sent.destination, sent.answer_format) == ("13105551212", "12223334444", "json")


def test_json_suffix_is_the_default_schema(api: HttpApi) -> None:
    response = post(api, path="/v4/messages.json")
    assert response.status_code == 200
    assert transaction_of(response)["destination"] == "12223334444"


def test_xml_suffix_answers_xml(api: HttpApi) -> None:
    # When a valid MMS is posted to /v4/messages.xml
    response = post(api, path="/v4/messages.xml")
    # Then the answer is the XML equivalent, with the same fields
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?><aerialink>')
    root = ElementTree.fromstring(response.content)
    assert [child.tag for child in root] == ["version", "resource", "method", "type", "transactions"]
    assert [root.findtext(tag) for tag in ("version", "resource", "method", "type")] == [
        "v4",
        "messages",
        "post",
        "synchronous",
    ]
    [transaction] = root.findall("./transactions/transaction")
    assert transaction.findtext("destination") == "12223334444"
    assert transaction.findtext("transactionGUID") == api.sent[0].transaction_guid
    assert api.sent[0].answer_format == "xml"


def test_transactions_can_be_an_object_instead_of_a_list(api: HttpApi) -> None:
    # Given the variant that renders transactions as an object
    api.transactions_shape = "object"
    # When a message is sent
    response = post(api)
    # Then "transactions" holds {"transaction": {...}} directly
    transactions = response.json()["aerialink"]["transactions"]
    assert transactions == {
        "transaction": {"transactionGUID": api.sent[0].transaction_guid, "destination": "12223334444"}
    }


# -------------------------------------------------------------------------------------- errors
def test_no_credentials_is_e100001(api: HttpApi) -> None:
    # When a message is posted without an Authorization header
    response = post(api, auth=None)
    # Then 401 with E100001 and a Basic challenge, and nothing is accepted
    assert response.status_code == 401
    assert error_of(response)[0] == "E100001"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert api.sent == []
    assert [(entry.status, entry.error_code, entry.user) for entry in api.requests] == [(401, "E100001", None)]


@pytest.mark.parametrize("credentials", [(KEY, "wrong-secret"), ("other-key", SECRET), ("", "")])
def test_invalid_credentials_are_e100002(api: HttpApi, credentials: tuple[str, str]) -> None:
    response = post(api, auth=credentials)
    assert response.status_code == 401
    assert error_of(response)[0] == "E100002"
    assert api.sent == []


def test_missing_parameters_are_e200001_naming_them(api: HttpApi) -> None:
    # Given a form without messageText and mmsURL
    form = valid_form()
    del form["messageText"]
    form["mmsURL"] = ""
    # When it is posted
    response = post(api, form)
    # Then 400 E200001, and the detail says which parameters are missing
    assert response.status_code == 400
    code, detail = error_of(response)
    assert code == "E200001"
    assert detail == "Missing required parameter(s): messageText, mmsURL"
    assert api.sent == []


def test_errors_follow_the_xml_schema(api: HttpApi) -> None:
    response = post(api, {"source": "13105551212"}, path="/v4/messages.xml")
    assert response.status_code == 400
    root = ElementTree.fromstring(response.content)
    assert root.tag == "aerialink"
    assert root.findtext("errorCode") == "E200001"
    assert root.findtext("detail") == "Missing required parameter(s): destination, messageText, mmsURL"


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"mmsSubject": "x" * 41}, "mmsSubject exceeds 40 characters"),
        ({"messageText": "x" * 161}, "messageText exceeds 160 characters"),
        ({"destination": "+12223334444"}, "destination must be 1-15 digits"),
        ({"registeredDelivery": "yes"}, "registeredDelivery must be 0 or 1"),
        ({"mmsURL": "ftp://media.example/a.jpg"}, "mmsURL must be an http(s) URL"),
    ],
)
def test_invalid_parameters_are_rejected(api: HttpApi, override: dict[str, str], problem: str) -> None:
    response = post(api, valid_form(**override))
    assert response.status_code == 400
    code, detail = error_of(response)
    assert code == "E200001"
    assert problem in detail


def test_unknown_source_is_e200002() -> None:
    # Given an API whose account owns one source number
    with HttpApi(KEY, SECRET, allowed_sources=["13105551212"]) as api:
        # When another source is used, Then E200002; the owned one is accepted
        refused = post(api, valid_form(source="19995550000"))
        assert refused.status_code == 400
        assert error_of(refused)[0] == "E200002"
        assert post(api).status_code == 200
        assert [message.source for message in api.sent] == ["13105551212"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_e200003(api: HttpApi, method: str) -> None:
    response = requests.request(method, api.messages_url, auth=(KEY, SECRET), verify=str(api.ca_file), timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert error_of(response)[0] == "E200003"


def test_unknown_path_is_404(api: HttpApi) -> None:
    assert get(api, "/v3/messages").status_code == 404


# ------------------------------------------------------------------------------------- status
def test_status_lookup_tells_the_message_status(api: HttpApi) -> None:
    # Given a sent message
    guid = transaction_of(post(api))["transactionGUID"]
    # When its status is read
    response = get(api, "/v4/messages/" + guid)
    # Then it is the submitted message, queued
    assert response.status_code == 200
    assert response.json()["aerialink"]["method"] == "get"
    assert transaction_of(response) == {
        "transactionGUID": guid,
        "transactionGUIDlinked": "",
        "messageType": "Submit",
        "source": "13105551212",
        "destination": "12223334444",
        "status": QUEUED,
    }
    # And when the gateway reports it delivered, the lookup (JSON and XML) says so
    api.set_status(guid, DELIVERED)
    assert transaction_of(get(api, "/v4/messages/" + guid))["status"] == 40001
    xml = ElementTree.fromstring(get(api, "/v4/messages/" + guid + ".xml").content)
    assert xml.findtext("./transactions/transaction/status") == "40001"
    assert api.status_of(guid) == DELIVERED


def test_status_lookup_needs_credentials_and_a_known_guid(api: HttpApi) -> None:
    guid = transaction_of(post(api))["transactionGUID"]
    assert get(api, "/v4/messages/" + guid, auth=None).status_code == 401
    unknown = get(api, "/v4/messages/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    assert error_of(unknown)[0] == "E200001"
    with pytest.raises(KeyError):
        api.set_status("00000000-0000-4000-8000-000000000000", DELIVERED)


# -------------------------------------------------------------------------------------- faults
def test_throttle_is_429_with_retry_after_once(api: HttpApi) -> None:
    # Given one planned 429
    api.inject(HttpFault.throttle(retry_after_s=7))
    # When two messages are sent
    first, second = post(api), post(api)
    # Then the first is throttled with Retry-After and not accepted, the second goes through
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    assert second.status_code == 200
    assert len(api.sent) == 1
    assert api.pending_faults == 0
    assert [entry.fault for entry in api.requests] == ["http_status 429", None]


def test_a_source_over_its_rate_is_answered_429_and_other_sources_are_not(api: HttpApi) -> None:
    # Given a limit of 0.1 messages per second (one token, the next due in 10 s) for one source
    api.limit_rates({"13105551212": 0.1})
    # When that source sends twice at once, and another source once
    first, second = post(api), post(api)
    other = post(api, valid_form(source="15550001111"))
    # Then the second is refused with 429 and a Retry-After of whole seconds until the next token
    assert (first.status_code, second.status_code, other.status_code) == (200, 429, 200)
    assert 1 <= int(second.headers["Retry-After"]) <= 10
    assert len(api.sent) == 2
    assert [(entry.form[0][1], entry.status) for entry in api.rate_limited] == [("13105551212", 429)]
    assert api.describe()["rate_limits"] == {"13105551212": 0.1}
    # And without limits the source is accepted again
    api.limit_rates(None)
    assert post(api).status_code == 200


@pytest.mark.parametrize("status", [500, 502, 503])
def test_injected_5xx(api: HttpApi, status: int) -> None:
    api.inject(HttpFault.http_status(status))
    response = post(api)
    assert response.status_code == status
    assert api.sent == []


@pytest.mark.parametrize(("code", "status"), [("E500001", 500), ("E100003", 403), ("E100004", 403), ("E100005", 403)])
def test_injected_error_codes(api: HttpApi, code: str, status: int) -> None:
    api.inject(HttpFault.error(code))
    response = post(api)
    assert response.status_code == status
    assert error_of(response)[0] == code
    assert api.sent == []


def test_injected_error_status_can_be_chosen(api: HttpApi) -> None:
    api.inject(HttpFault.error("E500001", detail="carrier down", status=503))
    response = post(api, path="/v4/messages.xml")
    assert response.status_code == 503
    root = ElementTree.fromstring(response.content)
    assert (root.findtext("errorCode"), root.findtext("detail")) == ("E500001", "carrier down")


def test_planned_faults_apply_in_order_to_submissions_only(api: HttpApi) -> None:
    # Given three planned faults
    api.inject(HttpFault.http_status(503), HttpFault.throttle(), HttpFault.error("E500001"))
    # When a status lookup happens first, Then it takes no fault
    assert get(api, "/v4/messages/00000000-0000-4000-8000-000000000000").status_code == 404
    assert api.pending_faults == 3
    # And four sends get the faults in order, then success
    assert [post(api).status_code for _ in range(4)] == [503, 429, 500, 200]


def test_timeout_fault_trips_the_client_read_timeout(api: HttpApi) -> None:
    # Given a planned timeout longer than the client waits
    api.inject(HttpFault.timeout(hang_s=5.0))
    # When a message is sent with a 0.5 s read timeout
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(api, timeout=(TIMEOUT, 0.5))
    # Then the client gave up on time, nothing was accepted, and the next send works
    assert time.monotonic() - started < 3.0
    assert api.sent == []
    assert post(api).status_code == 200
    assert [entry.fault for entry in api.requests] == ["timeout", None]
    assert api.requests[0].status is None


def test_stop_interrupts_a_hanging_request() -> None:
    # Given a request hanging on a 30 s timeout fault
    api = HttpApi(KEY, SECRET).start()
    outcome: dict[str, BaseException | requests.Response] = {}

    def send() -> None:
        try:
            outcome["result"] = post(api, timeout=10.0)
        except requests.RequestException as error:
            outcome["result"] = error

    try:
        api.inject(HttpFault.timeout(hang_s=30.0))
        client = start_client(send, lambda: api.requests)
        assert api.requests, "the request never arrived"
    finally:
        # When the API stops
        started = time.monotonic()
        api.stop()
    # Then stopping is prompt and the client sees the connection end, not an answer
    assert time.monotonic() - started < 2.0
    client.join(TIMEOUT)
    assert isinstance(outcome.get("result"), requests.exceptions.ConnectionError)


def test_reset_fault_resets_the_connection(api: HttpApi) -> None:
    api.inject(HttpFault.reset())
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        post(api)
    assert "reset" in str(caught.value).lower()
    assert api.sent == []
    assert post(api).status_code == 200


def test_lost_answer_accepts_then_resets(api: HttpApi) -> None:
    # Given the answer to the next send gets lost
    api.inject(HttpFault.lost_answer())
    # When a message is sent, Then the client sees a reset, yet the gateway accepted the message
    with pytest.raises(requests.exceptions.ConnectionError):
        post(api)
    [sent] = api.sent
    assert api.requests[0].transaction_guid == sent.transaction_guid
    assert api.requests[0].status is None


def statuses_with_error_rate(rate: ErrorRate, count: int) -> list[int]:
    with HttpApi(KEY, SECRET, error_rate=rate) as api, requests.Session() as session:
        return [post(api, session=session).status_code for _ in range(count)]


def test_error_rate_is_reproducible_with_a_seed() -> None:
    # Given a 20% error rate of 503 with a seed
    rate = ErrorRate(0.2, HttpFault.http_status(503), seed=1234)
    # When 40 messages are sent twice on fresh APIs
    first = statuses_with_error_rate(rate, 40)
    second = statuses_with_error_rate(rate, 40)
    # Then both runs fail the same sends: the ones the seeded draws pick
    draws = random.Random(1234)
    expected = [503 if draws.random() < 0.2 else 200 for _ in range(40)]
    assert first == second == expected
    assert 0 < first.count(503) < 40
    # And another seed picks other sends
    assert statuses_with_error_rate(ErrorRate(0.2, seed=99), 40) != first


def test_error_rate_yields_to_planned_faults_and_can_be_switched_off(api: HttpApi) -> None:
    api.error_rate = ErrorRate(1.0, HttpFault.http_status(502))
    api.inject(HttpFault.throttle())
    assert [post(api).status_code for _ in range(2)] == [429, 502]
    api.error_rate = None
    assert post(api).status_code == 200


def test_a_mixed_error_rate_draws_each_failure_from_its_faults() -> None:
    # Given every submission failing with one of three faults, seeded
    rate = ErrorRate.mixed(1.0, [HttpFault.http_status(500), HttpFault.throttle(2), HttpFault.error("E500001")], seed=5)
    # When 30 messages are sent
    statuses = statuses_with_error_rate(rate, 30)
    # Then each failure is one of them, drawn by the same seeded generator
    draws = random.Random(5)
    expected = []
    for _ in range(30):
        draws.random()
        expected.append([500, 429, 500][draws.randrange(3)])
    assert statuses == expected
    assert {500, 429} <= set(statuses)


def test_hooks_see_each_submission_and_each_acceptance_before_the_answer(api: HttpApi) -> None:
    seen: list[tuple[str, str]] = []

    def on_submission(form: dict[str, str], peer: tuple[str, int]) -> HttpFault | None:
        seen.append(("submitted", form["destination"]))
        return HttpFault.http_status(503) if form["destination"] == "12223330000" else None

    def on_accepted(message: SentMessage, peer: tuple[str, int]) -> None:
        # The answer has not been written yet: the client is still waiting on this port
        assert peer[0] == "127.0.0.1"
        assert peer[1] > 0
        seen.append(("accepted", message.destination))

    api.on_submission, api.on_accepted = on_submission, on_accepted
    # When one submission is refused by the hook and one is accepted
    refused = post(api, valid_form(destination="12223330000"))
    accepted = post(api, valid_form(destination="12223331111"))
    # Then the hook's fault answered the first, and the second was seen before its answer came
    assert (refused.status_code, accepted.status_code) == (503, 200)
    assert seen == [("submitted", "12223330000"), ("submitted", "12223331111"), ("accepted", "12223331111")]
    assert api.requests[0].fault == "http_status 503"
    api.on_submission = api.on_accepted = None
    assert post(api).status_code == 200


def test_latency_delays_every_answer(api: HttpApi) -> None:
    api.latency_ms = 300
    started = time.monotonic()
    assert post(api).status_code == 200
    assert time.monotonic() - started >= 0.3


# ------------------------------------------------------------------------------------- records
def test_records_count_accepted_sends_and_every_request(api: HttpApi) -> None:
    # Given concurrent valid sends plus rejected ones
    results: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        status = post(api).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=send, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    post(api, auth=None)
    post(api, {"source": "13105551212"})
    # Then every accepted send is recorded once with its own GUID, and every request is logged
    assert results == [200] * 8
    guids = [message.transaction_guid for message in api.sent]
    assert len(guids) == len(set(guids)) == 8
    assert len(api.requests) == 10
    assert sorted(entry.error_code or "" for entry in api.requests)[-2:] == ["E100001", "E200001"]
    # And the records are copies that clear() empties
    api.sent.clear()
    assert len(api.sent) == 8
    api.clear()
    assert (api.sent, api.requests) == ([], [])


# ------------------------------------------------------------------------------------------ TLS
def test_tls_is_verified_against_the_ca_file_and_refused_without_it(api: HttpApi) -> None:
    # Given the API's CA file, When a client verifies against it, Then the handshake succeeds
    trusting = ssl.create_default_context(cafile=str(api.ca_file))
    with (
        socket.create_connection(("127.0.0.1", api.port), timeout=TIMEOUT) as raw,
        trusting.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    # When a client verifies against the system store only, Then it refuses the certificate
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        socket.create_connection(("127.0.0.1", api.port), timeout=TIMEOUT) as raw,
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(api.messages_url, data=valid_form(), auth=(KEY, SECRET), verify=True, timeout=TIMEOUT)
    # And plain HTTP gets no answer either
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://127.0.0.1:" + str(api.port) + "/v4/messages", timeout=TIMEOUT)
    # And no refused handshake reached the API as a request
    assert api.requests == []
    wait_until(lambda: api.tls_failures >= 2)
    assert api.tls_failures >= 2


# ----------------------------------------------------------------------------------- lifecycle
def test_describe_and_repr_never_show_the_secret(api: HttpApi) -> None:
    described = api.describe()
    assert described["messages_url"] == api.base_url + "/v4/messages"
    assert described["ca_file"] == str(api.ca_file)
    assert Path(str(described["ca_file"])).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert SECRET not in json.dumps(described)
    assert SECRET not in repr(api)


def test_port_zero_gives_distinct_ports_and_stop_frees_them() -> None:
    with HttpApi() as first, HttpApi() as second:
        assert first.port != second.port
        port, ca_file = first.port, first.ca_file
        assert first.api_secret != second.api_secret  # random per instance
    assert not ca_file.exists()
    with socket.socket() as probe:
        probe.settimeout(1.0)
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_simulator_owns_both_send_paths_with_shared_credentials() -> None:
    # Given a simulator with its default credentials
    with GatewaySimulator() as sim:
        # Then the HTTP API and the MM4 endpoint run and accept the same key and random secret
        assert sim.api_key == "sim-api-key"
        assert len(sim.api_secret) >= 16
        assert (sim.http_api.api_key, sim.http_api.api_secret) == (sim.api_key, sim.api_secret)
        assert (sim.mm4.api_key, sim.mm4.api_secret) == (sim.api_key, sim.api_secret)
        response = requests.post(
            sim.http_api.messages_url,
            data=valid_form(),
            auth=(sim.api_key, sim.api_secret),
            verify=str(sim.http_api.ca_file),
            timeout=TIMEOUT,
        )
        assert response.status_code == 200
        described = sim.describe()
        assert set(described) >= {"media", "http_api", "mm4"}
        assert sim.api_secret not in json.dumps(described)
        assert sim.api_secret not in repr(sim)
    assert not sim.http_api.running
    assert not sim.mm4.running


def test_serve_command_runs_both_send_paths() -> None:
    # Given `python -m gatewaysim serve` with the secret from the environment
    env = {**os.environ, "PYTHONPATH": str(REPO / "local"), "SIM_SECRET": SECRET}
    command = [
        sys.executable,
        "-m",
        "gatewaysim",
        "serve",
        "--seconds",
        "60",
        "--api-secret-env",
        "SIM_SECRET",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], 15.0)
        assert readable, "serve printed nothing"
        line = process.stdout.readline()
        described = json.loads(line)
        assert SECRET not in line
        http, mm4 = described["http_api"], described["mm4"]
        # When a message is sent to each printed endpoint
        response = requests.post(
            http["messages_url"],
            data=valid_form(),
            auth=("sim-api-key", SECRET),
            verify=http["ca_file"],
            timeout=TIMEOUT,
        )
        assert response.status_code == 200
        context = ssl.create_default_context(cafile=mm4["ca_file"])
        with smtplib.SMTP_SSL("127.0.0.1", mm4["port"], context=context, timeout=TIMEOUT) as smtp:
            assert smtp.login("sim-api-key", SECRET)[0] == 235
        assert mm4["mode"] == "implicit"
        # Then SIGTERM stops it cleanly
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        end_process(process)
