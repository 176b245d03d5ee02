"""The gateway's v4 HTTP send API, simulated: ``POST /v4/messages`` over HTTPS, with fault injection.

Real protocol (Aerialink v4): HTTP Basic auth with the connection's API key (user) and secret
(password); a url-encoded form with ``source``, ``destination``, ``messageText``, ``mmsURL``
(required) and ``destinationFormat``, ``registeredDelivery``, ``programID``, ``mmsSubject``
(optional); ``/v4/messages.json`` and ``/v4/messages.xml`` select the answer's schema (JSON by
default); the answer names one ``transactionGUID`` per destination; errors carry an ``errorCode``
and a ``detail``. ``GET /v4/messages/<transactionGUID>`` tells a message's status.

Assumed (see README.md): the HTTP status of each error code, the status document's field names,
404 for an unknown transactionGUID, what a fault's body looks like.

Order of one request: the request is read and logged; a submission (POST to the messages
collection) takes a token of its ``source``'s rate limit, if that source has one (``rate_limits``);
``latency_ms`` is waited; a submission then takes the next planned fault, else rolls the error
rate; a submission over its source's rate is answered 429 with ``Retry-After`` (assumed: the
gateway documents neither its limits nor this answer); then authentication, the method,
validation, acceptance.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import logging
import random
import re
import secrets
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from devstack.tls import ServerCertificate
from gatewaysim.mo import new_guid
from gatewaysim.rate_limits import SourceRateLimits, retry_after_header
from gatewaysim.servers import AbortConnection, HttpComponent, ServerTls, TrackedHandler, TrackedHTTPServer

_LOG = logging.getLogger(__name__)

AnswerFormat = Literal["json", "xml"]
TransactionsShape = Literal["list", "object"]
FaultKind = Literal["status", "timeout", "reset", "error", "lost_answer"]

PENDING, QUEUED, SENT, DELIVERED = 10000, 20000, 30000, 40001
STATUS_NAMES: Mapping[int, str] = MappingProxyType(
    {PENDING: "Pending", QUEUED: "Queued", SENT: "Sent", DELIVERED: "Delivered"}
)
# The HTTP status each error code is answered with (the codes are real, the statuses assumed).
ERROR_STATUS: Mapping[str, int] = MappingProxyType(
    {
        "E100001": 401,
        "E100002": 401,
        "E100003": 403,
        "E100004": 403,
        "E100005": 403,
        "E200001": 400,
        "E200002": 400,
        "E200003": 405,
        "E500001": 500,
    }
)
ERROR_DETAIL: Mapping[str, str] = MappingProxyType(
    {
        "E100001": "No credentials supplied",
        "E100002": "Invalid credentials",
        "E100003": "Account inactive",
        "E100004": "IP address not allowed",
        "E100005": "Permission denied",
        "E200001": "Missing parameters",
        "E200002": "Invalid source",
        "E200003": "Wrong method",
        "E500001": "Send fail",
    }
)
REQUIRED_FIELDS = ("source", "destination", "messageText", "mmsURL")
FIELD_LIMITS: Mapping[str, int] = MappingProxyType(
    {"source": 15, "destination": 15, "messageText": 160, "mmsURL": 160, "mmsSubject": 40}
)
# ``ApiRequest.fault`` of a submission refused for its source's rate (``HttpApi.rate_limits``).
RATE_LIMITED = "rate_limit"
_FLAG_FIELDS = ("destinationFormat", "registeredDelivery")
_MAX_BODY = 64 * 1024
_DIGITS = re.compile(r"^[0-9]{1,15}$")
_COLLECTION = re.compile(r"^/v4/messages(?:\.(json|xml))?$")
_ONE_MESSAGE = re.compile(r"^/v4/messages/([A-Za-z0-9-]{1,64})(?:\.(json|xml))?$")


# ---------------------------------------------------------------------------------------- faults
@dataclass(frozen=True)
class HttpFault:
    """One injected outcome that replaces a submission's whole answer (the message is not accepted).

    Build them with the class methods: ``http_status(503)``, ``throttle(retry_after_s=2)``,
    ``timeout(hang_s=30)``, ``reset()``, ``error("E500001")``, ``lost_answer()``.
    """

    kind: FaultKind
    status: int | None = None
    retry_after_s: int | None = None
    error_code: str | None = None
    detail: str | None = None
    hang_s: float = 30.0

    def __post_init__(self) -> None:
        if self.kind == "status" and (self.status is None or not 400 <= self.status <= 599):
            raise ValueError("an http_status fault needs a 4xx or 5xx status")
        if self.kind == "error" and self.error_code not in ERROR_STATUS:
            raise ValueError("unknown error code: " + str(self.error_code))
        if self.hang_s < 0 or (self.retry_after_s is not None and self.retry_after_s < 0):
            raise ValueError("hang_s and retry_after_s must not be negative")

    @classmethod
    def http_status(cls, status: int, retry_after_s: int | None = None) -> HttpFault:
        """A bare HTTP status (500, 502, 503...) with a short text body, as a proxy would answer."""
        return cls("status", status=status, retry_after_s=retry_after_s)

    @classmethod
    def throttle(cls, retry_after_s: int = 1) -> HttpFault:
        """429 Too Many Requests with ``Retry-After: <seconds>``."""
        return cls("status", status=429, retry_after_s=retry_after_s)

    @classmethod
    def timeout(cls, hang_s: float = 30.0) -> HttpFault:
        """Reads the request, then answers nothing for ``hang_s`` (bounded by max_wait_s, cut by stop())."""
        return cls("timeout", hang_s=hang_s)

    @classmethod
    def reset(cls) -> HttpFault:
        """Reads the request, then resets the connection (TCP RST) without answering."""
        return cls("reset")

    @classmethod
    def error(cls, code: str, detail: str | None = None, status: int | None = None) -> HttpFault:
        """An Aerialink error document (``E100003``, ``E500001``...) with its usual or the given status."""
        return cls("error", status=status, error_code=code, detail=detail)

    @classmethod
    def lost_answer(cls) -> HttpFault:
        """The message IS accepted and recorded, then the connection is reset before the answer."""
        return cls("lost_answer")

    def describe(self) -> str:
        if self.kind == "status":
            return "http_status " + str(self.status)
        if self.kind == "error":
            return "error " + str(self.error_code)
        return self.kind


@dataclass(frozen=True)
class ErrorRate:
    """Submissions with no planned fault get ``fault`` with probability ``rate`` (seeded, reproducible).

    ``others``: more faults; a failing submission then gets one of ``fault`` and ``others``, drawn
    uniformly from the same seeded generator (``ErrorRate.mixed(0.2, [...])``).
    """

    rate: float
    fault: HttpFault = field(default_factory=lambda: HttpFault.http_status(503))
    seed: int | None = 0
    others: tuple[HttpFault, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("the error rate is a probability between 0 and 1")

    @classmethod
    def mixed(cls, rate: float, faults: Iterable[HttpFault], seed: int | None = 0) -> ErrorRate:
        """Fails submissions with probability ``rate``, each failure one of ``faults`` (uniformly)."""
        first, *rest = faults
        return cls(rate, first, seed, tuple(rest))

    @property
    def faults(self) -> tuple[HttpFault, ...]:
        return (self.fault, *self.others)


# A hook called with a submission's form and the client's address (host, port) before the
# submission is answered; the fault it returns replaces the answer (None: answered as usual).
SubmissionHook = Callable[[dict[str, str], tuple[str, int]], "HttpFault | None"]
# A hook called with each accepted message and the client's address, before the answer is sent.
AcceptedHook = Callable[["SentMessage", tuple[str, int]], None]


# --------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class SentMessage:
    """One accepted submission. ``time`` is ``time.monotonic()`` at acceptance."""

    transaction_guid: str
    fields: dict[str, str]
    user: str
    time: float
    answer_format: AnswerFormat

    @property
    def source(self) -> str:
        return self.fields.get("source", "")

    @property
    def destination(self) -> str:
        return self.fields.get("destination", "")

    @property
    def mms_url(self) -> str:
        return self.fields.get("mmsURL", "")


@dataclass(frozen=True)
class ApiRequest:
    """One request as received, rejected ones included. ``status`` None: no answer (timeout, reset)."""

    method: str
    path: str
    form: list[tuple[str, str]]
    user: str | None
    time: float
    status: int | None
    error_code: str | None
    fault: str | None
    transaction_guid: str | None


@dataclass(frozen=True)
class _Route:
    kind: Literal["collection", "message"]
    answer_format: AnswerFormat
    guid: str | None = None

    @classmethod
    def parse(cls, path: str) -> _Route | None:
        match = _COLLECTION.match(path)
        if match:
            return cls("collection", _answer_format(match.group(1)))
        match = _ONE_MESSAGE.match(path)
        if match:
            return cls("message", _answer_format(match.group(2)), match.group(1))
        return None


def _answer_format(suffix: str | None) -> AnswerFormat:
    return "xml" if suffix == "xml" else "json"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    error_code: str | None = None
    transaction_guid: str | None = None


# ------------------------------------------------------------------------------------- documents
class _Documents:
    """Renders the gateway's JSON and XML answers."""

    @staticmethod
    def success(
        answer_format: AnswerFormat, shape: TransactionsShape, method: str, transaction: dict[str, str | int]
    ) -> tuple[bytes, str]:
        if answer_format == "xml":
            inner = "".join(_xml_element(key, value) for key, value in transaction.items())
            text = (
                '<?xml version="1.0" encoding="UTF-8"?><aerialink><version>v4</version>'
                "<resource>messages</resource><method>" + method + "</method><type>synchronous</type>"
                "<transactions><transaction>" + inner + "</transaction></transactions></aerialink>"
            )
            return text.encode(), "application/xml; charset=utf-8"
        wrapped = {"transaction": transaction}
        document = {
            "aerialink": {
                "version": "v4",
                "resource": "messages",
                "method": method,
                "type": "synchronous",
                "transactions": [wrapped] if shape == "list" else wrapped,
            }
        }
        return json.dumps(document).encode(), "application/json; charset=utf-8"

    @staticmethod
    def error(answer_format: AnswerFormat, code: str, detail: str) -> tuple[bytes, str]:
        if answer_format == "xml":
            text = (
                '<?xml version="1.0" encoding="UTF-8"?><aerialink>'
                + _xml_element("errorCode", code)
                + _xml_element("detail", detail)
                + "</aerialink>"
            )
            return text.encode(), "application/xml; charset=utf-8"
        document = {"aerialink": {"errorCode": code, "detail": detail}}
        return json.dumps(document).encode(), "application/json; charset=utf-8"


def _xml_element(name: str, value: str | int) -> str:
    return "<" + name + ">" + escape(str(value)) + "</" + name + ">"


def _error_answer(
    answer_format: AnswerFormat,
    code: str,
    detail: str | None = None,
    status: int | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> _Answer:
    body, content_type = _Documents.error(answer_format, code, detail or ERROR_DETAIL[code])
    return _Answer(status or ERROR_STATUS[code], body, content_type, headers, error_code=code)


def _fault_answer(fault: HttpFault, answer_format: AnswerFormat) -> _Answer:
    if fault.kind == "error":
        assert fault.error_code is not None
        return _error_answer(answer_format, fault.error_code, fault.detail, fault.status)
    status = fault.status or 503
    headers = () if fault.retry_after_s is None else (("Retry-After", str(fault.retry_after_s)),)
    return _Answer(status, b"simulated " + str(status).encode() + b"\n", "text/plain; charset=utf-8", headers)


# ------------------------------------------------------------------------------------------ state
class _ApiState:
    """What the request threads share: settings, the fault plan, the records (all under one lock)."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        allowed_sources: frozenset[str] | None,
        shape: TransactionsShape,
        latency_ms: int,
        error_rate: ErrorRate | None,
        initial_status: int,
        max_wait_s: float,
    ) -> None:
        self.max_wait_s = max_wait_s
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._credentials = (api_key.encode(), api_secret.encode())
        self.allowed_sources = allowed_sources
        self.shape: TransactionsShape = shape
        self.latency_ms = latency_ms
        self.initial_status = initial_status
        self._error_rate = error_rate
        self._rng = random.Random(error_rate.seed if error_rate else None)
        self._plan: deque[HttpFault] = deque()
        self._sent: list[SentMessage] = []
        self._requests: list[ApiRequest] = []
        self._statuses: dict[str, int] = {}
        self.tls_failures = 0
        self.rate_limits: SourceRateLimits | None = None
        self.on_submission: SubmissionHook | None = None
        self.on_accepted: AcceptedHook | None = None

    def credentials_match(self, user: str, password: str) -> bool:
        key, secret = self._credentials
        user_ok = hmac.compare_digest(user.encode(), key)
        return hmac.compare_digest(password.encode(), secret) and user_ok

    # fault plan ---------------------------------------------------------------------------
    def plan(self, faults: Iterable[HttpFault]) -> None:
        with self._lock:
            self._plan.extend(faults)

    def pending(self) -> int:
        with self._lock:
            return len(self._plan)

    def clear_plan(self) -> None:
        with self._lock:
            self._plan.clear()

    @property
    def error_rate(self) -> ErrorRate | None:
        with self._lock:
            return self._error_rate

    @error_rate.setter
    def error_rate(self, value: ErrorRate | None) -> None:
        with self._lock:
            self._error_rate = value
            self._rng = random.Random(value.seed if value else None)

    def take_fault(self) -> HttpFault | None:
        """The next planned fault, else one drawn from the error rate, else None."""
        with self._lock:
            if self._plan:
                return self._plan.popleft()
            rate = self._error_rate
            if rate is not None and self._rng.random() < rate.rate:
                return rate.fault if not rate.others else rate.faults[self._rng.randrange(len(rate.faults))]
            return None

    # records ------------------------------------------------------------------------------
    def accept(self, message: SentMessage) -> None:
        with self._lock:
            self._sent.append(message)
            self._statuses[message.transaction_guid] = self.initial_status

    def record(self, entry: ApiRequest) -> None:
        with self._lock:
            self._requests.append(entry)

    def note_tls_failure(self) -> None:
        with self._lock:
            self.tls_failures += 1

    def tls_failure_count(self) -> int:
        with self._lock:
            return self.tls_failures

    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._sent)

    def requests(self) -> list[ApiRequest]:
        with self._lock:
            return list(self._requests)

    def find(self, guid: str) -> tuple[SentMessage, int] | None:
        """The message sent with ``guid`` (any case) and its status."""
        guid = guid.upper()
        with self._lock:
            for message in self._sent:
                if message.transaction_guid == guid:
                    return message, self._statuses[guid]
            return None

    def set_status(self, guid: str, status: int) -> None:
        guid = guid.upper()
        with self._lock:
            if guid not in self._statuses:
                raise KeyError(guid)
            self._statuses[guid] = status

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
            self._requests.clear()
            self._statuses.clear()
            self.tls_failures = 0

    def wait(self, seconds: float) -> bool:
        """Sleeps up to ``seconds`` (bounded by max_wait_s); True when stopping meanwhile."""
        return self.stopping.wait(min(seconds, self.max_wait_s))


# ------------------------------------------------------------------------------------------ logic
class _Gateway:
    """Answers one request the way the gateway would (no sockets here)."""

    def __init__(self, state: _ApiState) -> None:
        self._state = state

    def answer(
        self,
        method: str,
        route: _Route,
        form: list[tuple[str, str]],
        user: str | None,
        password: str | None,
        peer: tuple[str, int] = ("", 0),
    ) -> _Answer:
        fmt = route.answer_format
        if user is None or password is None:
            return _error_answer(fmt, "E100001", headers=(("WWW-Authenticate", 'Basic realm="Aerialink"'),))
        if not self._state.credentials_match(user, password):
            return _error_answer(fmt, "E100002", headers=(("WWW-Authenticate", 'Basic realm="Aerialink"'),))
        if route.kind == "collection":
            if method != "POST":
                return _error_answer(fmt, "E200003", "Use POST to send messages", headers=(("Allow", "POST"),))
            return self._submit(fmt, dict(form), user, peer)
        if method != "GET":
            return _error_answer(fmt, "E200003", "Use GET to read a message", headers=(("Allow", "GET"),))
        return self._status(fmt, route.guid or "")

    def _submit(self, fmt: AnswerFormat, fields: dict[str, str], user: str, peer: tuple[str, int]) -> _Answer:
        missing = [name for name in REQUIRED_FIELDS if not fields.get(name)]
        if missing:
            return _error_answer(fmt, "E200001", "Missing required parameter(s): " + ", ".join(missing))
        source = fields["source"]
        allowed = self._state.allowed_sources
        if not _DIGITS.match(source) or (allowed is not None and source not in allowed):
            return _error_answer(fmt, "E200002", "Invalid source: " + source)
        invalid = _invalid_fields(fields)
        if invalid:
            return _error_answer(fmt, "E200001", "Invalid parameter(s): " + "; ".join(invalid))
        guid = new_guid()
        message = SentMessage(guid, fields, user, time.monotonic(), fmt)
        self._state.accept(message)
        hook = self._state.on_accepted
        if hook is not None:
            hook(message, peer)
        transaction: dict[str, str | int] = {"transactionGUID": guid, "destination": fields["destination"]}
        body, content_type = _Documents.success(fmt, self._state.shape, "post", transaction)
        return _Answer(200, body, content_type, transaction_guid=guid)

    def _status(self, fmt: AnswerFormat, guid: str) -> _Answer:
        found = self._state.find(guid)
        if found is None:
            return _error_answer(fmt, "E200001", "No message with transactionGUID " + guid, status=404)
        message, status = found
        transaction: dict[str, str | int] = {
            "transactionGUID": message.transaction_guid,
            "transactionGUIDlinked": "",
            "messageType": "Submit",
            "source": message.source,
            "destination": message.destination,
            "status": status,
        }
        body, content_type = _Documents.success(fmt, self._state.shape, "get", transaction)
        return _Answer(200, body, content_type, transaction_guid=message.transaction_guid)


def _invalid_fields(fields: Mapping[str, str]) -> list[str]:
    problems = [
        name + " exceeds " + str(limit) + " characters"
        for name, limit in FIELD_LIMITS.items()
        if len(fields.get(name, "")) > limit
    ]
    if not _DIGITS.match(fields["destination"]):
        problems.append("destination must be 1-15 digits")
    problems += [name + " must be 0 or 1" for name in _FLAG_FIELDS if fields.get(name, "0") not in ("0", "1")]
    if not fields["mmsURL"].startswith(("http://", "https://")):
        problems.append("mmsURL must be an http(s) URL")
    return problems


def _basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(user, password) from a Basic Authorization header; (None, None) when absent or not Basic;
    ("", "") when it cannot be decoded (so it counts as invalid credentials)."""
    if not header:
        return None, None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None, None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


# --------------------------------------------------------------------------------------- handling
class _ApiHandler(TrackedHandler):
    server_version = "GatewaySimAerialink/4.0"
    logger = _LOG
    label = "http api"

    @property
    def _server(self) -> _TlsHTTPServer:
        return cast(_TlsHTTPServer, self.server)

    @property
    def _state(self) -> _ApiState:
        return self._server.state

    def do_GET(self) -> None:
        self.run_guarded(self._respond)

    def do_POST(self) -> None:
        self.run_guarded(self._respond)

    def do_PUT(self) -> None:
        self.run_guarded(self._respond)

    def do_DELETE(self) -> None:
        self.run_guarded(self._respond)

    def do_PATCH(self) -> None:
        self.run_guarded(self._respond)

    def _respond(self) -> None:
        arrived = time.monotonic()
        path = urlsplit(self.path).path
        body = self._read_body()
        form = self._form(body)
        user, password = _basic_credentials(self.headers.get("Authorization"))
        route = _Route.parse(path)
        submits = route is not None and route.kind == "collection" and self.command == "POST"
        limits = self._state.rate_limits
        over_rate = limits.take(dict(form).get("source", ""), arrived) if submits and limits else None
        if self._state.latency_ms and self._state.wait(self._state.latency_ms / 1000.0):
            raise AbortConnection
        fault = self._hooked_fault(form) if submits else None
        if fault is None and submits:
            fault = self._state.take_fault()
        fmt: AnswerFormat = route.answer_format if route else "json"
        if route is None:
            answer = _Answer(404, b"not found\n", "text/plain; charset=utf-8")
        elif body is None:
            answer = _Answer(413, b"request body too large\n", "text/plain; charset=utf-8")
        elif fault is not None and fault.kind in ("status", "error"):
            answer = _fault_answer(fault, fmt)
        elif fault is not None and fault.kind in ("timeout", "reset"):
            self._record(arrived, path, form, user, None, fault)
            self._fail_without_answer(fault)
            return
        elif over_rate is not None:
            answer = _fault_answer(HttpFault.throttle(int(retry_after_header(over_rate))), fmt)
            self._record(arrived, path, form, user, answer, None, rate_limited=True)
            self._send(answer)
            return
        else:
            answer = _Gateway(self._state).answer(self.command, route, form, user, password, self._peer())
        if fault is not None and fault.kind == "lost_answer":
            self._record(arrived, path, form, user, None, fault, answer.transaction_guid)
            raise AbortConnection
        self._record(arrived, path, form, user, answer, fault, answer.transaction_guid)
        self._send(answer)

    def _peer(self) -> tuple[str, int]:
        host, port = self.client_address[:2]
        return str(host), int(port)

    def _hooked_fault(self, form: list[tuple[str, str]]) -> HttpFault | None:
        hook = self._state.on_submission
        return hook(dict(form), self._peer()) if hook is not None else None

    def _read_body(self) -> bytes | None:
        """The request body, b"" without Content-Length, None when over 64 KiB (not read)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > _MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _form(self, body: bytes | None) -> list[tuple[str, str]]:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if body is None or content_type != "application/x-www-form-urlencoded":
            return []
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)

    def _record(
        self,
        arrived: float,
        path: str,
        form: list[tuple[str, str]],
        user: str | None,
        answer: _Answer | None,
        fault: HttpFault | None,
        guid: str | None = None,
        rate_limited: bool = False,
    ) -> None:
        self._state.record(
            ApiRequest(
                method=self.command,
                path=path,
                form=form,
                user=user,
                time=arrived,
                status=answer.status if answer else None,
                error_code=answer.error_code if answer else None,
                fault=RATE_LIMITED if rate_limited else fault.describe() if fault else None,
                transaction_guid=guid,
            )
        )

    def _fail_without_answer(self, fault: HttpFault) -> None:
        if fault.kind == "reset":
            raise AbortConnection
        self.close_connection = True
        if self._state.wait(fault.hang_s):
            raise AbortConnection

    def _send(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)


class _TlsHTTPServer(TrackedHTTPServer):
    """A tracked threading HTTPS server: TLS handshakes run in the request threads, never in the accept loop."""

    scheme = "https"
    request_thread_name = "http-api-request"
    handshake_timeout = 10.0

    def __init__(self, address: tuple[str, int], state: _ApiState, tls: ssl.SSLContext) -> None:
        self.state = state
        self.tls = tls
        super().__init__(address, _ApiHandler, state.stopping)

    def finish_request(self, request: Any, client_address: Any) -> None:
        raw = cast(socket.socket, request)
        raw.settimeout(self.handshake_timeout)
        with contextlib.suppress(OSError):  # headers and body are separate writes: do not let Nagle wait
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.track(raw)
        try:
            connection = self.tls.wrap_socket(raw, server_side=True)
        except OSError as error:  # ssl.SSLError included: the client refused our certificate, or left
            self.state.note_tls_failure()
            _LOG.debug("http api: TLS handshake with %s failed: %s", client_address, error)
            return
        finally:
            self.untrack(raw)
        try:
            _ApiHandler(connection, client_address, self)
        finally:
            connection.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("http api: request from %s failed", client_address, exc_info=True)


# -------------------------------------------------------------------------------------- component
class HttpApi(HttpComponent):
    """The v4 send API on ``https://127.0.0.1:<port>/v4/messages``, served from a daemon thread.

    TLS comes from a throwaway CA made at ``start()`` (``ca_file`` is what clients trust) unless a
    ``certificate`` is given. Only ``api_key``/``api_secret`` authenticate (the secret is random
    unless given). ``allowed_sources``
    (when given) is the set of ``source`` numbers the account owns: others get E200002.
    ``stop()`` interrupts hangs and latency and closes every connection (bounded by its timeout).
    """

    what = "the HTTP API"
    thread_name = "http-api"

    def __init__(
        self,
        api_key: str = "sim-api-key",
        api_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allowed_sources: Iterable[str] | None = None,
        transactions_shape: TransactionsShape = "list",
        latency_ms: int = 0,
        error_rate: ErrorRate | None = None,
        initial_status: int = QUEUED,
        max_wait_s: float = 60.0,
        certificate: ServerCertificate | None = None,
    ) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        super().__init__()
        self.api_key = api_key
        self.api_secret = api_secret if api_secret is not None else secrets.token_urlsafe(18)
        self._address = (host, port)
        self._tls = ServerTls(certificate, "gatewaysim-http-")
        self._state = _ApiState(
            self.api_key,
            self.api_secret,
            frozenset(allowed_sources) if allowed_sources is not None else None,
            transactions_shape,
            latency_ms,
            error_rate,
            initial_status,
            max_wait_s,
        )

    def __repr__(self) -> str:
        return "HttpApi(api_key=" + repr(self.api_key) + ", api_secret='***', running=" + str(self.running) + ")"

    # ---------------------------------------------------------------------------- lifecycle
    def _open(self) -> None:
        tls = self._tls.context()
        try:
            server = _TlsHTTPServer(self._address, self._state, tls)
        except BaseException:
            self._tls.close()
            raise
        self._serve(server)

    def _close(self, deadline: float) -> None:
        super()._close(deadline)
        self._tls.close()

    @property
    def messages_url(self) -> str:
        """``https://127.0.0.1:<port>/v4/messages`` (add ``.json``/``.xml`` to pick the schema)."""
        return self.base_url + "/v4/messages"

    @property
    def ca_file(self) -> Path:
        """The PEM of the CA the server certificate chains to (what a client verifies against)."""
        if self._tls.certificate is None or not self.running:
            raise self._not_running()
        return self._tls.certificate.ca_file

    def describe(self) -> dict[str, object]:
        """Where it listens and how it is set (JSON-friendly; the secret is never shown)."""
        if not self.running:
            return {"running": False}
        rate = self._state.error_rate
        return {
            "running": True,
            "base_url": self.base_url,
            "messages_url": self.messages_url,
            "port": self.port,
            "ca_file": str(self.ca_file),
            "api_key": self.api_key,
            "api_secret": "***",
            "transactions_shape": self._state.shape,
            "allowed_sources": sorted(self._state.allowed_sources) if self._state.allowed_sources else None,
            "latency_ms": self._state.latency_ms,
            "rate_limits": None if self.rate_limits is None else dict(self.rate_limits.rates),
            "pending_faults": self.pending_faults,
            "error_rate": None if rate is None else {"rate": rate.rate, "fault": rate.fault.describe()},
        }

    # ------------------------------------------------------------------------------- knobs
    def inject(self, *faults: HttpFault) -> None:
        """Plans outcomes for the next submissions, one each, in order (after any already planned)."""
        self._state.plan(faults)

    @property
    def pending_faults(self) -> int:
        return self._state.pending()

    def clear_faults(self) -> None:
        self._state.clear_plan()

    @property
    def error_rate(self) -> ErrorRate | None:
        return self._state.error_rate

    @error_rate.setter
    def error_rate(self, value: ErrorRate | None) -> None:
        """Setting it (re)seeds the random draws, so the same sequence of requests fails the same way."""
        self._state.error_rate = value

    @property
    def on_submission(self) -> SubmissionHook | None:
        """Called with each submission's form and the client's (host, port) before it is answered;
        a fault it returns replaces the answer (it is counted like a planned one). None: no hook."""
        return self._state.on_submission

    @on_submission.setter
    def on_submission(self, hook: SubmissionHook | None) -> None:
        self._state.on_submission = hook

    @property
    def on_accepted(self) -> AcceptedHook | None:
        """Called with each accepted message and the client's (host, port) after it is recorded and
        before the answer is written (a test may post a receipt "before the sender knows", or stop
        the client there). None: no hook."""
        return self._state.on_accepted

    @on_accepted.setter
    def on_accepted(self, hook: AcceptedHook | None) -> None:
        self._state.on_accepted = hook

    @property
    def latency_ms(self) -> int:
        return self._state.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: int) -> None:
        if value < 0:
            raise ValueError("latency_ms must not be negative")
        self._state.latency_ms = value

    @property
    def rate_limits(self) -> SourceRateLimits | None:
        return self._state.rate_limits

    def limit_rates(self, rates: Mapping[str, float] | None, burst_s: float = 1.0) -> None:
        """Enforces ``rates`` (messages per second by ``source``) from now on, buckets full; None: no limits.

        A submission over its source's rate is answered 429 with ``Retry-After`` (whole seconds
        until a token is due) and recorded with ``fault == RATE_LIMITED``; it takes no token.
        """
        self._state.rate_limits = None if rates is None else SourceRateLimits(rates, burst_s)

    @property
    def rate_limited(self) -> list[ApiRequest]:
        """The submissions refused for their source's rate, oldest first."""
        return [request for request in self._state.requests() if request.fault == RATE_LIMITED]

    @property
    def transactions_shape(self) -> TransactionsShape:
        return self._state.shape

    @transactions_shape.setter
    def transactions_shape(self, value: TransactionsShape) -> None:
        self._state.shape = value

    @property
    def allowed_sources(self) -> frozenset[str] | None:
        return self._state.allowed_sources

    @allowed_sources.setter
    def allowed_sources(self, value: Iterable[str] | None) -> None:
        self._state.allowed_sources = frozenset(value) if value is not None else None

    # ----------------------------------------------------------------------------- records
    @property
    def sent(self) -> list[SentMessage]:
        """A copy of the accepted messages, oldest first."""
        return self._state.sent()

    @property
    def requests(self) -> list[ApiRequest]:
        """A copy of every request received (rejected and faulted ones included), oldest first."""
        return self._state.requests()

    @property
    def tls_failures(self) -> int:
        """Connections whose TLS handshake failed (for example: the client did not trust our CA)."""
        return self._state.tls_failure_count()

    def message(self, transaction_guid: str) -> SentMessage | None:
        found = self._state.find(transaction_guid)
        return found[0] if found else None

    def status_of(self, transaction_guid: str) -> int | None:
        found = self._state.find(transaction_guid)
        return found[1] if found else None

    def set_status(self, transaction_guid: str, status: int) -> None:
        """Moves an accepted message to ``status`` (e.g. ``DELIVERED``); KeyError when unknown."""
        self._state.set_status(transaction_guid, status)

    def clear(self) -> None:
        """Forgets every record (sent messages, requests, statuses, TLS failures); keeps the knobs."""
        self._state.clear()
