"""The domain's error types.

Adapters translate library errors (botocore ``ClientError``, urllib3/requests, smtplib) into these,
and one border per entry point turns them into an answer. Code decides on the type, never on the
message text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

# How many linked exceptions ``causes`` follows at most (library chains are a handful deep).
_CAUSES_LIMIT: Final = 32


class MmsRelayError(Exception):
    """Base of every error this package raises on purpose."""


class PermanentError(MmsRelayError):
    """Retrying the same request cannot help (bad input, refused by policy, rejected by a peer)."""


class TransientError(MmsRelayError):
    """The same request may succeed later (timeouts, throttling, a peer's 5xx)."""


def error_code(error: ClientError) -> str:
    """The AWS error code a ``ClientError`` carries (``""`` when it carries none)."""
    return str(error.response.get("Error", {}).get("Code", ""))


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
