"""What the simulator's servers share: the tracked threading HTTP server and the component lifecycle.

:class:`TrackedHTTPServer` knows its open connections and handler threads: ``close_all`` shuts every
open connection down (waking handlers blocked on a keep-alive read) and joins the handler threads
with a deadline, so stopping is prompt and bounded. :class:`TrackedHandler` registers its
connection with the server, closes at once when accepted while stopping, and can end a connection
with a TCP reset. :class:`Component` is ``start()``/``stop(timeout)``, ``with`` and ``running``;
:class:`HttpComponent` serves a :class:`TrackedHTTPServer` from a daemon thread. :class:`ServerTls`
is a component's server certificate, issued into a throwaway folder unless one is given.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self, cast

from devstack.tls import ServerCertificate, issue_local_certificate


def shutdown_quietly(connection: socket.socket) -> None:
    """Shuts the TCP connection down (under a TLS socket too, without touching its TLS state)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(connection, socket.SHUT_RDWR)


class AbortConnection(Exception):
    """Raised inside a handler to drop the connection with a TCP reset."""


# ------------------------------------------------------------------------------------------ server
class TrackedHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server, one named daemon thread per connection, that can end them all.

    ``stopping`` is the owner's event: set while it stops, it makes new connections close at once.
    """

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False
    scheme: ClassVar[str] = "http"
    request_thread_name: ClassVar[str] = "http-request"

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], stopping: threading.Event
    ) -> None:
        self.stopping = stopping
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        super().__init__(address, handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return self.scheme + "://" + str(host) + ":" + str(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._run_request, args=(request, client_address), daemon=True, name=self.request_thread_name
        )
        with self._lock:
            self._handler_threads.add(thread)
        thread.start()

    def _run_request(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._handler_threads.discard(threading.current_thread())

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def close_all(self, deadline: float) -> None:
        with self._lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for connection in connections:
            shutdown_quietly(connection)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class TrackedHandler(BaseHTTPRequestHandler):
    """A keep-alive handler of a :class:`TrackedHTTPServer`; logs to ``logger`` as ``label: ...``."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end on their own; stop() also shuts them down
    logger: ClassVar[logging.Logger] = logging.getLogger(__name__)
    label: ClassVar[str] = "server"

    @property
    def tracked_server(self) -> TrackedHTTPServer:
        return cast(TrackedHTTPServer, self.server)

    def setup(self) -> None:
        super().setup()
        self.tracked_server.track(self.connection)
        if self.tracked_server.stopping.is_set():  # accepted while stopping: close_all may have missed it
            self.close_connection = True
            shutdown_quietly(self.connection)

    def finish(self) -> None:
        self.tracked_server.untrack(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("%s: %s", self.label, format % args)

    def run_guarded(self, respond: Callable[[], None]) -> None:
        """Runs ``respond``: :class:`AbortConnection` resets the connection, a vanished client closes it."""
        try:
            respond()
        except AbortConnection:
            self.reset_connection()
        except OSError as error:
            self.logger.debug("%s: client went away: %s", self.label, error)
            self.close_connection = True

    def reset_connection(self) -> None:
        """Closes the socket with SO_LINGER 0, so the peer sees a reset rather than a clean end."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            return
        self.tracked_server.untrack(self.connection)
        self.rfile.close()  # the socket's last io reference: close() below really closes it
        self.connection.close()


# --------------------------------------------------------------------------------------- lifecycle
class Component(ABC):
    """A simulated server's lifecycle: ``start()``, ``stop(timeout)``, ``with``, ``running``.

    A subclass names itself in ``what`` (for its errors), opens in ``_open()`` and closes within a
    deadline (``time.monotonic()`` seconds) in ``_close()``; ``stop()`` does nothing when not running.
    """

    what: ClassVar[str] = "the component"

    def start(self) -> Self:
        if self.running:
            raise RuntimeError(self.what + " is already running")
        self._open()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stops it (connections, sleeps and threads included) within about ``timeout`` seconds."""
        if self.running:
            self._close(time.monotonic() + timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    @abstractmethod
    def running(self) -> bool: ...

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """Where it listens and how it is set (JSON-friendly, never a secret)."""

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self, deadline: float) -> None: ...

    def _not_running(self) -> RuntimeError:
        return RuntimeError(self.what + " is not running")


class HttpComponent(Component):
    """A component serving a :class:`TrackedHTTPServer` from a daemon thread named ``thread_name``."""

    thread_name: ClassVar[str] = "http-server"

    def __init__(self) -> None:
        self._server: TrackedHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        """``<scheme>://127.0.0.1:<port>``; raises RuntimeError before start()."""
        return self._running_server().base_url

    @property
    def port(self) -> int:
        return int(self._running_server().server_address[1])

    def _running_server(self) -> TrackedHTTPServer:
        if self._server is None:
            raise self._not_running()
        return self._server

    def _serve(self, server: TrackedHTTPServer) -> None:
        """Clears the stopping event and serves ``server`` from a new daemon thread."""
        server.stopping.clear()
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=self.thread_name
        )
        thread.start()
        self._server, self._thread = server, thread

    def _close(self, deadline: float) -> None:
        """Stops serving, wakes every sleeping handler, closes every connection, joins the thread."""
        server, thread = self._running_server(), self._thread
        server.stopping.set()
        server.shutdown()
        server.close_all(deadline)
        server.server_close()
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._server = self._thread = None


class ServerTls:
    """A component's server certificate: the ``given`` one, else one issued by ``context()``.

    An issued certificate (for 127.0.0.1, ::1 and ``names``) lives in a throwaway folder named
    ``<prefix>...`` that ``close()`` removes.
    """

    def __init__(self, given: ServerCertificate | None, prefix: str, names: tuple[str, ...] = ("localhost",)) -> None:
        self._given = given
        self._prefix = prefix
        self._names = names
        self._folder: Path | None = None
        self.certificate: ServerCertificate | None = None

    def context(self) -> ssl.SSLContext:
        """The server-side TLS context; ``certificate`` is set from now until ``close()``."""
        certificate = self._given
        if certificate is None:
            self._folder = Path(tempfile.mkdtemp(prefix=self._prefix))
            certificate = issue_local_certificate(self._folder, self._names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
        self.certificate = certificate
        return context

    def close(self) -> None:
        """Forgets the certificate and removes the folder of an issued one."""
        self.certificate = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
