"""The domain's errors: one shape, a machine-readable ``code`` and a ``kind``.

Every error this package raises on purpose is a :class:`PermanentError` (``kind`` "permanent":
retrying the same request cannot help) or a :class:`TransientError` (``kind`` "transient": it
may succeed later). ``code`` is short and stable (``E200001``, ``http_429``, ``too_large``,
``invalid_payload``): logs, stored items and answers carry it. ``detail`` is a short explanation
with no secret, number or message text in it. Adapters translate library errors (botocore,
urllib3, requests, smtplib) into these; code decides on the type, kind or code, never on text.
HTTP statuses are not the domain's: the HTTP border maps codes to them (``webhooks/border.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Final, Literal

# How many linked exceptions ``causes`` follows at most (library chains are a handful deep).
_CAUSES_LIMIT: Final = 32

ErrorKind = Literal["permanent", "transient"]


class MmsRelayError(Exception):
    """Base of every error this package raises on purpose.

    ``code`` is the instance's when given, else the class's ``default_code``, else the class name
    (the code a stored ``lastError`` has always recorded for such errors).
    """

    kind: ClassVar[ErrorKind]
    default_code: ClassVar[str | None] = None

    def __init__(self, detail: str = "", *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code: str = code or self.default_code or type(self).__name__

    def __str__(self) -> str:
        return self.detail or self.code


class PermanentError(MmsRelayError):
    """Retrying the same request cannot help (bad input, refused by policy, rejected by a peer)."""

    kind = "permanent"


class TransientError(MmsRelayError):
    """The same request may succeed later (timeouts, throttling, a peer's 5xx)."""

    kind = "transient"


class _Coded:
    """Errors whose code varies per instance read as ``<code>: <detail>``."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


# --- sending ------------------------------------------------------------------------------------


class SendError(_Coded, MmsRelayError):
    """The gateway did not accept the message (raised by the transports and by the send use case).

    ``code``: the gateway's error code (``E200001``), ``http_<status>``, ``smtp_<code>``,
    ``timeout``, ``connection_error``, ``tls_error``, ...
    """

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail, code=code)


class PermanentSendError(SendError, PermanentError):
    """Retrying the same message cannot help (bad request, refused, invalid credentials...)."""


class TransientSendError(SendError, TransientError):
    """The same message may be accepted later; ``retry_after`` (seconds) when the gateway said."""

    def __init__(self, code: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after


class GatewayThrottled(TransientSendError):
    """The gateway answered 429 (too many requests): the sending code's pace slows down for a while."""


# --- media --------------------------------------------------------------------------------------


class MediaError(_Coded, MmsRelayError):
    """Fetching or storing media failed; ``code`` (``http_404``, ``address_not_public``, ...) is
    what the stored item keeps. Neither it nor ``detail`` holds a URL's query string or a credential."""

    def __init__(self, code: str | None = None, detail: str = "") -> None:
        super().__init__(detail, code=code)


class PermanentMediaError(MediaError, PermanentError):
    """Retrying cannot help: the URL, the media or the peer's answer is unacceptable."""

    default_code = "media_rejected"


class BlockedMediaUrl(PermanentMediaError):
    """The URL (or a redirect, or the address it resolves to) is refused by the fetch policy."""

    default_code = "blocked"


class MediaTooLarge(PermanentMediaError):
    """The media is larger than the policy's ``max_bytes``."""

    default_code = "too_large"


class UnsupportedMediaType(PermanentMediaError):
    """The media's content type is not on the MMS allow list (or cannot be determined)."""

    default_code = "type_not_allowed"


class MediaRejected(PermanentMediaError):
    """The media host answered with a permanent refusal (404, 403, 410, other 4xx)."""

    default_code = "rejected"


class TransientMediaError(MediaError, TransientError):
    """The same fetch or store may succeed later (timeout, connection error, 429, 5xx, S3 error)."""

    default_code = "transient"


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what caused it: ``__cause__``, ``__context__``, urllib3's ``reason``, ``args``.

    Each exception once, at most ``_CAUSES_LIMIT`` of them: adapters decide on exception types
    found anywhere in the chain, never on their text.
    """
    seen: set[int] = set()
    pending = [error]
    while pending and len(seen) < _CAUSES_LIMIT:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending.extend(item for item in linked if isinstance(item, BaseException))
