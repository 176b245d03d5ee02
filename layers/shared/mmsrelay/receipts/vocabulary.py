"""Every state word and code a receipt may carry, mapped to the relay's status (the design table).

A word mapped to ``None`` is known but says nothing usable (SMPP ``UNKNOWN``): like a word not
listed at all, it leaves the recipient's status unchanged and is only kept as the raw state.
Lookups ignore case and surrounding whitespace; inside a word, runs of spaces, ``_`` and ``-`` are
equivalent (``Deleted without being read``); numeric codes match as strings or ints (``"040001"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from mmsrelay.domain.status import Status

Vocabulary = Mapping[str, Status | None]

SMPP_STATES: Final[Vocabulary] = MappingProxyType(
    {
        "ENROUTE": "enroute",
        "DELIVRD": "delivered",
        "EXPIRED": "expired",
        "DELETED": "failed",
        "UNDELIV": "undelivered",
        "ACCEPTD": "accepted",
        "UNKNOWN": None,
        "REJECTD": "rejected",
    }
)
"""SMPP message states (the ``stat:`` of a receipt text, or a state field's word)."""

AERIALINK_CODES: Final[Vocabulary] = MappingProxyType(
    {
        "10000": "sent",  # Pending: still at the gateway
        "20000": "sent",  # Queued / Processing
        "30000": "enroute",  # Sent / En-Route
        "30003": "failed",  # Error
        "30004": "rejected",  # Filtered (spam)
        "40000": "accepted",
        "40001": "delivered",
    }
)
"""The gateway's numeric status codes."""

MM4_STATUS_CODES: Final[Vocabulary] = MappingProxyType(
    {
        "Expired": "expired",
        "Retrieved": "delivered",
        "Rejected": "rejected",
        "Deferred": "enroute",
        "Unrecognised": "failed",
        "Unrecognized": "failed",  # the American spelling, tolerated
        "Indeterminate": "enroute",
        "Forwarded": "enroute",
    }
)
"""``X-Mms-MM-Status-Code`` of an MM4_delivery_report.REQ (3GPP TS 23.140)."""

MM4_READ_STATUSES: Final[Vocabulary] = MappingProxyType(
    {
        "Read": "read",
        "Deleted-without-being-read": "delivered",  # it reached the handset
    }
)
"""``X-Mms-Read-Status`` of an MM4_read_reply_report.REQ."""

CARRIER_EVENTS: Final[Vocabulary] = MappingProxyType({"smppStatusCode": "failed"})
"""``eventType`` of a carrier error event: the carrier refused the message."""

VOCABULARIES: Final = (SMPP_STATES, AERIALINK_CODES, MM4_STATUS_CODES, MM4_READ_STATUSES, CARRIER_EVENTS)

_SEPARATORS: Final = re.compile(r"[\s_-]+")


def _key(word_or_code: str | int) -> str:
    text = str(word_or_code).strip()
    if text.isascii() and text.isdigit():
        # A code without its leading zeros; not through int(), which refuses more than 4,300 digits.
        return text.lstrip("0") or "0"
    return _SEPARATORS.sub("-", text.lower())


_ALL: Final[Mapping[str, Status | None]] = MappingProxyType(
    {_key(word): status for vocabulary in VOCABULARIES for word, status in vocabulary.items()}
)


def normalise(word_or_code: str | int, vocabulary: Vocabulary | None = None) -> Status | None:
    """The status ``word_or_code`` stands for, or None when it is unknown or says nothing usable.

    ``vocabulary`` narrows the lookup to one table (an MM4 report's status code is looked up among
    the MM4 words only); by default every table above is searched (they agree where they overlap).
    """
    if isinstance(word_or_code, bool):
        return None
    key = _key(word_or_code)
    if vocabulary is None:
        return _ALL.get(key)
    return next((status for word, status in vocabulary.items() if _key(word) == key), None)
