"""Sending MM4_forward.REQ messages to the gateway's MMSC over authenticated SMTP with TLS.

One :class:`Mm4Session` holds one SMTP connection, opened on the first send and reused for every
message sent through it (a batch of SQS records shares one session); before reusing it, a NOOP
checks it is still alive, and a dead one is replaced once. All the recipients of a message go in
one transaction (a group MMS when several): MAIL, one RCPT each, then DATA, whose reply carries
the transaction GUIDs (:mod:`mmsrelay.gateway_protocol.mm4_guids`); ``smtplib.SMTP.sendmail`` would
discard that reply, hence the separate commands.

TLS is never optional: ``implicit`` wraps the connection from the start, ``starttls`` refuses to
go on in clear when the server does not offer STARTTLS. Certificates and host names are always
verified, against ``ca_file`` or the system trust store.

Errors are translated here, by exception type and SMTP code (never by message text):

=============================================  ==========================================
smtplib / ssl / socket                         domain error (``code``)
=============================================  ==========================================
4xx reply (421, 450, 451, 452, ...)            ``TransientSendError("smtp_<code>")``
5xx reply to EHLO, MAIL or DATA (550, 554...)  ``PermanentSendError("smtp_<code>")``
``SMTPAuthenticationError`` 5xx (535)          ``PermanentSendError("auth_failed")``
AUTH not offered, no usable mechanism          ``PermanentSendError("auth_not_offered")``
STARTTLS not offered (``starttls`` mode)       ``PermanentSendError("starttls_not_offered")``
every recipient refused                        ``PermanentSendError("all_recipients_refused")``
                                               (``TransientSendError`` if one refusal was 4xx)
``ssl.SSLCertVerificationError``               ``PermanentSendError("tls_verification_failed")``
other ``ssl.SSLError``                         ``TransientSendError("tls_error")``
``TimeoutError`` (also inside smtplib)         ``TransientSendError("timeout")``
``SMTPServerDisconnected``, ``OSError``        ``TransientSendError("connection_error")``
=============================================  ==========================================

A recipient refused at RCPT while others are accepted is no error: its
``RecipientResult`` has ``refused=True`` and ``code="smtp_<code>"`` (4xx: worth retrying alone).
After any error the connection is dropped; the next send opens a new one.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterator, Mapping
from typing import Final

from mmsrelay.domain.errors import PermanentSendError, SendError, TransientSendError
from mmsrelay.domain.outbound import GatewayCredentials, OutboundMessage, RecipientResult, SendResult
from mmsrelay.gateway.lazy_mm4 import Mm4Settings
from mmsrelay.gateway_protocol.mm4_guids import guids_in, recipient_results
from mmsrelay.gateway_protocol.mm4_mime import build_mm4_forward, mm4_address, recipient_addresses

_log = logging.getLogger(__name__)

Connect = Callable[[], smtplib.SMTP]

_REFUSED_DETAIL: Final = "the gateway refused the recipient"
# Failures other than SMTP replies, most specific first (SSLCertVerificationError is an SSLError,
# and smtplib's exceptions are OSErrors).
_FAILURES: Final[tuple[tuple[type[BaseException], type[SendError], str, str], ...]] = (
    (ssl.SSLCertVerificationError, PermanentSendError, "tls_verification_failed", "certificate not trusted"),
    (ssl.SSLError, TransientSendError, "tls_error", "TLS failed"),
    (TimeoutError, TransientSendError, "timeout", "no answer from the gateway"),
    (smtplib.SMTPServerDisconnected, TransientSendError, "connection_error", "connection closed"),
    (smtplib.SMTPException, TransientSendError, "smtp_error", "SMTP protocol error"),
)


class Mm4Client:
    """Opens authenticated TLS connections to the MMSC; :meth:`session` groups sends on one of them.

    The TLS context is built here, once: a missing or unreadable ``ca_file`` fails at construction.
    ``credentials`` is called for each new connection, so a rotated secret is picked up.
    """

    def __init__(self, settings: Mm4Settings, credentials: Callable[[], GatewayCredentials]) -> None:
        self._settings = settings
        self._credentials = credentials
        self._context = ssl.create_default_context(cafile=settings.ca_file)

    @contextlib.contextmanager
    def session(self) -> Iterator[Mm4Session]:
        """A session whose connection (if one was opened) is closed with QUIT at the end."""
        session = Mm4Session(self._settings, self.connect)
        try:
            yield session
        finally:
            session.close()

    def connect(self) -> smtplib.SMTP:
        """A new connection, TLS established and logged in; errors translated to ``SendError``."""
        settings = self._settings
        _log.debug(
            "mm4 connecting",
            extra={"host": settings.host, "port": settings.port, "tls_mode": settings.tls_mode},
        )
        try:
            smtp = self._open()
        except SendError:
            raise
        except OSError as error:  # smtplib's errors are OSErrors too
            raise translate_error(error, "connect") from error
        _log.info(
            "mm4 connected",
            extra={"host": settings.host, "port": settings.port, "tls_mode": settings.tls_mode},
        )
        return smtp

    def _open(self) -> smtplib.SMTP:
        settings = self._settings
        smtp: smtplib.SMTP
        if settings.tls_mode == "implicit":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, context=self._context, timeout=settings.timeout)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            _expect_ok(smtp.ehlo(), "EHLO")
            if settings.tls_mode == "starttls":
                self._start_tls(smtp)
            self._login(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _start_tls(self, smtp: smtplib.SMTP) -> None:
        """Upgrades to TLS, or fails closed: nothing is ever sent in clear."""
        if not smtp.has_extn("starttls"):
            raise PermanentSendError("starttls_not_offered", "the gateway does not offer STARTTLS")
        smtp.starttls(context=self._context)
        _expect_ok(smtp.ehlo(), "EHLO")

    def _login(self, smtp: smtplib.SMTP) -> None:
        credentials = self._credentials()
        try:
            smtp.login(credentials.mm4_username, credentials.mm4_password)
        except smtplib.SMTPAuthenticationError as error:
            if _is_transient(error.smtp_code):
                raise TransientSendError(f"smtp_{error.smtp_code}", "AUTH failed for now") from error
            raise PermanentSendError("auth_failed", "the gateway refused the MM4 credentials") from error
        except (smtplib.SMTPResponseException, smtplib.SMTPServerDisconnected):
            raise
        except smtplib.SMTPException as error:  # AUTH not advertised, or no common mechanism
            raise PermanentSendError("auth_not_offered", "no usable AUTH mechanism") from error


class Mm4Session:
    """Sends messages over one lazily opened, reused connection. Not thread-safe; close it once."""

    def __init__(self, settings: Mm4Settings, connect: Connect) -> None:
        self._settings = settings
        self._connect = connect
        self._smtp: smtplib.SMTP | None = None
        self._closed = False

    def send(self, message: OutboundMessage) -> SendResult:
        """Sends ``message`` to all its recipients in one SMTP transaction.

        Returns one result per recipient, in the message's order: a GUID (or None when the reply
        did not say), or a refusal. Raises ``PermanentSendError``/``TransientSendError``.
        """
        if self._closed:
            raise RuntimeError("the MM4 session is closed")
        settings = self._settings
        mime = build_mm4_forward(message, domain=settings.domain, originator_system=settings.originator_system)
        sender = mm4_address(message.sender, settings.domain)
        addresses = dict(zip(message.recipients, recipient_addresses(message.recipients, settings.domain), strict=True))
        payload = mime.as_bytes()
        log = {
            "message_id": message.message_id,
            "recipients": len(addresses),
            "host": settings.host,
            "port": settings.port,
            "tls_mode": settings.tls_mode,
        }
        try:
            smtp = self._connection()
            refusals = _envelope(smtp, sender, addresses)
            code, reply = smtp.data(payload)
            _expect_ok((code, reply), "DATA")
        except SendError as error:
            self._discard()
            _log.warning("mm4 send failed", extra={**log, "code": error.code})
            raise
        except OSError as error:
            self._discard()
            translated = translate_error(error, "send")
            _log.warning("mm4 send failed", extra={**log, "code": translated.code})
            raise translated from error
        results = recipient_results(reply, message.recipients, refusals)
        _log.info(
            "mm4 message sent",
            extra={
                **log,
                "refused": len(refusals),
                "guids": len(guids_in(reply)),
                "mapped": sum(1 for result in results if result.transaction_guid),
            },
        )
        return SendResult(transport="mm4", recipients=results)

    def close(self) -> None:
        """QUIT and close the connection, if one is open; later sends raise ``RuntimeError``."""
        self._closed = True
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        with contextlib.suppress(OSError):
            smtp.quit()
        smtp.close()
        _log.info("mm4 session closed", extra={"host": self._settings.host})

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            if _alive(self._smtp):
                return self._smtp
            _log.info("mm4 connection lost, reconnecting", extra={"host": self._settings.host})
            self._discard()
        self._smtp = self._connect()
        return self._smtp

    def _discard(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def translate_error(error: OSError, stage: str) -> SendError:
    """The domain error for an smtplib, ssl or socket error (by type and SMTP code only)."""
    if isinstance(error, smtplib.SMTPResponseException):
        return reply_error(error.smtp_code, stage)
    cause: BaseException = error
    if isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(error.__context__, TimeoutError):
        cause = error.__context__  # smtplib turns a read timeout into a disconnection
    for kinds, kind, code, detail in _FAILURES:
        if isinstance(cause, kinds):
            return kind(code, f"{detail} ({stage})")
    return TransientSendError("connection_error", f"network error ({stage})")


def reply_error(code: int, stage: str) -> SendError:
    """A refusing SMTP reply as a domain error: 4xx transient, 5xx permanent."""
    if _is_transient(code):
        return TransientSendError(f"smtp_{code}", f"{stage} answered {code}")
    if 500 <= code < 600:
        return PermanentSendError(f"smtp_{code}", f"{stage} answered {code}")
    return TransientSendError("smtp_unexpected_reply", f"{stage} got no valid reply code")


def _envelope(smtp: smtplib.SMTP, sender: str, addresses: Mapping[str, str]) -> dict[str, RecipientResult]:
    """MAIL and RCPT for every recipient; the refusals, by recipient. Raises when nobody is left."""
    _expect_ok(smtp.mail(sender), "MAIL")
    refusals: dict[str, RecipientResult] = {}
    refused_codes: set[int] = set()
    for recipient, address in addresses.items():
        code, _ = smtp.rcpt(address)
        if 200 <= code < 300:
            continue
        if code == 421:  # the server is closing the channel: nothing more will pass
            raise reply_error(code, "RCPT")
        refused_codes.add(code)
        refusals[recipient] = RecipientResult(
            recipient, None, refused=True, code=f"smtp_{code}", detail=_REFUSED_DETAIL
        )
    if len(refusals) == len(addresses):
        with contextlib.suppress(OSError):
            smtp.rset()
        detail = f"the gateway refused every recipient ({', '.join(map(str, sorted(refused_codes)))})"
        if any(_is_transient(code) for code in refused_codes):
            raise TransientSendError("all_recipients_refused", detail)
        raise PermanentSendError("all_recipients_refused", detail)
    return refusals


def _expect_ok(answer: tuple[int, bytes], stage: str) -> None:
    code, _ = answer
    if not 200 <= code < 300:
        raise reply_error(code, stage)


def _alive(smtp: smtplib.SMTP) -> bool:
    try:
        code, _ = smtp.noop()
    except OSError:
        return False
    return 200 <= code < 300


def _is_transient(code: int) -> bool:
    return 400 <= code < 500
