"""The gateway's media host: serves MMS media over HTTP on 127.0.0.1, with fault injection.

An MO's ``mmsURL``/``attachments`` point here; the relay under test fetches them. Media is
registered by name and served at ``/media/<name>``. Faults come from the item's
:class:`MediaFaults` and can be overridden per request with query knobs of the same names, e.g.
``/media/a.jpg?fail_first=2&fail_status=500`` or ``/media/a.jpg?redirects=3``.

Faults are applied in this order: ``delay_ms`` (before anything is sent), ``redirect_to``,
``redirects`` (hop counter in the ``hop`` query parameter), ``status``, ``fail_first``, then the
body with ``content_type``/``no_content_type``, ``chunked``/``no_length``, ``stall_ms`` and
``reset_after_bytes``. The ``fail_first`` counter is kept per media name and per query string
(without ``hop``), so adding any other parameter (``?n=2``) starts a fresh count.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from gatewaysim.servers import AbortConnection, HttpComponent, TrackedHandler, TrackedHTTPServer

_LOG = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_INT_KNOBS = frozenset(
    {
        "delay_ms",
        "fail_first",
        "fail_status",
        "status",
        "reset_after_bytes",
        "redirects",
        "redirect_status",
        "stall_ms",
        "stall_after_bytes",
    }
)
_BOOL_KNOBS = frozenset({"chunked", "no_length", "no_content_type"})
_STR_KNOBS = frozenset({"content_type", "redirect_to"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_HOP = "hop"


class KnobError(ValueError):
    """A fault knob has a value the media host cannot use."""


@dataclass(frozen=True)
class MediaFaults:
    """How one media item misbehaves. The defaults serve the file normally.

    delay_ms: wait before answering (bounded by the host's ``max_wait_s``, cut short by ``stop()``).
    fail_first / fail_status: answer ``fail_status`` to the first N requests, then serve.
    status: always answer this status (with a short text body), e.g. 404 or 500.
    reset_after_bytes: send headers (full Content-Length) and this many body bytes, then reset.
    chunked: Transfer-Encoding: chunked, no Content-Length.
    no_length: neither Content-Length nor chunking; the body ends when the connection closes.
    content_type / no_content_type: send another Content-Type than registered, or none.
    redirect_to: answer ``redirect_status`` with this Location (any URL).
    redirects / redirect_status: N redirect hops to the same item before the file is served.
    stall_ms / stall_after_bytes: send headers and the first bytes, then stall this long.
    """

    delay_ms: int = 0
    fail_first: int = 0
    fail_status: int = 503
    status: int | None = None
    reset_after_bytes: int | None = None
    chunked: bool = False
    no_length: bool = False
    content_type: str | None = None
    no_content_type: bool = False
    redirect_to: str | None = None
    redirects: int = 0
    redirect_status: int = 302
    stall_ms: int = 0
    stall_after_bytes: int = 0

    def __post_init__(self) -> None:
        for knob in _INT_KNOBS:
            value = getattr(self, knob)
            if value is not None and value < 0:
                raise KnobError("fault knob " + knob + " must not be negative")
        for knob in ("fail_status", "status", "redirect_status"):
            value = getattr(self, knob)
            if value is not None and not 100 <= value <= 599:
                raise KnobError("fault knob " + knob + " must be an HTTP status")
        if self.redirect_status not in _REDIRECT_STATUSES:
            raise KnobError("redirect_status must be one of 301, 302, 303, 307, 308")

    def with_query(self, query: Mapping[str, str]) -> MediaFaults:
        """These faults overridden by the knobs found in a request's query string."""
        overrides: dict[str, Any] = {}
        for key, raw in query.items():
            if key in _INT_KNOBS:
                overrides[key] = _parse_int(key, raw)
            elif key in _BOOL_KNOBS:
                overrides[key] = _parse_bool(key, raw)
            elif key in _STR_KNOBS:
                overrides[key] = raw
        return dataclasses.replace(self, **overrides) if overrides else self


def _parse_int(key: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise KnobError("fault knob " + key + " needs an integer") from None


def _parse_bool(key: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise KnobError("fault knob " + key + " needs a boolean")


@dataclass(frozen=True)
class MediaItem:
    """A registered file. ``content_type=None`` serves it without a Content-Type header."""

    name: str
    body: bytes
    content_type: str | None
    faults: MediaFaults


@dataclass(frozen=True)
class RequestRecord:
    """One request as the media host received it. ``time`` is ``time.monotonic()`` at arrival."""

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    time: float
    name: str | None


class _MediaState:
    """What the request threads share: the registry, the request log, the fail counters."""

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._items: dict[str, MediaItem] = {}
        self._log: list[RequestRecord] = []
        self._served: dict[tuple[str, str], int] = {}

    def put(self, item: MediaItem) -> None:
        with self._lock:
            self._items[item.name] = item
            self._served = {key: n for key, n in self._served.items() if key[0] != item.name}

    def remove(self, name: str) -> None:
        with self._lock:
            self._items.pop(name, None)

    def get(self, name: str) -> MediaItem | None:
        with self._lock:
            return self._items.get(name)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._items)

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._log.append(entry)

    def log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def count_attempt(self, name: str, counter_key: str) -> int:
        """Counts one more attempt at the final hop of ``name`` and returns the count (1-based)."""
        with self._lock:
            key = (name, counter_key)
            self._served[key] = self._served.get(key, 0) + 1
            return self._served[key]

    def wait(self, milliseconds: int) -> bool:
        """Sleeps up to ``milliseconds`` (bounded); True when the host is stopping meanwhile."""
        return self.stopping.wait(min(milliseconds / 1000.0, self.max_wait_s))


class _MediaHandler(TrackedHandler):
    server_version = "GatewaySimMedia/1.0"
    logger = _LOG
    label = "media host"

    @property
    def _server(self) -> _MediaServer:
        return cast(_MediaServer, self.server)

    @property
    def _state(self) -> _MediaState:
        return self._server.state

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    # -------------------------------------------------------------------------- request handling
    def _respond(self, *, send_body: bool) -> None:
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        name = _media_name(split.path)
        self._state.record(
            RequestRecord(
                method=self.command,
                path=split.path,
                query=query,
                raw_query=split.query,
                headers=dict(self.headers.items()),
                time=time.monotonic(),
                name=name,
            )
        )
        self.run_guarded(lambda: self._serve(name, split.query, query, send_body=send_body))

    def _serve(self, name: str | None, raw_query: str, query: dict[str, str], *, send_body: bool) -> None:
        item = self._state.get(name) if name else None
        if item is None:
            self._send_text(404, "no such media\n", send_body=send_body)
            return
        try:
            faults = item.faults.with_query(query)
            hop = _parse_int(_HOP, query[_HOP]) if _HOP in query else 0
        except KnobError as error:
            self._send_text(400, str(error) + "\n", send_body=send_body)
            return
        if faults.delay_ms and self._state.wait(faults.delay_ms):
            raise AbortConnection
        if faults.redirect_to is not None:
            self._send_redirect(faults.redirect_status, faults.redirect_to)
            return
        if hop < faults.redirects:
            self._send_redirect(faults.redirect_status, self._hop_url(item.name, query, hop + 1))
            return
        if faults.status is not None:
            self._send_text(faults.status, "simulated status\n", send_body=send_body)
            return
        if self._fails_this_time(item.name, faults, raw_query):
            self._send_text(faults.fail_status, "simulated failure\n", send_body=send_body)
            return
        self._send_media(item, faults, send_body=send_body)

    def _fails_this_time(self, name: str, faults: MediaFaults, raw_query: str) -> bool:
        if not faults.fail_first:
            return False
        return self._state.count_attempt(name, _counter_key(raw_query)) <= faults.fail_first

    def _hop_url(self, name: str, query: Mapping[str, str], hop: int) -> str:
        params = {key: value for key, value in query.items() if key != _HOP}
        params[_HOP] = str(hop)
        return self._server.base_url + "/media/" + name + "?" + urlencode(params)

    # ------------------------------------------------------------------------------ writing
    def _send_text(self, status: int, text: str, *, send_body: bool) -> None:
        body = b"" if status in (204, 304) or status < 200 else text.encode()
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        if status not in (204, 304) and status >= 200:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def _send_redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_media(self, item: MediaItem, faults: MediaFaults, *, send_body: bool) -> None:
        self.send_response(200)
        content_type = faults.content_type if faults.content_type is not None else item.content_type
        if content_type is not None and not faults.no_content_type:
            self.send_header("Content-Type", content_type)
        if faults.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif faults.no_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(item.body)))
        self.end_headers()
        if not send_body:
            return
        self._write_body(memoryview(item.body), faults)

    def _write_body(self, body: memoryview, faults: MediaFaults) -> None:
        limit = len(body) if faults.reset_after_bytes is None else min(faults.reset_after_bytes, len(body))
        start = 0
        if faults.stall_ms:
            start = min(faults.stall_after_bytes, limit)
            self._write_range(body, 0, start, chunked=faults.chunked)
            if self._state.wait(faults.stall_ms):
                raise AbortConnection
        self._write_range(body, start, limit, chunked=faults.chunked)
        if faults.reset_after_bytes is not None:
            raise AbortConnection
        if faults.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write_range(self, body: memoryview, start: int, end: int, *, chunked: bool) -> None:
        """Writes body[start:end] in 64 KiB slices of the registered bytes (no copy of the body)."""
        for offset in range(start, end, _CHUNK):
            self._write_piece(body[offset : min(offset + _CHUNK, end)], chunked=chunked)

    def _write_piece(self, piece: memoryview, *, chunked: bool) -> None:
        if not piece:
            return
        if chunked:
            self.wfile.write(b"%x\r\n" % len(piece))
            self.wfile.write(piece)
            self.wfile.write(b"\r\n")
        else:
            self.wfile.write(piece)


def _media_name(path: str) -> str | None:
    prefix = "/media/"
    if not path.startswith(prefix):
        return None
    name = unquote(path[len(prefix) :])
    return name if _NAME.match(name) else None


def _knob_text(value: str | int | bool) -> str:
    return str(int(value)) if isinstance(value, bool) else str(value)


def _counter_key(raw_query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k != _HOP]
    return urlencode(sorted(pairs))


class _MediaServer(TrackedHTTPServer):
    """The media host's tracked HTTP server: the handlers reach the shared state through it."""

    request_thread_name = "media-host-request"

    def __init__(self, address: tuple[str, int], state: _MediaState) -> None:
        self.state = state
        super().__init__(address, _MediaHandler, state.stopping)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            # The client gave up (a fetch cut off at its deadline): what a real host sees too.
            _LOG.info("media host: %s closed the connection", client_address)
            return
        _LOG.warning("media host: request from %s failed", client_address, exc_info=True)


class MediaHost(HttpComponent):
    """Serves registered media on ``http://127.0.0.1:<port>/media/<name>`` from a daemon thread.

    ``port=0`` (the default) lets the OS pick a free port, so parallel runs never collide.
    ``max_wait_s`` bounds every ``delay_ms``/``stall_ms`` sleep; ``stop()`` interrupts them, as it
    closes every connection (bounded by its timeout).
    """

    what = "the media host"
    thread_name = "media-host"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_wait_s: float = 60.0) -> None:
        super().__init__()
        self._address = (host, port)
        self._state = _MediaState(max_wait_s)

    def _open(self) -> None:
        self._serve(_MediaServer(self._address, self._state))

    def describe(self) -> dict[str, object]:
        """Where it listens and what it serves (JSON-friendly)."""
        if not self.running:
            return {"running": False}
        return {
            "running": True,
            "base_url": self.base_url,
            "port": self.port,
            "media": {name: self.url(name) for name in self.names()},
        }

    # ----------------------------------------------------------------------------- registry
    def add(
        self,
        name: str,
        body: bytes,
        content_type: str | None = "application/octet-stream",
        faults: MediaFaults | None = None,
    ) -> str:
        """Registers (or replaces) ``name`` and returns its URL. Replacing resets its fail counters."""
        if not _NAME.match(name):
            raise ValueError("media names are 1-128 characters of A-Z a-z 0-9 . _ - (no slash)")
        url = self.url(name)
        self._state.put(MediaItem(name, bytes(body), content_type, faults or MediaFaults()))
        return url

    def remove(self, name: str) -> None:
        self._state.remove(name)

    def names(self) -> list[str]:
        return self._state.names()

    def url(self, name: str, **knobs: str | int | bool) -> str:
        """The URL of ``name``, with fault knobs as query parameters (booleans become 1/0)."""
        base = self.base_url + "/media/" + name
        if not knobs:
            return base
        params = {key: _knob_text(value) for key, value in knobs.items()}
        return base + "?" + urlencode(params)

    # -------------------------------------------------------------------------- request log
    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first (every request, including redirects and 404s)."""
        return self._state.log()

    def requests_for(self, name: str) -> list[RequestRecord]:
        return [entry for entry in self._state.log() if entry.name == name]

    def clear_requests(self) -> None:
        self._state.clear_log()
