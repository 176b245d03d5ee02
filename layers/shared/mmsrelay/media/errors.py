"""Errors raised while fetching and storing media.

Every error carries ``reason``: a short, stable, machine-readable token (``"http_404"``,
``"address_not_public"``, ...) meant for logs and for the stored item. ``detail`` is a short
human explanation. Neither ever contains a URL's query string or a credential.
"""

from mmsrelay.errors import MmsRelayError, PermanentError, TransientError


class MediaError(MmsRelayError):
    """Base of the media errors; ``reason`` is the machine-readable cause."""

    default_reason = "media_error"

    def __init__(self, reason: str | None = None, detail: str = "") -> None:
        super().__init__(reason or self.default_reason, detail)
        self.reason: str = reason or self.default_reason
        self.detail: str = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


class PermanentMediaError(MediaError, PermanentError):
    """Retrying cannot help: the URL, the media or the peer's answer is unacceptable."""

    default_reason = "media_rejected"


class BlockedMediaUrl(PermanentMediaError):
    """The URL (or a redirect, or the address it resolves to) is refused by the fetch policy."""

    default_reason = "blocked"


class MediaTooLarge(PermanentMediaError):
    """The media is larger than the policy's ``max_bytes``."""

    default_reason = "too_large"


class UnsupportedMediaType(PermanentMediaError):
    """The media's content type is not on the MMS allow list (or cannot be determined)."""

    default_reason = "type_not_allowed"


class MediaRejected(PermanentMediaError):
    """The media host answered with a permanent refusal (404, 403, 410, other 4xx)."""

    default_reason = "rejected"


class TransientMediaError(MediaError, TransientError):
    """The same fetch or store may succeed later (timeout, connection error, 429, 5xx, S3 error)."""

    default_reason = "transient"
