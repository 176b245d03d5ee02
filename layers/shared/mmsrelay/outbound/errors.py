"""Send errors, translated by the transports from requests/smtplib/ssl errors and gateway answers."""

from __future__ import annotations

from mmsrelay.errors import MmsRelayError, PermanentError, TransientError


class SendError(MmsRelayError):
    """The gateway did not accept the message.

    ``code`` is machine-readable: the gateway's error code (``E200001``), ``http_<status>``,
    ``smtp_<code>``, ``timeout``, ``connection_error``, ``tls_error``, ... ``detail`` is a short
    human-readable explanation with no secrets, numbers or message text in it.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class PermanentSendError(SendError, PermanentError):
    """Retrying the same message cannot help (bad request, refused, invalid credentials...)."""


class TransientSendError(SendError, TransientError):
    """The same message may be accepted later; ``retry_after`` (seconds) when the gateway said."""

    def __init__(self, code: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after
