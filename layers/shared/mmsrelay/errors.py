"""The domain's error types.

Adapters translate library errors (botocore ``ClientError``, urllib3/requests, smtplib) into these,
and one border per entry point turns them into an answer. Code decides on the type, never on the
message text.
"""


class MmsRelayError(Exception):
    """Base of every error this package raises on purpose."""


class PermanentError(MmsRelayError):
    """Retrying the same request cannot help (bad input, refused by policy, rejected by a peer)."""


class TransientError(MmsRelayError):
    """The same request may succeed later (timeouts, throttling, a peer's 5xx)."""
