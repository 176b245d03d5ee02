"""The domain's error types.

Adapters translate library errors (botocore ``ClientError``, urllib3/requests, smtplib) into these,
and one border per entry point turns them into an answer. Code decides on the type, never on the
message text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.exceptions import ClientError


class MmsRelayError(Exception):
    """Base of every error this package raises on purpose."""


class PermanentError(MmsRelayError):
    """Retrying the same request cannot help (bad input, refused by policy, rejected by a peer)."""


class TransientError(MmsRelayError):
    """The same request may succeed later (timeouts, throttling, a peer's 5xx)."""


def error_code(error: ClientError) -> str:
    """The AWS error code a ``ClientError`` carries (``""`` when it carries none)."""
    return str(error.response.get("Error", {}).get("Code", ""))
