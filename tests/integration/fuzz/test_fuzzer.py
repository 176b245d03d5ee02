"""The fuzz run's checks fail when the stack misbehaves: a broken relay on 127.0.0.1 stands in for it.

The stand-in answers most operations as the document says, and breaks one promise per operation:
a 5xx, a receipt accepted without credentials, an undocumented status, an answer missing a header
the document requires. Its logs hold a traceback and its table an item for every GUID. Each must
show in the run's problems; the operations it answers correctly must show none.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.stack import DeployedStack
from fuzz.logs import is_unhandled_exception
from fuzz.run import Fuzzer

USERNAME, PASSWORD = "gateway", "fuzz-test-password"
BASIC = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
GUID = re.compile(r"\s*[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*")
TRACEBACK = json.dumps({"level": "ERROR", "message": "unexpected error", "exception": "Traceback (most recent..."})
EXAMPLES = 8


class BrokenRelay(BaseHTTPRequestHandler):
    """Answers like the relay, except where each operation's docstring line says."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/inbound":
            self._webhook(lambda: self._inbound(parse_qs(urlsplit(self.path).query)))
        elif path == "/dlr":  # broken: every receipt by GET is a 500
            self._webhook(lambda: self._json(500, {"error": "internal_error"}))
        elif path.startswith("/m/"):  # broken: an undocumented status
            self._json(418, {"error": "not_found"})
        elif path.startswith("/numbers/"):  # broken: no Cache-Control on a documented 400
            self._query(lambda: self._json(400, {"error": "invalid_number"}, cache_control=False))
        else:  # /messages/{id}: as the relay answers an unknown id
            self._query(lambda: self._json(404, {"error": "not_found"}))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        if path == "/inbound":
            self._webhook(lambda: self._inbound(parse_qs(body.decode("utf-8", "replace"))))
        elif path == "/dlr":  # broken: a receipt is accepted whatever the credentials
            self._json(200, {"status": "unmatched", "transactionGUID": None, "deliveryStatus": None})
        else:  # /dlr/mm4: as the relay answers what is no MM4 report
            self._webhook(lambda: self._json(400, {"error": "bad_request"}))

    def _webhook(self, answer: Any) -> None:
        if self.headers.get("Authorization") != BASIC:
            self._json(401, {"error": "unauthorized"}, {"WWW-Authenticate": 'Basic realm="mms-relay", charset="UTF-8"'})
        else:
            answer()

    def _query(self, answer: Any) -> None:
        if not str(self.headers.get("Authorization", "")).startswith("AWS4-HMAC-SHA256 Credential=test/"):
            self._json(403, {"message": "Missing Authentication Token"}, cache_control=False)
        else:
            answer()

    def _inbound(self, fields: dict[str, list[str]]) -> None:
        guid = (fields.get("transactionGUID") or [""])[0]
        if GUID.fullmatch(guid) and fields.get("source") and fields.get("destination"):
            self._json(200, {"status": "stored", "transactionGUID": guid.strip().upper()})
        else:
            self._json(400, {"error": "invalid_payload", "fields": ["transactionGUID"]})

    def _json(
        self, status: int, body: object, headers: dict[str, str] | None = None, cache_control: bool = True
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if cache_control:
            self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class FakeLogs:
    def get_paginator(self, name: str) -> FakeLogs:
        assert name == "describe_log_groups"
        return self

    def paginate(self, **_: object) -> list[dict[str, Any]]:
        return [{"logGroups": [{"logGroupName": "/aws/lambda/relay/ReceiptFunction"}]}]

    def filter_log_events(self, **arguments: object) -> dict[str, Any]:
        if arguments.get("nextToken"):  # a second page, then the end
            return {"events": [{"message": "END RequestId: 1"}]}
        return {"events": [{"message": "START RequestId: 1"}, {"message": TRACEBACK}], "nextToken": "page-2"}


class FakeTable:
    """Every GUID has an item: the run must name those only refused requests carried."""

    def __init__(self) -> None:
        self.queried: list[str] = []

    def query(self, **arguments: Any) -> dict[str, int]:
        self.queried.append(arguments["ExpressionAttributeValues"][":pk"]["S"])
        return {"Count": 1}


class FakeStack:
    """What the run uses of a deployed stack."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.ca_file = Path("/nonexistent/ca.pem")  # plain http: never read
        self.outputs = {"MessagesTableName": "messages"}
        self.table = FakeTable()

    def webhook_credentials(self) -> tuple[str, str]:
        return USERNAME, PASSWORD

    def client(self, service: str) -> object:
        return {"logs": FakeLogs(), "dynamodb": self.table}[service]


@pytest.fixture(scope="module")
def broken_relay() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BrokenRelay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_each_broken_promise_is_a_problem_and_a_kept_one_is_none(broken_relay: str) -> None:
    # Given a relay that breaks one promise per operation (and keeps them on GET /messages/{id})
    stack = FakeStack(broken_relay)
    fuzzer = Fuzzer(cast(DeployedStack, stack), examples=EXAMPLES, workers=2, seed=7)
    # When the run and its checks afterwards go through
    report = fuzzer.run()
    fuzzer.check_aftermath(settle_seconds=0)
    problems = "\n".join(report.problems())
    tallies = report.operations
    # Then every request was sent and counted, with and without valid credentials
    assert all(tally.requests == EXAMPLES for tally in tallies.values())
    assert tallies["POST /inbound"].with_valid_credentials
    assert tallies["POST /inbound"].without_valid_credentials
    # And the 5xx is counted and reported
    assert tallies["GET /dlr"].server_errors > 0
    assert "GET /dlr: " in problems
    assert "Server error" in problems
    # And so is the receipt accepted without credentials, the undocumented status, the missing header
    assert tallies["POST /dlr"].failures > 0
    assert "without valid credentials" in problems
    assert tallies["GET /m/{token}"].failures == EXAMPLES
    assert "Undocumented" in problems
    assert tallies["GET /numbers/{number}/messages"].failures > 0
    assert "Cache-Control" in problems
    # And the kept promises are no problem
    assert tallies["GET /messages/{id}"].failures == 0
    assert tallies["POST /inbound"].failures == 0
    # And the logged traceback (on the first of two pages) and the items stored are named
    assert report.unhandled_exceptions is not None
    assert len(report.unhandled_exceptions) == 1
    assert report.stored_from_refused
    assert report.refused_guids_checked == len(report.stored_from_refused)
    assert all(pk.startswith("TX#") for pk in stack.table.queried)


@pytest.mark.parametrize(
    ("line", "counted"),
    [
        (TRACEBACK, True),
        ("Traceback (most recent call last):", True),
        ('{"errorMessage": "boom", "errorType": "KeyError", "stackTrace": []}', True),
        (json.dumps({"level": "ERROR", "message": "media fetch failed", "error": "http_404"}), False),
        (json.dumps({"level": "INFO", "message": "stored", "exception": "no"}), False),
        ("REPORT RequestId: 1 Duration: 3 ms", False),
    ],
)
def test_what_counts_as_an_unhandled_exception(line: str, counted: bool) -> None:
    assert is_unhandled_exception(line) is counted
