"""HTTP Basic authentication of the gateway's webhook posts, checked before the body is read."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from mmsrelay.webhooks.errors import Unauthorized

CHALLENGE = 'Basic realm="mms-relay", charset="UTF-8"'
# After a mismatch, the stored credentials are fetched again (they may have been rotated),
# but not more often than this, so wrong guesses cannot hammer Secrets Manager.
REFRESH_AFTER_MISMATCH_SECONDS = 60.0


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str

    def matches(self, username: str, password: str) -> bool:
        """Constant-time comparison of both parts (both are always compared)."""
        user_ok = hmac.compare_digest(self.username.encode("utf-8"), username.encode("utf-8"))
        password_ok = hmac.compare_digest(self.password.encode("utf-8"), password.encode("utf-8"))
        return user_ok & password_ok


# Loads the expected credentials; ``force`` bypasses any cache.
CredentialsLoader = Callable[[bool], BasicCredentials]


class BasicAuthVerifier:
    def __init__(self, load: CredentialsLoader, clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._clock = clock
        self._last_refresh = float("-inf")

    def verify(self, authorization: str | None) -> None:
        """Raises ``Unauthorized`` unless ``authorization`` carries the expected credentials."""
        username, password = _decode(authorization)
        if self._load(False).matches(username, password):
            return
        now = self._clock()
        if now - self._last_refresh >= REFRESH_AFTER_MISMATCH_SECONDS:
            self._last_refresh = now
            if self._load(True).matches(username, password):
                return
        raise Unauthorized("credentials rejected")


def _decode(authorization: str | None) -> tuple[str, str]:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        raise Unauthorized("no basic credentials")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise Unauthorized("malformed credentials") from error
    username, separator, password = decoded.partition(":")
    if not separator:
        raise Unauthorized("malformed credentials")
    return username, password


def encode_basic(username: str, password: str) -> str:
    """The Authorization header value for a username and password (used by tools and tests)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"
