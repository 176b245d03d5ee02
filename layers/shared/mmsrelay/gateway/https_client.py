"""The HTTPS transport: one MMS to one recipient through the gateway's v4 HTTP API.

``POST {base_url}/v4/messages`` (``.xml`` when the XML schema is chosen), form-encoded, HTTP
Basic auth with the connection's API key and secret. One attempt per call: retrying is the
caller's job (SQS redelivery), guided by the error's type and ``retry_after``.

Number format: ``source`` and ``destination`` are sent as digits without ``+``; recipients are
E.164, so ``destinationFormat=1`` (international, country code included) is always sent, which
keeps the gateway from reinterpreting a number in its "friendly" mode.

A timeout or connection error after the request went out may hide an accepted message: it is
reported as transient all the same (a possible duplicate is preferred to a lost message).
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError
from urllib3.util.ssl_match_hostname import CertificateError

from mmsrelay.domain.errors import PermanentSendError, SendError, TransientSendError, causes
from mmsrelay.domain.outbound import MMS_URL_LIMIT, GatewayCredentials, OutboundMessage, SendResult
from mmsrelay.domain.phone import mask
from mmsrelay.gateway_protocol.http_answers import interpret

_log = logging.getLogger(__name__)

USER_AGENT: Final = "mms-relay/1"
MAX_ANSWER_BYTES: Final = 64 * 1024
MAX_TEXT: Final = 160
MAX_SUBJECT: Final = 40
_NUMBER: Final = re.compile(r"\+?([0-9]{3,15})")


@dataclass(frozen=True)
class HttpApiSettings:
    """Where and how to reach the HTTP API. ``ca_file``: PEM bundle to trust, else the default store."""

    base_url: str
    ca_file: str | None
    connect_timeout: float = 3.05
    read_timeout: float = 15.0
    schema: Literal["json", "xml"] = "json"

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("base_url must be an https:// URL without query or fragment")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.schema not in ("json", "xml"):
            raise ValueError("schema must be 'json' or 'xml'")

    @property
    def endpoint(self) -> str:
        suffix = ".xml" if self.schema == "xml" else ""
        return f"{self.base_url.rstrip('/')}/v4/messages{suffix}"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def verify(self) -> str | bool:
        return self.ca_file if self.ca_file else True


def session_factory(settings: HttpApiSettings) -> requests.Session:
    """The one pooled, keep-alive session of an execution environment (build it once, share it).

    No retries (``max_retries=0``), certificates always verified. ``trust_env`` is off: proxies,
    ``REQUESTS_CA_BUNDLE`` and ``.netrc`` from the environment cannot override the settings.
    Raises ValueError when the configured CA file does not exist.
    """
    if settings.ca_file and not Path(settings.ca_file).is_file():
        raise ValueError("the configured CA file does not exist")
    session = requests.Session()
    session.trust_env = False
    session.verify = settings.verify
    session.headers["User-Agent"] = USER_AGENT
    session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=16, max_retries=0))
    return session


def form_fields(message: OutboundMessage) -> dict[str, str]:
    """The form posted for ``message``; PermanentSendError when the HTTPS API cannot carry it."""
    if len(message.recipients) != 1:
        raise PermanentSendError("https_cannot_carry", "the HTTP API takes exactly one recipient")
    if len(message.attachments) != 1:
        # mmsURL is a required field of the MMS API: a message without media goes over MM4.
        raise PermanentSendError("https_cannot_carry", "the HTTP API takes exactly one attachment")
    fields = {
        "source": _digits(message.sender, "sender"),
        "destination": _digits(message.recipients[0], "recipient"),
        "destinationFormat": "1",
        "messageText": message.text,
        "registeredDelivery": "1" if message.delivery_report else "0",
    }
    url = message.attachments[0].url
    if not url:
        raise PermanentSendError("https_cannot_carry", "the attachment has no public URL")
    if len(url) > MMS_URL_LIMIT:
        raise PermanentSendError("https_cannot_carry", f"the attachment URL is over {MMS_URL_LIMIT} characters")
    fields["mmsURL"] = url
    if message.subject:
        fields["mmsSubject"] = message.subject
    if len(message.text) > MAX_TEXT:
        _log.warning(
            "message text over the documented limit, sent as is",
            extra={"message_id": message.message_id, "text_length": len(message.text)},
        )
    if message.subject and len(message.subject) > MAX_SUBJECT:
        _log.warning(
            "subject over the documented limit, sent as is",
            extra={"message_id": message.message_id, "subject_length": len(message.subject)},
        )
    return fields


def _digits(number: str, role: str) -> str:
    match = _NUMBER.fullmatch(number.strip())
    if match is None:
        raise PermanentSendError("invalid_number", f"the {role} is not a number of 3 to 15 digits")
    return match.group(1)


class AerialinkHttpClient:
    """Sends one message per call through a shared session; safe to call from several threads."""

    def __init__(
        self,
        session: requests.Session,
        settings: HttpApiSettings,
        credentials: Callable[[], GatewayCredentials],
    ) -> None:
        if session.verify is False:
            raise ValueError("certificate verification cannot be turned off")
        self._session = session
        self._settings = settings
        self._credentials = credentials

    def send(self, message: OutboundMessage) -> SendResult:
        """Posts ``message``; raises PermanentSendError or TransientSendError when it was not accepted."""
        fields = form_fields(message)
        recipient = message.recipients[0]
        log: dict[str, object] = {
            "message_id": message.message_id,
            "gateway_host": self._settings.host,
            "destination": mask(recipient),
        }
        credentials = self._credentials()
        started = time.monotonic()
        try:
            status, content_type, retry_after, body = self._post(fields, credentials, started)
        except requests.RequestException as error:
            failure = _translate(error)
            _log.warning(
                "gateway request failed",
                extra={
                    **log,
                    "send_code": failure.code,
                    "error_type": type(error).__name__,
                    "elapsed_ms": _elapsed_ms(started),
                },
            )
            raise failure from None
        log |= {"http_status": status, "elapsed_ms": _elapsed_ms(started)}
        try:
            result = interpret(
                status=status,
                content_type=content_type,
                body=body,
                retry_after_header=retry_after,
                recipient=recipient,
                now=datetime.now(UTC),
            )
        except SendError as refusal:
            retry = refusal.retry_after if isinstance(refusal, TransientSendError) else None
            _log.warning(
                "gateway refused message",
                extra={
                    **log,
                    "send_code": refusal.code,
                    "transient": isinstance(refusal, TransientSendError),
                    "retry_after": retry,
                },
            )
            raise
        outcome = result.recipients[0]
        _log.info(
            "gateway accepted message",
            extra={**log, "transaction_guid": outcome.transaction_guid, "send_code": outcome.code},
        )
        return result

    def _post(
        self, fields: dict[str, str], credentials: GatewayCredentials, started: float
    ) -> tuple[int, str | None, str | None, bytes]:
        settings = self._settings
        accept = "application/xml" if settings.schema == "xml" else "application/json"
        with self._session.post(
            settings.endpoint,
            data=fields,
            auth=(credentials.api_key, credentials.api_secret),
            headers={"Accept": accept},
            timeout=(settings.connect_timeout, settings.read_timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            deadline = started + settings.connect_timeout + settings.read_timeout
            body = _read_bounded(response.iter_content(8192), deadline)
            return (
                response.status_code,
                response.headers.get("Content-Type"),
                response.headers.get("Retry-After"),
                body,
            )


def _read_bounded(chunks: Iterator[bytes], deadline: float) -> bytes:
    """The body, cut off after MAX_ANSWER_BYTES (the rest is not parsed); Timeout past ``deadline``."""
    body = bytearray()
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise requests.Timeout("the answer took too long")
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            return bytes(body[: MAX_ANSWER_BYTES + 1])
    return bytes(body)


def _translate(error: requests.RequestException) -> SendError:
    """A requests failure as a send error, decided on exception types, never on their text."""
    chain = list(causes(error))
    if isinstance(error, requests.exceptions.SSLError):
        if any(isinstance(cause, ssl.SSLCertVerificationError | CertificateError) for cause in chain):
            return PermanentSendError("tls_verification_failed", "the gateway's certificate was not trusted")
        return TransientSendError("tls_error", "TLS handshake or session failed")
    # urllib3's NewConnectionError (refused, unreachable) subclasses its ConnectTimeoutError.
    timed_out = isinstance(error, requests.Timeout) or any(
        isinstance(cause, Urllib3TimeoutError | TimeoutError) and not isinstance(cause, NewConnectionError)
        for cause in chain
    )
    if timed_out:
        return TransientSendError("timeout", "no answer from the gateway in time")
    return TransientSendError("connection_error", "connection to the gateway failed")


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
