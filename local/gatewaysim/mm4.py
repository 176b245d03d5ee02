"""The gateway's MM4 endpoint, simulated: MMS over SMTP (3GPP TS 23.140 MM4, RFC 4356), with faults.

Real protocol: SMTP submission with AUTH (LOGIN or PLAIN: the API key and secret) over TLS, either
implicit (the gateway's example: port 587 with TLS from the first byte) or STARTTLS; envelope
addresses ``+<number>@<domain>`` (``/TYPE=PLMN`` before the ``@`` is accepted too); several
recipients in one transaction make a group MMS; the body is a MIME ``multipart/related`` message
with the ``X-Mms-*`` headers of an MM4_forward.REQ.

Assumed (see README.md): how the transaction GUIDs appear in the reply to DATA (``data_reply``),
the 10-recipient cap and its 452, every reply text, the faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import hmac
import logging
import random
import re
import secrets
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import Message
from pathlib import Path
from typing import Any, AnyStr, Literal, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from devstack.tls import ServerCertificate
from gatewaysim.mo import new_guid
from gatewaysim.servers import Component, ServerTls

_LOG = logging.getLogger(__name__)

Mm4Mode = Literal["implicit", "starttls", "starttls_not_offered"]
GuidMode = Literal["per_recipient", "single"]

DEFAULT_DOMAIN = "mmsc.aerialink.net"
REPLY_REFUSED_CONNECTION = "421 4.3.2 Service not available, closing transmission channel"
REPLY_TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, please try again later"
REPLY_NOT_MULTIPART = "554 5.6.0 Message is not MIME multipart"
REPLY_TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
REPLY_SENDER_REFUSED = "550 5.7.1 Sender not allowed"
# What ``Mm4ErrorRate`` may draw besides an SMTP reply line: the connection reset with no reply.
DROP = "drop"
_ADDRESS = re.compile(r"^\+([0-9]{1,15})(?:/TYPE=PLMN)?@([^@\s]+)$", re.IGNORECASE)
_REPLY_LINE = re.compile(r"^(\S+@\S+) ([0-9A-Fa-f-]{36})$")
_QUEUED_AS = re.compile(r"queued as ([0-9A-Fa-f-]{36})", re.IGNORECASE)
_DROP = DROP


# ---------------------------------------------------------------------------------------- faults
@dataclass(frozen=True)
class Mm4ErrorRate:
    """DATA with no planned fault gets one of ``outcomes`` with probability ``rate`` (seeded).

    An outcome is a 4xx/5xx reply line (``451 4.3.0 ...``) or ``DROP`` (the message is read, the
    connection reset with no reply); each failure draws one uniformly from the same generator.
    """

    rate: float
    outcomes: tuple[str, ...] = (REPLY_TEMPORARY_FAILURE,)
    seed: int | None = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("the error rate is a probability between 0 and 1")
        if not self.outcomes:
            raise ValueError("an error rate needs at least one outcome")
        for outcome in self.outcomes:
            if outcome != DROP and (outcome[:1] not in ("4", "5") or _reply_code(outcome) is None):
                raise ValueError("an outcome is DROP or an SMTP 4xx or 5xx reply line")


# Called with each accepted DATA and the client's (host, port) before the reply is written.
Mm4AcceptedHook = Callable[["Mm4Transaction", tuple[str, int]], None]


# --------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Mm4Connection:
    """One accepted TCP connection (after the TLS handshake in implicit mode). ``index`` is 1-based."""

    index: int
    peer: str
    time: float
    refused: bool  # greeted with 421 and closed


@dataclass(frozen=True)
class AuthAttempt:
    connection: int
    mechanism: str
    user: str
    success: bool
    time: float


@dataclass(frozen=True)
class Mm4Part:
    """One leaf MIME part as received; ``data`` is the decoded body (base64/quoted-printable undone)."""

    content_type: str
    content_id: str | None
    content_location: str | None
    filename: str | None
    charset: str | None
    data: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Mm4Transaction:
    """One DATA as received, whatever its fate. ``reply_code`` None: the connection was dropped.

    ``guids`` maps each accepted recipient to its transaction GUID (empty when not accepted; in
    ``single`` mode every recipient maps to the same GUID). ``time`` is ``time.monotonic()``.
    """

    connection: int
    user: str | None
    mail_from: str
    recipients: tuple[str, ...]
    refused_recipients: tuple[tuple[str, int], ...]
    raw: bytes
    headers: tuple[tuple[str, str], ...]
    parts: tuple[Mm4Part, ...]
    guids: dict[str, str]
    reply_code: int | None
    reply: str | None
    time: float

    @property
    def accepted(self) -> bool:
        return self.reply_code == 250

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True)
class DataReply:
    """A DATA reply read back: recipient -> GUID (per-recipient lines) and the ``queued as`` GUID."""

    guids: dict[str, str]
    queued_as: str | None


def data_reply(guids: Mapping[str, str], mode: GuidMode) -> str:
    """The reply to an accepted DATA (lines joined by CRLF, without the final CRLF).

    ``per_recipient``: ``250-<recipient> <GUID>`` per accepted recipient, in RCPT order, then
    ``250 Ok queued as <first GUID>``. ``single``: only ``250 Ok queued as <GUID>``.
    """
    first = next(iter(guids.values()))
    final = "250 Ok queued as " + first
    if mode == "single":
        return final
    return "\r\n".join(["250-" + recipient + " " + guid for recipient, guid in guids.items()] + [final])


def parse_data_reply(message: str | bytes) -> DataReply:
    """Reads a DATA reply's text as ``smtplib`` returns it (lines without codes, joined by LF)."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    guids: dict[str, str] = {}
    queued_as = None
    for raw_line in text.splitlines():
        stripped = raw_line.strip()
        line = stripped[4:] if stripped[:4] in ("250-", "250 ") else stripped
        match = _REPLY_LINE.match(line)
        if match:
            guids[match.group(1)] = match.group(2)
            continue
        queued = _QUEUED_AS.search(line)
        if queued:
            queued_as = queued.group(1)
    return DataReply(guids, queued_as)


def recipient_number(address: str, domain: str) -> str | None:
    """The digits of ``+<digits>[/TYPE=PLMN]@<domain>``, or None when it is not of that form."""
    match = _ADDRESS.match(address.strip())
    if not match or match.group(2).lower() != domain.lower():
        return None
    return match.group(1)


def _parse_message(raw: bytes) -> tuple[Message, tuple[tuple[str, str], ...], tuple[Mm4Part, ...]]:
    message = email.message_from_bytes(raw, policy=policy.default)
    headers = tuple((name, str(value)) for name, value in message.items())
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        parts.append(
            Mm4Part(
                content_type=part.get_content_type(),
                content_id=_optional(part.get("Content-ID")),
                content_location=_optional(part.get("Content-Location")),
                filename=part.get_filename(),
                charset=part.get_content_charset(),
                data=payload if isinstance(payload, bytes) else b"",
                headers=tuple((name, str(value)) for name, value in part.items()),
            )
        )
    return message, headers, tuple(parts)


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _reply_code(reply: str) -> int | None:
    last = reply.splitlines()[-1] if reply else ""
    return int(last[:3]) if last[:3].isdigit() else None


# ------------------------------------------------------------------------------------------ state
class _Mm4State:
    """What the SMTP sessions share with the caller's thread: knobs, faults, records (one lock)."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        domain: str,
        guid_mode: GuidMode,
        max_recipients: int,
        latency_ms: int,
        max_wait_s: float,
    ) -> None:
        self.domain = domain
        self.guid_mode: GuidMode = guid_mode
        self.max_recipients = max_recipients
        self.latency_ms = latency_ms
        self.max_wait_s = max_wait_s
        self._credentials = (api_key.encode(), api_secret.encode())
        self._lock = threading.Lock()
        self._refuse_connections = 0
        self._data_faults: deque[str] = deque()
        self._error_rate: Mm4ErrorRate | None = None
        self._rng = random.Random(0)
        self.allowed_senders: frozenset[str] | None = None
        self.on_accepted: Mm4AcceptedHook | None = None
        self._connections: list[Mm4Connection] = []
        self._transactions: list[Mm4Transaction] = []
        self._auth: list[AuthAttempt] = []

    def credentials_match(self, login: bytes, password: bytes) -> bool:
        key, secret = self._credentials
        user_ok = hmac.compare_digest(login, key)
        return hmac.compare_digest(password, secret) and user_ok

    # faults -------------------------------------------------------------------------------
    def refuse_connections(self, count: int) -> None:
        with self._lock:
            self._refuse_connections += count

    def plan_data(self, outcome: str, count: int) -> None:
        with self._lock:
            self._data_faults.extend([outcome] * count)

    def take_data_fault(self) -> str | None:
        """The next planned DATA fault, else one drawn from the error rate, else None."""
        with self._lock:
            if self._data_faults:
                return self._data_faults.popleft()
            rate = self._error_rate
            if rate is not None and self._rng.random() < rate.rate:
                return rate.outcomes[self._rng.randrange(len(rate.outcomes))]
            return None

    @property
    def error_rate(self) -> Mm4ErrorRate | None:
        with self._lock:
            return self._error_rate

    @error_rate.setter
    def error_rate(self, value: Mm4ErrorRate | None) -> None:
        with self._lock:
            self._error_rate = value
            self._rng = random.Random(value.seed if value else None)

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {
                "refuse_connections": self._refuse_connections,
                "data_faults": len(self._data_faults),
            }

    def clear_faults(self) -> None:
        with self._lock:
            self._refuse_connections = 0
            self._data_faults.clear()

    # records ------------------------------------------------------------------------------
    def open_connection(self, peer: str) -> Mm4Connection:
        with self._lock:
            refused = self._refuse_connections > 0
            if refused:
                self._refuse_connections -= 1
            record = Mm4Connection(len(self._connections) + 1, peer, time.monotonic(), refused)
            self._connections.append(record)
            return record

    def record_auth(self, attempt: AuthAttempt) -> None:
        with self._lock:
            self._auth.append(attempt)

    def record_transaction(self, transaction: Mm4Transaction) -> None:
        with self._lock:
            self._transactions.append(transaction)

    def connections(self) -> list[Mm4Connection]:
        with self._lock:
            return list(self._connections)

    def transactions(self) -> list[Mm4Transaction]:
        with self._lock:
            return list(self._transactions)

    def auth_attempts(self) -> list[AuthAttempt]:
        with self._lock:
            return list(self._auth)

    def clear(self) -> None:
        with self._lock:
            self._connections.clear()
            self._transactions.clear()
            self._auth.clear()


# ------------------------------------------------------------------------------------ SMTP layer
class _Mm4Smtp(SMTP):
    """aiosmtpd's SMTP session plus connection records, the 421 greeting and an abort."""

    def __init__(
        self, handler: _Mm4Handler, *, state: _Mm4State, probe: bool, live: set[_Mm4Smtp], **kwargs: Any
    ) -> None:
        super().__init__(handler, **kwargs)
        self.mm4_state = state
        self.probe = probe  # aiosmtpd's own start-up check connection: neither recorded nor faulted
        self.connection_index = 0
        self.refused_recipients: list[tuple[str, int]] = []
        self._live = live
        self._opened = False
        self._greeted = False
        self._refuse = False

    def _create_session(self) -> Session:
        return _QuietSession(self.loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = not self._opened  # a second call follows STARTTLS on the same connection
        self._opened = True
        super().connection_made(transport)
        if first:
            self._live.add(self)
            if not self.probe:
                peer = transport.get_extra_info("peername")
                record = self.mm4_state.open_connection(_peer_text(peer))
                self.connection_index, self._refuse = record.index, record.refused

    def connection_lost(self, error: Exception | None) -> None:
        self._live.discard(self)
        super().connection_lost(error)

    async def push(self, status: AnyStr) -> None:
        if not self._greeted:
            self._greeted = True
            if self._refuse:
                await super().push(REPLY_REFUSED_CONNECTION)
                if self.transport is not None:
                    self.transport.close()
                return
        await super().push(status)

    def abort(self) -> None:
        """Drops the connection at once (a TCP reset, no TLS close_notify, no SMTP reply)."""
        if self.transport is not None:
            cast(asyncio.WriteTransport, self.transport).abort()


class _QuietSession(Session):
    """aiosmtpd's session without the deprecation warning it logs on every successful AUTH."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


def _peer_address(peer: object) -> tuple[str, int]:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return str(peer), 0


def _peer_text(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return str(peer[0]) + ":" + str(peer[1])
    return str(peer)


class _Mm4Handler:
    """aiosmtpd handler hooks: recipient rules, the DATA outcome and its records."""

    def __init__(self, state: _Mm4State) -> None:
        self._state = state

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        success = self._state.credentials_match(auth_data.login, auth_data.password)
        self._state.record_auth(
            AuthAttempt(
                connection=cast(_Mm4Smtp, server).connection_index,
                mechanism=mechanism,
                user=auth_data.login.decode("utf-8", "replace"),
                success=success,
                time=time.monotonic(),
            )
        )
        return AuthResult(success=success, handled=False, auth_data=auth_data)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        cast(_Mm4Smtp, server).refused_recipients.clear()
        allowed = self._state.allowed_senders
        if allowed is not None and recipient_number(address, self._state.domain) not in allowed:
            return REPLY_SENDER_REFUSED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refused = cast(_Mm4Smtp, server).refused_recipients
        if recipient_number(address, self._state.domain) is None:
            refused.append((address, 550))
            return "550 5.1.1 <" + address + ">: not +<digits>@" + self._state.domain
        if len(envelope.rcpt_tos) >= self._state.max_recipients:
            refused.append((address, 452))
            return REPLY_TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        cast(_Mm4Smtp, server).refused_recipients.clear()
        return "250 2.0.0 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        smtp = cast(_Mm4Smtp, server)
        fault = self._state.take_data_fault()
        if self._state.latency_ms:
            await asyncio.sleep(min(self._state.latency_ms / 1000.0, self._state.max_wait_s))
        raw = envelope.original_content or b""
        message, headers, parts = _parse_message(raw)
        recipients = tuple(envelope.rcpt_tos)
        guids: dict[str, str] = {}
        if fault == _DROP:
            reply = None
        elif fault is not None:
            reply = fault
        elif not message.is_multipart():
            reply = REPLY_NOT_MULTIPART
        else:
            guids = self._assign_guids(recipients)
            reply = data_reply(guids, self._state.guid_mode)
        auth_data = session.auth_data
        transaction = Mm4Transaction(
            connection=smtp.connection_index,
            user=auth_data.login.decode("utf-8", "replace") if isinstance(auth_data, LoginPassword) else None,
            mail_from=envelope.mail_from or "",
            recipients=recipients,
            refused_recipients=tuple(smtp.refused_recipients),
            raw=raw,
            headers=headers,
            parts=parts,
            guids=guids,
            reply_code=_reply_code(reply) if reply is not None else None,
            reply=reply,
            time=time.monotonic(),
        )
        self._state.record_transaction(transaction)
        hook = self._state.on_accepted
        if hook is not None and transaction.accepted:
            # In a worker thread: only this session waits for the hook, the others are served meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, hook, transaction, _peer_address(session.peer))
        if reply is None:
            smtp.abort()
            await asyncio.sleep(self._state.max_wait_s)  # connection_lost cancels this at once
            return REPLY_TEMPORARY_FAILURE
        return reply

    def _assign_guids(self, recipients: tuple[str, ...]) -> dict[str, str]:
        if self._state.guid_mode == "single":
            shared = new_guid()
            return dict.fromkeys(recipients, shared)
        return {recipient: new_guid() for recipient in recipients}


class _Mm4Controller(Controller):
    """aiosmtpd's threaded controller on a socket we bound ourselves (so port 0 works)."""

    def __init__(
        self,
        handler: _Mm4Handler,
        listener: socket.socket,
        state: _Mm4State,
        ssl_context: ssl.SSLContext | None,
        **smtp_kwargs: Any,
    ) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, ssl_context=ssl_context, ready_timeout=10.0, **smtp_kwargs)
        self._listener = listener
        self._state = state
        self._serving = threading.Event()
        self.live: set[_Mm4Smtp] = set()  # touched only in the controller's event-loop thread

    def factory(self) -> _Mm4Smtp:
        return _Mm4Smtp(
            self.handler,
            state=self._state,
            probe=not self._serving.is_set(),
            live=self.live,
            loop=self.loop,
            **self.SMTP_kwargs,
        )

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._listener, ssl=self.ssl_context)

    def start(self) -> None:
        super().start()
        self._serving.set()

    def stop_within(self, timeout: float) -> None:
        """Stops listening, aborts every connection, ends the loop thread (joined at most ``timeout``)."""
        thread = self._thread
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            self.loop.call_soon_threadsafe(self._close_everything)
            self.loop.call_soon_threadsafe(self.cancel_tasks)
        if thread is not None:
            thread.join(timeout)
        self._thread = None  # this controller is not started again: a new one serves each start()
        if not self.loop.is_running() and not self.loop.is_closed():  # it never ran (start failed)
            self.loop.close()

    def _close_everything(self) -> None:
        if self.server is not None:
            self.server.close()
        for session in list(self.live):
            session.abort()


# -------------------------------------------------------------------------------------- component
class Mm4Endpoint(Component):
    """The MM4 (SMTP) endpoint on ``127.0.0.1:<port>``, served by aiosmtpd from a daemon thread.

    ``mode``: ``implicit`` (TLS from the first byte), ``starttls`` (STARTTLS advertised and
    required before AUTH/MAIL), ``starttls_not_offered`` (plain SMTP, never offers STARTTLS, and
    offers AUTH in the clear: to check that a client refuses to go on). AUTH LOGIN/PLAIN with
    ``api_key``/``api_secret`` (random unless given) is required before MAIL. ``stop()`` stops
    listening and aborts every connection and sleep (bounded by its timeout).
    """

    what = "the MM4 endpoint"

    def __init__(
        self,
        api_key: str = "sim-api-key",
        api_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        mode: Mm4Mode = "implicit",
        domain: str = DEFAULT_DOMAIN,
        guid_mode: GuidMode = "per_recipient",
        max_recipients: int = 10,
        latency_ms: int = 0,
        max_wait_s: float = 60.0,
        idle_timeout_s: float = 60.0,
        data_size_limit: int = 2**25,
        certificate: ServerCertificate | None = None,
    ) -> None:
        if mode not in ("implicit", "starttls", "starttls_not_offered"):
            raise ValueError("mode must be implicit, starttls or starttls_not_offered")
        if max_recipients < 1 or latency_ms < 0:
            raise ValueError("max_recipients must be positive and latency_ms not negative")
        self.api_key = api_key
        self.api_secret = api_secret if api_secret is not None else secrets.token_urlsafe(18)
        self.mode: Mm4Mode = mode
        self.domain = domain
        self._address = (host, port)
        self._idle_timeout_s = idle_timeout_s
        self._data_size_limit = data_size_limit
        self._tls = ServerTls(certificate, "gatewaysim-mm4-", (domain, "localhost"))
        self._state = _Mm4State(api_key, self.api_secret, domain, guid_mode, max_recipients, latency_ms, max_wait_s)
        self._controller: _Mm4Controller | None = None
        self._port = 0

    def __repr__(self) -> str:
        return "Mm4Endpoint(api_key=" + repr(self.api_key) + ", api_secret='***', mode=" + self.mode + ")"

    # ---------------------------------------------------------------------------- lifecycle
    def _open(self) -> None:
        listener: socket.socket | None = None
        controller: _Mm4Controller | None = None
        try:
            tls = self._tls_context()
            listener = _bind(self._address)
            controller = self._controller_for(listener, tls)
            controller.start()
        except BaseException:
            if controller is not None:
                controller.stop_within(1.0)
            if listener is not None:
                listener.close()
            self._tls.close()
            raise
        self._controller, self._port = controller, int(listener.getsockname()[1])

    def _tls_context(self) -> ssl.SSLContext | None:
        return None if self.mode == "starttls_not_offered" else self._tls.context()

    def _controller_for(self, listener: socket.socket, tls: ssl.SSLContext | None) -> _Mm4Controller:
        handler = _Mm4Handler(self._state)
        common: dict[str, Any] = {
            "server_hostname": self.domain,
            "ident": "gatewaysim MM4",
            "authenticator": handler.authenticate,
            "timeout": self._idle_timeout_s,
            "data_size_limit": self._data_size_limit,
        }
        if self.mode == "implicit":  # TLS from the first byte: no STARTTLS, AUTH allowed at once
            return _Mm4Controller(handler, listener, self._state, tls, auth_require_tls=False, **common)
        if self.mode == "starttls":
            return _Mm4Controller(
                handler,
                listener,
                self._state,
                None,
                tls_context=tls,
                require_starttls=True,
                auth_require_tls=True,
                **common,
            )
        return _Mm4Controller(handler, listener, self._state, None, auth_require_tls=False, **common)

    def _close(self, deadline: float) -> None:
        if self._controller is not None:
            self._controller.stop_within(max(0.0, deadline - time.monotonic()))
        self._controller = None
        self._tls.close()

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def port(self) -> int:
        if self._controller is None:
            raise self._not_running()
        return self._port

    @property
    def ca_file(self) -> Path | None:
        """The PEM of the CA to verify against; None in ``starttls_not_offered`` mode (no TLS)."""
        if self._controller is None:
            raise self._not_running()
        return self._tls.certificate.ca_file if self._tls.certificate else None

    def address(self, number: str) -> str:
        """``+<number>@<domain>`` (a leading ``+`` in ``number`` is kept once)."""
        return "+" + number.lstrip("+") + "@" + self.domain

    def describe(self) -> dict[str, object]:
        """Where it listens and how it is set (JSON-friendly; the secret is never shown)."""
        if not self.running:
            return {"running": False}
        scheme = "smtps" if self.mode == "implicit" else "smtp"
        return {
            "running": True,
            "url": scheme + "://" + self.host + ":" + str(self.port),
            "host": self.host,
            "port": self.port,
            "mode": self.mode,
            "domain": self.domain,
            "ca_file": str(self.ca_file) if self.ca_file else None,
            "api_key": self.api_key,
            "api_secret": "***",
            "guid_mode": self._state.guid_mode,
            "max_recipients": self._state.max_recipients,
            "latency_ms": self._state.latency_ms,
            "pending_faults": self._state.pending(),
        }

    # ------------------------------------------------------------------------------- knobs
    @property
    def guid_mode(self) -> GuidMode:
        return self._state.guid_mode

    @guid_mode.setter
    def guid_mode(self, value: GuidMode) -> None:
        self._state.guid_mode = value

    @property
    def latency_ms(self) -> int:
        """Delay before each reply to DATA (bounded by max_wait_s, cut short by stop())."""
        return self._state.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: int) -> None:
        if value < 0:
            raise ValueError("latency_ms must not be negative")
        self._state.latency_ms = value

    def refuse_next_connections(self, count: int = 1) -> None:
        """The next ``count`` connections are greeted with 421 and closed."""
        self._state.refuse_connections(count)

    def fail_next_data(self, count: int = 1, reply: str = REPLY_TEMPORARY_FAILURE) -> None:
        """The next ``count`` DATA get ``reply`` (a 4xx or 5xx line) instead of being accepted."""
        if reply[:1] not in ("4", "5") or _reply_code(reply) is None:
            raise ValueError("reply must be an SMTP 4xx or 5xx reply line")
        self._state.plan_data(reply, count)

    def drop_next_data(self, count: int = 1) -> None:
        """The next ``count`` DATA: the whole message is read, then the connection is reset unanswered."""
        self._state.plan_data(_DROP, count)

    def clear_faults(self) -> None:
        self._state.clear_faults()

    @property
    def error_rate(self) -> Mm4ErrorRate | None:
        """DATA with no planned fault fails with this probability (None: never). Setting it reseeds."""
        return self._state.error_rate

    @error_rate.setter
    def error_rate(self, value: Mm4ErrorRate | None) -> None:
        self._state.error_rate = value

    @property
    def allowed_senders(self) -> frozenset[str] | None:
        """The account's numbers (digits): MAIL FROM another gets ``550 5.7.1`` (None: any)."""
        return self._state.allowed_senders

    @allowed_senders.setter
    def allowed_senders(self, value: Iterable[str] | None) -> None:
        self._state.allowed_senders = frozenset(value) if value is not None else None

    @property
    def on_accepted(self) -> Mm4AcceptedHook | None:
        """Called (in a worker thread, while only this session waits) with each accepted DATA and the
        client's (host, port), before the reply is written. None: no hook."""
        return self._state.on_accepted

    @on_accepted.setter
    def on_accepted(self, hook: Mm4AcceptedHook | None) -> None:
        self._state.on_accepted = hook

    # ----------------------------------------------------------------------------- records
    @property
    def connections(self) -> list[Mm4Connection]:
        """A copy of the connection records, oldest first."""
        return self._state.connections()

    @property
    def transactions(self) -> list[Mm4Transaction]:
        """A copy of every DATA received (accepted, rejected, dropped), oldest first."""
        return self._state.transactions()

    @property
    def accepted(self) -> list[Mm4Transaction]:
        return [entry for entry in self._state.transactions() if entry.accepted]

    @property
    def auth_attempts(self) -> list[AuthAttempt]:
        return self._state.auth_attempts()

    def clear(self) -> None:
        """Forgets every record; keeps the knobs and planned faults."""
        self._state.clear()


def _bind(address: tuple[str, int]) -> socket.socket:
    """A TCP socket bound to ``address`` (port 0: the OS picks); aiosmtpd listens on it."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.bind(address)
    except BaseException:
        listener.close()
        raise
    return listener
