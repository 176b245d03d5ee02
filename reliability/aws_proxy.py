"""A fault-injecting proxy between the deployed functions and the emulator's DynamoDB and S3.

Local tooling for the reliability runs (docs/local-stack.md): the emulator is started with
``AWS_ENDPOINT_URL_DYNAMODB`` and ``AWS_ENDPOINT_URL_S3`` pointing here (the functions inherit its
environment; botocore reads those variables), so every DynamoDB and S3 call a function makes
passes through this proxy, which forwards it to the emulator unchanged or, while a fault is on,
answers as AWS does when the service is throttled or unreachable:

* ``throttle``: DynamoDB ``400 ThrottlingException``, S3 ``503 SlowDown`` (the request is read, not forwarded);
* ``down``: the request is read, then the connection is reset with no answer (not forwarded).

It serves the emulator's own certificate (the functions trust its CA) and forwards the request
as received (method, path, headers with their ``Host``, body), so SigV4 signatures still verify.
The test client (``DeployedStack.client``) talks to the emulator directly and is never faulted.
``after_forward`` lets a run act after the emulator answered a request and before the function
gets the answer (the reliability crash run stops the function there).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from devstack.tls import ServerCertificate
from gatewaysim.servers import AbortConnection, HttpComponent, TrackedHandler, TrackedHTTPServer

_LOG = logging.getLogger(__name__)

Service = Literal["dynamodb", "s3"]
Fault = Literal["pass", "throttle", "down"]
SERVICES: tuple[Service, ...] = ("dynamodb", "s3")
MAX_BODY = 64 * 1024 * 1024
UPSTREAM_TIMEOUT_S = 60.0
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "upgrade"})
_SET_BY_US = frozenset({"content-length", "date", "server"})  # in relayed answers


@dataclass(frozen=True)
class ProxiedRequest:
    """One request as the proxy forwarded it; ``target`` is DynamoDB's ``X-Amz-Target`` operation."""

    service: Service
    method: str
    path: str
    target: str
    body: bytes
    peer: tuple[str, int]


# Called after the emulator answered ``request`` (with that status), before the answer is relayed;
# True drops the answer (the connection is reset: the caller never learns the outcome).
AfterForward = Callable[[ProxiedRequest, int], bool]


class _ProxyState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.faults: dict[Service, Fault] = dict.fromkeys(SERVICES, "pass")
        self.counts: Counter[str] = Counter()
        self.upstream: tuple[str, int] | None = None
        self.upstream_tls: ssl.SSLContext | None = None
        self.after_forward: AfterForward | None = None

    def fault_for(self, service: Service) -> Fault:
        with self.lock:
            fault = self.faults[service]
            self.counts[f"{service}_requests"] += 1
            if fault != "pass":
                self.counts[f"{service}_{fault}"] += 1
            return fault


class _ProxyHandler(TrackedHandler):
    logger = _LOG
    label = "aws proxy"
    _upstream_connection: http.client.HTTPSConnection | None = None

    @property
    def _state(self) -> _ProxyState:
        return cast(_TlsProxyServer, self.server).state

    def do_GET(self) -> None:
        self.run_guarded(self._relay)

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    def _relay(self) -> None:
        body = self._body()
        service: Service = "dynamodb" if self.headers.get("X-Amz-Target", "").startswith("DynamoDB_") else "s3"
        fault = self._state.fault_for(service)
        if fault == "down":
            raise AbortConnection
        if fault == "throttle":
            self._answer_throttled(service)
            return
        status, headers, answer = self._forward(body)
        request = ProxiedRequest(
            service,
            self.command,
            self.path,
            self.headers.get("X-Amz-Target", "").rpartition(".")[2],
            body,
            (str(self.client_address[0]), int(self.client_address[1])),
        )
        hook = self._state.after_forward
        if hook is not None and hook(request, status):
            raise AbortConnection
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    def _body(self) -> bytes:
        """The body, de-chunked when sent with ``Transfer-Encoding: chunked`` (botocore streams
        uploads so, ``aws-chunked`` inside: that content encoding is forwarded as it came)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked_body()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise AbortConnection
        return self.rfile.read(length) if length > 0 else b""

    def _chunked_body(self) -> bytes:
        body = bytearray()
        while True:
            size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the empty line
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY:
                raise AbortConnection
            body += self.rfile.read(size)
            self.rfile.readline(8)  # the CRLF after the chunk

    def _answer_throttled(self, service: Service) -> None:
        if service == "dynamodb":
            status, content_type = 400, "application/x-amz-json-1.0"
            body = json.dumps(
                {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
            ).encode()
        else:
            status, content_type = 503, "application/xml"
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _upstream(self) -> http.client.HTTPSConnection:
        """One connection to the emulator per client connection, kept alive like the client's."""
        if self._upstream_connection is not None:
            return self._upstream_connection
        upstream, tls = self._state.upstream, self._state.upstream_tls
        if upstream is None or tls is None:
            raise AbortConnection  # not connected to the emulator yet
        connection = http.client.HTTPSConnection(*upstream, context=tls, timeout=UPSTREAM_TIMEOUT_S)
        self._upstream_connection = connection
        return connection

    def finish(self) -> None:
        if self._upstream_connection is not None:
            self._upstream_connection.close()
        super().finish()

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = self._upstream()
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as error:
            _LOG.debug("aws proxy: upstream failed: %s", error)
            connection.close()
            self._upstream_connection = None
            raise AbortConnection from error
        headers = [
            (name, value)
            for name, value in response.getheaders()
            if name.lower() not in _HOP_BY_HOP and name.lower() not in _SET_BY_US
        ]
        return response.status, headers, answer


class _TlsProxyServer(TrackedHTTPServer):
    scheme = "https"
    request_thread_name = "aws-proxy-request"

    def __init__(self, address: tuple[str, int], state: _ProxyState) -> None:
        self.state = state
        self.tls: ssl.SSLContext | None = None
        super().__init__(address, _ProxyHandler, state.stopping)

    def finish_request(self, request: Any, client_address: Any) -> None:
        raw = cast(socket.socket, request)
        raw.settimeout(30)
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None:
            raw.close()
            return
        self.track(raw)
        try:
            connection = self.tls.wrap_socket(raw, server_side=True)
        except OSError:
            return
        finally:
            self.untrack(raw)
        try:
            _ProxyHandler(connection, client_address, self)
        finally:
            connection.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("aws proxy: request from %s failed", client_address, exc_info=True)


class AwsFaultProxy(HttpComponent):
    """``start()`` listens (so the emulator can be started with :meth:`endpoint_env`); ``connect()``
    then points it at the running emulator and serves its certificate."""

    what = "the AWS fault proxy"
    thread_name = "aws-proxy"

    def __init__(self) -> None:
        super().__init__()
        self._state = _ProxyState()

    def _open(self) -> None:
        self._serve(_TlsProxyServer(("127.0.0.1", 0), self._state))

    def describe(self) -> dict[str, object]:
        if not self.running:
            return {"running": False}
        with self._state.lock:
            return {"running": True, "base_url": self.base_url, "faults": dict(self._state.faults)}

    def endpoint_env(self) -> dict[str, str]:
        """The variables that send a function's DynamoDB and S3 calls through this proxy."""
        return {"AWS_ENDPOINT_URL_DYNAMODB": self.base_url, "AWS_ENDPOINT_URL_S3": self.base_url}

    def connect(self, emulator_endpoint: str, certificate: ServerCertificate) -> None:
        """Forwards to ``emulator_endpoint`` (trusting ``certificate``'s CA) and serves ``certificate``."""
        parts = urlsplit(emulator_endpoint)
        server = cast(_TlsProxyServer, self._running_server())
        serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        serving.load_cert_chain(certificate.cert_file, certificate.key_file)
        upstream = ssl.create_default_context(cafile=str(certificate.ca_file))
        with self._state.lock:
            self._state.upstream = (parts.hostname or "127.0.0.1", parts.port or 443)
            self._state.upstream_tls = upstream
        server.tls = serving

    def set_fault(self, service: Service, fault: Fault) -> None:
        with self._state.lock:
            self._state.faults[service] = fault
        _LOG.info("aws proxy: %s %s", service, fault)

    @contextlib.contextmanager
    def fault(self, service: Service, fault: Fault, seconds: float) -> Any:
        """``fault`` on ``service`` for ``seconds`` (the block runs meanwhile), then back to ``pass``."""
        self.set_fault(service, fault)
        ends = time.monotonic() + seconds
        try:
            yield
            remaining = ends - time.monotonic()
            if remaining > 0:
                self._state.stopping.wait(remaining)
        finally:
            self.set_fault(service, "pass")

    @property
    def after_forward(self) -> AfterForward | None:
        return self._state.after_forward

    @after_forward.setter
    def after_forward(self, hook: AfterForward | None) -> None:
        self._state.after_forward = hook

    def counts(self) -> dict[str, int]:
        """Requests seen and faulted, per service (``dynamodb_requests``, ``s3_throttle``, ...)."""
        with self._state.lock:
            return dict(self._state.counts)
