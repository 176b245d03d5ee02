"""One status vocabulary for HTTPS and MM4, per recipient, with a rank.

An update applies only when it moves the rank forward, so duplicated, late or out-of-order
receipts cannot regress a status (the repository writes that condition; nothing reads first).
"""

from __future__ import annotations

from typing import Final, Literal

Status = Literal[
    "queued",
    "sending",
    "sent",
    "enroute",
    "accepted",
    "no_receipt",
    "delivered",
    "undelivered",
    "expired",
    "rejected",
    "failed",
    "read",
]

RANK: Final[dict[str, int]] = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "enroute": 3,
    "accepted": 3,
    "no_receipt": 4,
    "delivered": 5,
    "undelivered": 5,
    "expired": 5,
    "rejected": 5,
    "failed": 5,
    "read": 6,
}

# A status at or above this rank is final: no further receipt is awaited.
FINAL_RANK: Final = RANK["delivered"]
